/**
 * TIFF: the first image file directory is read here (size, and what PIL 9.4 makes of the file), the pixels
 * come from sharp (libtiff), and PIL's own rules are applied on top:
 * - the Orientation tag is applied when the image is loaded, as PIL 9.4's TiffImagePlugin does (its load_end
 *   transposes), also without `exifRotate`; PIL's size before loading is kept for 5–8, which swap the sides;
 * - 16-bit samples keep their high byte (PIL's ";16" unpackers), CMYK included;
 * - associated (premultiplied) alpha is un-premultiplied with PIL's integer formula (its "RGBa" unpackers); grey
 *   with associated alpha has no entry in PIL 9.4's OPEN_INFO (grey with an extra sample opens only as LA), so it
 *   is refused, as PIL refuses it;
 * - PIL's modes F (32-bit float) and PA (palette + alpha) are read as grey samples, without libvips' colour handling;
 * - CIELAB is read as its raw samples, stored as PIL's mode LAB stores them (cielab.ts converts it to RGB as PIL does);
 * - old-style JPEG (compression 6) is decoded as libtiff's OJPEG codec and TIFFRGBAImage decode it for PIL
 *   (tiff_ojpeg.ts);
 * - tiles with separate planes, Zstandard and LZMA, which libvips cannot read, are first rewritten as a plain TIFF
 *   (tiff_plain.ts).
 * TIFFs PIL reads but this path cannot reproduce are refused with an error saying so and how to convert them, and
 * those PIL cannot open either with an error saying that.
 */
import { tiffLabToPil } from './cielab.js';
import { decodeWithSharp, openSharp, reshape8, sharpRaw, type SharpOptions } from './sharp.js';
import { readTiffDirectory } from './tiff_ifd.js';
import { decodeOjpeg, OjpegUnreadable } from './tiff_ojpeg.js';
import { needsPlainTiff, plainTiffObstacle, toPlainTiff } from './tiff_plain.js';
import type { DeclaredSize, DecodedImage, ImageMode } from './types.js';

const TAG = {
  width: 256,
  height: 257,
  bitsPerSample: 258,
  compression: 259,
  photometric: 262,
  fillOrder: 266,
  orientation: 274,
  samplesPerPixel: 277,
  planarConfig: 284,
  tileWidth: 322,
  colorMap: 320,
  extraSamples: 338,
  sampleFormat: 339,
} as const;

/** First value of each tag of the first IFD (integer types only). */
type Ifd = ReadonlyMap<number, number>;

/** Where a tag's first value is stored, and its size in bytes (for patching it). */
interface ValueAt {
  readonly offset: number;
  readonly size: number;
}

export interface TiffHeader extends DeclaredSize {
  readonly ifd: Ifd;
  /** ColorMap: all red, then all green, then all blue values, 16-bit. */
  readonly colorMap: Uint16Array | null;
  readonly valueAt: ReadonlyMap<number, ValueAt>;
  readonly littleEndian: boolean;
}

function readFirstIfd(b: Uint8Array): { ifd: Ifd; colorMap: Uint16Array | null; valueAt: Map<number, ValueAt>; littleEndian: boolean } {
  const dir = readTiffDirectory(b);
  const tags = new Map<number, number>();
  const valueAt = new Map<number, ValueAt>();
  for (const entry of dir.entries.values()) {
    const first = dir.integers(entry.tag)?.[0];
    if (first === undefined) continue;
    tags.set(entry.tag, first);
    valueAt.set(entry.tag, { offset: entry.offset, size: entry.size });
  }
  const map = dir.entries.get(TAG.colorMap)?.type === 3 ? dir.integers(TAG.colorMap) : null;
  return { ifd: tags, colorMap: map && Uint16Array.from(map), valueAt, littleEndian: dir.littleEndian };
}

export function readTiffHeader(b: Uint8Array): TiffHeader {
  const { ifd, colorMap, valueAt, littleEndian } = readFirstIfd(b);
  const width = ifd.get(TAG.width);
  const height = ifd.get(TAG.height);
  if (width === undefined || height === undefined) throw new Error('TIFF has no ImageWidth/ImageLength in its first directory');
  return { width, height, ifd, colorMap, valueAt, littleEndian };
}

