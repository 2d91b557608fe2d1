/**
 * PNG: the chunk structure checked as Pillow 9.4 checks it, then decoded by sharp (libpng) in PIL's mode.
 * PIL refuses a file whose chunks before the image data are broken (bad CRC, bad chunk type, truncation), a
 * compressed text chunk (zTXt, iTXt) with an unknown compression method or inflating past 1 MiB, and text
 * chunks that add up to more than 64 MiB; zeroshot refuses the same files, so that the set of images read
 * matches the reference.
 */
import { crc32, inflateSync } from 'node:zlib';
import { asciiAt, be32 } from './bytes.js';
import { decodeWithSharp, type SharpOptions } from './sharp.js';
import type { DeclaredSize, DecodedImage, ImageMode } from './types.js';

/** PIL's limits: ImageFile.SAFEBLOCK per text chunk, 64 of those for all text. */
const MAX_TEXT_CHUNK = 1 << 20;
const MAX_TEXT_MEMORY = 64 * MAX_TEXT_CHUNK;

interface PngHeader extends DeclaredSize {
  readonly bitDepth: number;
  readonly colourType: number;
}

export function readPngHeader(b: Uint8Array): PngHeader {
  if (b.length < 33 || !asciiAt(b, 12, 'IHDR')) throw new Error('PNG is truncated or has no IHDR chunk');
  return { width: be32(b, 16), height: be32(b, 20), bitDepth: b[24], colourType: b[25] };
}

/** Pillow 9.4's PNG mode for (bit depth, colour type). */
function pngMode(h: PngHeader): Exclude<ImageMode, 'PA' | 'F'> {
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

const CHUNK_TYPE = /^\w{4}$/; // PIL's is_cid

/** Text length as PIL counts it towards MAX_TEXT_MEMORY, or an error message when PIL refuses the chunk. */
function textChunkLength(type: string, body: Uint8Array): number {
  const nul = body.indexOf(0);
  const key = nul < 0 ? body : body.subarray(0, nul);
  const rest = nul < 0 ? new Uint8Array(0) : body.subarray(nul + 1);
  if (type === 'tEXt') return key.length > 0 ? rest.length : 0;
  if (type === 'zTXt') {
    const method = rest.length > 0 ? rest[0] : 0;
    if (method !== 0) throw new Error(`Unknown compression method ${method} in zTXt chunk (PIL refuses the file)`);
    const text = inflateText(rest.subarray(1));
    return key.length > 0 ? text.length : 0;
  }
  // iTXt: flag, method, language\0, translated keyword\0, text.
  if (nul < 0 || rest.length < 2) return 0;
  const [flag, method] = [rest[0], rest[1]];
  const fields = rest.subarray(2);
  const lang = fields.indexOf(0);
  const keyword = lang < 0 ? -1 : fields.indexOf(0, lang + 1);
  if (keyword < 0) return 0;
  let text = fields.subarray(keyword + 1);
  if (flag !== 0) {
    if (method !== 0) return 0;
    text = inflateText(text);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(text).length;
  } catch {
    return 0; // PIL skips an iTXt chunk that is not UTF-8
  }
}

/** zlib-inflates a text chunk's payload within PIL's 1 MiB; corrupt data is empty text, as in PIL. */
function inflateText(data: Uint8Array): Uint8Array {
  try {
    return inflateSync(data, { maxOutputLength: MAX_TEXT_CHUNK });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new Error(`a compressed text chunk inflates past ${MAX_TEXT_CHUNK} bytes (PIL: Decompressed Data Too Large)`);
    }
    return new Uint8Array(0);
  }
}

interface PngChunks {
  /** The PLTE entries, or null when there is none. */
  readonly palette: Uint8Array | null;
  /** IDAT chunks with a wrong or missing CRC, as [start of the type, offset of the CRC] (PIL does not check them; libpng refuses them). */
  readonly badDataCrcs: readonly (readonly [number, number])[];
}

