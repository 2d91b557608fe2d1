/**
 * Steady-state pipeline throughput against ONNX Runtime alone, robust to this VM's drifting speed:
 * alternates, round by round, the vision tower on ready-made pixels and `embedImages` on real files (decode,
 * preprocessing on workers, inference), and reports the median of the per-round ratios.
 *
 *   node --import tsx bench/steady_state.ts [q8|fp32] [IMAGES_DIR] [ROUNDS]
 *
 * Needs bench/models/vit-b-32 (built by `npm run bench`). Tower loading and the first run are excluded:
 * this isolates what overlapping preprocessing with inference costs.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { embedImages } from '../src/encode/embed.js';
import { ClipModel } from '../src/encode/model.js';
import { createImagePreprocessor } from '../src/encode/image/preprocess.js';
import { listImages } from '../src/input/images.js';

const dtype = process.argv[2] ?? 'q8';
const imagesDir = process.argv[3] ?? fileURLToPath(new URL('../../shared/data/fairface-val/val', import.meta.url));
const rounds = Number(process.argv[4] ?? 6);
const modelDir = fileURLToPath(new URL('./models/vit-b-32', import.meta.url));
const CHUNK = 96;
const BATCH = 32;

if (!existsSync(modelDir) || !existsSync(imagesDir)) {
  process.stderr.write(`needs ${modelDir} (run npm run bench once) and ${imagesDir}\n`);
  process.exit(0);
}
const model = await ClipModel.load({ model: modelDir, offline: true, dtype });
const preprocessor = createImagePreprocessor(model.family.preprocess);
const { images } = await listImages(imagesDir);
const pixels = new Float32Array(BATCH * 3 * model.imageShape.height * model.imageShape.width).map(() => Math.random() - 0.5);
const { dim } = await model.encodeImages(pixels, BATCH); // tower load and first run, excluded
const raw: number[] = [];
const pipeline: number[] = [];
for (let round = 0; round < rounds; round++) {
  let started = performance.now();
  for (let b = 0; b < CHUNK / BATCH; b++) await model.encodeImages(pixels, BATCH);
  raw.push(CHUNK / ((performance.now() - started) / 1000));
  const chunk = images.slice((round * CHUNK) % Math.max(1, images.length - CHUNK), ((round * CHUNK) % Math.max(1, images.length - CHUNK)) + CHUNK);
  started = performance.now();
  await embedImages(chunk, { model, preprocessor, dim, batchSize: BATCH });
  pipeline.push(chunk.length / ((performance.now() - started) / 1000));
}
await preprocessor.close();
await model.dispose();
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const ratios = pipeline.map((p, i) => p / raw[i]);
const show = (values: number[]) => values.map((v) => v.toFixed(1)).join(' ');
process.stdout.write(
  `${dtype}: ORT alone img/s ${show(raw)}\n${dtype}: embedImages img/s ${show(pipeline)}\n` +
    `${dtype}: median per-round ratio ${median(ratios).toFixed(2)} (ORT median ${median(raw).toFixed(1)}, pipeline median ${median(pipeline).toFixed(1)})\n`,
);
