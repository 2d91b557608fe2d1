/**
 * Image decoding (the I/O side of preprocessing): bytes -> pixels in the image mode Pillow 9.4 would open the
 * file in, so that the pure transform in clip_image_transform.ts can reproduce PIL + torchvision exactly.
 *
 * Every file passes through here: the format is sniffed from its bytes (never its name), only the formats
 * zeroshot reproduces PIL on are decoded (JPEG, PNG, WebP, GIF, BMP, TIFF; SVG, HEIF, AVIF, PDF, JPEG 2000
 * and the rest are refused, never handed to libvips), and the size the header declares is checked against
 * PIL's decompression-bomb limit before anything is decoded or allocated. One decoder per format lives next
 * to this file.
 */
import { readFile } from 'node:fs/promises';
import { asciiAt } from './bytes.js';
import { decodeBmp, readBmpHeader } from './bmp.js';
import { decodeGif, readGifSize } from './gif.js';
import { decodeJpeg, readJpegFrame } from './jpeg.js';
import { decodePng, readPngHeader } from './png.js';
import type { SharpOptions } from './sharp.js';
import { decodeTiff, readTiffHeader } from './tiff.js';
import type { DeclaredSize, DecodedImage, ImageFormat } from './types.js';
import { decodeWebp, readWebpSize } from './webp.js';

export * from './types.js';

/** PIL's Image.MAX_IMAGE_PIXELS: above it a warning, above twice it DecompressionBombError. */
export const DEFAULT_MAX_IMAGE_PIXELS = 89_478_485;

export interface DecodeOptions {
  /** Apply the EXIF / TIFF orientation (PIL does not; off by default). */
  exifRotate?: boolean;
  /** PIL's MAX_IMAGE_PIXELS (default 89,478,485; Infinity for no limit). */
  maxImagePixels?: number;
  /** Receives PIL's DecompressionBombWarning (the image is still decoded). */
  onWarning?: (message: string) => void;
  /** Called with the declared size once it passed the checks, before decoding (a memory budget waits here). */
  beforeDecode?: (image: DeclaredImage) => void | Promise<void>;
}

export interface DeclaredImage extends DeclaredSize {
  readonly format: ImageFormat;
}

/** The limit to use: `maxImagePixels` validated (a positive integer, or Infinity for none), or PIL's default. */
export function checkMaxImagePixels(maxImagePixels: number | undefined): number {
  const limit = maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  if (!(limit > 0 && (Number.isSafeInteger(limit) || limit === Infinity))) {
    throw new Error(`max image pixels must be a positive integer (or Infinity for no limit), got ${maxImagePixels}`);
  }
  return limit;
}

/** PIL's DecompressionBombError: the declared size is more than twice MAX_IMAGE_PIXELS. */
export class DecompressionBombError extends Error {
  override readonly name = 'DecompressionBombError';
}

/** Formats recognised by their bytes but not decoded. */
type UnsupportedFormat = 'SVG' | 'SVGZ or other gzip data' | 'HEIF' | 'AVIF' | 'PDF' | 'JPEG 2000';

