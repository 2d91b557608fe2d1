/**
 * End-to-end parity with the Python CLIP reference pipeline (PIL + torchvision's
 * transform, clip.tokenize, the torch model): zeroshot's similarities on the tiny
 * fixture must equal scripts/make_similarity_goldens.py's to float32 rounding.
 * The token-id and crop-hash tests say which stage broke when the scores differ.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { runZeroShot, type RunResult } from '../src/pipeline.js';
import { parseSpec } from '../src/input/spec.js';
import { ClipBpeTokenizer } from '../src/encode/text/clip_tokenizer.js';
import { decodeImage } from '../src/encode/image/decode/index.js';
import { clipRgbCrop, fromPreprocessorConfig } from '../src/encode/image/clip_image_transform.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.join(HERE, '..', 'fixtures', 'tiny-clip');
const IMAGES_DIR = path.join(HERE, 'golden', 'images');

interface SimilarityGolden {
  images: string[];
  crop_sha256: string[];
  prompts: string[];
  token_ids: number[][];
  /** [image][prompt], 100·cos */
  similarities: number[][];
  image_embeds: number[][];
  text_embeds: number[][];
}

const golden = JSON.parse(readFileSync(path.join(HERE, 'golden', 'similarities.json'), 'utf8')) as SimilarityGolden;

/** Expected: float32 rounding (~1e-5 on scores of magnitude ~30); 1e-3 leaves room without hiding a real difference. */
const MAX_SIMILARITY_DIFF = 1e-3;

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

let workDir = '';
let result: RunResult;
/** For each embedded image (result order), its row in the golden file. */
let goldenRow: number[];

before(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'zeroshot-parity-'));
  for (const name of golden.images) copyFileSync(path.join(IMAGES_DIR, name), path.join(workDir, name));
  // One class per prompt, so every prompt is its own column in spec order.
  const classes = Object.fromEntries(golden.prompts.map((prompt, j) => [`prompt ${j}`, [prompt]]));
  const spec = parseSpec(JSON.stringify({ name: 'parity', classes }), 'parity.json');
  result = await runZeroShot({ images: workDir, spec, model: FIXTURE, offline: true, cache: false, preprocessWorkers: 0 });
  goldenRow = result.imageKeys.map((key) => golden.images.indexOf(key));
});

after(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

test('zeroshot tokenizes every golden prompt to the reference ids (clip.tokenize, truncate=True)', async () => {
  const tokenizer = await ClipBpeTokenizer.fromFolder(FIXTURE);
  golden.prompts.forEach((prompt, j) => assert.deepEqual(tokenizer.encode(prompt), golden.token_ids[j], JSON.stringify(prompt)));
});

test('zeroshot crops every golden image to the reference 224x224 RGB bytes', async () => {
  const config = JSON.parse(readFileSync(path.join(FIXTURE, 'preprocessor_config.json'), 'utf8')) as unknown;
  const options = fromPreprocessorConfig(config);
  for (const [i, name] of golden.images.entries()) {
    const crop = clipRgbCrop(await decodeImage(path.join(IMAGES_DIR, name)), options);
    assert.equal(createHash('sha256').update(crop.data).digest('hex'), golden.crop_sha256[i], name);
  }
});

test('runZeroShot embeds every golden image and prompt, in the golden prompt order', () => {
  assert.deepEqual(result.failures, []);
  assert.deepEqual([...goldenRow].sort((a, b) => a - b), golden.images.map((_, i) => i));
  assert.deepEqual(result.spec.prompts, golden.prompts);
  assert.equal(result.similarity!.rows, golden.images.length);
  assert.equal(result.similarity!.cols, golden.prompts.length);
});

test('embeddings match the torch reference (localises a score mismatch to the image or text tower)', (t) => {
  const dim = result.dim;
  let imageDiff = 0;
  goldenRow.forEach((row, i) => {
    imageDiff = Math.max(imageDiff, maxAbsDiff(result.imageEmbeddings.subarray(i * dim, (i + 1) * dim), golden.image_embeds[row]));
  });
  let textDiff = 0;
  golden.prompts.forEach((_, j) => {
    textDiff = Math.max(textDiff, maxAbsDiff(result.textEmbeddings.subarray(j * dim, (j + 1) * dim), golden.text_embeds[j]));
  });
  t.diagnostic(`max |Δ| normalised image embedding ${imageDiff.toExponential(2)}, text embedding ${textDiff.toExponential(2)}`);
  assert.ok(imageDiff < 1e-5, `image embeddings differ by ${imageDiff}`);
  assert.ok(textDiff < 1e-5, `text embeddings differ by ${textDiff}`);
});

test('similarities equal the Python reference to float32 rounding, with the same top prompt per image', (t) => {
  const { cols, data } = result.similarity!;
  let worst = { diff: 0, image: '', prompt: '' };
  const topMismatches: string[] = [];
  goldenRow.forEach((row, i) => {
    const ours = data.subarray(i * cols, (i + 1) * cols);
    const reference = golden.similarities[row];
    for (let j = 0; j < cols; j++) {
      const diff = Math.abs(ours[j] - reference[j]);
      if (diff > worst.diff) worst = { diff, image: golden.images[row], prompt: golden.prompts[j] };
    }
    if (argmax(ours) !== argmax(reference)) {
      topMismatches.push(`${golden.images[row]}: zeroshot "${golden.prompts[argmax(ours)]}", reference "${golden.prompts[argmax(reference)]}"`);
    }
  });
  t.diagnostic(
    `max |Δ similarity| ${worst.diff.toExponential(2)} over ${result.similarity!.rows}×${cols} pairs` +
      (worst.diff > 0 ? ` (at ${worst.image} × ${JSON.stringify(worst.prompt)})` : ''),
  );
  assert.ok(worst.diff < MAX_SIMILARITY_DIFF, `max |Δ| ${worst.diff} at ${worst.image} × ${JSON.stringify(worst.prompt)}`);
  assert.deepEqual(topMismatches, []);
});
