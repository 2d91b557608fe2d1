/**
 * Image decoding (the I/O side of preprocessing): bytes -> pixels in the image
 * mode Pillow 9.4 would open the file in, so that the pure transform in
 * clip_image_transform.ts can reproduce PIL + torchvision exactly.
 *
 * JPEG, PNG, WebP and TIFF are decoded by sharp (libvips) with ICC conversion
 * disabled, since PIL applies none. sharp's JPEG decoder produced the same
 * pixels as Debian's libjpeg-turbo build on every golden image. Ordinary
 * JPEGs go to the system's libjpeg-turbo first when it is installed
 * (turbojpeg.ts): same pixels, a fraction of the CPU. The mode is
 * decided from the file itself (PNG IHDR, JPEG/TIFF colour space) because PIL
 * resamples differently per mode (premultiplied alpha, NEAREST for "P"/"1").
 * GIF and BMP have their own decoders here: sharp cannot read BMP, and its GIF
 * loader composites frames onto transparency, whereas PIL keeps the raw palette
 * indices of the first frame.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { decodeJpegWithTurbo } from './turbojpeg.js';

/** Pillow modes produced by the decoder. */
export type ImageMode = 'L' | 'LA' | 'RGB' | 'RGBA' | 'P' | '1' | 'CMYK' | 'I';

export type ImageFormat = 'JPEG' | 'PNG' | 'WEBP' | 'GIF' | 'BMP' | 'TIFF' | 'OTHER';

interface DecodedBase {
  width: number;
  height: number;
  format: ImageFormat;
}

/**
 * 8-bit modes, interleaved row-major: L 1 sample, LA 2, RGB 3, RGBA 4
 * (straight alpha), CMYK 4 (0 = no ink), "1" 1 (0 or 255).
 */
export interface Decoded8 extends DecodedBase {
  mode: 'L' | 'LA' | 'RGB' | 'RGBA' | '1' | 'CMYK';
  data: Uint8Array;
}

/** Palette image: one index per pixel; palette is 256 RGB triplets. */
export interface DecodedPalette extends DecodedBase {
  mode: 'P';
  data: Uint8Array;
  palette: Uint8Array;
}

/** Pillow mode "I" (32-bit integer grey), what PIL opens 16-bit grey PNGs as. */
export interface DecodedInt32 extends DecodedBase {
  mode: 'I';
  data: Int32Array;
}

export type DecodedImage = Decoded8 | DecodedPalette | DecodedInt32;

export interface DecodeOptions {
  /** Apply the EXIF orientation (PIL does not; off by default). */
  exifRotate?: boolean;
}

/** Samples per pixel for an 8-bit mode. */
export function channelsOf(mode: Exclude<ImageMode, 'I'>): number {
  switch (mode) {
    case 'L':
    case 'P':
    case '1':
      return 1;
    case 'LA':
      return 2;
    case 'RGB':
      return 3;
    case 'RGBA':
    case 'CMYK':
      return 4;
  }
}

/** Decodes a file path or in-memory bytes; throws a descriptive Error. */
export async function decodeImage(
  input: string | Uint8Array,
  options: DecodeOptions = {},
): Promise<DecodedImage> {
  let bytes: Uint8Array;
  let label: string;
  if (typeof input === 'string') {
    label = `image file ${input}`;
    try {
      bytes = await readFile(input);
    } catch (err) {
      throw new Error(`cannot read ${label}: ${(err as Error).message}`, { cause: err });
    }
  } else {
    label = 'image buffer';
    bytes = input;
  }
  if (bytes.length === 0) throw new Error(`${label} is empty (0 bytes)`);
  const format = detectFormat(bytes);
  try {
    switch (format) {
      case 'BMP':
        return decodeBmp(bytes);
      case 'GIF':
        return decodeGif(bytes);
      case 'JPEG': {
        // sharp applies the EXIF orientation; the system libjpeg-turbo, when there, decodes the rest faster.
        const fast = options.exifRotate ? null : decodeJpegWithTurbo(bytes, MAX_PIXELS);
        return fast ? { ...fast, format } : await decodeWithSharp(bytes, format, options);
      }
      default:
        return await decodeWithSharp(bytes, format, options);
    }
  } catch (err) {
    const msg = (err as Error).message;
    throw new Error(`cannot decode ${label} (${format === 'OTHER' ? 'unrecognised format' : format}): ${msg}`, {
      cause: err,
    });
  }
}