/** Identifies the container from its magic bytes: a decoded format, an unsupported one, or 'OTHER'. */
export function detectFormat(b: Uint8Array): ImageFormat | UnsupportedFormat {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'JPEG';
  if (asciiAt(b, 0, '\x89PNG\r\n\x1a\n')) return 'PNG';
  if (asciiAt(b, 0, 'GIF87a') || asciiAt(b, 0, 'GIF89a')) return 'GIF';
  if (asciiAt(b, 0, 'BM')) return 'BMP';
  if (asciiAt(b, 0, 'RIFF') && asciiAt(b, 8, 'WEBP')) return 'WEBP';
  if (asciiAt(b, 0, 'II*\0') || asciiAt(b, 0, 'MM\0*') || asciiAt(b, 0, 'II+\0') || asciiAt(b, 0, 'MM\0+')) return 'TIFF';
  if (asciiAt(b, 0, '%PDF-')) return 'PDF';
  if (asciiAt(b, 0, '\0\0\0\x0cjP  \r\n\x87\n') || (b.length >= 4 && b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51)) return 'JPEG 2000';
  if (asciiAt(b, 4, 'ftyp')) {
    const brand = String.fromCharCode(...b.subarray(8, 12));
    if (brand === 'avif' || brand === 'avis') return 'AVIF';
    if (['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].includes(brand)) return 'HEIF';
  }
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'SVGZ or other gzip data';
  if (looksLikeSvg(b)) return 'SVG';
  return 'OTHER';
}

/** XML text whose first kilobytes open an <svg> element (libvips' test is similar). */
function looksLikeSvg(b: Uint8Array): boolean {
  const head = new TextDecoder('utf-8', { fatal: false }).decode(b.subarray(0, 4096)).replace(/^\uFEFF/, '').trimStart();
  return head.startsWith('<') && /<svg[\s>]/i.test(head);
}

/** Reads and decodes a file path or in-memory bytes; throws a descriptive Error. */
export async function decodeImage(input: string | Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
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
  const maxPixels = checkMaxImagePixels(options.maxImagePixels);
  const format = detectFormat(bytes);
  if (format === 'OTHER') {
    throw new Error(`cannot decode ${label} (unrecognised format): zeroshot reads JPEG, PNG, WebP, GIF, BMP and TIFF, recognised by their bytes`);
  }
  if (format !== 'JPEG' && format !== 'PNG' && format !== 'GIF' && format !== 'BMP' && format !== 'WEBP' && format !== 'TIFF') {
    const pil = format === 'JPEG 2000' ? 'not decoded, to keep to the formats zeroshot reproduces PIL on' : 'PIL cannot read it either';
    throw new Error(`cannot decode ${label}: unsupported format ${format} (${pil}); zeroshot reads JPEG, PNG, WebP, GIF, BMP and TIFF`);
  }

  const checkSize = (size: DeclaredSize): void => {
    const pixels = size.width * size.height;
    const limit = 2 * maxPixels;
    const named = `${size.width}x${size.height} = ${pixels} pixels`;
    if (pixels > limit) {
      throw new DecompressionBombError(
        `${label} (${format}) is refused as a possible decompression bomb, as PIL refuses it (DecompressionBombError): ` +
          `its header declares ${named}, more than the limit of ${limit} (2 × max image pixels ${maxPixels}); --max-image-pixels N raises it`,
      );
    }
    if (pixels > maxPixels) {
      options.onWarning?.(
        `${label} (${format}) declares ${named}, more than max image pixels ${maxPixels}: decoded anyway, as PIL does ` +
          `(DecompressionBombWarning); above ${limit} it would be refused; --max-image-pixels N changes the limit`,
      );
    }
  };
  const sharpOptions: SharpOptions = { exifRotate: options.exifRotate === true, pixelLimit: maxPixels === Infinity ? false : 2 * maxPixels };
  let decode: () => DecodedImage | Promise<DecodedImage>;
  let size: DeclaredSize;
  try {
    switch (format) {
      case 'JPEG': {
        const frame = readJpegFrame(bytes);
        [size, decode] = [frame, () => decodeJpeg(bytes, frame, sharpOptions)];
        break;
      }
      case 'PNG': {
        const header = readPngHeader(bytes);
        [size, decode] = [header, () => decodePng(bytes, header, sharpOptions)];
        break;
      }
      case 'WEBP':
        [size, decode] = [readWebpSize(bytes), () => decodeWebp(bytes, sharpOptions)];
        break;
      case 'GIF':
        [size, decode] = [readGifSize(bytes), () => decodeGif(bytes, checkSize)];
        break;
      case 'BMP': {
        const header = readBmpHeader(bytes);
        [size, decode] = [header, () => decodeBmp(bytes, header)];
        break;
      }
      case 'TIFF': {
        const header = readTiffHeader(bytes);
        [size, decode] = [header, () => decodeTiff(bytes, header, sharpOptions)];
        break;
      }
    }
  } catch (err) {
    throw new Error(`cannot decode ${label} (${format}): ${(err as Error).message}`, { cause: err });
  }
  checkSize(size);
  await options.beforeDecode?.({ format, width: size.width, height: size.height });
  try {
    return await decode();
  } catch (err) {
    if (err instanceof DecompressionBombError) throw err;
    throw new Error(`cannot decode ${label} (${format}): ${(err as Error).message}`, { cause: err });
  }
}
