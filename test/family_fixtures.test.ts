/**
 * The family fixtures straight through ONNX Runtime, with no zeroshot code in between: every graph declares
 * the input and output names of the hub repo it stands for (docs/families.md), and its outputs on the inputs
 * in the fixture's reference.json equal the torch model's. End-to-end parity through zeroshot's pipeline is
 * checked against test/golden/families/ elsewhere.
 *
 * One section per fixture; fixtures are built by scripts/build_family_fixtures.py (CLIP, LAION, MobileCLIP) and
 * scripts/build_siglip_fixtures.py (SigLIP, SigLIP 2), scripts/build_chinese_clip_fixture.py (Chinese-CLIP),
 * scripts/build_jina_fixtures.py (jina-clip v1 and v2, multilingual SigLIP).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
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

// ---------------------------------------------------------------------------------------------------------
// chinese-clip = Xenova/chinese-clip-vit-base-patch16 (built by scripts/build_chinese_clip_fixture.py): one
// combined graph, BERT text tower pooled at [CLS], inputs padded to the longest prompt with the attention mask
// ---------------------------------------------------------------------------------------------------------

interface ChineseClipReference extends ClipFamilyReference {
  combined: NonNullable<ClipFamilyReference['combined']>;
}

const chineseClip = readJson<ChineseClipReference>('chinese-clip', 'reference.json');
const CHINESE_CLIP_INPUTS = ['input_ids', 'pixel_values', 'attention_mask'];
const CHINESE_CLIP_OUTPUTS = ['logits_per_image', 'logits_per_text', 'text_embeds', 'image_embeds'];

function unit(row: ArrayLike<number>): number[] {
  const values = Array.from(row);
  const norm = Math.hypot(...values);
  return values.map((x) => x / norm);
}

/** model.onnx on `rows` (padded here with `padId` to the longest, mask 1 on real tokens) and the reference image. */
async function runChineseClip(session: ort.InferenceSession, rows: number[][], padId: number, images = 1): Promise<ort.InferenceSession.OnnxValueMapType> {
  const width = Math.max(...rows.map((r) => r.length));
  const padded = rows.map((r) => [...r, ...new Array<number>(width - r.length).fill(padId)]);
  const mask = rows.map((r) => Array.from({ length: width }, (_, i) => (i < r.length ? 1 : 0)));
  const size = chineseClip.preset.vision.image;
  const pixels = new Float32Array(images * 3 * size * size);
  for (let i = 0; i < images; i++) pixels.set(referencePixels(size, i === 0 ? 1 : -1), i * 3 * size * size);
  return session.run({
    input_ids: ids(padded),
    pixel_values: new ort.Tensor('float32', pixels, [images, 3, size, size]),
    attention_mask: ids(mask),
  });
}

test('chinese-clip: onnx/ holds only the combined graph, and every dtype declares the hub export\'s names', async () => {
  assert.deepEqual(readdirSync(`${FIXTURES}chinese-clip/onnx`).sort(), ['model.onnx', 'model_quantized.onnx']);
  for (const suffix of ['', '_quantized']) await assertIO('chinese-clip', `model${suffix}.onnx`, CHINESE_CLIP_INPUTS, CHINESE_CLIP_OUTPUTS);
});