/** Identifies the container from its magic bytes. */
export function detectFormat(b: Uint8Array): ImageFormat {
  const ascii = (start: number, s: string): boolean => {
    if (b.length < start + s.length) return false;
    for (let i = 0; i < s.length; i++) if (b[start + i] !== s.charCodeAt(i)) return false;
    return true;
  };
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'JPEG';
  if (ascii(0, '\x89PNG\r\n\x1a\n')) return 'PNG';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'GIF';
  if (ascii(0, 'BM')) return 'BMP';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'WEBP';
  if (ascii(0, 'II*\0') || ascii(0, 'MM\0*')) return 'TIFF';
  return 'OTHER';
}

// ------------------------------------------------------------------ sharp

type SharpTarget = 'srgb' | 'grey8' | 'grey16' | 'cmyk';

interface SharpRaw {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array | Uint16Array;
}

async function sharpRaw(bytes: Uint8Array, target: SharpTarget, options: DecodeOptions): Promise<SharpRaw> {
  // failOn 'error': truncated data fails (as PIL's "image file is truncated"),
  // while libjpeg's recoverable warnings are ignored, as PIL ignores them.
  // Sequential reading is a little faster and suffices unless rotating.
  const rotate = options.exifRotate === true;
  let pipeline = sharp(bytes, { failOn: 'error', ignoreIcc: true, autoOrient: rotate, sequentialRead: !rotate });
  if (target === 'grey8') pipeline = pipeline.toColourspace('b-w');
  else if (target === 'grey16') pipeline = pipeline.toColourspace('grey16');
  else if (target === 'cmyk') pipeline = pipeline.pipelineColourspace('cmyk').toColourspace('cmyk');
  const { data, info } = await pipeline
    .raw(target === 'grey16' ? { depth: 'ushort' } : {})
    .toBuffer({ resolveWithObject: true });
  const samples =
    target === 'grey16'
      ? new Uint16Array(data.buffer, data.byteOffset, data.length >> 1)
      : new Uint8Array(data.buffer, data.byteOffset, data.length);
  return { width: info.width, height: info.height, channels: info.channels, data: samples };
}

/** Selects/duplicates samples so each pixel has the layout of `mode`. */
function reshape8(raw: SharpRaw, mode: Decoded8['mode']): Uint8Array {
  const src = raw.data as Uint8Array;
  const inCh = raw.channels;
  const outCh = channelsOf(mode);
  if (mode === 'CMYK') {
    if (inCh !== 4) throw new Error(`CMYK image decoded with ${inCh} channels`);
    return src;
  }
  const n = raw.width * raw.height;
  const hasAlpha = inCh === 2 || inCh === 4;
  const colour = hasAlpha ? inCh - 1 : inCh;
  const wantAlpha = mode === 'LA' || mode === 'RGBA';
  const wantColour = wantAlpha ? outCh - 1 : outCh;
  if (inCh === outCh && (colour === wantColour)) return src;
  const out = new Uint8Array(n * outCh);
  for (let i = 0, p = 0, o = 0; i < n; i++, p += inCh, o += outCh) {
    for (let c = 0; c < wantColour; c++) out[o + c] = src[p + (colour === 1 ? 0 : Math.min(c, colour - 1))];
    if (wantAlpha) out[o + wantColour] = hasAlpha ? src[p + inCh - 1] : 255;
  }
  return out;
}

/**
 * Rebuilds palette indices from the colours sharp expanded. NEAREST
 * resampling commutes with the palette lookup, so mapping each colour to the
 * first index holding it gives PIL's RGB result. With the file's palette
 * (PNG PLTE) index 0 is also right for torchvision's zero padding; without one
 * (TIFF) indices are assigned in order of appearance.
 */