const CONVERT = 'convert it to an ordinary TIFF first, e.g. `tiffcp -c lzw -p contig in.tif out.tif` or `convert in.tif out.png`';

/** Kinds of TIFF PIL reads that this decoder cannot reproduce: refused up front, with the reason. */
function unsupportedKind(ifd: Ifd): string | null {
  if (ifd.get(TAG.compression) !== 6) return null;
  const photometric = ifd.get(TAG.photometric);
  if (photometric !== 6) return `old-style JPEG compression (6) and photometric ${photometric ?? 'missing'} (PIL then unpacks libtiff's raw YCbCr blocks as RGB; only YCbCr is reproduced)`;
  if (ifd.has(TAG.tileWidth) || (ifd.get(TAG.planarConfig) ?? 1) !== 1) return 'old-style JPEG compression (6) in tiles or separate planes (only strips with the planes together are reproduced)';
  return null;
}

/** Kinds PIL 9.4 cannot open either (no entry in TiffImagePlugin's OPEN_INFO): refused, saying so. */
function pilFailsOn(ifd: Ifd): string | null {
  const samples = ifd.get(TAG.samplesPerPixel) ?? 1;
  const bits = ifd.get(TAG.bitsPerSample) ?? 1;
  const photometric = ifd.get(TAG.photometric);
  if (photometric === 9 || photometric === 10) return `${photometric === 9 ? 'ICC' : 'ITU'} L*a*b* colour (photometric ${photometric})`;
  if (photometric === 8 && (samples !== 3 || bits !== 8 || ifd.has(TAG.extraSamples) || (ifd.get(TAG.sampleFormat) ?? 1) !== 1)) {
    return `CIELAB colour in ${samples} × ${bits}-bit samples${ifd.has(TAG.extraSamples) ? ' with extra samples' : ''} (PIL reads three unsigned 8-bit samples only)`;
  }
  if (ifd.get(TAG.compression) === 34926) return 'compression 34926 (an unofficial Zstandard code, which libtiff does not know)';
  if (ifd.get(TAG.compression) === 6 && (samples !== 3 || bits !== 8)) return `old-style JPEG compression (6) in ${samples} × ${bits}-bit samples (libtiff converts three 8-bit YCbCr samples only)`;
  if (ifd.get(TAG.sampleFormat) === 3 && (samples !== 1 || bits !== 32)) return `floating-point samples other than one 32-bit grey sample (${samples} × ${bits}-bit)`;
  if (photometric === 3 && samples > 1 && (samples !== 2 || bits !== 8 || ifd.get(TAG.extraSamples) !== 2)) {
    return `a palette with ${samples - 1} extra sample(s) other than one 8-bit unassociated alpha`;
  }
  const grey = photometric ?? 0; // PIL's default photometric, 0 (MinIsWhite)
  if ((grey === 0 || grey === 1) && samples > 1 && !isPilLa(ifd, grey, samples, bits)) {
    const extra = ifd.get(TAG.extraSamples);
    const signed = ifd.get(TAG.sampleFormat) === 2 ? ' signed' : '';
    const kind = extra === undefined ? 'no ExtraSamples tag' : `ExtraSamples ${extra} (${EXTRA_SAMPLE_KINDS[extra] ?? 'unknown'})`;
    const fillOrder = (ifd.get(TAG.fillOrder) ?? 1) === 1 ? '' : `, FillOrder ${ifd.get(TAG.fillOrder)}`;
    return `grey (photometric ${grey}) in ${samples} × ${bits}-bit${signed} samples, ${kind}${fillOrder} (PIL reads grey with an extra sample only as mode LA: photometric 1, two unsigned 8-bit samples, unassociated alpha, FillOrder 1)`;
  }
  return null;
}

const EXTRA_SAMPLE_KINDS: Readonly<Record<number, string>> = { 0: 'unspecified', 1: 'associated, premultiplied alpha', 2: 'unassociated alpha' };

