/**
 * Each family against its Python reference on the same weights (goldens written by scripts/make_family_goldens.py
 * and scripts/build_siglip_fixtures.py): token ids, the uint8 pixels, and the similarities through zeroshot's own
 * path (its tokenizer, PIL-exact preprocessing, the family's graphs and outputs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ClipModel } from '../src/encode/model.js';
import { clipRgbCrop, preprocessImageFile } from '../src/encode/image/clip_image_transform.js';
import { decodeImage } from '../src/encode/image/decode/index.js';
import { cosineScores, truncateRows } from '../src/score/similarity.js';
import { probabilities } from '../src/score/probabilities.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const golden = (name: string) => JSON.parse(readFileSync(`${ROOT}test/golden/families/${name}.json`, 'utf8'));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** The family's pixels, embeddings and similarities for the golden's images and prompts. */
async function zeroshotScores(model: ClipModel, images: readonly string[], prompts: readonly string[]) {
  const { height, width } = model.imageShape;
  const n = 3 * height * width;
  const pixels = new Float32Array(images.length * n);
  const crops: string[] = [];
  for (const [i, file] of images.entries()) {
    const crop = clipRgbCrop(await decodeImage(`${ROOT}${file}`), model.family.preprocess);
    crops.push(createHash('sha256').update(crop.data).digest('hex'));
    await preprocessImageFile(`${ROOT}${file}`, model.family.preprocess, pixels.subarray(i * n, (i + 1) * n));
  }
  const image = await model.encodeImages(pixels, images.length);
  const text = await model.encodeTexts(prompts);
  return { crops, image, text, similarity: cosineScores(image.embeddings, text.embeddings, text.dim) };
}

/** Fixtures whose goldens have make_family_goldens.py's layout (token_ids, crop_sha256, similarities, probabilities). */
const SOFTMAX_FIXTURES = [
  { fixture: 'clip-hub', family: 'clip', variant: /OpenAI/ },
  { fixture: 'laion-clip', family: 'clip', variant: /LAION/ },
  { fixture: 'mobileclip', family: 'mobileclip', variant: /MobileCLIP/ },
  { fixture: 'chinese-clip', family: 'chinese_clip', variant: /Chinese-CLIP/ },
  { fixture: 'jina-clip-v1', family: 'jina_clip_v1', variant: /jina-clip v1/ },
  { fixture: 'jina-clip-v2', family: 'jina_clip_v2', variant: /jina-clip v2/ },
] as const;

for (const { fixture, family, variant } of SOFTMAX_FIXTURES) {
  test(`${fixture}: tokens, pixels and similarities equal the Python reference`, async () => {
    const g = golden(fixture);
    const model = await ClipModel.load({ model: `${ROOT}fixtures/${fixture}`, offline: true, threads: 1 });
    try {
      assert.equal(model.family.family, family);
      assert.match(model.family.variant, variant);
      for (const [j, prompt] of (g.prompts as string[]).entries()) {
        const batch = model.tokenizer.encodeBatch([prompt]);
        const ids = Array.from(batch.inputIds, Number);
        const expected = [...g.token_ids[j]];
        if (model.tokenizer.padding.to !== 'longest') while (expected.length < (model.tokenizer.padding.to as number)) expected.push(g.tokenization.pad_id);
        assert.deepEqual(ids, expected, prompt);
      }
      const { crops, similarity, image, text } = await zeroshotScores(model, g.images, g.prompts);
      assert.deepEqual(crops, g.crop_sha256, 'uint8 crops');
      for (const [dims, expected] of Object.entries((g.matryoshka ?? {}) as Record<string, { similarities: number[][] }>)) {
        const keep = Number(dims);
        const truncated = cosineScores(truncateRows(image.embeddings, image.dim, keep), truncateRows(text.embeddings, text.dim, keep), keep);
        assert.ok(maxAbsDiff(truncated.data, expected.similarities.flat()) < 2e-4, `Matryoshka ${keep} of ${text.dim}`);
      }
      const diff = maxAbsDiff(similarity.data, (g.similarities as number[][]).flat());
      console.log(`# ${fixture}: max |Δ similarity| ${diff.toExponential(2)} over ${similarity.rows}×${similarity.cols}`);
      assert.ok(diff < 2e-4, `max |Δ| ${diff}`);
      const values = model.scoringValues();
      if (values.logitScale !== undefined) {
        const first14 = { rows: similarity.rows, cols: 14, data: new Float32Array(similarity.rows * 14) };
        for (let i = 0; i < similarity.rows; i++) first14.data.set(similarity.data.subarray(i * similarity.cols, i * similarity.cols + 14), i * 14);
        const p = probabilities(first14, { kind: 'softmax', logitScale: values.logitScale });
        assert.ok(maxAbsDiff(p.data, (g.probabilities as number[][]).flat()) < 1e-4, 'probabilities');
      }
    } finally {
      await model.dispose();
    }
  });
}

for (const [fixture, family] of [['siglip', 'siglip'], ['siglip2', 'siglip2'], ['siglip-multilingual', 'siglip']] as const) {
  test(`${fixture}: 64-token ids, squashed pixels, similarities and sigmoid probabilities equal the Python reference`, async () => {
    const g = golden(fixture);
    const model = await ClipModel.load({ model: `${ROOT}fixtures/${fixture}`, offline: true, threads: 1 });
    try {
      assert.equal(model.family.family, family);
      const prompts = (g.prompts as { text: string; input_ids: number[] }[]).map((p) => p.text);
      const batch = model.tokenizer.encodeBatch(prompts);
      assert.equal(batch.sequenceLength, 64);
      assert.deepEqual(Array.from(batch.inputIds, Number), g.prompts.flatMap((p: { input_ids: number[] }) => p.input_ids));
      const images = (g.images as { file: string }[]).map((i) => i.file);
      const { crops, similarity } = await zeroshotScores(model, images, prompts);
      assert.deepEqual(crops, g.images.map((i: { resized_sha256: string }) => i.resized_sha256), 'uint8 resized images');
      const diff = maxAbsDiff(similarity.data, (g.similarities as number[][]).flat());
      console.log(`# ${fixture}: max |Δ similarity| ${diff.toExponential(2)} over ${similarity.rows}×${similarity.cols}`);
      assert.ok(diff < 2e-4, `max |Δ| ${diff}`);
      const values = model.scoringValues();
      assert.equal(values.source, 'onnx/model.onnx');
      assert.ok(Math.abs(values.logitScale! - g.logit_scale) < 1e-6 && Math.abs(values.logitBias! - g.logit_bias) < 1e-6);
      const p = probabilities(similarity, { kind: 'sigmoid', logitScale: values.logitScale!, logitBias: values.logitBias });
      assert.ok(maxAbsDiff(p.data, (g.probabilities as number[][]).flat()) < 1e-4, 'probabilities');
    } finally {
      await model.dispose();
    }
  });
}