test('chinese-clip: config.json is model_type chinese_clip with a BERT text config; the processor squashes to 224×224', () => {
  const config = readJson<{ model_type: string; text_config: Record<string, unknown>; vision_config: Record<string, unknown> }>('chinese-clip', 'config.json');
  assert.equal(config.model_type, 'chinese_clip');
  assert.equal(config.text_config.model_type, 'chinese_clip_text_model');
  assert.equal(config.text_config.hidden_act, 'gelu');
  assert.equal(config.text_config.type_vocab_size, 2);
  assert.equal(config.vision_config.hidden_act, 'quick_gelu');
  const pre = readJson<Record<string, unknown>>('chinese-clip', 'preprocessor_config.json');
  assert.equal(pre.image_processor_type, 'ChineseCLIPFeatureExtractor');
  assert.equal(pre.do_center_crop, false);
  assert.deepEqual(pre.size, { height: 224, width: 224 });
  assert.equal(pre.resample, 3);
  assert.deepEqual([pre.image_mean, pre.image_std], [[0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]]);
  const tokenizer = readJson<{ model: { type: string }; normalizer: { type: string } }>('chinese-clip', 'tokenizer.json');
  assert.deepEqual([tokenizer.model.type, tokenizer.normalizer.type], ['WordPiece', 'BertNormalizer']);
  const tokenizerConfig = readJson<Record<string, unknown>>('chinese-clip', 'tokenizer_config.json');
  assert.equal(tokenizerConfig.tokenizer_class, 'BertTokenizer');
  assert.equal(tokenizerConfig.model_max_length, 52);
});

test('chinese-clip: model.onnx gives the torch model\'s normalised embeddings and exp(logit_scale)·cos logits', async () => {
  const { combined } = chineseClip;
  const session = await open('chinese-clip', 'model.onnx');
  const size = chineseClip.preset.vision.image;
  const pixels = new Float32Array(2 * 3 * size * size);
  pixels.set(referencePixels(size), 0);
  pixels.set(referencePixels(size, -1), 3 * size * size);
  const out = await session.run({
    input_ids: ids(combined.input_ids),
    pixel_values: new ort.Tensor('float32', pixels, [2, 3, size, size]),
    attention_mask: ids(combined.attention_mask),
  });
  assert.deepEqual(out.logits_per_image.dims, [2, combined.input_ids.length]);
  // logits are 100× the cosine: compare at the cosine's tolerance
  const scale = Math.exp(combined.logit_scale);
  const cos = (values: ArrayLike<number>) => Array.from(values, (x) => x / scale);
  assertClose(cos(out.logits_per_image.data as Float32Array), cos(combined.logits_per_image.flat()), 'logits_per_image');
  assertClose(cos(out.logits_per_text.data as Float32Array), cos(combined.logits_per_text.flat()), 'logits_per_text');
  assertClose(out.text_embeds.data as Float32Array, combined.text_embeds.flat(), 'text_embeds');
  assertClose(out.image_embeds.data as Float32Array, combined.image_embeds.flat(), 'image_embeds');
  assertClose(combined.image_embeds[0], unit(chineseClip.image.image_embeds), 'combined image row 0 vs the vision tower');
});

test('chinese-clip: padding to the longest prompt with the mask is exact (each padded row = the prompt alone)', async () => {
  const session = await open('chinese-clip', 'model.onnx');
  const rows = chineseClip.text.map((r) => r.input_ids);
  assert.ok(new Set(rows.map((r) => r.length)).size > 1, 'the reference prompts have different lengths');
  const batch = await runChineseClip(session, rows, 0);
  const data = batch.text_embeds.data as Float32Array;
  const dim = data.length / rows.length;
  for (const [i, row] of chineseClip.text.entries()) {
    assertClose(data.subarray(i * dim, (i + 1) * dim), unit(row.text_embeds), `padded "${row.prompt}" vs torch alone`);
    const alone = await runChineseClip(session, [row.input_ids], 0);
    assertClose(alone.text_embeds.data as Float32Array, unit(row.text_embeds), `"${row.prompt}" alone`);
  }
  // Without the mask, the [PAD] positions are attended to and the embedding moves: the mask matters.
  const width = Math.max(...rows.map((r) => r.length));
  const shortest = rows.reduce((a, b) => (a.length <= b.length ? a : b));
  const unmasked = await session.run({
    input_ids: ids([[...shortest, ...new Array<number>(width - shortest.length).fill(0)]]),
    pixel_values: new ort.Tensor('float32', referencePixels(224), [1, 3, 224, 224]),
    attention_mask: ids([new Array<number>(width).fill(1)]),
  });
  const reference = chineseClip.text.find((r) => r.input_ids === shortest)!;
  assert.ok(maxAbsDiff(unmasked.text_embeds.data as Float32Array, unit(reference.text_embeds)) > 1e-3);
});

