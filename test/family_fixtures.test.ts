/**
 * The family fixtures straight through ONNX Runtime, with no zeroshot code in between: every graph declares
 * the input and output names of the hub repo it stands for (docs/families.md), and its outputs on the inputs
 * in the fixture's reference.json equal the torch model's. End-to-end parity through zeroshot's pipeline is
 * checked against test/golden/families/ elsewhere.
 *
 * One section per fixture; fixtures are built by scripts/build_family_fixtures.py (CLIP, LAION, MobileCLIP) and
 * scripts/build_siglip_fixtures.py (SigLIP, SigLIP 2).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';

/** float32 rounding between torch and ONNX Runtime kernels is ~1e-6 here; 1e-4 leaves room without hiding a bug. */
const TOLERANCE = 1e-4;

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

interface TextReference {
  prompt: string;
  input_ids: number[];
  text_embeds: number[];
}

interface ClipFamilyReference {
  preset: { vision: { image: number } };
  text: TextReference[];
  image: { shape: number[]; image_embeds: number[] };
  combined?: {
    logit_scale: number;
    input_ids: number[][];
    attention_mask: number[][];
    logits_per_image: number[][];
    logits_per_text: number[][];
    text_embeds: number[][];
    image_embeds: number[][];
  };
}

function readJson<T>(fixture: string, file: string): T {
  return JSON.parse(readFileSync(`${FIXTURES}${fixture}/${file}`, 'utf8')) as T;
}

const sessions: ort.InferenceSession[] = [];
after(async () => {
  for (const session of sessions) await session.release();
});

async function open(fixture: string, graph: string): Promise<ort.InferenceSession> {
  const session = await ort.InferenceSession.create(`${FIXTURES}${fixture}/onnx/${graph}`, { intraOpNumThreads: 1 });
  sessions.push(session);
  return session;
}

function ids(rows: number[][]): ort.Tensor {
  const width = rows[0].length;
  assert.ok(rows.every((r) => r.length === width), 'rows of one batch have one length');
  return new ort.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [rows.length, width]);
}

/** reference.json's image input: torch.linspace(-1, 1, n) in C order, as a [1, 3, size, size] tensor. */
function referencePixels(size: number, sign = 1): Float32Array {
  const n = 3 * size * size;
  return Float32Array.from({ length: n }, (_, i) => sign * (-1 + (2 * i) / (n - 1)));
}

function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length);
  let max = 0;
  for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i] - expected[i]));
  return max;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  const diff = maxAbsDiff(actual, expected);
  assert.ok(diff < TOLERANCE, `${what}: max |diff| ${diff}`);
}

async function assertIO(fixture: string, graph: string, inputs: string[], outputs: string[]): Promise<void> {
  const session = await open(fixture, graph);
  assert.deepEqual(session.inputNames, inputs, `${fixture}/onnx/${graph} inputs`);
  assert.deepEqual(session.outputNames, outputs, `${fixture}/onnx/${graph} outputs`);
}

/** text_model.onnx on each reference row (ids exactly as stored), one prompt at a time. */
async function assertTextTower(fixture: string, reference: ClipFamilyReference): Promise<void> {
  const session = await open(fixture, 'text_model.onnx');
  for (const row of reference.text) {
    const out = await session.run({ input_ids: ids([row.input_ids]) });
    assertClose(out.text_embeds.data as Float32Array, row.text_embeds, `${fixture} text "${row.prompt}"`);
  }
}

async function assertVisionTower(fixture: string, reference: ClipFamilyReference): Promise<void> {
  const session = await open(fixture, 'vision_model.onnx');
  const size = reference.preset.vision.image;
  assert.deepEqual(reference.image.shape, [1, 3, size, size]);
  const out = await session.run({ pixel_values: new ort.Tensor('float32', referencePixels(size), reference.image.shape) });
  assertClose(out.image_embeds.data as Float32Array, reference.image.image_embeds, `${fixture} image`);
}

/**
 * test/golden/families/<fixture>.json's text embeddings come from this fixture's weights: its token ids,
 * zero-padded to 77 as clip.tokenize feeds them, through text_model.onnx give its (normalised) text_embeds.
 */
