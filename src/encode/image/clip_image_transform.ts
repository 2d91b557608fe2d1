/**
 * CLIP-family image preprocessing, reproduced pixel-exactly against PIL 9.4
 * in one of two Python references (`ClipPreprocessOptions.reference`):
 *
 * - 'original': OpenAI's `_transform`, open_clip's and MobileCLIP's
 *   torchvision pipelines: Resize(shortest edge) -> CenterCrop (offsets
 *   int(round(...)), ties to even; zero padding split floor before, ceil
 *   after) -> convert("RGB") -> ToTensor -> Normalize. The resize runs in the
 *   image's own mode like PIL: RGBA/LA premultiplied, "P" and "1" with
 *   NEAREST whatever the filter, "PA" as two plain bands (its palette lost),
 *   "I" in 32-bit integers, "F" in float32; the RGB conversion happens after
 *   the crop.
 * - 'transformers': transformers' CLIPImageProcessor / SiglipImageProcessor:
 *   convert("RGB") first, then PIL resize of the uint8 RGB image, centre crop
 *   at floor((size - crop) / 2) (zero padding placed ceil before), rescale,
 *   normalise. SigLIP squashes to {height, width} without a crop.
 *
 * Everything here is pure except `preprocessImageFile`, which adds decoding.
 * Only the cropped window of the resized image is computed; each output pixel
 * has its own coefficients, so the pixels are the ones a full resize followed
 * by a crop produces.
 */
import {
  channelsOf,
  decodeImage,
  type Decoded8,
  type DecodedImage,
  type DecodedPalette,
  type DecodedPaletteAlpha,
  type DecodeOptions,
} from './decode/index.js';
import { labToRgb } from './decode/cielab.js';
import {
  PIL_RESAMPLE_FILTERS,
  filterSupport,
  mulDiv255,
  premultiplyAlpha,
  resize8,
  resizeF32,
  resizeI32,
  unpremultiplyAlphaInPlace,
  type OutputWindow,
  type Raster8,
  type ResampleFilter,
} from './pil_resample.js';
import { wasmKernels } from './pil_resample_wasm.js';

export type { ResampleFilter } from './pil_resample.js';

export type ResizeSpec = { shortestEdge: number } | { height: number; width: number };

/** Which Python pipeline the pixels match (see the module comment). */
export type PreprocessReference = 'original' | 'transformers';