test('chinese-clip: model.onnx holds logit_scale (ln 100) as an initializer', async () => {
  const { readOnnxGraphInfo } = await import('../src/encode/onnx_file.js');
  for (const graph of ['model.onnx', 'model_quantized.onnx']) {
    const info = readOnnxGraphInfo(`${FIXTURES}chinese-clip/onnx/${graph}`, ['logit_scale']);
    assert.ok(Math.abs(info.scalars.logit_scale - chineseClip.combined.logit_scale) < 1e-6, graph);
  }
});

test('chinese-clip: the golden text embeddings (test/golden/families/chinese-clip.json) are this fixture\'s', async () => {
  const golden = JSON.parse(readFileSync(fileURLToPath(new URL('./golden/families/chinese-clip.json', import.meta.url)), 'utf8')) as {
    token_ids: number[][];
    text_embeds: number[][];
    tokenization: { pad_id: number; padding: string };
  };
  assert.equal(golden.tokenization.padding, 'longest');
  const session = await open('chinese-clip', 'model.onnx');
  const out = await runChineseClip(session, golden.token_ids, golden.tokenization.pad_id);
  assertClose(out.text_embeds.data as Float32Array, golden.text_embeds.flat(), 'chinese-clip golden text_embeds');
});

// ---------------------------------------------------------------------------------------------------------
// jina-clip-v1 = jinaai/jina-clip-v1, jina-clip-v2 = jinaai/jina-clip-v2, siglip-multilingual =
// google/siglip-base-patch16-256-multilingual in the Transformers.js layout (scripts/build_jina_fixtures.py)
// ---------------------------------------------------------------------------------------------------------

interface JinaGolden {
  token_ids: number[][];
  text_embeds: number[][];
  tokenization: { pad_id: number };
}

function readGolden<T>(name: string): T {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`./golden/families/${name}.json`, import.meta.url)), 'utf8')) as T;
}

function padRows(rows: number[][], padId: number): number[][] {
  const longest = Math.max(...rows.map((r) => r.length));
  return rows.map((r) => [...r, ...new Array<number>(longest - r.length).fill(padId)]);
}

function normalisedRows(data: Float32Array, count: number): number[][] {
  const dim = data.length / count;
  return Array.from({ length: count }, (_, i) => {
    const row = data.subarray(i * dim, (i + 1) * dim);
    const norm = Math.hypot(...row);
    return Array.from(row, (x) => x / norm);
  });
}

/** The jina preprocessor_config.json keys JinaCLIPImageProcessor reads, with the real repos' values. */
function assertJinaPreprocessor(fixture: string, size: number): void {
  const pre = readJson<Record<string, unknown>>(fixture, 'preprocessor_config.json');
  assert.equal(pre.image_processor_type, 'JinaCLIPImageProcessor');
  assert.equal(pre.size, size, 'an integer size');
  assert.equal(pre.resize_mode, 'shortest');
  assert.equal(pre.interpolation, 'bicubic');
  assert.equal(pre.fill_color, 0);
  assert.deepEqual(pre.mean, [0.48145466, 0.4578275, 0.40821073]);
  assert.deepEqual(pre.std, [0.26862954, 0.26130258, 0.27577711]);
  for (const key of ['image_mean', 'image_std', 'crop_size', 'do_center_crop', 'resample']) assert.ok(!(key in pre), `no ${key}`);
}

interface JinaV1Reference {
  text: { prompt: string; input_ids: number[]; text_embeds: number[] }[];
  image: { shape: number[]; image_embeds: number[] };
}

const jinaV1 = readJson<JinaV1Reference>('jina-clip-v1', 'reference.json');

