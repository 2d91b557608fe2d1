/**
 * Combined graphs (`onnx/model.onnx` only, e.g. Chinese-CLIP, jina-clip v2): two ways to encode one side alone,
 * measured on every fixture that has a combined graph, in ONNX Runtime directly:
 *   A. feed the combined graph a minimal input for the other side (one 2-token prompt, or one image);
 *   B. extract each tower once (src/encode/onnx_extract.ts) and run it alone.
 * Prints the per-batch medians and the one-off extraction cost, checks that B equals the combined graph bit for
 * bit, and writes bench/COMBINED.md.
 *
 *   node --import tsx bench/combined_graph.ts
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, linkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { extractOnnxOutputs } from '../src/encode/onnx_extract.js';
import { readOnnxGraphInfo } from '../src/encode/onnx_file.js';
import { quantileOfSorted } from '../src/evaluate/bootstrap.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = ['clip-hub', 'siglip', 'siglip2', 'chinese-clip', 'jina-clip-v2'];
const IMAGE_BATCH = 32;
const TEXT_BATCH = 64;
const REPEATS = 15;

interface Outputs {
  text: string;
  image: string;
}

const median = (values: number[]) => quantileOfSorted([...values].sort((a, b) => a - b), 0.5);

/** Medians of A and B run alternately, so the machine's drift between minutes falls on both alike. */
async function timedPair(a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number, number]> {
  await a(); // warm-up
  await b();
  const times: [number[], number[]] = [[], []];
  for (let r = 0; r < REPEATS; r++) {
    for (const [k, run] of [a, b].entries()) {
      const started = performance.now();
      await run();
      times[k].push(performance.now() - started);
    }
  }
  return [median(times[0]), median(times[1])];
}

function imageSize(fixture: string): number {
  const config = JSON.parse(readFileSync(join(ROOT, 'fixtures', fixture, 'config.json'), 'utf8'));
  return config.vision_config?.image_size ?? 224;
}

function textFeeds(inputs: readonly string[], rows: number, length: number): Record<string, ort.Tensor> {
  const ids = BigInt64Array.from({ length: rows * length }, (_, i) => BigInt(5 + (i % 17)));
  const ones = new BigInt64Array(rows * length).fill(1n);
  const feeds: Record<string, ort.Tensor> = {};
  if (inputs.includes('input_ids')) feeds.input_ids = new ort.Tensor('int64', ids, [rows, length]);
  if (inputs.includes('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', ones, [rows, length]);
  if (inputs.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(rows * length), [rows, length]);
  return feeds;
}

function pixelFeeds(rows: number, size: number): Record<string, ort.Tensor> {
  const n = rows * 3 * size * size;
  return { pixel_values: new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => Math.sin(i / 13)), [rows, 3, size, size]) };
}

const rows: string[] = [];
for (const fixture of FIXTURES) {
  const combined = join(ROOT, 'fixtures', fixture, 'onnx', 'model.onnx');
  if (!existsSync(combined)) continue;
  const info = readOnnxGraphInfo(combined);
  const outputs: Outputs = info.outputs.includes('text_embeds')
    ? { text: 'text_embeds', image: 'image_embeds' }
    : { text: 'text_embeddings', image: 'image_embeddings' };
  // Under bench/ (git-ignored tmp): the external data is hard-linked, which needs the same file system.
  mkdirSync(join(ROOT, 'bench', 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'bench', 'tmp', 'combined-'));
  const started = performance.now();
  const textTower = extractOnnxOutputs(combined, join(dir, 'text.onnx'), [outputs.text]);
  const visionTower = extractOnnxOutputs(combined, join(dir, 'vision.onnx'), [outputs.image]);
  const extractMs = performance.now() - started;
  for (const file of new Set([...textTower.externalData, ...visionTower.externalData])) linkSync(join(ROOT, 'fixtures', fixture, 'onnx', file), join(dir, file));
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 2, interOpNumThreads: 1 };
  const [full, text, vision] = await Promise.all([combined, join(dir, 'text.onnx'), join(dir, 'vision.onnx')].map((f) => ort.InferenceSession.create(f, options)));
  const size = imageSize(fixture);
  const pick = (feeds: Record<string, ort.Tensor>, names: readonly string[]) => Object.fromEntries(names.map((n) => [n, feeds[n]]));

  const images = pixelFeeds(IMAGE_BATCH, size);
  const oneImage = pixelFeeds(1, size);
  const prompts = textFeeds(info.inputs, TEXT_BATCH, 12);
  const onePrompt = textFeeds(info.inputs, 1, 2);
  const [imageViaCombined, imageViaTower] = await timedPair(
    () => full.run(pick({ ...onePrompt, ...images }, full.inputNames), [outputs.image]),
    () => vision.run(pick(images, vision.inputNames)),
  );
  const [textViaCombined, textViaTower] = await timedPair(
    () => full.run(pick({ ...prompts, ...oneImage }, full.inputNames), [outputs.text]),
    () => text.run(pick(prompts, text.inputNames)),
  );

  const a = await full.run(pick({ ...prompts, ...oneImage }, full.inputNames));
  const b = await text.run(pick(prompts, text.inputNames));
  const same = (a[outputs.text].data as Float32Array).every((v, i) => v === (b[outputs.text].data as Float32Array)[i]);
  rows.push(
    `| ${fixture} | ${(statSync(combined).size / 1e6).toFixed(1)} MB | ${extractMs.toFixed(0)} ms | ` +
      `${imageViaCombined.toFixed(2)} / ${imageViaTower.toFixed(2)} ms | ${textViaCombined.toFixed(2)} / ${textViaTower.toFixed(2)} ms | ` +
      `${textTower.nodes}+${visionTower.nodes} of ${textTower.nodesInSource} | ${same ? 'yes' : 'NO'} |`,
  );
  process.stderr.write(`${rows.at(-1)}\n`);
  await Promise.all([full.release(), text.release(), vision.release()]);
}

const report = `# Combined graphs: minimal other-side input vs extracted towers

\`node --import tsx bench/combined_graph.ts\`, ${new Date().toISOString().slice(0, 16)} UTC, ONNX Runtime with 2 threads, medians of
${REPEATS} runs, A and B alternating. A: the combined graph fed a minimal input for the other side (one 2-token prompt with an image
batch of ${IMAGE_BATCH}, one image with a text batch of ${TEXT_BATCH} × 12 tokens). B: the tower extracted once and run
alone. The fixtures are toy-sized, so the absolute times are small; what the other side costs under A grows with the
real towers (one ViT-B/16 image is about 17 GFLOP, paid again by every text batch).

| fixture | combined graph | extraction, both towers (once) | image batch A / B | text batch A / B | nodes kept (text+vision of all) | B equals the combined graph |
| --- | ---: | ---: | ---: | ---: | ---: | --- |
${rows.join('\n')}

zeroshot uses B: the towers are extracted into the model cache on first use and reused while the combined file is
unchanged.
`;
writeFileSync(join(ROOT, 'bench', 'COMBINED.md'), report);
process.stdout.write(report);
