/**
 * Single-core speed of the image preprocessing path: decode, resize + centre
 * crop, normalise, per image, reported as images per CPU-second.
 *
 *   UV_THREADPOOL_SIZE=1 taskset -c 1 node --import tsx bench/preprocess_speed.ts [DIR]
 *
 * DIR holds the JPEGs to time; without it, the FairFace validation images
 * (224 x 224) are upscaled by sharp to 500 x 375 / 375 x 500 JPEGs, the ~500 px
 * size the throughput goal is stated for, in a folder under the OS temp dir
 * that later runs reuse. Files are read into memory first, so disk I/O is not
 * timed. CPU time is the process's (all threads, so sharp's decode on the libuv
 * pool counts), which keeps the figures meaningful when the run is not pinned.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { decodeImage } from '../src/encode/image/decode/index.js';
import {
  DEFAULT_CLIP_OPTIONS,
  clipRgbCrop,
  normalizationTable,
  rgbToNormalizedChw,
} from '../src/encode/image/clip_image_transform.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FAIRFACE_DIR = resolve(REPO, '..', 'shared', 'data', 'fairface-val', 'val');
const DEFAULT_DIR = join(tmpdir(), 'zeroshot-preprocess-speed-500px');
const DEFAULT_COUNT = 300;
const WARMUP_IMAGES = 30;

function jpegsIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Upscales FairFace images to alternating landscape / portrait ~500 px JPEGs. */
async function makeDefaultImages(): Promise<string> {
  if (existsSync(DEFAULT_DIR) && jpegsIn(DEFAULT_DIR).length >= DEFAULT_COUNT) return DEFAULT_DIR;
  const sources = jpegsIn(FAIRFACE_DIR).slice(0, DEFAULT_COUNT);
  if (sources.length === 0) throw new Error(`no JPEGs in ${FAIRFACE_DIR}; pass a folder of JPEGs`);
  // Written next to the final folder and renamed, so an interrupted run leaves no partial set behind.
  const staging = `${DEFAULT_DIR}.partial-${process.pid}`;
  mkdirSync(staging, { recursive: true });
  for (const [i, file] of sources.entries()) {
    const [width, height] = i % 2 === 0 ? [500, 375] : [375, 500];
    await sharp(file).resize(width, height, { fit: 'cover' }).jpeg({ quality: 90 }).toFile(join(staging, `${i}.jpg`));
  }
  renameSync(staging, DEFAULT_DIR);
  return DEFAULT_DIR;
}

/** CPU microseconds used by the process so far (user + system, all threads). */
function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function main(): Promise<void> {
  const dir = process.argv[2] ? resolve(process.argv[2]) : await makeDefaultImages();
  const files = jpegsIn(dir);
  if (files.length === 0) throw new Error(`no JPEGs in ${dir}`);
  const bytes = files.map((f) => readFileSync(f));
  const table = normalizationTable(DEFAULT_CLIP_OPTIONS);

  const cpu = { decode: 0, resize: 0, normalise: 0 };
  const runOnce = async (input: Uint8Array): Promise<void> => {
    const t0 = cpuMicros();
    const img = await decodeImage(input);
    const t1 = cpuMicros();
    const rgb = clipRgbCrop(img);
    const t2 = cpuMicros();
    rgbToNormalizedChw(rgb, table);
    const t3 = cpuMicros();
    cpu.decode += t1 - t0;
    cpu.resize += t2 - t1;
    cpu.normalise += t3 - t2;
  };

  for (const b of bytes.slice(0, WARMUP_IMAGES)) await runOnce(b);
  cpu.decode = cpu.resize = cpu.normalise = 0;
  const wallStart = process.hrtime.bigint();
  for (const b of bytes) await runOnce(b);
  const wallS = Number(process.hrtime.bigint() - wallStart) / 1e9;

  const n = bytes.length;
  const line = (name: string, micros: number): string =>
    `${name.padEnd(12)} ${((n * 1e6) / micros).toFixed(1).padStart(8)} img/s  ${(micros / n / 1000).toFixed(3).padStart(7)} ms/img`;
  const total = cpu.decode + cpu.resize + cpu.normalise;
  console.log(`${n} images from ${dir} (per CPU-second of the whole process)`);
  console.log(line('decode', cpu.decode));
  console.log(line('resize+crop', cpu.resize));
  console.log(line('normalise', cpu.normalise));
  console.log(line('total', total));
  console.log(`wall clock   ${(n / wallS).toFixed(1).padStart(8)} img/s`);
}

await main();
