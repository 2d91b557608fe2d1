import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import {
  PIL_RESAMPLE_FILTERS,
  resample8Backend,
  resize8,
  resize8Reference,
  type OutputWindow,
  type Raster8,
} from '../src/encode/image/pil_resample.js';
import { wasmKernels } from '../src/encode/image/pil_resample_wasm.js';
import { RESAMPLE_C_SHA256 } from '../src/encode/image/wasm/resample_wasm.js';
import {
  CLIP_MEAN,
  CLIP_STD,
  normalizationTable,
  rgbToNormalizedChw,
  rgbToNormalizedChwReference,
} from '../src/encode/image/clip_image_transform.js';
import { Mulberry32 } from '../src/evaluate/bootstrap.js';

/** Deterministic pseudo-random numbers in [0, 1): the bootstrap's mulberry32, so runs are reproducible. */
function rng(seed: number): () => number {
  const generator = new Mulberry32(seed);
  return () => generator.next();
}

function randomInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/**
 * Noise, flat areas and hard 0/255 edges, so that sums overshoot and both
 * clamps of clip8 are exercised.
 */
function randomImage(r: () => number, width: number, height: number, channels: number): Raster8 {
  const data = new Uint8Array(width * height * channels);
  const kind = randomInt(r, 0, 2);
  for (let i = 0; i < data.length; i++) {
    if (kind === 0) data[i] = randomInt(r, 0, 255);
    else if (kind === 1) data[i] = r() < 0.5 ? 0 : 255;
    else data[i] = (Math.floor(i / channels / 7) % 2) * 255;
  }
  return { width, height, channels, data };
}

/** A target size: mostly near the source, sometimes far up or down. */
function randomTarget(r: () => number, size: number): number {
  const u = r();
  if (u < 0.15) return randomInt(r, 1, 4);
  if (u < 0.3) return randomInt(r, 1, 1400);
  if (u < 0.4) return size; // this pass is skipped
  return Math.max(1, Math.round(size * (0.25 + 1.5 * r())));
}

function randomWindow(r: () => number, outWidth: number, outHeight: number): OutputWindow | undefined {
  if (r() < 0.2) return undefined;
  const width = randomInt(r, 1, outWidth);
  const height = randomInt(r, 1, outHeight);
  return { left: randomInt(r, 0, outWidth - width), top: randomInt(r, 0, outHeight - height), width, height };
}

