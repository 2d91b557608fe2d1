/** WebP through sharp (libwebp): RGBA when the file has alpha, else RGB, as PIL opens it. */
import { asciiAt } from './bytes.js';
import { reshape8, sharpRaw, type SharpOptions } from './sharp.js';
import type { DeclaredSize, DecodedImage } from './types.js';

/** The canvas size from the first chunk: VP8X (extended), VP8L (lossless) or VP8 (lossy) frame header. */
export function readWebpSize(b: Uint8Array): DeclaredSize {
  const u24 = (o: number) => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16);
  if (asciiAt(b, 12, 'VP8X') && b.length >= 30) return { width: u24(24) + 1, height: u24(27) + 1 };
  if (asciiAt(b, 12, 'VP8L') && b.length >= 25 && b[20] === 0x2f) {
    const bits = (b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24)) >>> 0;
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (asciiAt(b, 12, 'VP8 ') && b.length >= 30 && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) {
    return { width: (b[26] | (b[27] << 8)) & 0x3fff, height: (b[28] | (b[29] << 8)) & 0x3fff };
  }
  throw new Error('WebP has no VP8X, VP8L or VP8 header it can be sized from (truncated or corrupt)');
}

export async function decodeWebp(bytes: Uint8Array, options: SharpOptions): Promise<DecodedImage> {
  const raw = await sharpRaw(bytes, 'srgb', options);
  const mode = raw.channels === 4 ? 'RGBA' : 'RGB';
  return { width: raw.width, height: raw.height, format: 'WEBP', mode, data: reshape8(raw, mode) };
}
