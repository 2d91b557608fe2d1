/**
 * The libvips path (sharp) for JPEG, PNG, WebP and TIFF: bytes -> samples in a given PIL mode. ICC conversion
 * is off, since PIL applies none. The caller has sniffed the format and checked the declared size; sharp's own
 * pixel limit is set to the same limit as a second guard.
 */
import sharp from 'sharp';
import { expandPalette } from './bytes.js';
import { channelsOf, type Decoded8, type DecodedImage, type ImageFormat, type ImageMode } from './types.js';

export interface SharpOptions {
  /** Apply the EXIF/TIFF orientation (PIL does not). */
  readonly exifRotate: boolean;
  /** Largest pixel count accepted, or false for none. */
  readonly pixelLimit: number | false;
}

type SharpTarget = 'srgb' | 'grey8' | 'grey16' | 'cmyk';

export interface SharpRaw {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array | Uint16Array;
}

export function openSharp(bytes: Uint8Array, options: SharpOptions, sequential = true): ReturnType<typeof sharp> {
  // failOn 'error': truncated data fails (as PIL's "image file is truncated"), while libjpeg's recoverable
  // warnings are ignored, as PIL ignores them. Sequential reading is a little faster and suffices unless rotating.
  const rotate = options.exifRotate;
  return sharp(bytes, {
    failOn: 'error',
    ignoreIcc: true,
    autoOrient: rotate,
    sequentialRead: sequential && !rotate,
    limitInputPixels: options.pixelLimit,
  });
}

export async function sharpRaw(bytes: Uint8Array, target: SharpTarget, options: SharpOptions): Promise<SharpRaw> {
  let pipeline = openSharp(bytes, options);
  if (target === 'grey8') pipeline = pipeline.toColourspace('b-w');
  else if (target === 'grey16') pipeline = pipeline.toColourspace('grey16');
  else if (target === 'cmyk') pipeline = pipeline.pipelineColourspace('cmyk').toColourspace('cmyk');
  const { data, info } = await pipeline.raw(target === 'grey16' ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
  const samples =
    target === 'grey16'
      ? new Uint16Array(data.buffer, data.byteOffset, data.length >> 1)
      : new Uint8Array(data.buffer, data.byteOffset, data.length);
  return { width: info.width, height: info.height, channels: info.channels, data: samples };
}

/** Selects/duplicates samples so each pixel has the layout of `mode`. */
export function reshape8(raw: SharpRaw, mode: Decoded8['mode']): Uint8Array {
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
  if (inCh === outCh && colour === wantColour) return src;
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

/** Decodes through libvips into PIL's `mode` (decided by the caller from the file). */
export async function decodeWithSharp(
  bytes: Uint8Array,
  format: ImageFormat,
  mode: Exclude<ImageMode, 'PA' | 'F'>,
  options: SharpOptions,
  filePalette: Uint8Array | null = null,
): Promise<DecodedImage> {
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
    const { data, palette } = reindexPalette(raw, filePalette);
    return { width: raw.width, height: raw.height, format, mode, data, palette };
  }
  return { width: raw.width, height: raw.height, format, mode, data: reshape8(raw, mode) };
}
