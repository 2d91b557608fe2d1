/**
 * OpenAI CLIP's image transform, reproduced pixel-exactly against PIL 9.4 +
 * torchvision: Resize(shortest edge, BICUBIC) -> CenterCrop -> convert("RGB")
 * -> ToTensor -> Normalize(mean, std), producing CHW float32.
 *
 * Everything here is pure except `preprocessImageFile`, which adds decoding.
 * The resize runs in the image's own mode like PIL: RGBA/LA premultiplied,
 * "P" and "1" with NEAREST, "I" in 32-bit integers, and the RGB conversion
 * happens after the crop. Only the cropped window of the resized image is
 * computed; each output pixel has its own coefficients, so the pixels are the
 * ones a full resize followed by a crop produces.
 */
import {
  channelsOf,
  decodeImage,
  type Decoded8,
  type DecodedImage,
  type DecodedPalette,
  type DecodeOptions,
} from './image_decode.js';
import {
  mulDiv255,
  premultiplyAlpha,
  resizeBicubic8,
  resizeBicubicI32,
  resizeNearest8,
  unpremultiplyAlphaInPlace,
  type OutputWindow,
  type Raster8,
} from './pil_resample.js';
import { wasmKernels } from './pil_resample_wasm.js';

export type ResizeSpec = { shortestEdge: number } | { height: number; width: number };

export interface ClipPreprocessOptions {
  /** Target of the resize: shortest edge (torchvision Resize(int)) or exact size. */
  size: ResizeSpec;
  crop: { height: number; width: number };
  imageMean: readonly [number, number, number];
  imageStd: readonly [number, number, number];
  doResize: boolean;
  doCenterCrop: boolean;
  /** Divide by 255 (ToTensor) before normalising. */
  doRescale: boolean;
  doNormalize: boolean;
  /**
   * Accepted for config compatibility; the output always has 3 channels, so
   * the RGB conversion (after the crop, as OpenAI's transform does) always runs.
   */
  doConvertRgb: boolean;
  /** Apply EXIF orientation when decoding (PIL/OpenAI do not). */
  exifRotate: boolean;
  /**
   * How mode "I" (16-bit grey PNG/TIFF) becomes 8-bit. 'clip' is PIL's
   * convert("RGB"): values above 255 saturate, so typical 16-bit images turn
   * white, exactly as the reference pipeline sees them. 'shift8' keeps the
   * high byte first (like PIL's handling of 16-bit RGB PNGs) and then
   * resizes as mode L; it is sensible but matches no reference.
   */
  int32Grey: 'clip' | 'shift8';
}

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

export const DEFAULT_CLIP_OPTIONS: ClipPreprocessOptions = {
  size: { shortestEdge: 224 },
  crop: { height: 224, width: 224 },
  imageMean: CLIP_MEAN,
  imageStd: CLIP_STD,
  doResize: true,
  doCenterCrop: true,
  doRescale: true,
  doNormalize: true,
  doConvertRgb: true,
  exifRotate: false,
  int32Grey: 'clip',
};

/** Interleaved RGB uint8 image. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** CHW float32 tensor plus its spatial size. */
export interface ChwTensor {
  width: number;
  height: number;
  data: Float32Array;
}

// ------------------------------------------------------------------ config

function num(json: Record<string, unknown>, key: string): number | undefined {
  const v = json[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`preprocessor config: ${key} must be a number`);
  return v;
}

function bool(json: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = json[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new Error(`preprocessor config: ${key} must be a boolean`);
  return v;
}

function triple(json: Record<string, unknown>, key: string, fallback: readonly [number, number, number]): readonly [number, number, number] {
  const v = json[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') return [v, v, v];
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new Error(`preprocessor config: ${key} must be a number or 3 numbers`);
  }
  return [v[0], v[1], v[2]];
}

function positiveInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`preprocessor config: ${what} must be a positive integer`);
  return v;
}

