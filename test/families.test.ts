import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClipModel, describeModel } from '../src/encode/model.js';
import { familyOf } from '../src/encode/families/registry.js';
import { readOnnxGraphInfo } from '../src/encode/onnx_file.js';
import { inspectModel } from '../src/encode/inspect_model.js';
import { probabilities } from '../src/score/probabilities.js';
import { scoreMatrix } from '../src/score/similarity.js';

const TINY = fileURLToPath(new URL('../fixtures/tiny-clip', import.meta.url));

test('the ONNX reader lists graph inputs and outputs without loading the graph', () => {
  const text = readOnnxGraphInfo(join(TINY, 'onnx/text_model.onnx'), ['logit_scale']);
  assert.deepEqual(text.inputs, ['input_ids', 'attention_mask']);
  assert.deepEqual(text.outputs, ['text_embeds', 'last_hidden_state']);
  assert.deepEqual({ ...text.scalars }, {});
  assert.throws(() => readOnnxGraphInfo(join(TINY, 'config.json')), /cannot read ONNX file '.*config\.json'/);
});

test('softmax probabilities use exp(logit_scale) on the cosine; sigmoid adds the bias', () => {
  const similarity = scoreMatrix(1, 2, Float32Array.of(30, 20));
  const soft = probabilities(similarity, { kind: 'softmax', logitScale: Math.log(100) });
  // t·cos = 100·cos = the similarity itself: softmax(30, 20).
  assert.ok(Math.abs(soft.data[0] - 1 / (1 + Math.exp(-10))) < 1e-7);
  assert.ok(Math.abs(soft.data[0] + soft.data[1] - 1) < 1e-6);
  const sig = probabilities(similarity, { kind: 'sigmoid', logitScale: Math.log(10), logitBias: -2 });
  assert.ok(Math.abs(sig.data[0] - 1 / (1 + Math.exp(-(10 * 0.3 - 2)))) < 1e-7);
  assert.ok(Math.abs(sig.data[1] - 1 / (1 + Math.exp(-(10 * 0.2 - 2)))) < 1e-7);
});

test('an unknown family, custom code and SigLIP 2 NaFlex get errors naming what was found and what is supported', () => {
  assert.throws(
    () => familyOf({ config: { model_type: 'blip', architectures: ['BlipModel'] } }, "folder 'x'"),
    /folder 'x' is not a model family zeroshot runs: config.json has model_type "blip", architectures \["BlipModel"\]\. Supported: .*clip \(e\.g\. Xenova\/clip-vit-base-patch32\).*siglip2 .*README/,
  );
  assert.throws(() => familyOf({ config: { model_type: 'custom_clip', auto_map: { AutoModel: 'x.Y' } } }, 'm'), /custom code \(auto_map\), which zeroshot cannot run/);
  assert.throws(() => familyOf({ config: { model_type: 'siglip2' } }, 'm'), /SigLIP 2 NaFlex .* not supported yet/);
});

test('a folder without config.json, or a CLIP config with a foreign tokenizer, is refused with the reason', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zs-family-'));
  await assert.rejects(describeModel({ model: dir }), /cannot load model folder '.*': it has no config\.json/);
  await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'clip' }));
  await writeFile(join(dir, 'preprocessor_config.json'), '{}');
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify({ model: { type: 'WordPiece', vocab: {} } }));
  await assert.rejects(describeModel({ model: dir }), /needs CLIP's BPE tokenizer\.json .* this one is WordPiece/);
  await mkdir(join(dir, 'bad'));
  await writeFile(join(dir, 'bad', 'config.json'), '{ not json');
  await assert.rejects(describeModel({ model: join(dir, 'bad') }), /config\.json is not valid JSON/);
});

test('the tiny CLIP fixture is recognised as OpenAI CLIP, and inspect describes it without loading a graph', async () => {
  const model = await ClipModel.load({ model: TINY, offline: true });
  assert.equal(model.family.family, 'clip');
  assert.equal(model.family.variant, 'OpenAI CLIP (quick_gelu)');
  assert.deepEqual(model.imageShape, { height: 224, width: 224 });
  const inspection = await inspectModel({ model: TINY, offline: true });
  assert.deepEqual(inspection.dtypes, ['fp32']);
  assert.deepEqual(inspection.graphs.map((g) => [g.role, g.present, g.inputs]), [
    ['text', true, ['input_ids', 'attention_mask']],
    ['vision', true, ['pixel_values']],
    ['combined', false, undefined],
  ]);
  assert.equal(inspection.tokenizer.kind, 'clip-bpe');
  assert.equal(inspection.scoring.logitScale, undefined);
  assert.ok(inspection.warnings.some((w) => /no probabilities/.test(w)));
});