export interface ClipPreprocessOptions {
  /** The Python pipeline reproduced: 'original' (torchvision transforms) or 'transformers' (its image processors). */
  reference: PreprocessReference;
  /** Target of the resize: shortest edge (long side truncated) or exact size (squash). */
  size: ResizeSpec;
  /** PIL filter of the resize (preprocessor_config.json `resample` 0-5). */
  resample: ResampleFilter;
  /** Centre crop, used when `doCenterCrop`; may differ from the resize and be non-square. */
  crop: { height: number; width: number };
  imageMean: readonly [number, number, number];
  imageStd: readonly [number, number, number];
  doResize: boolean;
  doCenterCrop: boolean;
  /** Divide by 255 (ToTensor; transformers multiplies by 1/255, which gives the same float32s) before normalising. */
  doRescale: boolean;
  doNormalize: boolean;
  /**
   * Accepted for config compatibility; the output always has 3 channels, so
   * the RGB conversion (where the reference places it) always runs.
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
/** transformers' IMAGENET_STANDARD_MEAN/STD, SiglipImageProcessor's defaults. */
const HALF = [0.5, 0.5, 0.5] as const;

export const DEFAULT_CLIP_OPTIONS: ClipPreprocessOptions = {
  reference: 'original',
  size: { shortestEdge: 224 },
  resample: 'bicubic',
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

/**
 * Processor classes whose preprocessor_config.json `fromPreprocessorConfig`
 * reads as SigLIP's (squash, no crop). The Fast variant resizes torch tensors,
 * not PIL images; its settings are read alike, the pixels are the slow one's.
 */
const SIGLIP_PROCESSORS = new Set(['SiglipImageProcessor', 'SiglipImageProcessorFast']);

/** Reads typed fields of one preprocessor config, naming the file and key in every error. */
class ConfigReader {
  constructor(
    private readonly cfg: Record<string, unknown>,
    private readonly source: string,
  ) {}

  fail(key: string, problem: string): never {
    throw new Error(`${this.source}: ${key} ${problem}`);
  }

  number(key: string): number | undefined {
    const v = this.cfg[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.cfg[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  triple(key: string, fallback: readonly [number, number, number]): readonly [number, number, number] {
    const v = this.cfg[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'number' && Number.isFinite(v)) return [v, v, v];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      this.fail(key, `must be a number or 3 numbers (one per RGB channel), got ${JSON.stringify(v)}`);
    }
    return [v[0], v[1], v[2]];
  }

  positiveInt(v: unknown, key: string): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) this.fail(key, `must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  }

  /** `size`: an integer (CLIPImageProcessor's legacy shortest edge), {shortest_edge} or {height, width}. */
  size(fallback: ResizeSpec, squashOnly: boolean): ResizeSpec {
    const raw = this.cfg.size;
    if (raw === undefined || raw === null) return fallback;
    if (typeof raw === 'number') {
      if (squashOnly) this.fail('size', 'must be {"height": H, "width": W} for this image processor (it resizes to an exact size)');
      return { shortestEdge: this.positiveInt(raw, 'size') };
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) this.fail('size', `must be an integer or an object, got ${JSON.stringify(raw)}`);
    const s = raw as Record<string, unknown>;
    if (s.shortest_edge !== undefined && !squashOnly) return { shortestEdge: this.positiveInt(s.shortest_edge, 'size.shortest_edge') };
    if (s.height !== undefined || s.width !== undefined) {
      return { height: this.positiveInt(s.height, 'size.height'), width: this.positiveInt(s.width, 'size.width') };
    }
    this.fail(
      'size',
      `${JSON.stringify(raw)} is not supported: use ${squashOnly ? '' : '{"shortest_edge": N} or '}{"height": H, "width": W}`,
    );
  }

  /** `crop_size`: an integer (square) or {height, width}. */
  crop(fallback: { height: number; width: number }): { height: number; width: number } {
    const raw = this.cfg.crop_size;
    if (raw === undefined || raw === null) return fallback;
    if (typeof raw === 'number') {
      const side = this.positiveInt(raw, 'crop_size');
      return { height: side, width: side };
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) this.fail('crop_size', `must be an integer or {"height": H, "width": W}, got ${JSON.stringify(raw)}`);
    const c = raw as Record<string, unknown>;
    return { height: this.positiveInt(c.height, 'crop_size.height'), width: this.positiveInt(c.width, 'crop_size.width') };
  }

  /** `resample`: PIL's Resampling value 0-5. */
  resample(fallback: ResampleFilter): ResampleFilter {
    const v = this.cfg.resample;
    if (v === undefined || v === null) return fallback;
    const filter = typeof v === 'number' && Number.isInteger(v) ? PIL_RESAMPLE_FILTERS[v] : undefined;
    if (!filter) this.fail('resample', `is ${JSON.stringify(v)}, which is not supported; use one of ${resampleChoices()}`);
    return filter;
  }
}

function resampleChoices(): string {
  return PIL_RESAMPLE_FILTERS.map((f, i) => `${i} (${f})`).join(', ');
}

/**
 * Reads a Hugging Face `preprocessor_config.json` the way Python's image
 * processor does: CLIPImageProcessor fields and defaults (integer `size` is
 * the shortest edge, integer `crop_size` a square; reference 'original'), or
 * SiglipImageProcessor's when `image_processor_type` names it (squash to
 * {height, width}, no crop, mean/std 0.5; reference 'transformers').
 * `overrides` win over the file; `source` names the file in errors.
 */
export function fromPreprocessorConfig(
  json: unknown,
  overrides: Partial<ClipPreprocessOptions> = {},
  source = 'preprocessor_config.json',
): ClipPreprocessOptions {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source} must be a JSON object`);
  const read = new ConfigReader(json as Record<string, unknown>, source);
  const processor = (json as Record<string, unknown>).image_processor_type;
  const siglip = typeof processor === 'string' && SIGLIP_PROCESSORS.has(processor);
  const rescaleFactor = read.number('rescale_factor');
  if (rescaleFactor !== undefined && Math.abs(rescaleFactor - 1 / 255) > 1e-12) {
    read.fail('rescale_factor', `is ${rescaleFactor}, which is not supported: only 1/255 (0.00392156862745098)`);
  }
  const mean = siglip ? HALF : CLIP_MEAN;
  const std = siglip ? HALF : CLIP_STD;
  const options: ClipPreprocessOptions = {
    ...DEFAULT_CLIP_OPTIONS,
    reference: siglip ? 'transformers' : 'original',
    size: read.size(siglip ? { height: 224, width: 224 } : DEFAULT_CLIP_OPTIONS.size, siglip),
    resample: read.resample('bicubic'),
    crop: read.crop(DEFAULT_CLIP_OPTIONS.crop),
    imageMean: read.triple('image_mean', mean),
    imageStd: read.triple('image_std', std),
    doResize: read.bool('do_resize', true),
    // SiglipImageProcessor has no crop step, whatever the file says.
    doCenterCrop: siglip ? false : read.bool('do_center_crop', true),
    doRescale: read.bool('do_rescale', true),
    doNormalize: read.bool('do_normalize', true),
    doConvertRgb: read.bool('do_convert_rgb', true),
    ...overrides,
  };
  checkOptions(options, source);
  return options;
}

/**
 * Throws a clear error for settings this module cannot run: unknown enum
 * values, bad sizes, or settings that give no fixed output size.
 */
export function checkOptions(options: ClipPreprocessOptions, source = 'preprocessing options'): void {
  if (options.reference !== 'original' && options.reference !== 'transformers') {
    throw new Error(`${source}: reference ${JSON.stringify(options.reference)} is not supported; use 'original' or 'transformers'`);
  }
  if (!PIL_RESAMPLE_FILTERS.includes(options.resample)) {
    throw new Error(`${source}: resample ${JSON.stringify(options.resample)} is not supported; use one of ${resampleChoices()}`);
  }
  if (options.int32Grey !== 'clip' && options.int32Grey !== 'shift8') {
    throw new Error(`${source}: int32Grey ${JSON.stringify(options.int32Grey)} is not supported; use 'clip' or 'shift8'`);
  }
  const dims = 'shortestEdge' in options.size ? [options.size.shortestEdge] : [options.size.height, options.size.width];
  for (const v of [...dims, options.crop.height, options.crop.width]) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${source}: sizes must be positive integers, got size ${JSON.stringify(options.size)}, crop ${JSON.stringify(options.crop)}`);
  }
  outputSize(options, source);
}

/**
 * Height and width of every preprocessed image under `options`: the crop when
 * cropping, else the exact resize size. Buffers are allocated from this; it
 * throws when the settings leave the size to each image (shortest-edge resize
 * or no resize, without a crop).
 */
export function outputSize(options: ClipPreprocessOptions, source = 'preprocessing options'): { height: number; width: number } {
  if (options.doCenterCrop) return { height: options.crop.height, width: options.crop.width };
  if (options.doResize && !('shortestEdge' in options.size)) return { height: options.size.height, width: options.size.width };
  throw new Error(
    `${source}: without a centre crop the output size would depend on each image ` +
      `(${options.doResize ? 'size is a shortest edge' : 'do_resize is false'}); set do_center_crop with crop_size, or size {"height": H, "width": W}`,
  );
}

// ------------------------------------------------------------------ geometry

/** torchvision's Resize size rule (transformers' get_resize_output_image_size is the same); an int size truncates the long side. */
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
 * Where the centre crop starts in the (resized) image; negative = zero
 * padding before the image. 'original' is torchvision's center_crop:
 * int(round((size - crop) / 2)) with ties to even, or when the crop is larger,
 * padding floor((crop - size) / 2) before. 'transformers' is its center_crop:
 * (size - crop) // 2 either way (the padding, ceil((crop - size) / 2) before,
 * comes to the same start).
 */
export function centerCropOffsets(
  width: number,
  height: number,
  cropWidth: number,
  cropHeight: number,
  reference: PreprocessReference = 'original',
): { left: number; top: number } {
  const axis = (size: number, crop: number): number => {
    if (reference === 'transformers') return Math.floor((size - crop) / 2);
    return crop > size ? 0 - Math.floor((crop - size) / 2) : roundHalfEven((size - crop) / 2);
  };
  return { left: axis(width, cropWidth), top: axis(height, cropHeight) };
}

// ------------------------------------------------------------------ transform

/** The resize target, the crop's place in it, and the part of the resize inside the crop. */
interface Placement {
  target: { width: number; height: number };
  out: { width: number; height: number };
  /** Part of the resized image inside the crop; the rest of the crop is padding. */
  win: OutputWindow;
  /** Where `win` lands in the output. */
  dx: number;
  dy: number;
}

function place(img: DecodedImage, opts: ClipPreprocessOptions): Placement {
  const out = outputSize(opts);
  // torchvision sizes the resize from what PIL reports before loading; a TIFF that PIL turns on load (Orientation
  // 5-8) is then resized to the unturned shape. transformers loads first (np.array), so it sees the turned size.
  const sized = opts.reference === 'original' ? (img.sizeBeforeLoad ?? img) : img;
  const target = opts.doResize ? resizedSize(sized.width, sized.height, opts.size) : { width: img.width, height: img.height };
  const { left, top } = opts.doCenterCrop
    ? centerCropOffsets(target.width, target.height, out.width, out.height, opts.reference)
    : { left: 0, top: 0 };
  const win: OutputWindow = {
    left: Math.max(0, left),
    top: Math.max(0, top),
    width: Math.max(0, Math.min(target.width, left + out.width) - Math.max(0, left)),
    height: Math.max(0, Math.min(target.height, top + out.height) - Math.max(0, top)),
  };
  return { target, out, win, dx: win.left - left, dy: win.top - top };
}

/**
 * The uint8 RGB image fed to ToTensor / rescale (224x224x3 for CLIP):
 * PIL-exact resize, centre crop and RGB conversion, in the order of
 * `options.reference`.
 */
export function clipRgbCrop(img: DecodedImage, options: Partial<ClipPreprocessOptions> = {}): RgbImage {
  const opts = { ...DEFAULT_CLIP_OPTIONS, ...options };
  checkOptions(opts);
  validateDecoded(img);
  const p = place(img, opts);
  return opts.reference === 'transformers' ? transformersCrop(img, opts, p) : originalCrop(img, opts, p);
}

/** torchvision order: resize in the image's own mode, crop (padding in that mode), then convert("RGB"). */
function originalCrop(img: DecodedImage, opts: ClipPreprocessOptions, p: Placement): RgbImage {
  const { target, out: size, win, dx, dy } = p;
  const out = new Uint8Array(size.width * size.height * 3);

  if (img.mode === 'F' || (img.mode === 'I' && opts.int32Grey === 'clip')) {
    const resized = img.mode === 'F'
      ? resizeF32(img, target.width, target.height, opts.resample, win).data
      : resizeI32(img, target.width, target.height, opts.resample, win).data;
    // The padding is 0 in either mode, which converts to black.
    for (let y = 0; y < win.height; y++) {
      for (let x = 0; x < win.width; x++) {
        const o = ((dy + y) * size.width + dx + x) * 3;
        out.fill(grey32ToByte(resized[y * win.width + x]), o, o + 3);
      }
    }
    return { width: size.width, height: size.height, data: out };
  }

  const src: Decoded8 | DecodedPalette | DecodedPaletteAlpha = img.mode === 'I' ? shiftInt32ToGrey(img) : img;
  const sameSize = target.width === src.width && target.height === src.height;
  // Image.resize forces NEAREST for "1" and "P" (not "PA"), and premultiplies alpha for every other filter.
  const filter: ResampleFilter = src.mode === 'P' || src.mode === '1' ? 'nearest' : opts.resample;
  const palette = paletteAfterResize(src, sameSize, filter);
  const hasAlpha = src.mode === 'RGBA' || src.mode === 'LA';
  const raster: Raster8 = { width: src.width, height: src.height, channels: channelsOf(src.mode), data: src.data };
  // PIL returns a plain copy when the size is unchanged, before any
  // premultiply round trip (which is lossy), so skip it in that case too.
  const premultiply = hasAlpha && !sameSize && filter !== 'nearest';
  const input = premultiply ? premultiplyWindowSource(raster, target, win, filter) : raster;
  const resized = resizeWindow(input, target, filter, win);
  if (premultiply) unpremultiplyAlphaInPlace(resized);

  const padded = win.width < size.width || win.height < size.height;
  if (src.mode === 'RGB' && !padded) return { width: size.width, height: size.height, data: resized.data };
  // Zero padding, in the source mode (P pads with index 0, CMYK with no ink).
  if (padded) {
    const pad = padColour(src.mode, palette);
    for (let i = 0; i < size.width * size.height; i++) out.set(pad, 3 * i);
  }
  writeRgb(src.mode, palette, resized, out, size.width, dx, dy);
  return { width: size.width, height: size.height, data: out };
}

/** PIL's grey ramp, the palette of a new palette image. */
const GREY_PALETTE = Uint8Array.from({ length: 768 }, (_, i) => Math.floor(i / 3));

/**
 * The palette convert("RGB") sees after Image.resize: Resample.c's convolution makes a new "PA" image without
 * copying the palette, so it converts with the grey ramp (the indices read as grey levels); NEAREST and an
 * unchanged size keep it.
 */
function paletteAfterResize(src: Decoded8 | DecodedPalette | DecodedPaletteAlpha, sameSize: boolean, filter: ResampleFilter): Uint8Array | null {
  if (src.mode !== 'P' && src.mode !== 'PA') return null;
  return src.mode === 'PA' && !sameSize && filter !== 'nearest' ? GREY_PALETTE : src.palette;
}

/** PIL's F -> L (and I -> RGB) saturation: 0 below 0 (and for NaN), 255 from 255 up, else the integer part. */
function grey32ToByte(v: number): number {
  return v >= 255 ? 255 : v > 0 ? Math.trunc(v) : 0;
}

/**
 * transformers order: convert("RGB") first, resize the uint8 RGB image with
 * PIL, crop (black padding). Grey sources are resized as one channel and
 * spread to three after: the same bytes as resizing the RGB image.
 */
function transformersCrop(img: DecodedImage, opts: ClipPreprocessOptions, p: Placement): RgbImage {
  const { target, out: size, win, dx, dy } = p;
  const rgb = toRgbOrGrey(img, opts.int32Grey);
  const resized = resizeWindow(rgb, target, opts.resample, win);
  if (rgb.channels === 3 && win.width === size.width && win.height === size.height) {
    return { width: size.width, height: size.height, data: resized.data };
  }
  const out = new Uint8Array(size.width * size.height * 3);
  writeRgb(rgb.channels === 3 ? 'RGB' : 'L', null, resized, out, size.width, dx, dy);
  return { width: size.width, height: size.height, data: out };
}

function resizeWindow(src: Raster8, target: { width: number; height: number }, filter: ResampleFilter, win: OutputWindow): Raster8 {
  if (win.width <= 0 || win.height <= 0) return { width: 0, height: 0, channels: src.channels, data: new Uint8Array(0) };
  return resize8(src, target.width, target.height, filter, win);
}

/**
 * PIL's convert("RGB") of the whole image, as a 3-channel raster, or as one
 * channel when the result is grey (L, LA, 1, I): R = G = B then.
 */
function toRgbOrGrey(img: DecodedImage, int32Grey: ClipPreprocessOptions['int32Grey']): Raster8 {
  const { width, height } = img;
  const n = width * height;
  switch (img.mode) {
    case 'RGB':
      return { width, height, channels: 3, data: img.data };
    case 'L':
      return { width, height, channels: 1, data: img.data };
    case 'I':
      if (int32Grey === 'shift8') return { width, height, channels: 1, data: shiftInt32ToGrey(img).data };
      return { width, height, channels: 1, data: Uint8Array.from(img.data, clamp255) };
    case 'F':
      return { width, height, channels: 1, data: Uint8Array.from(img.data, grey32ToByte) };
    case 'LA':
    case '1': {
      const grey = new Uint8Array(n);
      if (img.mode === 'LA') for (let i = 0; i < n; i++) grey[i] = img.data[2 * i];
      else for (let i = 0; i < n; i++) grey[i] = img.data[i] ? 255 : 0;
      return { width, height, channels: 1, data: grey };
    }
    default: {
      const data = new Uint8Array(n * 3);
      const raster = { width, height, channels: channelsOf(img.mode), data: img.data };
      writeRgb(img.mode, img.mode === 'P' || img.mode === 'PA' ? img.palette : null, raster, data, width, 0, 0);
      return { width, height, channels: 3, data };
    }
  }
}

/**
 * Premultiplies only the source rows/columns that can influence the window
 * (a margin wider than the filter's support, scaled by the downscale factor,
 * around its mapped edges); the rest of the copy stays zero since it is never read.
 */
function premultiplyWindowSource(
  src: Raster8,
  target: { width: number; height: number },
  win: OutputWindow,
  filter: Exclude<ResampleFilter, 'nearest'>,
): Raster8 {
  if (win.width <= 0 || win.height <= 0) return src;
  const span = (inSize: number, outSize: number, start: number, len: number): [number, number] => {
    const scale = inSize / outSize;
    const support = filterSupport(filter) * Math.max(scale, 1) + 2;
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

function shiftInt32ToGrey(img: Extract<DecodedImage, { mode: 'I' }>): Decoded8 {
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = clamp255(img.data[i] >> 8);
  return { width: img.width, height: img.height, format: img.format, mode: 'L', data };
}

/** RGB of a zero-valued source pixel: torchvision pads with 0 in the source mode. */
function padColour(mode: Exclude<DecodedImage['mode'], 'I' | 'F'>, palette: Uint8Array | null): Uint8Array {
  const rgb = new Uint8Array(3);
  const ch = channelsOf(mode);
  writeRgb(mode, palette, { width: 1, height: 1, channels: ch, data: new Uint8Array(ch) }, rgb, 1, 0, 0);
  return rgb;
}

/** PIL's conversions to RGB of a raster in `mode`, written at (dx, dy) of an RGB image `outWidth` wide. */
function writeRgb(
  mode: Exclude<DecodedImage['mode'], 'I' | 'F'>,
  palette: Uint8Array | null,
  win: Raster8,
  out: Uint8Array,
  outWidth: number,
  dx: number,
  dy: number,
): void {
  const ch = win.channels;
  const d = win.data;
  if (mode === 'LAB') {
    // Through LittleCMS, as PIL's convert does (decode/cielab.ts).
    for (let y = 0; y < win.height; y++) labToRgb(d, ch, out, win.width, y * win.width * ch, ((dy + y) * outWidth + dx) * 3);
    return;
  }
  for (let y = 0; y < win.height; y++) {
    let p = y * win.width * ch;
    let o = ((dy + y) * outWidth + dx) * 3;
    for (let x = 0; x < win.width; x++, p += ch, o += 3) {
      switch (mode) {
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
        case 'P':
        case 'PA': { // alpha dropped
          const i = d[p] * 3;
          out[o] = palette![i];
          out[o + 1] = palette![i + 1];
          out[o + 2] = palette![i + 2];
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
  const expected = img.width * img.height * (img.mode === 'I' || img.mode === 'F' ? 1 : channelsOf(img.mode));
  if (img.data.length !== expected) {
    throw new Error(`image data has ${img.data.length} samples, expected ${expected} for ${img.width}x${img.height} mode ${img.mode}`);
  }
  if ((img.mode === 'P' || img.mode === 'PA') && img.palette.length < 256 * 3) throw new Error('palette must hold 256 RGB entries');
}

/**
 * Per-channel lookup from byte value to the normalised float32, computed with
 * torchvision's float32 steps: x/255, then (v - mean), then / std, each rounded
 * to float32 (a double result rounded once to float32 equals the float32 op).
 * transformers' rescale, float32(x * (1/255) in double), gives the same
 * float32 for every byte, and its normalise is the same float32 arithmetic, so
 * one table serves both references.
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