/**
 * Reads a Hugging Face `preprocessor_config.json` (CLIPImageProcessor
 * fields); absent fields take OpenAI CLIP's defaults. Only bicubic resampling
 * (`resample: 3`) is supported, as in OpenAI's transform.
 */
export function fromPreprocessorConfig(json: unknown, overrides: Partial<ClipPreprocessOptions> = {}): ClipPreprocessOptions {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('preprocessor config must be a JSON object');
  const cfg = json as Record<string, unknown>;
  const resample = num(cfg, 'resample');
  if (resample !== undefined && resample !== 3) {
    throw new Error(`preprocessor config: resample=${resample} is not supported (only 3, bicubic)`);
  }
  let size: ResizeSpec = DEFAULT_CLIP_OPTIONS.size;
  const rawSize = cfg.size;
  if (typeof rawSize === 'number') size = { shortestEdge: positiveInt(rawSize, 'size') };
  else if (rawSize && typeof rawSize === 'object') {
    const s = rawSize as Record<string, unknown>;
    if (s.shortest_edge !== undefined) size = { shortestEdge: positiveInt(s.shortest_edge, 'size.shortest_edge') };
    else if (s.height !== undefined || s.width !== undefined) {
      size = { height: positiveInt(s.height, 'size.height'), width: positiveInt(s.width, 'size.width') };
    } else throw new Error('preprocessor config: size needs shortest_edge or height and width');
  }
  let crop = DEFAULT_CLIP_OPTIONS.crop;
  const rawCrop = cfg.crop_size;
  if (typeof rawCrop === 'number') crop = { height: positiveInt(rawCrop, 'crop_size'), width: rawCrop };
  else if (rawCrop && typeof rawCrop === 'object') {
    const c = rawCrop as Record<string, unknown>;
    crop = { height: positiveInt(c.height, 'crop_size.height'), width: positiveInt(c.width, 'crop_size.width') };
  }
  const rescaleFactor = num(cfg, 'rescale_factor');
  if (rescaleFactor !== undefined && Math.abs(rescaleFactor - 1 / 255) > 1e-12) {
    throw new Error(`preprocessor config: rescale_factor=${rescaleFactor} is not supported (only 1/255)`);
  }
  return {
    ...DEFAULT_CLIP_OPTIONS,
    size,
    crop,
    imageMean: triple(cfg, 'image_mean', CLIP_MEAN),
    imageStd: triple(cfg, 'image_std', CLIP_STD),
    doResize: bool(cfg, 'do_resize', true),
    doCenterCrop: bool(cfg, 'do_center_crop', true),
    doRescale: bool(cfg, 'do_rescale', true),
    doNormalize: bool(cfg, 'do_normalize', true),
    doConvertRgb: bool(cfg, 'do_convert_rgb', true),
    ...overrides,
  };
}

// ------------------------------------------------------------------ geometry

/** Height and width of the preprocessed image: what every pixel buffer is sized from. */
export function outputSize(options: ClipPreprocessOptions): { height: number; width: number } {
  if (options.doCenterCrop) return { height: options.crop.height, width: options.crop.width };
  if (!options.doResize || 'shortestEdge' in options.size) {
    throw new Error('preprocessing without a crop needs a fixed resize size {height, width}, or images would differ in size');
  }
  return { height: options.size.height, width: options.size.width };
}

/** torchvision's Resize size rule; an int size truncates the long side. */
export function resizedSize(width: number, height: number, size: ResizeSpec): { width: number; height: number } {
  if ('shortestEdge' in size) {
    const s = size.shortestEdge;
    // Same double expression as torchvision: int(size * long / short).
    if (width <= height) return { width: s, height: Math.trunc((s * height) / width) };
    return { width: Math.trunc((s * width) / height), height: s };
  }
  return { width: size.width, height: size.height };
}

/** Python's round() for halves of integers: ties go to the even neighbour. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * torchvision center_crop placement: where the crop starts in the image
 * (negative = zero padding, split as torchvision does: floor before,
 * ceil after) and the offset of the image inside the crop.
 */
