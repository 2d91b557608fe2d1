/**
 * GIF decoder: sharp's GIF loader composites frames onto transparency, whereas PIL keeps the raw palette
 * indices of the first frame.
 */
import { ByteReader, expandPalette } from './bytes.js';
import type { DeclaredSize, DecodedImage } from './types.js';

/** The logical screen size (what PIL checks when it opens the file). */
export function readGifSize(bytes: Uint8Array): DeclaredSize {
  const r = new ByteReader(bytes, 'GIF');
  return { width: r.u16(6), height: r.u16(8) };
}

/**
 * First frame of a GIF, as Pillow 9.4 loads it: raw palette indices (mode
 * "P"), or mode "L" when the palette is absent or an identity grey ramp.
 * Pixels outside the frame rectangle hold the transparency index if the frame
 * has one, else 0; the canvas grows if the frame extends past the screen.
 */
export function decodeGif(bytes: Uint8Array, checkSize: (size: DeclaredSize) => void): DecodedImage {
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
    // PIL grows the canvas to a frame that extends past the screen, and checks the new size as a bomb.
    if (width !== r.u16(6) || height !== r.u16(8)) checkSize({ width, height });
    if (!(width > 0 && height > 0)) throw new Error(`GIF has invalid dimensions ${width}x${height}`);
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