test('jina-clip-v1: split towers of every dtype declare input_ids → text_embeds and pixel_values → image_embeds', async () => {
  for (const suffix of ['', '_quantized']) {
    await assertIO('jina-clip-v1', `text_model${suffix}.onnx`, ['input_ids'], ['text_embeds']);
    await assertIO('jina-clip-v1', `vision_model${suffix}.onnx`, ['pixel_values'], ['image_embeds']);
  }
});

test('jina-clip-v1: config.json is model_type jina_clip (custom code), a WordPiece tokenizer, the custom preprocessor keys', () => {
  const config = readJson<{ model_type: string; architectures: string[]; auto_map: Record<string, string>; text_config: Record<string, unknown> }>('jina-clip-v1', 'config.json');
  assert.equal(config.model_type, 'jina_clip');
  assert.deepEqual(config.architectures, ['JinaCLIPModel']);
  assert.match(config.auto_map.AutoModel, /jina-clip-implementation--modeling_clip\.JinaCLIPModel/);
  assert.equal(config.text_config.pooler_type, 'mean_pooler');
  const tokenizer = readJson<{ model: { type: string }; normalizer: { type: string; lowercase: boolean } }>('jina-clip-v1', 'tokenizer.json');
  assert.equal(tokenizer.model.type, 'WordPiece');
  assert.deepEqual([tokenizer.normalizer.type, tokenizer.normalizer.lowercase], ['BertNormalizer', true]);
  assertJinaPreprocessor('jina-clip-v1', 224);
});

test('jina-clip-v1: the towers equal torch, and the mean pooling masks the padding (ids alone = ids padded with 0)', async () => {
  const text = await open('jina-clip-v1', 'text_model.onnx');
  const padded = await text.run({ input_ids: ids(jinaV1.text.map((row) => row.input_ids)) });
  assertClose(padded.text_embeds.data as Float32Array, jinaV1.text.flatMap((row) => row.text_embeds), 'jina-clip-v1 text batch');
  for (const row of jinaV1.text) {
    const alone = row.input_ids.slice(0, row.input_ids.lastIndexOf(102) + 1); // up to [SEP]
    assert.ok(alone.length < row.input_ids.length || row.prompt.length > 20);
    const out = await text.run({ input_ids: ids([alone]) });
    assertClose(out.text_embeds.data as Float32Array, row.text_embeds, `jina-clip-v1 text "${row.prompt}" unpadded`);
  }
  const vision = await open('jina-clip-v1', 'vision_model.onnx');
  const image = await vision.run({ pixel_values: new ort.Tensor('float32', referencePixels(224), jinaV1.image.shape) });
  assertClose(image.image_embeds.data as Float32Array, jinaV1.image.image_embeds, 'jina-clip-v1 image');
});

test('jina-clip-v1: the golden text embeddings (test/golden/families/jina-clip-v1.json) are this fixture\'s', async () => {
  const golden = readGolden<JinaGolden>('jina-clip-v1');
  const session = await open('jina-clip-v1', 'text_model.onnx');
  const out = await session.run({ input_ids: ids(padRows(golden.token_ids, golden.tokenization.pad_id)) });
  normalisedRows(out.text_embeds.data as Float32Array, golden.token_ids.length).forEach((row, i) => assertClose(row, golden.text_embeds[i], `jina-clip-v1 golden text ${i}`));
});

interface JinaV2Reference {
  input_ids: number[][];
  pixel_values: { shape: number[] };
  text_embeddings: number[][];
  image_embeddings: number[][];
  l2norm_text_embeddings: number[][];
  l2norm_image_embeddings: number[][];
}

const JINA_V2_OUTPUTS = ['text_embeddings', 'image_embeddings', 'l2norm_text_embeddings', 'l2norm_image_embeddings'] as const;
const jinaV2 = readJson<JinaV2Reference>('jina-clip-v2', 'reference.json');

/** reference.json's image batch: linspace(-1, 1) over all of [2, 3, 512, 512]. */
function jinaV2Pixels(): ort.Tensor {
  const { shape } = jinaV2.pixel_values;
  const n = shape.reduce((a, b) => a * b, 1);
  return new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => -1 + (2 * i) / (n - 1)), shape);
}

