import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { ClipModel, resolveModelSource } from '../src/encode/model.js';
import { l2NormalizeRows } from '../src/score/similarity.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/tiny-clip', import.meta.url));
const reference = JSON.parse(readFileSync(`${FIXTURE}/reference.json`, 'utf8')) as {
  text: { prompt: string; input_ids: number[]; text_embeds: number[] }[];
  image: { image_embeds: number[] };
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

test('a text embedding through the pipeline equals a direct ONNX Runtime call on the same model', async () => {
  const model = await ClipModel.load({ model: FIXTURE, offline: true, threads: 1 });
  try {
    const prompts = ['a photo of a white man', 'a photo of an east asian woman', 'a photo of a cat'];
    const { embeddings, dim } = await model.encodeTexts(prompts);
    const session = await ort.InferenceSession.create(`${FIXTURE}/onnx/text_model.onnx`);
    for (const [i, prompt] of prompts.entries()) {
      // Unpadded, one prompt at a time: the pipeline's padded batch must give the same vector.
      const ids = reference.text.find((r) => r.prompt === prompt)!.input_ids;
      const feeds = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
      };
      const direct = l2NormalizeRows(Float32Array.from((await session.run(feeds)).text_embeds.data as Float32Array), dim);
      assert.ok(maxAbsDiff(embeddings.subarray(i * dim, (i + 1) * dim), direct) < 1e-6, prompt);
      // …and both equal the torch model the fixture was exported from.
      const torch = l2NormalizeRows(Float32Array.from(reference.text[i].text_embeds), dim);
      assert.ok(maxAbsDiff(direct, torch) < 1e-5, `${prompt} vs torch`);
    }
    await session.release();
  } finally {
    await model.dispose();
  }
});

test('image embeddings are normalised and match the torch reference', async () => {
  const model = await ClipModel.load({ model: FIXTURE, offline: true, threads: 1 });
  try {
    const n = 3 * 224 * 224;
    // The reference input is torch.linspace(-1, 1, n).
    const pixels = Float32Array.from({ length: n }, (_, i) => -1 + (2 * i) / (n - 1));
    const { embeddings, dim } = await model.encodeImages(pixels, 1);
    const norm = Math.hypot(...embeddings);
    assert.ok(Math.abs(norm - 1) < 1e-5);
    const torch = l2NormalizeRows(Float32Array.from(reference.image.image_embeds), dim);
    assert.ok(maxAbsDiff(embeddings, torch) < 1e-5);
  } finally {
    await model.dispose();
  }
});

test('model sources: folders are local, ids go to the hub, missing folders are named', () => {
  assert.equal(resolveModelSource({ model: FIXTURE }).kind, 'folder');
  assert.equal(resolveModelSource({ model: 'Xenova/clip-vit-base-patch32' }).kind, 'hub');
  assert.throws(() => resolveModelSource({ model: './no/such/folder' }), /folder '\.\/no\/such\/folder' does not exist/);
});

test('a folder that is not a model gives an error naming it', async () => {
  await assert.rejects(ClipModel.load({ model: fileURLToPath(new URL('../specs', import.meta.url)), offline: true }), /cannot load model folder '.*specs'/);
});

test('CLIP models use the exact tokenizer: prompts over 77 tokens keep their end token', async () => {
  const model = await ClipModel.load({ model: FIXTURE, offline: true, threads: 1 });
  try {
    assert.equal(model.tokenizer.kind, 'clip-bpe');
    const long = (word: string) => `a photo of ${Array(90).fill(word).join(' ')}`;
    const batch = model.tokenizer.encodeBatch([long('cat'), 'a dog']);
    assert.equal(batch.sequenceLength, 77);
    assert.equal(batch.inputIds[76], 49407n, 'last token of the truncated row is <|endoftext|>');
    // Without the end token both long prompts would pool at position 0 and embed identically.
    const { embeddings, dim } = await model.encodeTexts([long('cat'), long('dog')]);
    assert.ok(maxAbsDiff(embeddings.subarray(0, dim), embeddings.subarray(dim, 2 * dim)) > 1e-3);
  } finally {
    await model.dispose();
  }
});