/** PIL 9.4's one grey layout with an extra sample (OPEN_INFO's LA): MinIsBlack, 2 × 8 unsigned bits, unassociated alpha, FillOrder 1. */
function isPilLa(ifd: Ifd, photometric: number, samples: number, bits: number): boolean {
  return photometric === 1 && samples === 2 && bits === 8 && ifd.get(TAG.extraSamples) === 2 &&
    (ifd.get(TAG.sampleFormat) ?? 1) === 1 && (ifd.get(TAG.fillOrder) ?? 1) === 1;
}

/** PIL's mode F (one 32-bit float sample) or PA (8-bit palette index + unassociated alpha), else null. */
function floatOrPaletteAlpha(ifd: Ifd): 'F' | 'PA' | null {
  if (ifd.get(TAG.sampleFormat) === 3) return 'F';
  if (ifd.get(TAG.photometric) === 3 && (ifd.get(TAG.samplesPerPixel) ?? 1) === 2) return 'PA';
  return null;
}

export async function decodeTiff(bytes: Uint8Array, header: TiffHeader, options: SharpOptions): Promise<DecodedImage> {
  const { ifd } = header;
  const unsupported = unsupportedKind(ifd);
  if (unsupported) throw new Error(`TIFF with ${unsupported} (PIL reads it, zeroshot does not); ${CONVERT}`);
  const pilFails = pilFailsOn(ifd);
  if (pilFails) throw new Error(`TIFF with ${pilFails}, which PIL 9.4 cannot open either (the reference pipeline fails on it); ${CONVERT}`);
  const photometric = ifd.get(TAG.photometric);
  const bits = ifd.get(TAG.bitsPerSample) ?? 1;
  const compression = ifd.get(TAG.compression) ?? 1;
  const orientation = ifd.get(TAG.orientation) ?? 1;
  if (compression === 6) {
    // Not through sharp: the orientation is applied here in either case, as PIL applies it on load.
    const image = decodeOldJpeg(bytes, header, options);
    return orientation < 2 || orientation > 8 ? image : transpose(image, orientation);
  }
  if (needsPlainTiff(compression, ifd.has(TAG.tileWidth), ifd.get(TAG.planarConfig) ?? 1)) {
    const obstacle = plainTiffObstacle(compression);
    if (obstacle) throw new Error(`TIFF with tiles in separate colour planes and ${obstacle} (PIL reads it, zeroshot does not); ${CONVERT}`);
    const plain = await toPlainTiff(bytes);
    return decodeTiff(plain, readTiffHeader(plain), options);
  }
  const samples = ifd.get(TAG.samplesPerPixel) ?? 1;
  const associatedAlpha = photometric === 2 && samples === 4 && ifd.get(TAG.extraSamples) === 1;

  let image: DecodedImage;
  const special = floatOrPaletteAlpha(ifd);
  if (special) {
    image = await decodeAsGrey(bytes, header, special, options);
  } else if (photometric === 8) {
    image = await decodeLab(bytes, header, options);
  } else if ((photometric === 5 && bits === 16) || associatedAlpha) {
    image = await decodeRawSamples(bytes, photometric === 5 ? 'CMYK' : 'RGBA', bits, associatedAlpha, options);
  } else if (photometric === 3) {
    image = await decodeWithSharp(bytes, 'TIFF', 'P', options, paletteOf(header.colorMap, bits));
  } else {
    const meta = await openSharp(bytes, options, false).metadata();
    const alpha = meta.hasAlpha === true;
    let mode: ImageMode;
    if (meta.space === 'cmyk') mode = 'CMYK';
    else if (meta.isPalette) mode = 'P';
    else if (meta.space === 'grey16') mode = 'I';
    else if (meta.space === 'b-w') mode = meta.bitsPerSample === 1 ? '1' : alpha ? 'LA' : 'L';
    else mode = alpha ? 'RGBA' : 'RGB';
    image = await decodeWithSharp(bytes, 'TIFF', mode, options);
  }
  // With exifRotate, sharp has applied the orientation already.
  return options.exifRotate || orientation < 2 || orientation > 8 ? image : transpose(image, orientation);
}