test('dtype variants load by their Transformers.js suffix, and a missing variant is named', async () => {
  const hub = fileURLToPath(new URL('../fixtures/clip-hub', import.meta.url));
  const fp32 = await ClipModel.load({ model: hub, offline: true, threads: 1 });
  const q8 = await ClipModel.load({ model: hub, offline: true, threads: 1, dtype: 'q8' });
  try {
    const [a, b] = await Promise.all([fp32.encodeTexts(['a photo of a cat']), q8.encodeTexts(['a photo of a cat'])]);
    let dot = 0;
    for (let k = 0; k < a.dim; k++) dot += a.embeddings[k] * b.embeddings[k];
    assert.ok(dot > 0.95, `int8 weights stay close to fp32 (cos ${dot})`);
    assert.notDeepEqual(Array.from(a.embeddings), Array.from(b.embeddings));
  } finally {
    await Promise.all([fp32.dispose(), q8.dispose()]);
  }
  const fp16 = await ClipModel.load({ model: hub, offline: true, threads: 1, dtype: 'fp16' });
  await assert.rejects(fp16.encodeTexts(['x']), /cannot load model folder '.*clip-hub'/);
});

test('the preprocessing reference is an option for CLIP-architecture families only, and part of the cache key', async () => {
  const hub = fileURLToPath(new URL('../fixtures/clip-hub', import.meta.url));
  const siglip = fileURLToPath(new URL('../fixtures/siglip', import.meta.url));
  const original = await ClipModel.load({ model: hub, offline: true });
  const transformers = await ClipModel.load({ model: hub, offline: true, preprocessReference: 'transformers' });
  assert.equal(original.family.preprocess.reference, 'original');
  assert.equal(transformers.family.preprocess.reference, 'transformers');
  assert.equal((await ClipModel.load({ model: siglip, offline: true, preprocessReference: 'original' })).family.preprocess.reference, 'transformers');
  // The model fingerprint carries the family's settings: a SigLIP tokenizer's padding differs from CLIP's.
  assert.notDeepEqual(original.fingerprintSettings(), (await ClipModel.load({ model: siglip, offline: true })).fingerprintSettings());
});

test('a tower extracted from a combined graph computes exactly what the combined graph does, and only needs its own inputs', async () => {
  const ort = await import('onnxruntime-node');
  const { extractedTowerFolder } = await import('../src/encode/combined_graph.js');
  const combined = fileURLToPath(new URL('../fixtures/clip-hub/onnx/model.onnx', import.meta.url));
  const cacheDir = await mkdtemp(join(tmpdir(), 'zs-towers-'));
  const extract = (output: string, towerFile: string) => extractedTowerFolder({ combined, output, towerFile, config: { model_type: 'clip' }, cacheDir, externalFile: async (name) => join(dirname(combined), name) });
  const textFolder = await extract('text_embeds', 'text_model.onnx');
  const visionFolder = await extract('image_embeds', 'vision_model.onnx');
  assert.equal(await extract('text_embeds', 'text_model.onnx'), textFolder, 'extracted once, then reused');
  const full = await ort.InferenceSession.create(combined);
  const text = await ort.InferenceSession.create(join(textFolder, 'onnx/text_model.onnx'));
  const vision = await ort.InferenceSession.create(join(visionFolder, 'onnx/vision_model.onnx'));
  assert.deepEqual(vision.inputNames, ['pixel_values']);
  assert.deepEqual(text.outputNames, ['text_embeds']);
  const ids = new ort.Tensor('int64', BigInt64Array.from([49406n, 320n, 1125n, 539n, 49407n]), [1, 5]);
  const mask = new ort.Tensor('int64', new BigInt64Array(5).fill(1n), [1, 5]);
  const pixels = new ort.Tensor('float32', Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i / 7)), [1, 3, 224, 224]);
  const both = await full.run({ input_ids: ids, attention_mask: mask, pixel_values: pixels });
  const feeds: Record<string, typeof ids> = { input_ids: ids, attention_mask: mask };
  const alone = await text.run(Object.fromEntries(text.inputNames.map((name) => [name, feeds[name]])));
  assert.deepEqual(Array.from(alone.text_embeds.data as Float32Array), Array.from(both.text_embeds.data as Float32Array));
  const image = await vision.run({ pixel_values: pixels });
  assert.deepEqual(Array.from(image.image_embeds.data as Float32Array), Array.from(both.image_embeds.data as Float32Array));
  await Promise.all([full.release(), text.release(), vision.release()]);
});