test('jina-clip-v2: onnx/model.onnx keeps its weights in onnx/model.onnx_data (external data) and loads with them', async () => {
  const { statSync } = await import('node:fs');
  const graph = statSync(`${FIXTURES}jina-clip-v2/onnx/model.onnx`).size;
  const data = statSync(`${FIXTURES}jina-clip-v2/onnx/model.onnx_data`).size;
  assert.ok(data > 10 * graph, `weights outside the graph (${graph} B graph, ${data} B data)`);
  assert.ok(readFileSync(`${FIXTURES}jina-clip-v2/onnx/model.onnx`).includes('model.onnx_data'), 'the graph names its data file');
  await assertIO('jina-clip-v2', 'model.onnx', ['input_ids', 'pixel_values'], [...JINA_V2_OUTPUTS]);
});

test('jina-clip-v2: config.json has the Matryoshka dimensions, an XLM-R Unigram tokenizer, the custom preprocessor keys at 512', () => {
  const config = readJson<{ model_type: string; matryoshka_dimensions: number[]; projection_dim: number; vision_config: { image_size: number } }>('jina-clip-v2', 'config.json');
  assert.equal(config.model_type, 'jina_clip');
  assert.deepEqual(config.matryoshka_dimensions, [8, 16, 32]);
  assert.equal(config.projection_dim, 32);
  assert.equal(config.vision_config.image_size, 512);
  const tokenizer = readJson<{ model: { type: string; unk_id: number; vocab: [string, number][] } }>('jina-clip-v2', 'tokenizer.json');
  assert.equal(tokenizer.model.type, 'Unigram');
  assert.deepEqual(tokenizer.model.vocab.slice(0, 4).map(([piece]) => piece), ['<s>', '<pad>', '</s>', '<unk>']);
  assert.equal(tokenizer.model.unk_id, 3);
  assertJinaPreprocessor('jina-clip-v2', 512);
});

test('jina-clip-v2: model.onnx gives torch\'s four outputs on reference.json\'s padded ids and image batch', async () => {
  const session = await open('jina-clip-v2', 'model.onnx');
  const out = await session.run({ input_ids: ids(jinaV2.input_ids), pixel_values: jinaV2Pixels() });
  for (const name of JINA_V2_OUTPUTS) assertClose(out[name].data as Float32Array, jinaV2[name].flat(), `jina-clip-v2 ${name}`);
});

test('jina-clip-v2: each side alone (an empty image batch, or one-token text) gives the same embeddings', async () => {
  const session = await open('jina-clip-v2', 'model.onnx');
  const textOnly = await session.run({ input_ids: ids(jinaV2.input_ids), pixel_values: new ort.Tensor('float32', new Float32Array(0), [0, 3, 512, 512]) });
  assert.deepEqual(textOnly.l2norm_image_embeddings.dims, [0, 32]);
  assertClose(textOnly.l2norm_text_embeddings.data as Float32Array, jinaV2.l2norm_text_embeddings.flat(), 'jina-clip-v2 text without images');
  const imageOnly = await session.run({ input_ids: ids([[0], [0]]), pixel_values: jinaV2Pixels() });
  assertClose(imageOnly.l2norm_image_embeddings.data as Float32Array, jinaV2.l2norm_image_embeddings.flat(), 'jina-clip-v2 images with a one-token text');
});

test('jina-clip-v2: the golden text embeddings (test/golden/families/jina-clip-v2.json) are this fixture\'s, padded with 1', async () => {
  const golden = readGolden<JinaGolden>('jina-clip-v2');
  assert.equal(golden.tokenization.pad_id, 1);
  const session = await open('jina-clip-v2', 'model.onnx');
  const out = await session.run({
    input_ids: ids(padRows(golden.token_ids, 1)),
    pixel_values: new ort.Tensor('float32', new Float32Array(0), [0, 3, 512, 512]),
  });
  const rows = out.l2norm_text_embeddings.data as Float32Array;
  golden.text_embeds.forEach((expected, i) => assertClose(rows.subarray(i * 32, (i + 1) * 32), expected, `jina-clip-v2 golden text ${i}`));
});

