/**
 * Pure resampling over typed arrays, reproducing Pillow 9.4's `Image.resize`
 * pixel for pixel (Debian bookworm's python3-pil is the golden reference).
 *
 * Algorithm facts reproduced here (from Pillow's Resample.c / Geometry.c):
 * - The convolution filters (BOX support 0.5, BILINEAR triangle and HAMMING
 *   support 1, BICUBIC Keys a = -0.5 support 2, LANCZOS a = 3 support 3) use
 *   per-output-sample coefficients computed in double precision: the filter
 *   support grows with the downscale factor (antialiasing), taps run from
 *   int(center - support + 0.5) to
 *   int(center + support + 0.5) clamped to the image, and each tap list is
 *   normalised to sum 1.
 * - For 8-bit images the normalised coefficients become fixed point with
 *   PRECISION_BITS = 22 (round half away from zero); each pass starts its sum at
 *   half a unit, shifts right arithmetically and clamps to 0..255, so the
 *   intermediate image is uint8.
 * - The horizontal pass runs first, over only the source rows that the vertical
 *   pass will read; a pass is skipped when its dimension is unchanged.
 * - 32-bit images keep double coefficients: mode "I" rounds each pass half
 *   away from zero, mode "F" stores each pass as float32.
 * - NEAREST (any mode; Image.resize forces it for "1" and "P") samples source index
 *   floor(x0 + scale/2 + i*scale) where the position is accumulated by repeated
 *   addition, exactly as Pillow's affine scaler does.
 *
 * Every output pixel depends only on its own coefficients, so computing just a
 * window of the output (e.g. the centre crop) yields exactly the pixels that a
 * full resize followed by a crop would.
 */

import { KERNEL_MAX_CHANNELS, kernelTapMultiple, wasmKernels, type KernelTaps } from './pil_resample_wasm.js';