/**
 * Walks the chunks as PIL does: before the first IDAT every chunk must be whole with a valid type and CRC; after
 * the image data PIL reads on until IEND, the end of the file or a broken chunk header. Text chunks are checked
 * everywhere.
 */
function checkPngChunks(b: Uint8Array): PngChunks {
  let palette: Uint8Array | null = null;
  const badDataCrcs: [number, number][] = [];
  let textMemory = 0;
  let seenData = false;
  for (let p = 8; ; ) {
    if (p + 8 > b.length) {
      if (!seenData) throw new Error('PNG is truncated before its image data');
      break;
    }
    const length = be32(b, p);
    const type = String.fromCharCode(b[p + 4], b[p + 5], b[p + 6], b[p + 7]);
    if (!CHUNK_TYPE.test(type)) {
      if (!seenData) throw new Error(`broken PNG file (chunk type ${JSON.stringify(type)} at byte ${p})`);
      break;
    }
    if (type === 'IEND' && seenData) break;
    const body = p + 8;
    if (body + length > b.length) {
      if (type === 'IDAT') break; // the decoder reports truncated image data
      throw new Error(`PNG chunk ${type} at byte ${p} is truncated`);
    }
    const data = b.subarray(body, body + length);
    if (type === 'IDAT') {
      seenData = true;
      const crcAt = body + length;
      if (crcAt + 4 > b.length || crc32(b.subarray(p + 4, crcAt)) !== be32(b, crcAt)) badDataCrcs.push([p + 4, crcAt]);
    } else if (!seenData) {
      if (body + length + 4 > b.length) throw new Error(`broken PNG file (incomplete checksum in ${type})`);
      if (crc32(b.subarray(p + 4, body + length)) !== be32(b, body + length)) {
        throw new Error(`broken PNG file (bad checksum in ${type} chunk at byte ${p})`);
      }
      if (type === 'PLTE') palette = data;
    }
    if (type === 'tEXt' || type === 'zTXt' || type === 'iTXt') {
      textMemory += textChunkLength(type, data);
      if (textMemory > MAX_TEXT_MEMORY) throw new Error(`text chunks hold more than ${MAX_TEXT_MEMORY} bytes (PIL: Too much memory used in text chunks)`);
    }
    p = body + length + 4;
  }
  if (palette && palette.length % 3 !== 0) throw new Error('PNG palette chunk is truncated');
  return { palette, badDataCrcs };
}

/**
 * What libpng refuses but PIL reads, made readable for libpng: IDAT CRCs, wrong or cut off at the end of the
 * file (PIL never checks them), the IHDR
 * compression method (PIL ignores it) and a non-zero interlace method other than 1 (PIL takes any as Adam7).
 * Returns `b` itself when there is nothing to change.
 */
function asPilReadsIt(b: Uint8Array, badDataCrcs: PngChunks['badDataCrcs']): Uint8Array {
  const IHDR_COMPRESSION = 26;
  const IHDR_INTERLACE = 28;
  if (badDataCrcs.length === 0 && b[IHDR_COMPRESSION] === 0 && b[IHDR_INTERLACE] <= 1) return b;
  const fixed = new Uint8Array(Math.max(b.length, ...badDataCrcs.map(([, at]) => at + 4)));
  fixed.set(b);
  const view = new DataView(fixed.buffer);
  fixed[IHDR_COMPRESSION] = 0;
  fixed[IHDR_INTERLACE] = fixed[IHDR_INTERLACE] ? 1 : 0;
  view.setUint32(29, crc32(fixed.subarray(12, 29)));
  for (const [from, at] of badDataCrcs) view.setUint32(at, crc32(fixed.subarray(from, at)));
  return fixed;
}

export async function decodePng(bytes: Uint8Array, header: PngHeader, options: SharpOptions): Promise<DecodedImage> {
  if (bytes[27] !== 0) throw new Error(`PNG has unknown filter method ${bytes[27]} (PIL: unknown filter category)`);
  const { palette, badDataCrcs } = checkPngChunks(bytes);
  return decodeWithSharp(asPilReadsIt(bytes, badDataCrcs), 'PNG', pngMode(header), options, palette);
}