function reindexPalette(raw: SharpRaw, filePalette: Uint8Array | null): { data: Uint8Array; palette: Uint8Array } {
  const rgb = reshape8(raw, 'RGB');
  const n = raw.width * raw.height;
  const index = new Map<number, number>();
  let palette: Uint8Array;
  if (filePalette) {
    palette = expandPalette(filePalette, 3, filePalette.length / 3, 'RGB');
    for (let k = 255; k >= 0; k--) index.set((palette[3 * k] << 16) | (palette[3 * k + 1] << 8) | palette[3 * k + 2], k);
  } else {
    palette = new Uint8Array(256 * 3);
  }
  const data = new Uint8Array(n);
  let used = 0;
  for (let i = 0; i < n; i++) {
    const key = (rgb[3 * i] << 16) | (rgb[3 * i + 1] << 8) | rgb[3 * i + 2];
    let k = index.get(key);
    if (k === undefined) {
      if (filePalette) throw new Error('palette image has a pixel colour missing from its palette');
      k = used++;
      if (k > 255) throw new Error('palette image has more than 256 distinct colours');
      index.set(key, k);
      palette.set(rgb.subarray(3 * i, 3 * i + 3), 3 * k);
    }
    data[i] = k;
  }
  return { data, palette };
}

/** The PLTE chunk's RGB entries, or null when the PNG has none. */
function readPngPalette(b: Uint8Array): Uint8Array | null {
  let p = 8;
  while (p + 8 <= b.length) {
    const length = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
    const type = String.fromCharCode(b[p + 4], b[p + 5], b[p + 6], b[p + 7]);
    if (type === 'PLTE') {
      if (p + 8 + length > b.length || length % 3 !== 0) throw new Error('PNG palette chunk is truncated');
      return b.subarray(p + 8, p + 8 + length);
    }
    if (type === 'IDAT' || type === 'IEND') break;
    p += 12 + length;
  }
  return null;
}

/** Component count from the JPEG frame header (SOFn), or 0 if none is found. */
function readJpegComponentCount(b: Uint8Array): number {
  let p = 2;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) return 0;
    const marker = b[p + 1];
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    const length = (b[p + 2] << 8) | b[p + 3];
    const isFrameHeader = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrameHeader) return p + 9 < b.length ? b[p + 9] : 0;
    if (marker === 0xda || marker === 0xd9) return 0;
    p += 2 + length;
  }
  return 0;
}

interface PngHeader {
  bitDepth: number;
  colourType: number;
}

function readPngHeader(b: Uint8Array): PngHeader {
  if (b.length < 33 || String.fromCharCode(b[12], b[13], b[14], b[15]) !== 'IHDR') {
    throw new Error('PNG is truncated or has no IHDR chunk');
  }
  return { bitDepth: b[24], colourType: b[25] };
}

/** Pillow 9.4's PNG mode for (bit depth, colour type). */
function pngMode(h: PngHeader): ImageMode {
  switch (h.colourType) {
    case 0:
      return h.bitDepth === 1 ? '1' : h.bitDepth === 16 ? 'I' : 'L';
    case 2:
      return 'RGB';
    case 3:
      return 'P';
    case 4:
      // PIL has no LA;16 unpacker and opens 16-bit grey+alpha as RGBA.
      return h.bitDepth === 16 ? 'RGBA' : 'LA';
    case 6:
      return 'RGBA';
    default:
      throw new Error(`PNG has invalid colour type ${h.colourType}`);
  }
}