describe('WebAssembly SIMD resampling kernels', () => {
  it('is what resize8 runs here for 1 to 4 channels', () => {
    assert.ok(wasmKernels, 'WebAssembly SIMD is available in Node 20');
    for (const ch of [1, 2, 3, 4]) assert.equal(resample8Backend(ch), 'wasm-simd');
    assert.equal(resample8Backend(5), 'typescript');
  });

  it('was built from the current resample.c (rerun scripts/build_wasm.sh)', () => {
    const source = readFileSync(new URL('../src/encode/image/wasm/resample.c', import.meta.url));
    assert.equal(createHash('sha256').update(source).digest('hex'), RESAMPLE_C_SHA256);
  });

  it('matches the TypeScript reference byte for byte on 600 random resizes, 100 per filter', () => {
    const r = rng(20240229);
    const seen = { up: 0, extremeUp: 0, down: 0, extremeDown: 0, skippedPass: 0, windowed: 0 };
    const perFilter = new Map<string, number>();
    for (let n = 0; n < 600; n++) {
      // Channel counts cycle every 4 cases, filters every 6: each filter meets each channel count.
      const filter = PIL_RESAMPLE_FILTERS[n % PIL_RESAMPLE_FILTERS.length];
      perFilter.set(filter, (perFilter.get(filter) ?? 0) + 1);
      const channels = [1, 3, 4, 2][n % 4];
      const big = r() < 0.5;
      const width = big ? randomInt(r, 1, 700) : randomInt(r, 1, 40);
      const height = big ? randomInt(r, 1, 700) : randomInt(r, 1, 40);
      const src = randomImage(r, width, height, channels);
      const outWidth = randomTarget(r, width);
      const outHeight = randomTarget(r, height);
      const window = randomWindow(r, outWidth, outHeight);
      const label = `case ${n} (${filter}): ${width}x${height}x${channels} -> ${outWidth}x${outHeight} window ${JSON.stringify(window)}`;

      const want = resize8Reference(src, outWidth, outHeight, filter, window);
      const got = resize8(src, outWidth, outHeight, filter, window);
      assert.equal(got.width, want.width, label);
      assert.equal(got.height, want.height, label);
      assert.equal(got.channels, want.channels, label);
      assert.equal(got.data.length, want.data.length, label);
      if (Buffer.compare(got.data, want.data) !== 0) {
        const i = got.data.findIndex((v, k) => v !== want.data[k]);
        assert.fail(`${label}: first difference at sample ${i}: ${got.data[i]} vs ${want.data[i]}`);
      }
      const up = Math.max(outWidth / width, outHeight / height);
      const down = Math.min(outWidth / width, outHeight / height);
      if (up > 1) seen.up++;
      if (up > 20) seen.extremeUp++;
      if (down < 1) seen.down++;
      if (down < 1 / 20) seen.extremeDown++;
      if (outWidth === width || outHeight === height) seen.skippedPass++;
      if (window) seen.windowed++;
    }
    // The random cases cover what they are meant to.
    for (const [what, count] of Object.entries(seen)) assert.ok(count >= 20, `${what}: only ${count} cases`);
    assert.deepEqual([...perFilter.values()], PIL_RESAMPLE_FILTERS.map(() => 100));
  });

  for (const filter of PIL_RESAMPLE_FILTERS) it(`handles empty windows and 1-pixel images like the reference (${filter})`, () => {
    const r = rng(3);
    for (const channels of [1, 2, 3, 4]) {
      const src = randomImage(r, 9, 5, channels);
      for (const [outWidth, outHeight, window] of [
        [20, 3, { left: 4, top: 1, width: 0, height: 2 }],
        [20, 3, { left: 4, top: 1, width: 3, height: 0 }],
        [9, 3, { left: 4, top: 1, width: 0, height: 2 }],
        [20, 5, { left: 4, top: 1, width: 3, height: 0 }],
      ] as const) {
        const got = resize8(src, outWidth, outHeight, filter, window);
        assert.deepEqual(got, resize8Reference(src, outWidth, outHeight, filter, window));
        assert.equal(got.data.length, 0);
      }
      const dot = randomImage(r, 1, 1, channels);
      for (const [w, h] of [[1, 7], [7, 1], [300, 200]]) {
        assert.deepEqual(resize8(dot, w, h, filter), resize8Reference(dot, w, h, filter));
      }
    }
  });

  it('handles an image above the wasm memory kept per thread, then small ones again', () => {
    const r = rng(7);
    const huge = randomImage(r, 2600, 2200, 3); // 17 MB, above the 16 MiB kept per thread
    const win = { left: 100, top: 50, width: 224, height: 224 };
    assert.deepEqual(resize8(huge, 400, 300, 'bicubic', win).data, resize8Reference(huge, 400, 300, 'bicubic', win).data);
    const small = randomImage(r, 50, 40, 4);
    assert.deepEqual(resize8(small, 31, 77, 'lanczos').data, resize8Reference(small, 31, 77, 'lanczos').data);
  });

  it('normalises exactly like the TypeScript reference', () => {
    const r = rng(11);
    for (const [width, height] of [[224, 224], [37, 29], [1, 1]]) {
      const rgb = { width, height, data: new Uint8Array(width * height * 3) };
      for (let i = 0; i < rgb.data.length; i++) rgb.data[i] = randomInt(r, 0, 255);
      for (const doNormalize of [true, false]) {
        const table = normalizationTable({ imageMean: CLIP_MEAN, imageStd: CLIP_STD, doRescale: true, doNormalize });
        const got = rgbToNormalizedChw(rgb, table);
        const want = rgbToNormalizedChwReference(rgb, table);
        // Bit patterns, so that -0 and NaN would count too.
        assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(want.buffer));
        // Not a view of wasm memory: preprocess workers transfer the buffer.
        assert.equal(got.buffer.byteLength, got.byteLength);
      }
    }
  });
});