export function centerCropOffsets(
  width: number,
  height: number,
  cropWidth: number,
  cropHeight: number,
): { left: number; top: number } {
  const axis = (size: number, crop: number): number =>
    crop > size ? 0 - Math.floor((crop - size) / 2) : roundHalfEven((size - crop) / 2);
  return { left: axis(width, cropWidth), top: axis(height, cropHeight) };
}

// ------------------------------------------------------------------ transform

/**
 * The uint8 RGB image fed to ToTensor (224x224x3 for CLIP): PIL-exact resize,
 * center crop and RGB conversion.
 */
export function clipRgbCrop(img: DecodedImage, options: Partial<ClipPreprocessOptions> = {}): RgbImage {
  const opts = { ...DEFAULT_CLIP_OPTIONS, ...options };
  validateDecoded(img);
  const target = opts.doResize ? resizedSize(img.width, img.height, opts.size) : { width: img.width, height: img.height };
  const cropW = opts.doCenterCrop ? opts.crop.width : target.width;
  const cropH = opts.doCenterCrop ? opts.crop.height : target.height;
  const { left, top } = opts.doCenterCrop ? centerCropOffsets(target.width, target.height, cropW, cropH) : { left: 0, top: 0 };
  // Part of the resized image inside the crop; the rest of the crop is padding.
  const win: OutputWindow = {
    left: Math.max(0, left),
    top: Math.max(0, top),
    width: Math.min(target.width, left + cropW) - Math.max(0, left),
    height: Math.min(target.height, top + cropH) - Math.max(0, top),
  };
  const out = new Uint8Array(cropW * cropH * 3);
  const dx = win.left - left;
  const dy = win.top - top;

  if (img.mode === 'I' && opts.int32Grey === 'clip') {
    const resized =
      target.width === img.width && target.height === img.height
        ? cropI32(img.data, img.width, win)
        : resizeBicubicI32({ width: img.width, height: img.height, data: img.data }, target.width, target.height, win).data;
    for (let y = 0; y < win.height; y++) {
      for (let x = 0; x < win.width; x++) {
        const v = resized[y * win.width + x];
        const g = v < 0 ? 0 : v > 255 ? 255 : v; // PIL's I -> RGB saturates
        out.fill(g, ((dy + y) * cropW + dx + x) * 3, ((dy + y) * cropW + dx + x) * 3 + 3);
      }
    }
    return { width: cropW, height: cropH, data: out };
  }

  const src: Decoded8 | DecodedPalette = img.mode === 'I' ? shiftInt32ToGrey(img) : img;
  const sameSize = target.width === src.width && target.height === src.height;
  const nearest = src.mode === 'P' || src.mode === '1';
  const hasAlpha = src.mode === 'RGBA' || src.mode === 'LA';
  const raster: Raster8 = { width: src.width, height: src.height, channels: channelsOf(src.mode), data: src.data };
  // PIL returns a plain copy when the size is unchanged, before any
  // premultiply round trip (which is lossy), so skip it in that case too.
  const premultiply = hasAlpha && !sameSize;
  const input = premultiply ? premultiplyWindowSource(raster, target, win) : raster;
  let resized: Raster8;
  if (win.width <= 0 || win.height <= 0) resized = { width: 0, height: 0, channels: raster.channels, data: new Uint8Array(0) };
  else if (nearest) resized = resizeNearest8(raster, target.width, target.height, win);
  else resized = resizeBicubic8(input, target.width, target.height, win);
  if (premultiply) unpremultiplyAlphaInPlace(resized);

  const padded = win.width < cropW || win.height < cropH;
  if (src.mode === 'RGB' && !padded) return { width: cropW, height: cropH, data: resized.data };
  // Zero padding, in the source mode (P pads with index 0, CMYK with no ink).
  if (padded) {
    const pad = padColour(src);
    for (let i = 0; i < cropW * cropH; i++) out.set(pad, 3 * i);
  }
  writeRgb(src, resized, out, cropW, dx, dy);
  return { width: cropW, height: cropH, data: out };
}