async function decodeWithSharp(bytes: Uint8Array, format: ImageFormat, options: DecodeOptions): Promise<DecodedImage> {
  // The mode comes from the file header where that is cheap (a metadata call
  // costs about as much as a small decode), else from sharp's metadata.
  let mode: ImageMode;
  const jpegComponents = format === 'JPEG' ? readJpegComponentCount(bytes) : 0;
  if (format === 'PNG') {
    mode = pngMode(readPngHeader(bytes));
  } else if (jpegComponents === 1 || jpegComponents === 3 || jpegComponents === 4) {
    // PIL: 1 component -> L, 3 -> RGB (YCbCr), 4 -> CMYK (Adobe inversion undone).
    mode = jpegComponents === 1 ? 'L' : jpegComponents === 3 ? 'RGB' : 'CMYK';
  } else if (format === 'WEBP') {
    const raw = await sharpRaw(bytes, 'srgb', options);
    const webpMode = raw.channels === 4 ? 'RGBA' : 'RGB';
    return { width: raw.width, height: raw.height, format, mode: webpMode, data: reshape8(raw, webpMode) };
  } else {
    const meta = await sharp(bytes, { failOn: 'error' }).metadata();
    const alpha = meta.hasAlpha === true;
    if (meta.space === 'cmyk') mode = 'CMYK';
    else if (meta.isPalette) mode = 'P';
    else if (meta.space === 'grey16') mode = 'I';
    else if (meta.space === 'b-w') mode = meta.bitsPerSample === 1 ? '1' : alpha ? 'LA' : 'L';
    else mode = alpha ? 'RGBA' : 'RGB';
    if (format === 'JPEG' && mode !== 'L' && mode !== 'CMYK') mode = 'RGB';
  }

  if (mode === 'I') {
    const raw = await sharpRaw(bytes, 'grey16', options);
    const data = new Int32Array(raw.width * raw.height);
    const src = raw.data as Uint16Array;
    for (let i = 0; i < data.length; i++) data[i] = src[i * raw.channels];
    return { width: raw.width, height: raw.height, format, mode, data };
  }
  // libvips' b-w output drops alpha, so LA goes through sRGB (exact replication).
  const target: SharpTarget = mode === 'CMYK' ? 'cmyk' : mode === 'L' || mode === '1' ? 'grey8' : 'srgb';
  const raw = await sharpRaw(bytes, target, options);
  if (mode === 'P') {
    const { data, palette } = reindexPalette(raw, format === 'PNG' ? readPngPalette(bytes) : null);
    return { width: raw.width, height: raw.height, format, mode, data, palette };
  }
  return { width: raw.width, height: raw.height, format, mode, data: reshape8(raw, mode) };
}

// ------------------------------------------------------------------ helpers

/** Bounds-checked little-endian reader that reports truncation clearly. */
class ByteReader {
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}

  need(offset: number, length: number): void {
    if (offset < 0 || offset + length > this.bytes.length) {
      throw new Error(`${this.what} is truncated (needs byte ${offset + length}, file has ${this.bytes.length})`);
    }
  }

  u8(o: number): number {
    this.need(o, 1);
    return this.bytes[o];
  }

  u16(o: number): number {
    this.need(o, 2);
    return this.bytes[o] | (this.bytes[o + 1] << 8);
  }

  u32(o: number): number {
    this.need(o, 4);
    return (this.bytes[o] | (this.bytes[o + 1] << 8) | (this.bytes[o + 2] << 16) | (this.bytes[o + 3] << 24)) >>> 0;
  }

  i32(o: number): number {
    return this.u32(o) | 0;
  }
}

/** A 256-entry RGB palette: given entries first, the rest a grey ramp (PIL's fill). */
function expandPalette(entries: Uint8Array, stride: number, count: number, order: 'RGB' | 'BGR'): Uint8Array {
  const palette = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) palette.fill(i, 3 * i, 3 * i + 3);
  for (let i = 0; i < Math.min(count, 256); i++) {
    const p = i * stride;
    palette[3 * i] = entries[p + (order === 'RGB' ? 0 : 2)];
    palette[3 * i + 1] = entries[p + 1];
    palette[3 * i + 2] = entries[p + (order === 'RGB' ? 2 : 0)];
  }
  return palette;
}

const MAX_PIXELS = 268_402_689; // sharp's default limitInputPixels (0x3FFF * 0x3FFF)

function checkDimensions(width: number, height: number, what: string): void {
  if (!(width > 0 && height > 0)) throw new Error(`${what} has invalid dimensions ${width}x${height}`);
  if (width * height > MAX_PIXELS) throw new Error(`${what} is too large (${width}x${height} pixels)`);
}

// ------------------------------------------------------------------ BMP

type BmpLayout = 'pal' | 'bgr15' | 'bgr16' | 'bgr' | 'bgrx' | 'xbgr' | 'abgr' | 'rgba' | 'bgra';

/**
 * BMP decoder following Pillow 9.4's BmpImagePlugin: 1/4/8-bit palettes
 * (a black/white 2-colour palette gives mode "1", a grey ramp mode "L",
 * anything else "P"), 16-bit 5-5-5 / 5-6-5, 24-bit, 32-bit (alpha only with an
 * alpha bitfield, as PIL reads BI_RGB 32-bit as BGRX), RLE8/RLE4, core (OS/2)
 * and V3/V4/V5 headers, bottom-up and top-down rows.
 */