/**
 * Mode F and PA samples as PIL unpacks them (F;32F, PA: no colour conversion). libvips would expand a palette
 * and could invert MinIsWhite, so the bytes are read as MinIsBlack grey: PA's index band as the grey level.
 */
async function decodeAsGrey(bytes: Uint8Array, header: TiffHeader, mode: 'F' | 'PA', options: SharpOptions): Promise<DecodedImage> {
  const grey = withPhotometric(bytes, header, 1);
  if (mode === 'PA') {
    const raw = await sharpRaw(grey, 'srgb', options);
    const data = reshape8(raw, 'LA');
    return { width: raw.width, height: raw.height, format: 'TIFF', mode, data, palette: paletteOf(header.colorMap, 8) };
  }
  const { data, info } = await openSharp(grey, options).toColourspace('b-w').raw({ depth: 'float' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 1) throw new Error(`TIFF mode F decoded with ${info.channels} channels`);
  const samples = new Float32Array(info.width * info.height);
  samples.set(new Float32Array(data.buffer, data.byteOffset, samples.length));
  return { width: info.width, height: info.height, format: 'TIFF', mode, data: samples };
}

/** Old-style JPEG as PIL reads it (tiff_ojpeg.ts); libtiff's refusals are PIL's, and said to be. */
function decodeOldJpeg(bytes: Uint8Array, header: TiffHeader, options: SharpOptions): DecodedImage {
  const { width, height } = header;
  try {
    const data = decodeOjpeg(bytes, readTiffDirectory(bytes), width, height, options.pixelLimit === false ? Infinity : options.pixelLimit);
    return { width, height, format: 'TIFF', mode: 'RGB', data };
  } catch (err) {
    const reason = (err as Error).message;
    if (err instanceof OjpegUnreadable) throw new Error(`TIFF with old-style JPEG compression (6) and ${reason}, which PIL 9.4 cannot open either (the reference pipeline fails on it); ${CONVERT}`);
    throw new Error(`TIFF with old-style JPEG compression (6): ${reason}; ${CONVERT}`);
  }
}

/**
 * CIELAB as PIL's mode LAB: the raw samples (read as RGB, so that libvips converts nothing), a* and b* made
 * unsigned as PIL's LAB unpacker does. With separate planes PIL unpacks each plane as a plain band, so a* and b*
 * keep their bytes (their sign bit read as +128).
 */
async function decodeLab(bytes: Uint8Array, header: TiffHeader, options: SharpOptions): Promise<DecodedImage> {
  const raw = await sharpRaw(withPhotometric(bytes, header, 2), 'srgb', options);
  if (raw.channels !== 3) throw new Error(`TIFF CIELAB decoded with ${raw.channels} channels`);
  const data = raw.data as Uint8Array;
  if ((header.ifd.get(TAG.planarConfig) ?? 1) !== 2) tiffLabToPil(data, 3);
  return { width: raw.width, height: raw.height, format: 'TIFF', mode: 'LAB', data };
}

/** A copy of the file whose PhotometricInterpretation says `photometric`. */
function withPhotometric(bytes: Uint8Array, header: TiffHeader, photometric: number): Uint8Array {
  const at = header.valueAt.get(TAG.photometric);
  if (!at) throw new Error('TIFF has no PhotometricInterpretation');
  const copy = Uint8Array.from(bytes);
  const view = new DataView(copy.buffer);
  if (at.size === 2) view.setUint16(at.offset, photometric, header.littleEndian);
  else if (at.size === 4) view.setUint32(at.offset, photometric, header.littleEndian);
  else copy[at.offset] = photometric;
  return copy;
}

/** PIL's palette of a TIFF: the high byte of each ColorMap value, as RGB triplets. */
function paletteOf(colorMap: Uint16Array | null, bits: number): Uint8Array {
  const n = 2 ** bits;
  if (!colorMap || colorMap.length !== 3 * n) throw new Error(`palette TIFF has ${colorMap ? colorMap.length : 'no'} ColorMap values, ${3 * n} expected`);
  const palette = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) palette[3 * i + c] = colorMap[c * n + i] >> 8;
  return palette;
}