/** Interleaved 8-bit samples, row-major, `channels` samples per pixel. */
export interface Raster8 {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** Single-channel 32-bit integer samples (Pillow mode "I"), row-major. */
export interface RasterI32 {
  width: number;
  height: number;
  data: Int32Array;
}

/** Rectangle of the (virtual) full-size output image to compute. */
export interface OutputWindow {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Pillow's fixed-point precision for 8-bit resampling: 32 - 8 - 2. */
export const PRECISION_BITS = 22;

/** PIL's resampling filters. */
export type ResampleFilter = 'nearest' | 'box' | 'bilinear' | 'hamming' | 'bicubic' | 'lanczos';

/** The filters that resample by convolution (all but NEAREST). */
export type ConvolutionFilter = Exclude<ResampleFilter, 'nearest'>;

/**
 * PIL's `Image.Resampling` values, the integers a preprocessor_config.json
 * `resample` holds: the filter at index n has value n.
 */
export const PIL_RESAMPLE_FILTERS: readonly ResampleFilter[] = ['nearest', 'lanczos', 'bilinear', 'bicubic', 'box', 'hamming'];

function sinc(x: number): number {
  if (x === 0) return 1;
  x *= Math.PI;
  return Math.sin(x) / x;
}

/** Hamming window constants: float literals (0.54f, 0.46f) in Pillow's C. */
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

/** Pillow's filter kernels and their support radius before scaling. */
const FILTERS: Record<ConvolutionFilter, { support: number; kernel: (x: number) => number }> = {
  box: { support: 0.5, kernel: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: {
    support: 1,
    kernel: (x) => {
      if (x < 0) x = -x;
      return x < 1 ? 1 - x : 0;
    },
  },
  hamming: {
    support: 1,
    kernel: (x) => {
      if (x < 0) x = -x;
      if (x === 0) return 1;
      if (x >= 1) return 0;
      x *= Math.PI;
      return (Math.sin(x) / x) * (HAMMING_A + HAMMING_B * Math.cos(x));
    },
  },
  bicubic: {
    support: 2,
    kernel: (x) => {
      const a = -0.5;
      if (x < 0) x = -x;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, kernel: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

/** Support radius of a filter before scaling (it grows with the downscale factor). */
export function filterSupport(filter: ConvolutionFilter): number {
  return FILTERS[filter].support;
}

/** Filter taps for a range of output samples along one axis. */
export interface AxisCoefficients {
  /** Maximum taps per output sample; row stride of `weights`. */
  kernelSize: number;
  /** First source index read by each output sample. */
  first: Int32Array;
  /** Number of source samples read by each output sample. */
  count: Int32Array;
  /** Normalised weights, `kernelSize` per output sample (unused taps are 0). */
  weights: Float64Array;
}

/**
 * Coefficients of `filter` for output samples [start, start + length) of an
 * axis scaled from `inSize` to `outSize` (whole-image box, as torchvision and
 * transformers use).
 */
export function resampleCoefficients(
  filter: ConvolutionFilter,
  inSize: number,
  outSize: number,
  start = 0,
  length = outSize - start,
): AxisCoefficients {
  const { support: baseSupport, kernel } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = scale < 1 ? 1 : scale;
  const support = baseSupport * filterScale;
  const kernelSize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(length);
  const count = new Int32Array(length);
  const weights = new Float64Array(length * kernelSize);
  const invFilterScale = 1 / filterScale;
  for (let i = 0; i < length; i++) {
    const center = (start + i + 0.5) * scale;
    // C casts truncate toward zero; negative values are clamped to 0 anyway.
    let lo = Math.trunc(center - support + 0.5);
    if (lo < 0) lo = 0;
    let hi = Math.trunc(center + support + 0.5);
    if (hi > inSize) hi = inSize;
    const taps = hi - lo;
    const base = i * kernelSize;
    let total = 0;
    for (let t = 0; t < taps; t++) {
      const w = kernel((t + lo - center + 0.5) * invFilterScale);
      weights[base + t] = w;
      total += w;
    }
    if (total !== 0) {
      for (let t = 0; t < taps; t++) weights[base + t] /= total;
    }
    first[i] = lo;
    count[i] = taps;
  }
  return { kernelSize, first, count, weights };
}

/** Pillow's conversion of normalised weights to 22-bit fixed point. */
export function toFixedPoint(weights: Float64Array): Int32Array {
  const unit = 1 << PRECISION_BITS;
  const out = new Int32Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    out[i] = Math.trunc(w < 0 ? -0.5 + w * unit : 0.5 + w * unit);
  }
  return out;
}

const HALF_UNIT = 1 << (PRECISION_BITS - 1);

/** Pillow's clip8: arithmetic shift out the fraction, clamp to a byte. */
function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function fullWindow(width: number, height: number): OutputWindow {
  return { left: 0, top: 0, width, height };
}

function checkWindow(win: OutputWindow, outWidth: number, outHeight: number): void {
  if (
    !Number.isInteger(win.left) || !Number.isInteger(win.top) ||
    !Number.isInteger(win.width) || !Number.isInteger(win.height) ||
    win.left < 0 || win.top < 0 || win.width < 0 || win.height < 0 ||
    win.left + win.width > outWidth || win.top + win.height > outHeight
  ) {
    throw new RangeError(
      `output window ${JSON.stringify(win)} is not inside the ${outWidth}x${outHeight} output`,
    );
  }
}

function checkTarget(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`resize target must be positive integers, got ${width}x${height}`);
  }
}

/** Copies a window of an image whose size does not change. */
function cropRaster8(src: Raster8, win: OutputWindow): Raster8 {
  const ch = src.channels;
  const out = new Uint8Array(win.width * win.height * ch);
  const rowBytes = win.width * ch;
  for (let y = 0; y < win.height; y++) {
    const from = ((win.top + y) * src.width + win.left) * ch;
    out.set(src.data.subarray(from, from + rowBytes), y * rowBytes);
  }
  return { width: win.width, height: win.height, channels: ch, data: out };
}

/*
 * Speed: the taps of each output sample are regrouped into blocks of 8
 * consecutive source samples (zero weights where a block slot is not one of
 * the sample's taps, and blocks shifted to stay inside the source), so the
 * inner sums are straight-line expressions over fixed offsets. Adding zero
 * products changes nothing, and every partial sum stays an integer below 2^31
 * in magnitude (at most 255 * ~1.1 * 2^22), so double arithmetic is exact and
 * `>>` sees the same int32 value as Pillow's C code.
 */
const BLOCK = 8;

/** Taps of one axis regrouped into blocks of `blockSize` source samples. */
interface TapBlocks {
  blocksPerSample: number;
  /** First source index of each block. */
  start: Int32Array;
  /** `blockSize` fixed-point weights per block. */
  weights: Int32Array;
}

/** Most taps any output sample of `c` reads. */
function maxTaps(c: AxisCoefficients): number {
  let maxCount = 0;
  for (let i = 0; i < c.count.length; i++) if (c.count[i] > maxCount) maxCount = c.count[i];
  return maxCount;
}

/**
 * Regroups taps into blocks; `firstShift` is subtracted from source indices
 * (when the source is a row range of the image). Blocks are shifted to end
 * inside the source; only a source narrower than a block leaves one reaching
 * past its end (at 0), with zero weights there.
 */
function toTapBlocks(
  c: AxisCoefficients,
  fixed: Int32Array,
  inSize: number,
  firstShift: number,
  blockSize: number,
): TapBlocks {
  const n = c.first.length;
  const blocksPerSample = Math.max(1, Math.ceil(maxTaps(c) / blockSize));
  const start = new Int32Array(n * blocksPerSample);
  const weights = new Int32Array(n * blocksPerSample * blockSize);
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < blocksPerSample; b++) {
      const firstTap = b * blockSize;
      const pos = c.first[i] - firstShift + firstTap;
      const blockStart = Math.max(0, Math.min(pos, inSize - blockSize));
      const j = i * blocksPerSample + b;
      start[j] = blockStart;
      // Taps of this block occupy slots from (pos - blockStart); they end
      // inside the source, hence inside the block.
      const taps = Math.min(blockSize, c.count[i] - firstTap);
      for (let k = 0; k < taps; k++) {
        weights[j * blockSize + pos - blockStart + k] = fixed[i * c.kernelSize + firstTap + k];
      }
    }
  }
  return { blocksPerSample, start, weights };
}

/** Horizontal 8-bit pass over source rows [rowStart, rowStart + rows). */
function horizontalPass8(src: Raster8, rowStart: number, rows: number, blocks: TapBlocks): Raster8 {
  const ch = src.channels;
  const nb = blocks.blocksPerSample;
  const outW = blocks.start.length / nb;
  const d = src.data;
  const st = blocks.start;
  const w = blocks.weights;
  const out = new Uint8Array(outW * rows * ch);
  const inStride = src.width * ch;
  let o = 0;
  const ch2 = 2 * ch, ch3 = 3 * ch, ch4 = 4 * ch, ch5 = 5 * ch, ch6 = 6 * ch, ch7 = 7 * ch;
  for (let y = 0; y < rows; y++) {
    const rowBase = (rowStart + y) * inStride;
    for (let x = 0; x < outW; x++) {
      for (let c = 0; c < ch; c++) {
        let sum = HALF_UNIT;
        for (let j = x * nb, jEnd = j + nb; j < jEnd; j++) {
          const r = rowBase + st[j] * ch + c;
          const k = j * BLOCK;
          sum +=
            d[r] * w[k] + d[r + ch] * w[k + 1] + d[r + ch2] * w[k + 2] + d[r + ch3] * w[k + 3] +
            d[r + ch4] * w[k + 4] + d[r + ch5] * w[k + 5] + d[r + ch6] * w[k + 6] + d[r + ch7] * w[k + 7];
        }
        out[o++] = clip8(sum);
      }
    }
  }
  return { width: outW, height: rows, channels: ch, data: out };
}

/**
 * Vertical 8-bit pass over columns [colStart, colStart + outW) of `src`;
 * block starts index rows of `src`.
 */
function verticalPass8(src: Raster8, colStart: number, outW: number, blocks: TapBlocks): Raster8 {
  const ch = src.channels;
  const nb = blocks.blocksPerSample;
  const outH = blocks.start.length / nb;
  const d = src.data;
  const w = blocks.weights;
  const stride = src.width * ch;
  const rowSamples = outW * ch;
  const out = new Uint8Array(rowSamples * outH);
  // Channels do not interact, so one loop over a row's samples serves any
  // channel count; extra blocks (strong downscales) accumulate in `acc`.
  const acc = nb > 1 ? new Float64Array(rowSamples) : null;
  for (let y = 0; y < outH; y++) {
    const o = y * rowSamples;
    for (let b = 0; b < nb; b++) {
      const j = y * nb + b;
      const r0 = blocks.start[j] * stride + colStart * ch;
      const r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
      const r4 = r3 + stride, r5 = r4 + stride, r6 = r5 + stride, r7 = r6 + stride;
      const k = j * BLOCK;
      const w0 = w[k], w1 = w[k + 1], w2 = w[k + 2], w3 = w[k + 3];
      const w4 = w[k + 4], w5 = w[k + 5], w6 = w[k + 6], w7 = w[k + 7];
      const firstBlock = b === 0;
      const lastBlock = b === nb - 1;
      for (let i = 0; i < rowSamples; i++) {
        let sum =
          d[r0 + i] * w0 + d[r1 + i] * w1 + d[r2 + i] * w2 + d[r3 + i] * w3 +
          d[r4 + i] * w4 + d[r5 + i] * w5 + d[r6 + i] * w6 + d[r7 + i] * w7;
        sum += firstBlock ? HALF_UNIT : acc![i];
        if (lastBlock) out[o + i] = clip8(sum);
        else acc![i] = sum;
      }
    }
  }
  return { width: outW, height: outH, channels: ch, data: out };
}

/**
 * Copy of `src` with zero samples appended so that its width (or height)
 * reaches a whole block; the appended samples only ever get zero weights.
 */
function padToBlock(src: Raster8, horizontal: boolean): Raster8 {
  const ch = src.channels;
  if (horizontal) {
    const data = new Uint8Array(BLOCK * src.height * ch);
    for (let y = 0; y < src.height; y++) {
      data.set(src.data.subarray(y * src.width * ch, (y + 1) * src.width * ch), y * BLOCK * ch);
    }
    return { width: BLOCK, height: src.height, channels: ch, data };
  }
  const data = new Uint8Array(src.width * BLOCK * ch);
  data.set(src.data);
  return { width: src.width, height: BLOCK, channels: ch, data };
}

function horizontal8(src: Raster8, rowStart: number, rows: number, cols: AxisCoefficients): Raster8 {
  const input = src.width < BLOCK ? padToBlock(src, true) : src;
  const blocks = toTapBlocks(cols, toFixedPoint(cols.weights), input.width, 0, BLOCK);
  return horizontalPass8(input, rowStart, rows, blocks);
}

function vertical8(src: Raster8, colStart: number, outW: number, rows: AxisCoefficients, firstShift: number): Raster8 {
  const input = src.height < BLOCK ? padToBlock(src, false) : src;
  const blocks = toTapBlocks(rows, toFixedPoint(rows.weights), input.height, firstShift, BLOCK);
  return verticalPass8(input, colStart, outW, blocks);
}

/** Source rows [start, end) read by a set of vertical coefficients. */
function rowSpan(rows: AxisCoefficients): { start: number; end: number } {
  let start = Infinity;
  let end = -Infinity;
  for (let i = 0; i < rows.first.length; i++) {
    if (rows.first[i] < start) start = rows.first[i];
    if (rows.first[i] + rows.count[i] > end) end = rows.first[i] + rows.count[i];
  }
  return rows.first.length === 0 ? { start: 0, end: 0 } : { start, end };
}

/**
 * The passes of an 8-bit convolution resize: coefficients of each pass that
 * runs (a pass is skipped when its dimension is unchanged) and the source
 * rows [rowStart, rowEnd) that they read; null when neither runs.
 */
interface Convolution8Plan {
  cols: AxisCoefficients | null;
  rows: AxisCoefficients | null;
  rowStart: number;
  rowEnd: number;
}

function planConvolution8(
  src: Raster8,
  outWidth: number,
  outHeight: number,
  filter: ConvolutionFilter,
  window: OutputWindow,
): Convolution8Plan | null {
  const cols = outWidth !== src.width ? resampleCoefficients(filter, src.width, outWidth, window.left, window.width) : null;
  const rows = outHeight !== src.height ? resampleCoefficients(filter, src.height, outHeight, window.top, window.height) : null;
  if (!cols && !rows) return null;
  // The horizontal pass runs over just the source rows the vertical pass reads.
  const span = rows ? rowSpan(rows) : { start: window.top, end: window.top + window.height };
  return { cols, rows, rowStart: span.start, rowEnd: span.end };
}

/** The TypeScript passes. */
function runConvolution8(src: Raster8, plan: Convolution8Plan, window: OutputWindow): Raster8 {
  const { cols, rows, rowStart, rowEnd } = plan;
  if (!rows) return horizontal8(src, rowStart, rowEnd - rowStart, cols!);
  if (!cols) return vertical8(src, window.left, window.width, rows, 0);
  const temp = horizontal8(src, rowStart, rowEnd - rowStart, cols);
  return vertical8(temp, 0, window.width, rows, rowStart);
}

/**
 * Taps of one axis for the wasm kernels: one block per output sample, its
 * size rounded up to a multiple of `multiple`.
 */
function kernelTaps(c: AxisCoefficients, inSize: number, firstShift: number, multiple: number): KernelTaps {
  const taps = Math.max(1, Math.ceil(maxTaps(c) / multiple)) * multiple;
  const { start, weights } = toTapBlocks(c, toFixedPoint(c.weights), inSize, firstShift, taps);
  return { start, weights, taps };
}

/** The wasm kernels, if this runtime has them and they cover `channels`-sample pixels. */
function kernelsFor(channels: number): typeof wasmKernels {
  return channels >= 1 && channels <= KERNEL_MAX_CHANNELS ? wasmKernels : null;
}

/** Which implementation `resize8` runs for a convolution filter on `channels`-sample pixels. */
export function resample8Backend(channels: number): 'wasm-simd' | 'typescript' {
  return kernelsFor(channels) ? 'wasm-simd' : 'typescript';
}

/**
 * The WebAssembly SIMD passes (they take fixed-point coefficient rows, so
 * serve every filter); null when they do not cover `src` (or it does not fit).
 */
function runConvolution8Wasm(src: Raster8, plan: Convolution8Plan, window: OutputWindow): Raster8 | null {
  const ch = src.channels;
  const kernels = kernelsFor(ch);
  if (!kernels) return null;
  const { cols, rows, rowStart, rowEnd } = plan;
  const data = kernels.resample8({
    data: src.data,
    width: src.width,
    channels: ch,
    rowStart,
    rowEnd,
    horizontal: cols && kernelTaps(cols, src.width, 0, kernelTapMultiple('horizontal', ch)),
    vertical: rows && kernelTaps(rows, rowEnd - rowStart, rowStart, kernelTapMultiple('vertical', ch)),
    colStart: window.left,
    outWidth: window.width,
  });
  return data && { width: window.width, height: window.height, channels: ch, data };
}

function resize8With(
  src: Raster8,
  outWidth: number,
  outHeight: number,
  filter: ResampleFilter,
  window: OutputWindow,
  wasm: boolean,
): Raster8 {
  checkTarget(outWidth, outHeight);
  checkWindow(window, outWidth, outHeight);
  if (filter === 'nearest') return nearestWindow(src.data, src.width, src.height, src.channels, outWidth, outHeight, window);
  const plan = planConvolution8(src, outWidth, outHeight, checkFilter(filter), window);
  if (!plan) return cropRaster8(src, window);
  return (wasm ? runConvolution8Wasm(src, plan, window) : null) ?? runConvolution8(src, plan, window);
}

/**
 * Pillow-exact `Image.resize(..., filter)` of an 8-bit image to
 * outWidth x outHeight, returning only `window` of the result (the whole
 * image by default). Convolution filters run the WebAssembly SIMD kernels
 * where available (see `resample8Backend`), otherwise the TypeScript passes
 * of `resize8Reference`; both give identical bytes. Premultiplying alpha
 * (Pillow does for RGBA/LA with every filter but NEAREST) is the caller's.
 */
export function resize8(
  src: Raster8,
  outWidth: number,
  outHeight: number,
  filter: ResampleFilter,
  window: OutputWindow = fullWindow(outWidth, outHeight),
): Raster8 {
  return resize8With(src, outWidth, outHeight, filter, window, true);
}

/** `resize8` in TypeScript only: the reference for the wasm kernels. */
export function resize8Reference(
  src: Raster8,
  outWidth: number,
  outHeight: number,
  filter: ResampleFilter,
  window: OutputWindow = fullWindow(outWidth, outHeight),
): Raster8 {
  return resize8With(src, outWidth, outHeight, filter, window, false);
}

function checkFilter(filter: ConvolutionFilter): ConvolutionFilter {
  if (!Object.hasOwn(FILTERS, filter)) {
    throw new RangeError(`unknown resampling filter ${JSON.stringify(filter)}; use one of ${PIL_RESAMPLE_FILTERS.join(', ')}`);
  }
  return filter;
}

/** Pillow's ROUND_UP for 32-bit passes: half away from zero, then truncate. */
function roundHalfAway(v: number): number {
  return Math.trunc(v >= 0 ? v + 0.5 : v - 0.5);
}

/** Single-channel 32-bit float samples (Pillow mode "F"), row-major. */
export interface RasterF32 {
  width: number;
  height: number;
  data: Float32Array;
}

/**
 * Pillow-exact `Image.resize(..., filter)` of a mode "I" image (convolution
 * with double weights, each pass rounded to an integer; or NEAREST),
 * returning only `window` of the result.
 */
export function resizeI32(
  src: RasterI32,
  outWidth: number,
  outHeight: number,
  filter: ResampleFilter,
  window: OutputWindow = fullWindow(outWidth, outHeight),
): RasterI32 {
  return resize32(src, outWidth, outHeight, filter, window, roundHalfAway);
}

/**
 * Pillow-exact `Image.resize(..., filter)` of a mode "F" image: Resample.c's
 * 32-bit float passes sum in double and store each pass as float32.
 */
export function resizeF32(
  src: RasterF32,
  outWidth: number,
  outHeight: number,
  filter: ResampleFilter,
  window: OutputWindow = fullWindow(outWidth, outHeight),
): RasterF32 {
  return resize32(src, outWidth, outHeight, filter, window, Math.fround);
}

/** The 32-bit passes of Resample.c (modes I and F), `store` rounding each pass's double sums to the sample type. */
function resize32<T extends Int32Array | Float32Array>(
  src: { width: number; height: number; data: T },
  outWidth: number,
  outHeight: number,
  filter: ResampleFilter,
  window: OutputWindow,
  store: (sum: number) => number,
): { width: number; height: number; data: T } {
  checkTarget(outWidth, outHeight);
  checkWindow(window, outWidth, outHeight);
  if (filter === 'nearest') {
    const { width, height, data } = nearestWindow(src.data, src.width, src.height, 1, outWidth, outHeight, window);
    return { width, height, data };
  }
  checkFilter(filter);
  const needHorizontal = outWidth !== src.width;
  const needVertical = outHeight !== src.height;
  const make = (length: number) => new (src.data.constructor as new (length: number) => T)(length);

  // Horizontal pass (or column selection) over the rows the vertical pass reads.
  let rows: AxisCoefficients | null = null;
  let rowStart = window.top;
  let rowEnd = window.top + window.height;
  if (needVertical) {
    rows = resampleCoefficients(filter, src.height, outHeight, window.top, window.height);
    const span = rowSpan(rows);
    rowStart = span.start;
    rowEnd = span.end;
  }
  const tempH = rowEnd - rowStart;
  const tempW = window.width;
  const temp = make(tempW * tempH);
  if (needHorizontal) {
    const cols = resampleCoefficients(filter, src.width, outWidth, window.left, window.width);
    for (let y = 0; y < tempH; y++) {
      const rowBase = (rowStart + y) * src.width;
      for (let x = 0; x < tempW; x++) {
        let s = 0;
        const kBase = x * cols.kernelSize;
        for (let t = 0; t < cols.count[x]; t++) {
          s += src.data[rowBase + cols.first[x] + t] * cols.weights[kBase + t];
        }
        temp[y * tempW + x] = store(s);
      }
    }
  } else {
    for (let y = 0; y < tempH; y++) {
      const from = (rowStart + y) * src.width + window.left;
      temp.set(src.data.subarray(from, from + tempW), y * tempW);
    }
  }
  if (!rows) return { width: tempW, height: tempH, data: temp };

  const out = make(window.width * window.height);
  for (let y = 0; y < window.height; y++) {
    const kBase = y * rows.kernelSize;
    const firstRow = rows.first[y] - rowStart;
    for (let x = 0; x < tempW; x++) {
      let s = 0;
      for (let t = 0; t < rows.count[y]; t++) {
        s += temp[(firstRow + t) * tempW + x] * rows.weights[kBase + t];
      }
      out[y * tempW + x] = store(s);
    }
  }
  return { width: window.width, height: window.height, data: out };
}

/**
 * Source index per output sample for Pillow's NEAREST scaling of one axis.
 * The position is accumulated by repeated addition like Pillow's loop, so the
 * floating-point rounding matches; -1 marks samples outside the source.
 */
export function nearestSourceIndices(inSize: number, outSize: number): Int32Array {
  const step = inSize / outSize;
  const out = new Int32Array(outSize);
  let pos = step * 0.5;
  for (let i = 0; i < outSize; i++) {
    const idx = pos < 0 ? -1 : Math.trunc(pos);
    out[i] = idx < inSize ? idx : -1;
    pos += step;
  }
  return out;
}

/**
 * Pillow's NEAREST resize (any sample type and channel count) of `window`:
 * a plain copy when the size is unchanged, like Image.resize; samples that
 * map outside the source are 0, as Pillow fills them.
 */
function nearestWindow<T extends Uint8Array | Int32Array | Float32Array>(
  data: T,
  width: number,
  height: number,
  ch: number,
  outWidth: number,
  outHeight: number,
  window: OutputWindow,
): { width: number; height: number; channels: number; data: T } {
  const same = outWidth === width && outHeight === height;
  const xs = same ? null : nearestSourceIndices(width, outWidth);
  const ys = same ? null : nearestSourceIndices(height, outHeight);
  const out = new (data.constructor as new (length: number) => T)(window.width * window.height * ch);
  let o = 0;
  for (let y = 0; y < window.height; y++) {
    const sy = ys ? ys[window.top + y] : window.top + y;
    for (let x = 0; x < window.width; x++) {
      const sx = xs ? xs[window.left + x] : window.left + x;
      if (sy >= 0 && sx >= 0) {
        const p = (sy * width + sx) * ch;
        for (let c = 0; c < ch; c++) out[o + c] = data[p + c];
      }
      o += ch;
    }
  }
  return { width: window.width, height: window.height, channels: ch, data: out };
}

/** Pillow's MULDIV255: a*b/255 rounded, in integer arithmetic. */
export function mulDiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

/**
 * Premultiplies colour by the last channel (alpha) as Pillow's RGBA->RGBa and
 * LA->La conversions do. Returns a new raster.
 */
export function premultiplyAlpha(src: Raster8): Raster8 {
  const ch = src.channels;
  const a = ch - 1;
  const out = new Uint8Array(src.data.length);
  for (let p = 0; p < src.data.length; p += ch) {
    const alpha = src.data[p + a];
    for (let c = 0; c < a; c++) out[p + c] = mulDiv255(src.data[p + c], alpha);
    out[p + a] = alpha;
  }
  return { ...src, data: out };
}

/**
 * Undoes premultiplication as Pillow's RGBa->RGBA and La->LA conversions do:
 * alpha 0 and 255 pass colour through, otherwise 255*c/alpha truncated and
 * clamped to 255. Modifies `img` in place and returns it.
 */
export function unpremultiplyAlphaInPlace(img: Raster8): Raster8 {
  const ch = img.channels;
  const a = ch - 1;
  const d = img.data;
  for (let p = 0; p < d.length; p += ch) {
    const alpha = d[p + a];
    if (alpha === 0 || alpha === 255) continue;
    for (let c = 0; c < a; c++) {
      const v = Math.trunc((255 * d[p + c]) / alpha);
      d[p + c] = v > 255 ? 255 : v;
    }
  }
  return img;
}