export function decodeBmp(bytes: Uint8Array): DecodedImage {
  const r = new ByteReader(bytes, 'BMP');
  const dataOffsetField = r.u32(10);
  const headerSize = r.u32(14);
  let width: number;
  let height: number;
  let bits: number;
  let compression = 0;
  let colours = 0;
  let topDown = false;
  let paletteStride = 4;
  let masks: number[] | null = null;
  let pos = 14 + headerSize;
  if (headerSize === 12) {
    width = r.u16(18);
    height = r.u16(20);
    bits = r.u16(24);
    paletteStride = 3;
  } else if (headerSize === 40 || headerSize === 64 || headerSize === 108 || headerSize === 124) {
    width = r.i32(18);
    const rawHeight = r.u32(22);
    topDown = r.u8(25) === 0xff; // PIL's test: top byte of the height is 0xFF
    height = topDown ? 2 ** 32 - rawHeight : rawHeight;
    bits = r.u16(28);
    compression = r.u32(30);
    colours = r.u32(46);
    if (compression === 3) {
      if (headerSize >= 56) {
        masks = [r.u32(54), r.u32(58), r.u32(62), r.u32(66)];
      } else {
        masks = [r.u32(pos), r.u32(pos + 4), r.u32(pos + 8), 0];
        pos += 12;
      }
    }
  } else {
    throw new Error(`unsupported BMP header size ${headerSize}`);
  }
  checkDimensions(width, height, 'BMP');
  if (colours === 0) colours = 2 ** bits;
  let dataOffset = dataOffsetField;
  if (dataOffset === 14 + headerSize && bits <= 8) dataOffset += 4 * colours;

  // Pixel layout, from PIL's table of supported depth/bitfield combinations.
  let layout: BmpLayout;
  if (bits === 1 || bits === 4 || bits === 8) layout = 'pal';
  else if (bits === 16) layout = 'bgr15';
  else if (bits === 24) layout = 'bgr';
  else if (bits === 32) layout = 'bgrx';
  else throw new Error(`unsupported BMP pixel depth ${bits}`);
  if (compression === 3) {
    const key = (masks ?? []).map((m) => m.toString(16)).join(',');
    const known: Record<string, BmpLayout> = {
      '32:ff0000,ff00,ff,0': 'bgrx',
      '32:ff000000,ff0000,ff00,0': 'xbgr',
      '32:ff000000,ff0000,ff00,ff': 'abgr',
      '32:ff,ff00,ff0000,ff000000': 'rgba',
      '32:ff0000,ff00,ff,ff000000': 'bgra',
      '32:0,0,0,0': 'bgra',
      '24:ff0000,ff00,ff': 'bgr',
      '16:f800,7e0,1f': 'bgr16',
      '16:7c00,3e0,1f': 'bgr15',
    };
    const rgbKey = (masks ?? []).slice(0, 3).map((m) => m.toString(16)).join(',');
    const found = bits === 32 ? known[`32:${key}`] : known[`${bits}:${rgbKey}`];
    if (!found) throw new Error('unsupported BMP bitfields layout');
    layout = found;
  } else if (compression === 1 || compression === 2) {
    if (bits !== (compression === 1 ? 8 : 4)) throw new Error(`BMP RLE${compression === 1 ? 8 : 4} with ${bits} bits per pixel`);
  } else if (compression !== 0) {
    throw new Error(`unsupported BMP compression ${compression}`);
  }

  const pixels = width * height;
  if (layout === 'pal') {
    if (!(colours > 0 && colours <= 65536)) throw new Error(`unsupported BMP palette size ${colours}`);
    r.need(pos, paletteStride * colours);
    const entries = bytes.subarray(pos, pos + paletteStride * colours);
    // PIL drops the palette when entries are grey: (0,255) for 2 colours, else a ramp.
    let grey = true;
    const greyCount = colours === 2 ? 2 : colours;
    for (let i = 0; i < greyCount && grey; i++) {
      const v = colours === 2 ? i * 255 : i;
      const p = i * paletteStride;
      if (entries[p] !== v || entries[p + 1] !== v || entries[p + 2] !== v) grey = false;
    }
    const indices =
      compression === 0 ? unpackBmpIndices(r, dataOffset, width, height, bits, topDown) : decodeBmpRle(r, dataOffset, width, height, compression === 2, topDown);
    if (grey && colours === 2) {
      for (let i = 0; i < pixels; i++) indices[i] = indices[i] ? 255 : 0;
      return { width, height, format: 'BMP', mode: '1', data: indices };
    }
    if (grey) return { width, height, format: 'BMP', mode: 'L', data: indices };
    const palette = expandPalette(entries, paletteStride, colours, 'BGR');
    return { width, height, format: 'BMP', mode: 'P', data: indices, palette };
  }

  const stride = (((width * bits + 31) >>> 3) & ~3) >>> 0;
  r.need(dataOffset, stride * height);
  const withAlpha = layout === 'abgr' || layout === 'rgba' || layout === 'bgra';
  const ch = withAlpha ? 4 : 3;
  const out = new Uint8Array(pixels * ch);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    let o = y * width * ch;
    for (let x = 0; x < width; x++, o += ch) {
      switch (layout) {
        case 'bgr15':
        case 'bgr16': {
          const v = bytes[row + 2 * x] | (bytes[row + 2 * x + 1] << 8);
          // PIL expands 5/6-bit fields with integer v*255/max (truncating).
          if (layout === 'bgr15') {
            out[o] = Math.trunc((((v >> 10) & 31) * 255) / 31);
            out[o + 1] = Math.trunc((((v >> 5) & 31) * 255) / 31);
          } else {
            out[o] = Math.trunc((((v >> 11) & 31) * 255) / 31);
            out[o + 1] = Math.trunc((((v >> 5) & 63) * 255) / 63);
          }
          out[o + 2] = Math.trunc(((v & 31) * 255) / 31);
          break;
        }
        case 'bgr':
        case 'bgrx':
        case 'bgra': {
          const p = row + x * (bits >> 3);
          out[o] = bytes[p + 2];
          out[o + 1] = bytes[p + 1];
          out[o + 2] = bytes[p];
          if (withAlpha) out[o + 3] = bytes[p + 3];
          break;
        }
        case 'xbgr':
        case 'abgr': {
          const p = row + x * 4;
          out[o] = bytes[p + 3];
          out[o + 1] = bytes[p + 2];
          out[o + 2] = bytes[p + 1];
          if (withAlpha) out[o + 3] = bytes[p];
          break;
        }
        case 'rgba': {
          const p = row + x * 4;
          out[o] = bytes[p];
          out[o + 1] = bytes[p + 1];
          out[o + 2] = bytes[p + 2];
          out[o + 3] = bytes[p + 3];
          break;
        }
      }
    }
  }
  return { width, height, format: 'BMP', mode: withAlpha ? 'RGBA' : 'RGB', data: out };
}