/**
 * Premultiplies only the source rows/columns that can influence the window
 * (a margin wider than the bicubic support, 2 * max(scale, 1), around its
 * mapped edges); the rest of the copy stays zero since it is never read.
 */
function premultiplyWindowSource(src: Raster8, target: { width: number; height: number }, win: OutputWindow): Raster8 {
  if (win.width <= 0 || win.height <= 0) return src;
  const span = (inSize: number, outSize: number, start: number, len: number): [number, number] => {
    const scale = inSize / outSize;
    const support = 2 * Math.max(scale, 1) + 2;
    const lo = Math.max(0, Math.floor(start * scale - support));
    const hi = Math.min(inSize, Math.ceil((start + len) * scale + support));
    return [lo, hi];
  };
  const [x0, x1] = span(src.width, target.width, win.left, win.width);
  const [y0, y1] = span(src.height, target.height, win.top, win.height);
  if (x0 === 0 && y0 === 0 && x1 === src.width && y1 === src.height) return premultiplyAlpha(src);
  const ch = src.channels;
  const a = ch - 1;
  const data = new Uint8Array(src.data.length);
  for (let y = y0; y < y1; y++) {
    for (let p = (y * src.width + x0) * ch, end = (y * src.width + x1) * ch; p < end; p += ch) {
      const alpha = src.data[p + a];
      for (let c = 0; c < a; c++) data[p + c] = mulDiv255(src.data[p + c], alpha);
      data[p + a] = alpha;
    }
  }
  return { ...src, data };
}

function cropI32(data: Int32Array, width: number, win: OutputWindow): Int32Array {
  const out = new Int32Array(Math.max(0, win.width) * Math.max(0, win.height));
  for (let y = 0; y < win.height; y++) {
    const from = (win.top + y) * width + win.left;
    out.set(data.subarray(from, from + win.width), y * win.width);
  }
  return out;
}

function shiftInt32ToGrey(img: Extract<DecodedImage, { mode: 'I' }>): Decoded8 {
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) {
    const v = img.data[i] >> 8;
    data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return { width: img.width, height: img.height, format: img.format, mode: 'L', data };
}

/** RGB of a zero-valued source pixel: torchvision pads with 0 in the source mode. */
function padColour(img: DecodedImage): Uint8Array {
  const rgb = new Uint8Array(3);
  if (img.mode === 'I') return rgb;
  const ch = channelsOf(img.mode);
  writeRgb(img, { width: 1, height: 1, channels: ch, data: new Uint8Array(ch) }, rgb, 1, 0, 0);
  return rgb;
}

/** PIL's conversions to RGB, applied to the cropped window. */
function writeRgb(img: DecodedImage, win: Raster8, out: Uint8Array, cropW: number, dx: number, dy: number): void {
  const ch = win.channels;
  const d = win.data;
  for (let y = 0; y < win.height; y++) {
    let p = y * win.width * ch;
    let o = ((dy + y) * cropW + dx) * 3;
    for (let x = 0; x < win.width; x++, p += ch, o += 3) {
      switch (img.mode) {
        case 'RGB':
        case 'RGBA': // alpha dropped, not composited
          out[o] = d[p];
          out[o + 1] = d[p + 1];
          out[o + 2] = d[p + 2];
          break;
        case 'L':
        case 'LA':
          out[o] = out[o + 1] = out[o + 2] = d[p];
          break;
        case '1':
          out[o] = out[o + 1] = out[o + 2] = d[p] ? 255 : 0;
          break;
        case 'P': {
          const i = d[p] * 3;
          out[o] = img.palette[i];
          out[o + 1] = img.palette[i + 1];
          out[o + 2] = img.palette[i + 2];
          break;
        }
        case 'CMYK': {
          // PIL 9.4: channel = clip(nk - nk*ink/255) with nk = 255 - K.
          const nk = 255 - d[p + 3];
          out[o] = clamp255(nk - mulDiv255(d[p], nk));
          out[o + 1] = clamp255(nk - mulDiv255(d[p + 1], nk));
          out[o + 2] = clamp255(nk - mulDiv255(d[p + 2], nk));
          break;
        }
        case 'I':
          throw new Error('unreachable: mode I is converted before resampling');
      }
    }
  }
}