const siglipMultilingual = readJson<SiglipReference>('siglip-multilingual', 'reference.json');

test('siglip-multilingual: the Transformers.js layout at 256×256 with a SigLIP Unigram vocabulary', async () => {
  await assertIO('siglip-multilingual', 'text_model.onnx', ['input_ids'], SIGLIP_TOWER_OUTPUTS);
  await assertIO('siglip-multilingual', 'vision_model.onnx', ['pixel_values'], SIGLIP_TOWER_OUTPUTS);
  await assertIO('siglip-multilingual', 'model.onnx', ['input_ids', 'pixel_values'], SIGLIP_COMBINED_OUTPUTS);
  const config = readJson<{ model_type: string; vision_config: { image_size: number } }>('siglip-multilingual', 'config.json');
  assert.deepEqual([config.model_type, config.vision_config.image_size], ['siglip', 256]);
  const pre = readJson<Record<string, unknown>>('siglip-multilingual', 'preprocessor_config.json');
  assert.deepEqual(pre.size, { height: 256, width: 256 });
  const tokenizerConfig = readJson<Record<string, unknown>>('siglip-multilingual', 'tokenizer_config.json');
  assert.deepEqual([tokenizerConfig.tokenizer_class, tokenizerConfig.model_max_length], ['SiglipTokenizer', 64]);
});

test('siglip-multilingual: towers and model.onnx equal torch; logit_scale and logit_bias are initializers', async () => {
  const text = await open('siglip-multilingual', 'text_model.onnx');
  const out = await text.run({ input_ids: ids(siglipMultilingual.text.map((row) => row.input_ids)) });
  assertClose(out.pooler_output.data as Float32Array, siglipMultilingual.text.flatMap((row) => row.pooler_output), 'siglip-multilingual text');
  const pixels = new ort.Tensor('float32', referencePixels(256), siglipMultilingual.image.shape);
  const vision = await open('siglip-multilingual', 'vision_model.onnx');
  const image = await vision.run({ pixel_values: pixels });
  assertClose(image.pooler_output.data as Float32Array, siglipMultilingual.image.pooler_output, 'siglip-multilingual image');
  assert.deepEqual(image.last_hidden_state.dims, [1, 256, 32], '16 × 16 patches');
  const { readOnnxGraphInfo } = await import('../src/encode/onnx_file.js');
  const info = readOnnxGraphInfo(`${FIXTURES}siglip-multilingual/onnx/model.onnx`, ['logit_scale', 'logit_bias']);
  assert.deepEqual({ ...info.scalars }, { logit_scale: siglipMultilingual.logit_scale, logit_bias: siglipMultilingual.logit_bias });
  const combined = await open('siglip-multilingual', 'model.onnx');
  const logits = await combined.run({ input_ids: ids(siglipMultilingual.text.map((row) => row.input_ids)), pixel_values: pixels });
  const scale = Math.exp(siglipMultilingual.logit_scale);
  assertClose(Array.from(logits.logits_per_image.data as Float32Array, (x) => x / scale), siglipMultilingual.logits_per_image.map((x) => x / scale), 'siglip-multilingual logits');
});

test('siglip-multilingual: the golden prompts\' pooler_output (Portuguese, Spanish, Chinese too) is this fixture\'s', async () => {
  const golden = readGolden<{ prompts: { text: string; input_ids: number[]; pooler_output: number[] }[] }>('siglip-multilingual');
  assert.ok(golden.prompts.some((p) => p.text === 'uma foto de um homem branco'));
  const session = await open('siglip-multilingual', 'text_model.onnx');
  const out = await session.run({ input_ids: ids(golden.prompts.map((p) => p.input_ids)) });
  assertClose(out.pooler_output.data as Float32Array, golden.prompts.flatMap((p) => p.pooler_output), 'siglip-multilingual golden prompts');
});