function unpackBmpIndices(r: ByteReader, offset: number, width: number, height: number, bits: number, topDown: boolean): Uint8Array {
  const stride = (((width * bits + 31) >>> 3) & ~3) >>> 0;
  r.need(offset, stride * height);
  const b = r.bytes;
  const out = new Uint8Array(width * height);
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  for (let y = 0; y < height; y++) {
    const row = offset + (topDown ? y : height - 1 - y) * stride;
    const o = y * width;
    for (let x = 0; x < width; x++) {
      const byte = b[row + Math.floor(x / perByte)];
      // Most significant bits hold the leftmost pixel.
      const shift = 8 - bits * ((x % perByte) + 1);
      out[o + x] = (byte >> shift) & mask;
    }
  }
  return out;
}

/**
 * RLE8/RLE4 as Pillow 9.4's BmpRleDecoder reads them, quirks included
 * (odd-length RLE4 literal runs lose their last pixel; word alignment is
 * measured from the start of the file). Pixels never written stay 0.
 */
function decodeBmpRle(r: ByteReader, offset: number, width: number, height: number, rle4: boolean, topDown: boolean): Uint8Array {
  const b = r.bytes;
  const total = width * height;
  const stream: number[] = [];
  let x = 0;
  let p = offset;
  const push = (v: number, n: number): void => {
    for (let i = 0; i < n; i++) stream.push(v);
  };
  while (stream.length < total) {
    if (p + 2 > b.length) break;
    let count = b[p];
    const value = b[p + 1];
    p += 2;
    if (count) {
      if (x + count > width) count = Math.max(0, width - x);
      if (rle4) {
        for (let i = 0; i < count; i++) stream.push(i % 2 === 0 ? value >> 4 : value & 15);
      } else {
        push(value, count);
      }
      x += count;
    } else if (value === 0) {
      while (stream.length % width !== 0) stream.push(0);
      x = 0;
    } else if (value === 1) {
      break;
    } else if (value === 2) {
      if (p + 2 > b.length) break;
      const right = b[p];
      const up = b[p + 1];
      p += 2;
      push(0, right + up * width);
      x = stream.length % width;
    } else {
      const byteCount = rle4 ? value >> 1 : value;
      const available = Math.min(byteCount, b.length - p);
      for (let i = 0; i < available; i++) {
        const v = b[p + i];
        if (rle4) stream.push(v >> 4, v & 15);
        else stream.push(v);
      }
      p += available;
      if (available < byteCount) break;
      x += value;
      if (p % 2 !== 0) p += 1;
    }
  }
  const out = new Uint8Array(total);
  const rows = Math.min(height, Math.ceil(stream.length / width));
  for (let row = 0; row < rows; row++) {
    const y = topDown ? row : height - 1 - row;
    for (let i = 0; i < width; i++) {
      const v = stream[row * width + i];
      out[y * width + i] = v === undefined ? 0 : v;
    }
  }
  return out;
}

