/**
 * TIFF: the first image file directory read here (size, and what PIL would make of it), pixels through sharp
 * (libtiff).
 */
import sharp from 'sharp';
import { decodeWithSharp, type SharpOptions } from './sharp.js';
import type { DeclaredSize, DecodedImage, ImageMode } from './types.js';

/** Tag values of the first IFD (first value of each tag; TIFF types BYTE, SHORT, LONG). */
type Ifd = ReadonlyMap<number, number>;

const TAG = { width: 256, height: 257 } as const;

function readFirstIfd(b: Uint8Array): Ifd {
  const little = b[0] === 0x49;
  const u16 = (o: number) => (little ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1]);
  const u32 = (o: number) => (little ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0 : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0);
  if (b.length < 8) throw new Error('TIFF is truncated (no header)');
  const offset = u32(4);
  if (offset + 2 > b.length) throw new Error(`TIFF is truncated (first directory at byte ${offset}, file has ${b.length})`);
  const count = u16(offset);
  if (offset + 2 + 12 * count > b.length) throw new Error('TIFF is truncated inside its first directory');
  const tags = new Map<number, number>();
  for (let i = 0, e = offset + 2; i < count; i++, e += 12) {
    const type = u16(e + 2);
    const value = type === 1 ? b[e + 8] : type === 3 ? u16(e + 8) : type === 4 ? u32(e + 8) : undefined;
    if (value !== undefined && !tags.has(u16(e))) tags.set(u16(e), value);
  }
  return tags;
}

export function readTiffHeader(b: Uint8Array): DeclaredSize & { readonly ifd: Ifd } {
  const ifd = readFirstIfd(b);
  const width = ifd.get(TAG.width);
  const height = ifd.get(TAG.height);
  if (width === undefined || height === undefined) throw new Error('TIFF has no ImageWidth/ImageLength in its first directory');
  return { width, height, ifd };
}

export async function decodeTiff(bytes: Uint8Array, _header: DeclaredSize, options: SharpOptions): Promise<DecodedImage> {
  const meta = await sharp(bytes, { failOn: 'error', limitInputPixels: options.pixelLimit }).metadata();
  const alpha = meta.hasAlpha === true;
  let mode: ImageMode;
  if (meta.space === 'cmyk') mode = 'CMYK';
  else if (meta.isPalette) mode = 'P';
  else if (meta.space === 'grey16') mode = 'I';
  else if (meta.space === 'b-w') mode = meta.bitsPerSample === 1 ? '1' : alpha ? 'LA' : 'L';
  else mode = alpha ? 'RGBA' : 'RGB';
  return decodeWithSharp(bytes, 'TIFF', mode, options);
}