function clamp255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function validateDecoded(img: DecodedImage): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) {
    throw new Error(`image has invalid size ${img.width}x${img.height}`);
  }
  const expected = img.width * img.height * (img.mode === 'I' ? 1 : channelsOf(img.mode));
  if (img.data.length !== expected) {
    throw new Error(`image data has ${img.data.length} samples, expected ${expected} for ${img.width}x${img.height} mode ${img.mode}`);
  }
  if (img.mode === 'P' && img.palette.length < 256 * 3) throw new Error('palette must hold 256 RGB entries');
}

/**
 * Per-channel lookup from byte value to the normalised float32, computed with
 * torchvision's float32 steps: x/255, then (v - mean), then / std, each rounded
 * to float32 (a double result rounded once to float32 equals the float32 op).
 */
export function normalizationTable(options: Pick<ClipPreprocessOptions, 'imageMean' | 'imageStd' | 'doRescale' | 'doNormalize'>): Float32Array {
  const table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(options.imageMean[c]);
    const std = Math.fround(options.imageStd[c]);
    for (let x = 0; x < 256; x++) {
      let v = options.doRescale ? Math.fround(x / 255) : x;
      if (options.doNormalize) v = Math.fround(Math.fround(v - mean) / std);
      table[c * 256 + x] = v;
    }
  }
  return table;
}

/**
 * Interleaved RGB bytes -> CHW float32 via `normalizationTable`, in
 * WebAssembly where available; both implementations give the same floats.
 */
export function rgbToNormalizedChw(rgb: RgbImage, table: Float32Array, out?: Float32Array): Float32Array {
  checkOutput(out, 3 * rgb.width * rgb.height);
  return wasmKernels?.normalizeChw(rgb.data, rgb.width * rgb.height, table, out) ?? rgbToNormalizedChwReference(rgb, table, out);
}

function checkOutput(out: Float32Array | undefined, length: number): void {
  if (out && out.length !== length) throw new Error(`output holds ${out.length} floats, the image needs ${length}`);
}

/** `rgbToNormalizedChw` in TypeScript only: the reference for the wasm kernel. */
export function rgbToNormalizedChwReference(rgb: RgbImage, table: Float32Array, into?: Float32Array): Float32Array {
  const n = rgb.width * rgb.height;
  checkOutput(into, 3 * n);
  const out = into ?? new Float32Array(3 * n);
  const d = rgb.data;
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    out[i] = table[d[p]];
    out[n + i] = table[256 + d[p + 1]];
    out[2 * n + i] = table[512 + d[p + 2]];
  }
  return out;
}

/** Full transform: 3 x cropH x cropW normalised float32 (CHW), written to `out` when given. */
export function clipTransform(img: DecodedImage, options: Partial<ClipPreprocessOptions> = {}, out?: Float32Array): Float32Array {
  return clipTransformWithSize(img, options, out).data;
}

/** Like `clipTransform`, also reporting the output's spatial size. */
export function clipTransformWithSize(img: DecodedImage, options: Partial<ClipPreprocessOptions> = {}, out?: Float32Array): ChwTensor {
  const opts = { ...DEFAULT_CLIP_OPTIONS, ...options };
  const rgb = clipRgbCrop(img, opts);
  return { width: rgb.width, height: rgb.height, data: rgbToNormalizedChw(rgb, normalizationTable(opts), out) };
}

/** Decode (file path or bytes) + transform, written to `out` when given. */
export async function preprocessImageFile(
  input: string | Uint8Array,
  options: Partial<ClipPreprocessOptions> = {},
  out?: Float32Array,
): Promise<Float32Array> {
  const decodeOptions: DecodeOptions = { exifRotate: options.exifRotate === true };
  const img = await decodeImage(input, decodeOptions);
  return clipTransform(img, options, out);
}