// ------------------------------------------------------------------ GIF

/**
 * First frame of a GIF, as Pillow 9.4 loads it: raw palette indices (mode
 * "P"), or mode "L" when the palette is absent or an identity grey ramp.
 * Pixels outside the frame rectangle hold the transparency index if the frame
 * has one, else 0; the canvas grows if the frame extends past the screen.
 */
export function decodeGif(bytes: Uint8Array): DecodedImage {
  const r = new ByteReader(bytes, 'GIF');
  let width = r.u16(6);
  let height = r.u16(8);
  const screenFlags = r.u8(10);
  let p = 13;
  let globalPalette: Uint8Array | null = null;
  const isRamp = (pal: Uint8Array): boolean => {
    for (let i = 0; i < pal.length; i += 3) {
      const v = i / 3;
      if (pal[i] !== v || pal[i + 1] !== v || pal[i + 2] !== v) return false;
    }
    return true;
  };
  if (screenFlags & 0x80) {
    const size = 3 << ((screenFlags & 7) + 1);
    r.need(p, size);
    const pal = bytes.subarray(p, p + size);
    if (!isRamp(pal)) globalPalette = pal;
    p += size;
  }
  const skipSubBlocks = (): void => {
    for (;;) {
      const n = r.u8(p);
      p += 1 + n;
      if (n === 0) return;
    }
  };

  let transparency: number | null = null;
  for (;;) {
    if (p >= bytes.length) throw new Error('GIF is truncated before its first image');
    const tag = bytes[p++];
    if (tag === 0x3b) throw new Error('GIF contains no image');
    if (tag === 0x21) {
      const label = r.u8(p++);
      const first = r.u8(p);
      if (label === 0xf9 && first >= 4) {
        r.need(p + 1, first);
        if (bytes[p + 1] & 1) transparency = bytes[p + 4];
      }
      skipSubBlocks();
      continue;
    }
    if (tag !== 0x2c) continue; // PIL skips unknown bytes between blocks
    const x0 = r.u16(p);
    const y0 = r.u16(p + 2);
    const fw = r.u16(p + 4);
    const fh = r.u16(p + 6);
    const flags = r.u8(p + 8);
    p += 9;
    let palette: Uint8Array | null | false = null; // false: local ramp palette
    if (flags & 0x80) {
      const size = 3 << ((flags & 7) + 1);
      r.need(p, size);
      const pal = bytes.subarray(p, p + size);
      palette = isRamp(pal) ? false : pal;
      p += size;
    }
    const minCodeSize = r.u8(p++);
    width = Math.max(width, x0 + fw);
    height = Math.max(height, y0 + fh);
    checkDimensions(width, height, 'GIF');
    const framePalette = palette === null ? globalPalette : palette;
    const canvas = new Uint8Array(width * height).fill(transparency ?? 0);
    const lzw = gatherSubBlocks(r, p);
    decodeGifLzw(lzw, minCodeSize, canvas, width, x0, y0, fw, fh, (flags & 0x40) !== 0);
    if (framePalette) {
      return {
        width,
        height,
        format: 'GIF',
        mode: 'P',
        data: canvas,
        palette: expandPalette(framePalette, 3, framePalette.length / 3, 'RGB'),
      };
    }
    return { width, height, format: 'GIF', mode: 'L', data: canvas };
  }
}