async function assertGoldenTextEmbeds(fixture: string): Promise<void> {
  const golden = JSON.parse(readFileSync(fileURLToPath(new URL(`./golden/families/${fixture}.json`, import.meta.url)), 'utf8')) as {
    token_ids: number[][];
    text_embeds: number[][];
    tokenization: { pad_id: number; length: number };
  };
  const { pad_id: padId, length } = golden.tokenization;
  const rows = golden.token_ids.map((row) => [...row, ...new Array<number>(length - row.length).fill(padId)]);
  const session = await open(fixture, 'text_model.onnx');
  const out = await session.run({ input_ids: ids(rows) });
  const data = out.text_embeds.data as Float32Array;
  const dim = data.length / rows.length;
  for (const [i, expected] of golden.text_embeds.entries()) {
    const row = data.subarray(i * dim, (i + 1) * dim);
    const norm = Math.hypot(...row);
    assertClose(Array.from(row, (x) => x / norm), expected, `${fixture} golden text ${i}`);
  }
}

const HUB_TEXT_OUTPUTS = ['text_embeds', 'last_hidden_state'];
const HUB_VISION_OUTPUTS = ['image_embeds', 'last_hidden_state'];

// ---------------------------------------------------------------------------------------------------------
// clip-hub = Xenova/clip-vit-base-patch32
// ---------------------------------------------------------------------------------------------------------

const clipHub = readJson<ClipFamilyReference>('clip-hub', 'reference.json');

test('clip-hub: every graph and dtype variant declares the hub export\'s inputs and outputs', async () => {
  for (const suffix of ['', '_quantized']) {
    await assertIO('clip-hub', `text_model${suffix}.onnx`, ['input_ids'], HUB_TEXT_OUTPUTS);
    await assertIO('clip-hub', `vision_model${suffix}.onnx`, ['pixel_values'], HUB_VISION_OUTPUTS);
    await assertIO(
      'clip-hub',
      `model${suffix}.onnx`,
      ['input_ids', 'pixel_values', 'attention_mask'],
      ['logits_per_image', 'logits_per_text', 'text_embeds', 'image_embeds'],
    );
  }
});

test('clip-hub: config.json has the legacy text ids (argmax pooling) and the Xenova preprocessor layout', () => {
  const config = readJson<{ text_config: Record<string, unknown> }>('clip-hub', 'config.json');
  assert.deepEqual(
    [config.text_config.bos_token_id, config.text_config.eos_token_id, config.text_config.pad_token_id],
    [0, 2, 1],
  );
  const pre = readJson<Record<string, unknown>>('clip-hub', 'preprocessor_config.json');
  assert.deepEqual(pre.size, { shortest_edge: 224 });
  assert.deepEqual(pre.crop_size, { height: 224, width: 224 });
  assert.equal(pre.image_processor_type, 'CLIPFeatureExtractor');
});

test('clip-hub: text_model.onnx and vision_model.onnx equal the torch towers', async () => {
  await assertTextTower('clip-hub', clipHub);
  await assertVisionTower('clip-hub', clipHub);
});

test('clip-hub: the golden text embeddings are this fixture\'s', () => assertGoldenTextEmbeds('clip-hub'));

test('clip-hub: model.onnx gives the torch model\'s normalised embeddings and exp(logit_scale)·cos logits', async () => {
  const combined = clipHub.combined!;
  const session = await open('clip-hub', 'model.onnx');
  const size = clipHub.preset.vision.image;
  const pixels = new Float32Array(2 * 3 * size * size);
  pixels.set(referencePixels(size), 0);
  pixels.set(referencePixels(size, -1), 3 * size * size);
  const out = await session.run({
    input_ids: ids(combined.input_ids),
    pixel_values: new ort.Tensor('float32', pixels, [2, 3, size, size]),
    attention_mask: ids(combined.attention_mask),
  });
  assert.deepEqual(out.logits_per_image.dims, [2, combined.input_ids.length]);
  assertClose(out.logits_per_image.data as Float32Array, combined.logits_per_image.flat(), 'logits_per_image');
  assertClose(out.logits_per_text.data as Float32Array, combined.logits_per_text.flat(), 'logits_per_text');
  assertClose(out.text_embeds.data as Float32Array, combined.text_embeds.flat(), 'text_embeds');
  assertClose(out.image_embeds.data as Float32Array, combined.image_embeds.flat(), 'image_embeds');
  // The towers' unnormalised embeddings and the combined graph's agree up to the norm.
  const row = clipHub.text[0].text_embeds;
  const norm = Math.hypot(...row);
  assertClose(combined.text_embeds[0], row.map((x) => x / norm), 'combined text row 0 vs the text tower');
});

// ---------------------------------------------------------------------------------------------------------
// laion-clip = laion/CLIP-ViT-B-32-laion2B-s34B-b79K in the Transformers.js layout
// ---------------------------------------------------------------------------------------------------------

const laion = readJson<ClipFamilyReference>('laion-clip', 'reference.json');

