/**
 * BMP decoder following Pillow 9.4's BmpImagePlugin: 1/4/8-bit palettes
 * (a black/white 2-colour palette gives mode "1", a grey ramp mode "L",
 * anything else "P"), 16-bit 5-5-5 / 5-6-5, 24-bit, 32-bit (alpha only with an
 * alpha bitfield, as PIL reads BI_RGB 32-bit as BGRX), RLE8/RLE4, core (OS/2)
 * and V3/V4/V5 headers, bottom-up and top-down rows. sharp cannot read BMP.
 */
import { ByteReader, expandPalette } from './bytes.js';
import type { DeclaredSize, DecodedImage } from './types.js';

type BmpLayout = 'pal' | 'bgr15' | 'bgr16' | 'bgr' | 'bgrx' | 'xbgr' | 'abgr' | 'rgba' | 'bgra';

interface BmpHeader extends DeclaredSize {
  readonly bits: number;
  readonly compression: number;
  readonly colours: number;
  readonly topDown: boolean;
  readonly paletteStride: number;
  readonly masks: readonly number[] | null;
  /** Where the palette (or the bitfield masks' end) is. */
  readonly palettePos: number;
  readonly dataOffset: number;
}

/** The header fields, read without touching the pixel data. */
export function readBmpHeader(bytes: Uint8Array): BmpHeader {
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
  if (!(width > 0 && height > 0)) throw new Error(`BMP has invalid dimensions ${width}x${height}`);
  if (colours === 0) colours = 2 ** bits;
  let dataOffset = dataOffsetField;
  if (dataOffset === 14 + headerSize && bits <= 8) dataOffset += 4 * colours;
  return { width, height, bits, compression, colours, topDown, paletteStride, masks, palettePos: pos, dataOffset };
}

const BITFIELD_LAYOUTS: Readonly<Record<string, BmpLayout>> = {
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

/** Decodes a BMP whose header `readBmpHeader` gave (and whose size the caller has accepted). */
export function decodeBmp(bytes: Uint8Array, header: BmpHeader): DecodedImage {
  const r = new ByteReader(bytes, 'BMP');
  const { width, height, bits, compression, colours, topDown, paletteStride, masks, palettePos, dataOffset } = header;

  // Pixel layout, from PIL's table of supported depth/bitfield combinations.
  let layout: BmpLayout;
  if (bits === 1 || bits === 4 || bits === 8) layout = 'pal';
  else if (bits === 16) layout = 'bgr15';
  else if (bits === 24) layout = 'bgr';
  else if (bits === 32) layout = 'bgrx';
  else throw new Error(`unsupported BMP pixel depth ${bits}`);
  if (compression === 3) {
    const hex = (m: readonly number[]) => m.map((v) => v.toString(16)).join(',');
    const found = bits === 32 ? BITFIELD_LAYOUTS[`32:${hex(masks ?? [])}`] : BITFIELD_LAYOUTS[`${bits}:${hex((masks ?? []).slice(0, 3))}`];
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
    r.need(palettePos, paletteStride * colours);
    const entries = bytes.subarray(palettePos, palettePos + paletteStride * colours);
    // PIL drops the palette when entries are grey: (0,255) for 2 colours, else a ramp.
    let grey = true;
    for (let i = 0; i < colours && grey; i++) {
      const v = colours === 2 ? i * 255 : i;
      const p = i * paletteStride;
      if (entries[p] !== v || entries[p + 1] !== v || entries[p + 2] !== v) grey = false;
    }
    const indices =
      compression === 0
        ? unpackBmpIndices(r, dataOffset, width, height, bits, topDown)
        : decodeBmpRle(bytes, dataOffset, width, height, compression === 2, topDown);
    if (grey && colours === 2) {
      for (let i = 0; i < pixels; i++) indices[i] = indices[i] ? 255 : 0;
      return { width, height, format: 'BMP', mode: '1', data: indices };
    }
    if (grey) return { width, height, format: 'BMP', mode: 'L', data: indices };
    const palette = expandPalette(entries, paletteStride, colours, 'BGR');
    return { width, height, format: 'BMP', mode: 'P', data: indices, palette };
  }

  const stride = rowStride(width, bits);
  needRows(r, dataOffset, stride, width, bits, height);
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

/** Bytes per stored row: the pixels padded to a multiple of 4. */
const rowStride = (width: number, bits: number): number => (((width * bits + 31) >>> 3) & ~3) >>> 0;

/**
 * The pixel data must hold every row; the last row's padding may be missing, since PIL's raw decoder skips a
 * row's padding only before reading the next row.
 */
function needRows(r: ByteReader, offset: number, stride: number, width: number, bits: number, height: number): void {
  r.need(offset, stride * (height - 1) + Math.ceil((width * bits) / 8));
}

function unpackBmpIndices(r: ByteReader, offset: number, width: number, height: number, bits: number, topDown: boolean): Uint8Array {
  const stride = rowStride(width, bits);
  needRows(r, offset, stride, width, bits, height);
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
 * RLE8/RLE4 as Pillow 9.4's BmpRleDecoder reads them, quirks included: the decoder emits a stream of pixels in
 * file row order (bottom-up unless top-down), end-of-line pads the stream to a row boundary with index 0, a
 * delta skips `right + up × width` pixels (index 0) but takes its two values from the 2 bytes *after* the
 * escape's own pair (PIL reads 4 bytes), odd-length RLE4 literal runs lose their last pixel, and word alignment
 * is measured from the start of the file. A stream shorter than the image is PIL's "not enough image data".
 *
 * The stream is written straight into the output, allocated once from the declared size: escapes that skip
 * far only move the position.
 */
function decodeBmpRle(b: Uint8Array, offset: number, width: number, height: number, rle4: boolean, topDown: boolean): Uint8Array {
  const total = width * height;
  const out = new Uint8Array(total);
  let length = 0; // pixels in the stream so far (may pass `total`; the excess is dropped, as PIL drops it)
  const put = (v: number): void => {
    if (length < total) {
      const row = Math.floor(length / width);
      out[(topDown ? row : height - 1 - row) * width + (length - row * width)] = v;
    }
    length++;
  };
  let x = 0;
  let p = offset;
  while (length < total) {
    if (p + 2 > b.length) break;
    let count = b[p];
    const value = b[p + 1];
    p += 2;
    if (count) {
      if (x + count > width) count = Math.max(0, width - x);
      if (rle4) for (let i = 0; i < count; i++) put(i % 2 === 0 ? value >> 4 : value & 15);
      else for (let i = 0; i < count; i++) put(value);
      x += count;
    } else if (value === 0) {
      length = Math.ceil(length / width) * width;
      x = 0;
    } else if (value === 1) {
      break;
    } else if (value === 2) {
      if (p + 2 > b.length) break;
      if (p + 4 > b.length) throw new Error('BMP RLE delta escape is truncated');
      length += b[p + 2] + b[p + 3] * width;
      p += 4;
      x = length % width;
    } else {
      const byteCount = rle4 ? value >> 1 : value;
      const available = Math.min(byteCount, b.length - p);
      for (let i = 0; i < available; i++) {
        const v = b[p + i];
        if (rle4) {
          put(v >> 4);
          put(v & 15);
        } else {
          put(v);
        }
      }
      p += available;
      if (available < byteCount) break;
      x += value;
      if (p % 2 !== 0) p += 1;
    }
  }
  if (length < total) throw new Error(`BMP RLE data ends after ${length} of ${total} pixels (PIL: not enough image data)`);
  return out;
}