function gatherSubBlocks(r: ByteReader, start: number): Uint8Array {
  let total = 0;
  let p = start;
  for (;;) {
    const n = r.u8(p);
    if (n === 0) break;
    r.need(p + 1, n);
    total += n;
    p += 1 + n;
  }
  const out = new Uint8Array(total);
  p = start;
  let o = 0;
  for (;;) {
    const n = r.bytes[p];
    if (n === 0) break;
    out.set(r.bytes.subarray(p + 1, p + 1 + n), o);
    o += n;
    p += 1 + n;
  }
  return out;
}

/** Variable-width LZW (GIF flavour) writing indices into the frame rectangle. */
function decodeGifLzw(
  data: Uint8Array,
  minCodeSize: number,
  canvas: Uint8Array,
  canvasWidth: number,
  x0: number,
  y0: number,
  fw: number,
  fh: number,
  interlaced: boolean,
): void {
  if (minCodeSize < 1 || minCodeSize > 11) throw new Error(`GIF has invalid LZW code size ${minCodeSize}`);
  const total = fw * fh;
  if (total === 0) return;
  // Interlaced GIFs store rows in four passes: every 8th from 0, every 8th
  // from 4, every 4th from 2, every 2nd from 1.
  const rowOrder = new Int32Array(fh);
  if (interlaced) {
    let k = 0;
    for (const [start, step] of [[0, 8], [4, 8], [2, 4], [1, 2]]) {
      for (let y = start; y < fh; y += step) rowOrder[k++] = y;
    }
  } else {
    for (let y = 0; y < fh; y++) rowOrder[y] = y;
  }
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const firstOf = new Uint8Array(4096);
  const stack = new Uint8Array(4097);
  for (let i = 0; i < clear; i++) {
    suffix[i] = i;
    firstOf[i] = i;
  }
  let codeSize = minCodeSize + 1;
  let next = clear + 2;
  let prev = -1;
  let bitBuf = 0;
  let bitCount = 0;
  let bytePos = 0;
  let written = 0;
  const emit = (v: number): void => {
    if (written >= total) return;
    const row = rowOrder[Math.floor(written / fw)];
    const col = written % fw;
    canvas[(y0 + row) * canvasWidth + x0 + col] = v;
    written++;
  };
  while (written < total) {
    while (bitCount < codeSize) {
      if (bytePos >= data.length) {
        throw new Error(`GIF image data is truncated (${written} of ${total} pixels decoded)`);
      }
      bitBuf |= data[bytePos++] << bitCount;
      bitCount += 8;
    }
    const code = bitBuf & ((1 << codeSize) - 1);
    bitBuf >>>= codeSize;
    bitCount -= codeSize;
    if (code === clear) {
      codeSize = minCodeSize + 1;
      next = clear + 2;
      prev = -1;
      continue;
    }
    if (code === end) break;
    if (prev === -1) {
      if (code >= clear) throw new Error('GIF has corrupt LZW data');
      emit(code);
      prev = code;
      continue;
    }
    let sp = 0;
    let cur: number;
    if (code < next) {
      cur = code;
    } else if (code === next) {
      // KwKwK: the new entry is prev's string plus its own first symbol.
      stack[sp++] = firstOf[prev];
      cur = prev;
    } else {
      throw new Error('GIF has corrupt LZW data');
    }
    while (cur >= clear) {
      stack[sp++] = suffix[cur];
      cur = prefix[cur];
    }
    stack[sp++] = cur;
    const first = cur;
    while (sp > 0) emit(stack[--sp]);
    if (next < 4096) {
      prefix[next] = prev;
      suffix[next] = first;
      firstOf[next] = firstOf[prev];
      next++;
      if (next === 1 << codeSize && codeSize < 12) codeSize++;
    }
    prev = code;
  }
}