test('laion-clip: graphs declare the Transformers.js export\'s names and use the exact (erf) GELU', async () => {
  await assertIO('laion-clip', 'text_model.onnx', ['input_ids'], HUB_TEXT_OUTPUTS);
  await assertIO('laion-clip', 'vision_model.onnx', ['pixel_values'], HUB_VISION_OUTPUTS);
  const config = readJson<{ text_config: { hidden_act: string }; vision_config: { hidden_act: string } }>(
    'laion-clip',
    'config.json',
  );
  assert.equal(config.text_config.hidden_act, 'gelu');
  assert.equal(config.vision_config.hidden_act, 'gelu');
  const pre = readJson<Record<string, unknown>>('laion-clip', 'preprocessor_config.json');
  assert.equal(pre.size, 224, 'legacy integer size: shortest edge 224 in Python');
  assert.equal(pre.crop_size, 224);
});

test('laion-clip: text_model.onnx and vision_model.onnx equal the torch towers', async () => {
  await assertTextTower('laion-clip', laion);
  await assertVisionTower('laion-clip', laion);
});

test('laion-clip: the golden text embeddings are this fixture\'s', () => assertGoldenTextEmbeds('laion-clip'));

// ---------------------------------------------------------------------------------------------------------
// mobileclip = Xenova/mobileclip_s0
// ---------------------------------------------------------------------------------------------------------

const mobileclip = readJson<ClipFamilyReference>('mobileclip', 'reference.json');

test('mobileclip: graphs declare input_ids / pixel_values and the embeddings only', async () => {
  await assertIO('mobileclip', 'text_model.onnx', ['input_ids'], ['text_embeds']);
  for (const graph of ['vision_model.onnx', 'vision_model_quantized.onnx']) {
    await assertIO('mobileclip', graph, ['pixel_values'], ['image_embeds']);
  }
  assert.deepEqual(readJson('mobileclip', 'config.json'), { model_type: 'clip' });
  const pre = readJson<Record<string, unknown>>('mobileclip', 'preprocessor_config.json');
  assert.equal(pre.do_normalize, false);
  assert.equal(pre.resample, 2);
  assert.ok(!('image_mean' in pre) && !('image_std' in pre));
});

test('mobileclip: text_model.onnx (ids zero-padded to 77) and vision_model.onnx equal the torch towers', async () => {
  for (const row of mobileclip.text) assert.equal(row.input_ids.length, 77, row.prompt);
  await assertTextTower('mobileclip', mobileclip);
  await assertVisionTower('mobileclip', mobileclip);
});

test('mobileclip: the golden text embeddings are this fixture\'s', () => assertGoldenTextEmbeds('mobileclip'));

test('mobileclip: the text tower has no mask, so padding to anything but 77 changes the embedding', async () => {
  const session = await open('mobileclip', 'text_model.onnx');
  const row = mobileclip.text[0];
  const unpadded = row.input_ids.slice(0, row.input_ids.indexOf(49407) + 1);
  const out = await session.run({ input_ids: ids([unpadded]) });
  assert.ok(maxAbsDiff(out.text_embeds.data as Float32Array, row.text_embeds) > 1e-3);
});

// ---------------------------------------------------------------------------------------------------------
// siglip = Xenova/siglip-base-patch16-224, siglip2 = onnx-community/siglip2-base-patch16-224-ONNX
// (fixtures built by scripts/build_siglip_fixtures.py; siglip2-naflex is config-only)
// ---------------------------------------------------------------------------------------------------------

interface SiglipReference {
  text: { input_ids: number[]; pooler_output: number[] }[];
  image: { shape: number[]; pooler_output: number[] };
  logit_scale: number;
  logit_bias: number;
  logits_per_image: number[];
}

const SIGLIP_TOWER_OUTPUTS = ['last_hidden_state', 'pooler_output'];
const SIGLIP_COMBINED_OUTPUTS = ['logits_per_image', 'logits_per_text', 'text_embeds', 'image_embeds'];