/**
 * The file's own samples (no colour conversion), reduced as PIL's unpackers do: the high byte of 16-bit
 * samples, and premultiplied RGBa divided back with PIL's integer formula (0 where alpha is 0).
 */
async function decodeRawSamples(bytes: Uint8Array, mode: 'CMYK' | 'RGBA', bits: number, premultiplied: boolean, options: SharpOptions): Promise<DecodedImage> {
  const space = mode === 'CMYK' ? 'cmyk' : bits === 16 ? 'rgb16' : 'srgb';
  const { data, info } = await openSharp(bytes, options)
    .pipelineColourspace(space)
    .toColourspace(space)
    .raw({ depth: bits === 16 ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 4) throw new Error(`TIFF ${mode} decoded with ${info.channels} channels`);
  const n = info.width * info.height * 4;
  const samples = bits === 16 ? new Uint16Array(data.buffer, data.byteOffset, n) : new Uint8Array(data.buffer, data.byteOffset, n);
  if (premultiplied) {
    const max = bits === 16 ? 65535 : 255;
    for (let p = 0; p < n; p += 4) for (let c = 0; c < 3; c++) samples[p + c] = storedPremultiplied(samples[p + c], samples[p + 3], max);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = bits === 16 ? samples[i] >> 8 : samples[i];
  if (premultiplied) {
    for (let p = 0; p < n; p += 4) {
      const a = out[p + 3];
      if (a === 0) out.fill(0, p, p + 3);
      else if (a !== 255) for (let c = 0; c < 3; c++) out[p + c] = Math.min(255, Math.trunc((out[p + c] * 255) / a));
    }
  }
  return { width: info.width, height: info.height, format: 'TIFF', mode, data: out };
}

/**
 * libvips has already divided the colour by alpha, as min(max, trunc(float32(stored) × float32(max / alpha))):
 * the stored sample is the one that maps to `value` (one of the integers next to value × alpha / max).
 */
function storedPremultiplied(value: number, alpha: number, max: number): number {
  if (alpha === 0) return 0;
  const factor = Math.fround(max / alpha);
  const guess = Math.floor((value * alpha) / max);
  for (let s = Math.max(0, guess - 1); s <= guess + 2; s++) if (Math.min(max, Math.trunc(Math.fround(s * factor))) === value) return s;
  return guess;
}

/**
 * PIL's Image.transpose for a TIFF Orientation value (2 mirror, 3 rotate 180, …, 8 rotate 90° anticlockwise);
 * 5–8 swap the sides and record the size before (`sizeBeforeLoad`).
 */
export function transpose<T extends DecodedImage>(image: T, orientation: number): T {
  const { width: w, height: h } = image;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const ch = image.data.length / (w * h);
  const out = new (image.data.constructor as Uint8ArrayConstructor | Int32ArrayConstructor)(image.data.length);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2: [sx, sy] = [w - 1 - ox, oy]; break; // FLIP_LEFT_RIGHT
        case 3: [sx, sy] = [w - 1 - ox, h - 1 - oy]; break; // ROTATE_180
        case 4: [sx, sy] = [ox, h - 1 - oy]; break; // FLIP_TOP_BOTTOM
        case 5: [sx, sy] = [oy, ox]; break; // TRANSPOSE
        case 6: [sx, sy] = [oy, h - 1 - ox]; break; // ROTATE_270
        case 7: [sx, sy] = [w - 1 - oy, h - 1 - ox]; break; // TRANSVERSE
        default: [sx, sy] = [w - 1 - oy, ox]; break; // 8: ROTATE_90
      }
      const s = (sy * w + sx) * ch;
      const o = (oy * ow + ox) * ch;
      for (let c = 0; c < ch; c++) out[o + c] = image.data[s + c];
    }
  }
  return { ...image, width: ow, height: oh, data: out, ...(swap ? { sizeBeforeLoad: { width: w, height: h } } : {}) };
}
