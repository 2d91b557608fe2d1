/**
 * JPEG: the system's libjpeg-turbo when installed (../turbojpeg.ts: same pixels, a fraction of the CPU), else
 * sharp, whose JPEG decoder gave the same pixels as Debian's libjpeg-turbo build on every golden image. The
 * mode comes from the frame header, as PIL decides it: 1 component L, 3 RGB (YCbCr), 4 CMYK.
 */
import { be16 } from './bytes.js';
import { decodeWithSharp, type SharpOptions } from './sharp.js';
import type { DeclaredSize, DecodedImage } from './types.js';
import { decodeJpegWithTurbo } from '../turbojpeg.js';

interface JpegFrame extends DeclaredSize {
  readonly components: number;
}

/** The frame header (SOFn): size and component count. */
export function readJpegFrame(b: Uint8Array): JpegFrame {
  let p = 2;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) break;
    const marker = b[p + 1];
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    const isFrameHeader = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrameHeader) {
      if (p + 10 > b.length) break;
      return { height: be16(b, p + 5), width: be16(b, p + 7), components: b[p + 9] };
    }
    if (marker === 0xda || marker === 0xd9) break;
    p += 2 + be16(b, p + 2);
  }
  throw new Error('JPEG has no frame header (SOF) before its image data: truncated or not a JPEG');
}

export async function decodeJpeg(bytes: Uint8Array, frame: JpegFrame, options: SharpOptions): Promise<DecodedImage> {
  const { components } = frame;
  if (components !== 1 && components !== 3 && components !== 4) throw new Error(`cannot handle ${components}-component JPEGs (neither can PIL)`);
  // sharp applies the EXIF orientation; the system libjpeg-turbo, when there, decodes the rest faster.
  const fast = options.exifRotate ? null : decodeJpegWithTurbo(bytes, frame.width * frame.height);
  if (fast) return { ...fast, format: 'JPEG' };
  return decodeWithSharp(bytes, 'JPEG', components === 1 ? 'L' : components === 3 ? 'RGB' : 'CMYK', options);
}