for (const fixture of ['siglip', 'siglip2']) {
  const reference = readJson<SiglipReference>(fixture, 'reference.json');

  test(`${fixture}: every graph and dtype variant declares the hub export's inputs and outputs`, async () => {
    for (const suffix of ['', '_quantized']) {
      await assertIO(fixture, `text_model${suffix}.onnx`, ['input_ids'], SIGLIP_TOWER_OUTPUTS);
      await assertIO(fixture, `vision_model${suffix}.onnx`, ['pixel_values'], SIGLIP_TOWER_OUTPUTS);
      await assertIO(fixture, `model${suffix}.onnx`, ['input_ids', 'pixel_values'], SIGLIP_COMBINED_OUTPUTS);
    }
  });

  test(`${fixture}: config.json is model_type siglip; the processor squashes to 224×224 with mean = std = 0.5`, () => {
    const config = readJson<{ model_type: string; text_config: Record<string, unknown> }>(fixture, 'config.json');
    assert.equal(config.model_type, 'siglip');
    assert.equal(config.text_config.max_position_embeddings, 64);
    const pre = readJson<Record<string, unknown>>(fixture, 'preprocessor_config.json');
    assert.equal(pre.image_processor_type, 'SiglipImageProcessor');
    assert.deepEqual(pre.size, { height: 224, width: 224 });
    assert.ok(!('crop_size' in pre) && !('do_center_crop' in pre));
    assert.equal(pre.resample, fixture === 'siglip' ? 3 : 2);
    assert.deepEqual([pre.image_mean, pre.image_std], [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]);
    const tokenizerConfig = readJson<Record<string, unknown>>(fixture, 'tokenizer_config.json');
    assert.equal(tokenizerConfig.tokenizer_class, fixture === 'siglip' ? 'SiglipTokenizer' : 'GemmaTokenizer');
    assert.equal(tokenizerConfig.model_max_length, 64);
  });

  test(`${fixture}: text_model.onnx and vision_model.onnx pooler_output equal the torch towers`, async () => {
    const text = await open(fixture, 'text_model.onnx');
    const out = await text.run({ input_ids: ids(reference.text.map((row) => row.input_ids)) });
    assertClose(out.pooler_output.data as Float32Array, reference.text.flatMap((row) => row.pooler_output), `${fixture} text`);
    const vision = await open(fixture, 'vision_model.onnx');
    const image = await vision.run({ pixel_values: new ort.Tensor('float32', referencePixels(224), reference.image.shape) });
    assertClose(image.pooler_output.data as Float32Array, reference.image.pooler_output, `${fixture} image`);
    assert.deepEqual(image.last_hidden_state.dims, [1, 196, 32], 'no class token: 14 × 14 patches');
  });

  test(`${fixture}: model.onnx holds logit_scale and logit_bias as initializers and gives the torch logits`, async () => {
    const { readOnnxGraphInfo } = await import('../src/encode/onnx_file.js');
    const info = readOnnxGraphInfo(`${FIXTURES}${fixture}/onnx/model.onnx`, ['logit_scale', 'logit_bias']);
    assert.deepEqual({ ...info.scalars }, { logit_scale: reference.logit_scale, logit_bias: reference.logit_bias });
    const session = await open(fixture, 'model.onnx');
    const out = await session.run({
      input_ids: ids(reference.text.map((row) => row.input_ids)),
      pixel_values: new ort.Tensor('float32', referencePixels(224), reference.image.shape),
    });
    assert.deepEqual(out.logits_per_image.dims, [1, reference.text.length]);
    // logits are exp(logit_scale)·cos + bias, ~110× the cosine: compare at the cosine's tolerance
    const scale = Math.exp(reference.logit_scale);
    assertClose(Array.from(out.logits_per_image.data as Float32Array, (x) => x / scale), reference.logits_per_image.map((x) => x / scale), `${fixture} logits`);
  });

  test(`${fixture}: the golden prompts' pooler_output (test/golden/families/${fixture}.json) is this fixture's`, async () => {
    const golden = JSON.parse(readFileSync(fileURLToPath(new URL(`./golden/families/${fixture}.json`, import.meta.url)), 'utf8')) as {
      prompts: { input_ids: number[]; pooler_output: number[] }[];
    };
    const session = await open(fixture, 'text_model.onnx');
    const out = await session.run({ input_ids: ids(golden.prompts.map((p) => p.input_ids)) });
    assertClose(out.pooler_output.data as Float32Array, golden.prompts.flatMap((p) => p.pooler_output), `${fixture} golden prompts`);
  });
}

test('siglip2-naflex: only config.json and preprocessor_config.json, model_type siglip2 with patch settings', () => {
  const config = readJson<{ model_type: string; vision_config: Record<string, unknown> }>('siglip2-naflex', 'config.json');
  assert.equal(config.model_type, 'siglip2');
  assert.equal(config.vision_config.num_patches, 256);
  const pre = readJson<Record<string, unknown>>('siglip2-naflex', 'preprocessor_config.json');
  assert.equal(pre.image_processor_type, 'Siglip2ImageProcessorFast');
  assert.equal(pre.max_num_patches, 256);
  assert.ok(!('size' in pre));
});
