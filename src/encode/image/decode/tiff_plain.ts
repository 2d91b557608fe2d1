/**
 * TIFFs that PIL 9.4 reads through its libtiff but libvips cannot: tiles with separate colour planes (which
 * tiff2vips does not support) and Zstandard or LZMA compression (which sharp's libtiff is built without).
 * Their tiles or strips are decompressed here (none, LZW, deflate, PackBits, Zstandard via fzstd, LZMA via
 * xz-decompress), the predictor undone, and the file is written again as an uncompressed TIFF of one strip per
 * plane with every other tag kept, which the ordinary path then reads. The pixel limit has been checked on the
 * declared size before this runs; every chunk is decompressed into (at most) the size its tile or strip needs.
 */
import { createRequire } from 'node:module';
import { crc32, inflateSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { readTiffDirectory, type IfdEntry, type TiffDirectory } from './tiff_ifd.js';

const T = {
  width: 256,
  height: 257,
  bitsPerSample: 258,
  compression: 259,
  stripOffsets: 273,
  samplesPerPixel: 277,
  rowsPerStrip: 278,
  stripByteCounts: 279,
  planarConfig: 284,
  predictor: 317,
  tileWidth: 322,
  tileLength: 323,
  tileOffsets: 324,
  tileByteCounts: 325,
  subIfds: 330,
  jpegTables: 347,
  sampleFormat: 339,
  exifIfd: 34665,
  gpsIfd: 34853,
  interopIfd: 40965,
} as const;

export const COMPRESSION = { none: 1, lzw: 5, deflate: 8, adobeDeflate: 32946, packBits: 32773, lzma: 34925, zstd: 50000 } as const;
const CODEC_NAMES: Readonly<Record<number, string>> = { 1: 'uncompressed', 5: 'LZW', 8: 'deflate', 32946: 'deflate', 32773: 'PackBits', 34925: 'LZMA', 50000: 'Zstandard' };
const CODECS = new Set<number>(Object.values(COMPRESSION));

/** Does this first directory need rewriting before libvips can read it? */
export function needsPlainTiff(compression: number, tiled: boolean, planar: number): boolean {
  return compression === COMPRESSION.zstd || compression === COMPRESSION.lzma || (tiled && planar === 2);
}

/** The reason a file that needs rewriting cannot be, or null. */
export function plainTiffObstacle(compression: number): string | null {
  return CODECS.has(compression) ? null : `compression ${compression}, which zeroshot decodes only as strips with the planes together`;
}

/** The file rewritten as an uncompressed TIFF, one strip per plane, the same byte order and other tags. */
export async function toPlainTiff(bytes: Uint8Array): Promise<Uint8Array> {
  const dir = readTiffDirectory(bytes);
  const one = (tag: number, fallback?: number): number => {
    const v = dir.integers(tag)?.[0] ?? fallback;
    if (v === undefined) throw new Error(`TIFF has no tag ${tag} in its first directory`);
    return v;
  };
  const width = one(T.width);
  const height = one(T.height);
  const samples = one(T.samplesPerPixel, 1);
  const bits = one(T.bitsPerSample, 1);
  const compression = one(T.compression, 1);
  const planar = one(T.planarConfig, 1);
  const predictor = one(T.predictor, 1);
  const obstacle = plainTiffObstacle(compression);
  if (obstacle) throw new Error(`TIFF with ${obstacle} cannot be read`);
  if (bits < 1 || bits > 64) throw new Error(`TIFF declares ${bits}-bit samples`);
  if (predictor !== 1 && predictor !== 2 && predictor !== 3) throw new Error(`TIFF has predictor ${predictor}, which is not defined`);
  if (predictor !== 1 && bits % 8 !== 0) throw new Error(`TIFF has predictor ${predictor} on ${bits}-bit samples`);

  const tiled = dir.integers(T.tileOffsets) !== null;
  const chunkWidth = tiled ? one(T.tileWidth) : width;
  const chunkHeight = tiled ? one(T.tileLength) : Math.min(one(T.rowsPerStrip, height), height);
  // A tile may be larger than a small image, but not so much that its buffer is a bomb of its own.
  if (chunkWidth < 1 || chunkHeight < 1 || chunkWidth * chunkHeight > Math.max(4 * width * height, 1 << 20)) {
    throw new Error(`TIFF declares ${chunkWidth}x${chunkHeight} ${tiled ? 'tiles' : 'strips'} for a ${width}x${height} image`);
  }
  const offsets = dir.integers(tiled ? T.tileOffsets : T.stripOffsets);
  const counts = dir.integers(tiled ? T.tileByteCounts : T.stripByteCounts);
  if (!offsets || !counts) throw new Error(`TIFF has no ${tiled ? 'TileOffsets/TileByteCounts' : 'StripOffsets/StripByteCounts'}`);
  const planes = planar === 2 ? samples : 1;
  const perPixel = planar === 2 ? 1 : samples;
  const across = Math.ceil(width / chunkWidth);
  const down = Math.ceil(height / chunkHeight);
  if (offsets.length < across * down * planes || counts.length < offsets.length) {
    throw new Error(`TIFF lists ${offsets.length} ${tiled ? 'tiles' : 'strips'}, ${across * down * planes} expected`);
  }
  const rowBytes = Math.ceil((width * perPixel * bits) / 8);
  const chunkRowBytes = Math.ceil((chunkWidth * perPixel * bits) / 8);
  const planeBytes = rowBytes * height;
  const out = new Uint8Array(planeBytes * planes);
  const sampleBytes = bits / 8;

  for (let p = 0; p < planes; p++) {
    for (let ty = 0; ty < down; ty++) {
      for (let tx = 0; tx < across; tx++) {
        const k = (p * down + ty) * across + tx;
        const rows = tiled ? chunkHeight : Math.min(chunkHeight, height - ty * chunkHeight);
        const expected = chunkRowBytes * rows;
        const start = offsets[k];
        const end = start + counts[k];
        if (end > bytes.length) throw new Error(`TIFF is truncated (${tiled ? 'tile' : 'strip'} ${k} ends at byte ${end}, file has ${bytes.length} bytes)`);
        let chunk: Uint8Array;
        try {
          chunk = await decompress(compression, bytes.subarray(start, end), expected);
        } catch (err) {
          throw new Error(`TIFF ${tiled ? 'tile' : 'strip'} ${k} (${CODEC_NAMES[compression]}) is corrupt: ${(err as Error).message}`, { cause: err });
        }
        if (chunk.length < expected) throw new Error(`TIFF ${tiled ? 'tile' : 'strip'} ${k} holds ${chunk.length} bytes, ${expected} expected`);
        if (predictor === 2) undoHorizontalPredictor(chunk, chunkRowBytes, rows, perPixel, sampleBytes, dir.littleEndian);
        if (predictor === 3) undoFloatPredictor(chunk, chunkRowBytes, rows, perPixel, sampleBytes, dir.littleEndian);
        const x0 = Math.ceil((tx * chunkWidth * perPixel * bits) / 8);
        const copyBytes = Math.min(chunkRowBytes, rowBytes - x0);
        const y0 = ty * chunkHeight;
        for (let y = 0; y < rows && y0 + y < height; y++) {
          out.set(chunk.subarray(y * chunkRowBytes, y * chunkRowBytes + copyBytes), p * planeBytes + (y0 + y) * rowBytes + x0);
        }
      }
    }
  }
  return writePlainTiff(bytes, dir, out, planes, planeBytes, height);
}

async function decompress(compression: number, data: Uint8Array, expected: number): Promise<Uint8Array> {
  switch (compression) {
    case COMPRESSION.none:
      return Uint8Array.from(data.subarray(0, expected)); // a copy: the predictor is undone in place
    case COMPRESSION.lzw:
      return lzwDecode(data, expected);
    case COMPRESSION.deflate:
    case COMPRESSION.adobeDeflate:
      return inflateSync(data, { maxOutputLength: Math.max(expected, 1) });
    case COMPRESSION.packBits:
      return packBitsDecode(data, expected);
    case COMPRESSION.zstd:
      return zstdDecompress(data, new Uint8Array(expected));
    case COMPRESSION.lzma:
      return xzDecode(data, expected);
    default:
      throw new Error(`TIFF compression ${compression} is not decoded here`);
  }
}

/**
 * libtiff's LZMA codec writes each chunk as an .xz stream whose one block runs a delta filter (distance: the
 * bytes per sample) before LZMA2, and no check. xz-decompress (xz-embedded) has no delta filter, so the block
 * header is rewritten to LZMA2 alone (the same size, its CRC32 renewed) and the delta is undone here.
 */
async function xzDecode(data: Uint8Array, expected: number): Promise<Uint8Array> {
  const { stream, deltaDistance } = withoutDeltaFilter(data);
  const input = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(stream);
      controller.close();
    },
  });
  const out = new Uint8Array(expected);
  let filled = 0;
  // A UMD bundle with its WebAssembly inlined: loaded on the first LZMA file only.
  const { XzReadableStream } = createRequire(import.meta.url)('xz-decompress') as typeof import('xz-decompress');
  const reader = new XzReadableStream(input).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const take = Math.min(value.length, expected - filled);
    out.set(value.subarray(0, take), filled);
    filled += take;
    // Past the size the chunk needs, the rest is not decompressed (cancelling at the very end would fail).
    if (take < value.length) {
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  for (let i = deltaDistance; i < filled; i++) out[i] = (out[i] + out[i - deltaDistance]) & 255;
  return out.subarray(0, filled);
}

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const XZ_FILTER_DELTA = 0x03;

/** The .xz stream with a leading delta filter removed from its first block's header (distance 0 when none). */
function withoutDeltaFilter(data: Uint8Array): { stream: Uint8Array; deltaDistance: number } {
  const bad = (why: string) => new Error(`TIFF LZMA data is not the .xz stream libtiff writes (${why})`);
  if (data.length < 12 + 8 || XZ_MAGIC.some((v, i) => data[i] !== v)) throw bad('no .xz header');
  if ((data[7] & 0x0f) !== 0) throw bad('an integrity check, which a rewritten block would fail');
  const start = 12;
  const headerSize = (data[start] + 1) * 4;
  if (data[start] === 0 || start + headerSize > data.length) throw bad('no block');
  let p = start + 2;
  const vli = (): number => {
    let v = 0;
    for (let shift = 0; shift < 63; shift += 7) {
      const b = data[p++];
      v += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return v;
    }
    throw bad('a malformed number');
  };
  const flags = data[start + 1];
  if (flags & 0x40) vli();
  if (flags & 0x80) vli();
  const filtersAt = p;
  const filters = (flags & 3) + 1;
  if (filters !== 2 || data[p] !== XZ_FILTER_DELTA) return { stream: data, deltaDistance: 0 };
  vli();
  if (vli() !== 1) throw bad('delta filter properties');
  const deltaDistance = data[p++] + 1;
  // Copies (a Buffer's slice() would share the file's bytes).
  const lzma2 = Uint8Array.from(data.subarray(p, start + headerSize - 4));
  const stream = Uint8Array.from(data);
  stream[start + 1] = flags & ~3;
  stream.fill(0, filtersAt, start + headerSize - 4);
  stream.set(lzma2, filtersAt);
  new DataView(stream.buffer).setUint32(start + headerSize - 4, crc32(stream.subarray(start, start + headerSize - 4)), true);
  return { stream, deltaDistance };
}

/** TIFF LZW (codes MSB first, 9 to 12 bits, widths growing one code early); the old LSB-first variant is refused. */
export function lzwDecode(data: Uint8Array, expected: number): Uint8Array {
  if (data.length >= 2 && data[0] === 0 && (data[1] & 1) === 1) throw new Error('TIFF uses the old-style (LSB-first) LZW, which is not decoded');
  const out = new Uint8Array(expected);
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const length = new Int32Array(4096);
  for (let i = 0; i < 256; i++) {
    suffix[i] = i;
    length[i] = 1;
  }
  let o = 0;
  let bitPos = 0;
  const totalBits = data.length * 8;
  let width = 9;
  let next = 258;
  let previous = -1;
  const read = (): number => {
    if (bitPos + width > totalBits) return 257;
    let code = 0;
    for (let i = 0; i < width; i++, bitPos++) code = (code << 1) | ((data[bitPos >> 3] >> (7 - (bitPos & 7))) & 1);
    return code;
  };
  /** Writes the string of `code`; returns its first byte. */
  const emit = (code: number): number => {
    const n = length[code];
    let c = code;
    for (let i = n - 1; i >= 0; i--) {
      if (o + i < expected) out[o + i] = suffix[c];
      c = prefix[c];
    }
    const first = o < expected ? out[o] : firstByte(code);
    o += n;
    return first;
  };
  const firstByte = (code: number): number => {
    let c = code;
    while (length[c] > 1) c = prefix[c];
    return suffix[c];
  };
  while (o < expected) {
    const code = read();
    if (code === 257) break;
    if (code === 256) {
      width = 9;
      next = 258;
      previous = -1;
      continue;
    }
    if (previous === -1) {
      if (code > 255) throw new Error('TIFF LZW data is corrupt (a string code right after a clear code)');
      emit(code);
      previous = code;
      continue;
    }
    if (code > next) throw new Error(`TIFF LZW data is corrupt (code ${code}, table holds ${next})`);
    const first = code < next ? firstByte(code) : firstByte(previous);
    if (next < 4096) {
      prefix[next] = previous;
      suffix[next] = first;
      length[next] = length[previous] + 1;
      next++;
    }
    emit(code);
    previous = code;
    if (next >= (1 << width) - 1 && width < 12) width++;
  }
  return out.subarray(0, Math.min(o, expected));
}

function packBitsDecode(data: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let o = 0;
  for (let i = 0; i < data.length && o < expected; ) {
    const n = (data[i++] << 24) >> 24;
    if (n >= 0) {
      const run = Math.min(n + 1, expected - o, data.length - i);
      out.set(data.subarray(i, i + run), o);
      i += n + 1;
      o += run;
    } else if (n !== -128) {
      const run = Math.min(1 - n, expected - o);
      out.fill(data[i++], o, o + run);
      o += run;
    }
  }
  return out.subarray(0, o);
}

/** Predictor 2: each sample is stored as the difference from the same sample of the pixel before (in the row). */
function undoHorizontalPredictor(d: Uint8Array, rowBytes: number, rows: number, perPixel: number, sampleBytes: number, little: boolean): void {
  if (sampleBytes === 1) {
    for (let y = 0; y < rows; y++) for (let i = y * rowBytes + perPixel, end = (y + 1) * rowBytes; i < end; i++) d[i] = (d[i] + d[i - perPixel]) & 255;
    return;
  }
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const get = sampleBytes === 2 ? (o: number) => view.getUint16(o, little) : (o: number) => view.getUint32(o, little);
  const set = sampleBytes === 2 ? (o: number, v: number) => view.setUint16(o, v & 0xffff, little) : (o: number, v: number) => view.setUint32(o, v >>> 0, little);
  const stride = perPixel * sampleBytes;
  for (let y = 0; y < rows; y++) {
    for (let o = y * rowBytes + stride, end = (y + 1) * rowBytes; o < end; o += sampleBytes) set(o, get(o) + get(o - stride));
  }
}

/**
 * Predictor 3 (floating point): each row holds the samples' bytes split into planes by significance (most
 * significant first), differenced byte by byte with a stride of the samples per pixel.
 */
function undoFloatPredictor(d: Uint8Array, rowBytes: number, rows: number, perPixel: number, sampleBytes: number, little: boolean): void {
  const values = rowBytes / sampleBytes;
  const row = new Uint8Array(rowBytes);
  for (let y = 0; y < rows; y++) {
    const base = y * rowBytes;
    for (let i = base + perPixel; i < base + rowBytes; i++) d[i] = (d[i] + d[i - perPixel]) & 255;
    row.set(d.subarray(base, base + rowBytes));
    for (let v = 0; v < values; v++) {
      for (let b = 0; b < sampleBytes; b++) d[base + v * sampleBytes + (little ? sampleBytes - 1 - b : b)] = row[b * values + v];
    }
  }
}

/** Tags that hold offsets into the original file, or describe its chunks: dropped or replaced. */
const REPLACED = new Set<number>([
  T.compression, T.stripOffsets, T.rowsPerStrip, T.stripByteCounts, T.predictor,
  T.tileWidth, T.tileLength, T.tileOffsets, T.tileByteCounts, T.jpegTables,
  T.subIfds, T.exifIfd, T.gpsIfd, T.interopIfd,
]);

/** A classic TIFF in the original byte order: the kept entries of `dir` plus one uncompressed strip per plane. */
function writePlainTiff(bytes: Uint8Array, dir: TiffDirectory, pixels: Uint8Array, planes: number, planeBytes: number, height: number): Uint8Array {
  const little = dir.littleEndian;
  // 64-bit types have no classic-TIFF form; none of the tags PIL or libvips read here needs them.
  const kept = [...dir.entries.values()].filter((e) => !REPLACED.has(e.tag) && e.type < 16);
  type Entry = { tag: number; type: number; count: number; data: Uint8Array };
  const longs = (values: number[]): Uint8Array => {
    const b = new Uint8Array(4 * values.length);
    const v = new DataView(b.buffer);
    values.forEach((x, i) => v.setUint32(4 * i, x, little));
    return b;
  };
  const entries: Entry[] = kept.map((e: IfdEntry) => ({ tag: e.tag, type: e.type, count: e.count, data: bytes.subarray(e.offset, e.offset + e.count * e.size) }));
  entries.push({ tag: T.compression, type: 4, count: 1, data: longs([1]) });
  entries.push({ tag: T.rowsPerStrip, type: 4, count: 1, data: longs([height]) });
  const stripOffsets: Entry = { tag: T.stripOffsets, type: 4, count: planes, data: longs(new Array(planes).fill(0)) };
  entries.push(stripOffsets);
  entries.push({ tag: T.stripByteCounts, type: 4, count: planes, data: longs(new Array(planes).fill(planeBytes)) });
  entries.sort((a, b) => a.tag - b.tag);

  const ifdSize = 2 + 12 * entries.length + 4;
  let extra = 0;
  for (const e of entries) if (e.data.length > 4) extra += e.data.length + (e.data.length & 1);
  const dataOffset = 8 + ifdSize + extra;
  const stripAt = Array.from({ length: planes }, (_, p) => dataOffset + p * planeBytes);
  stripOffsets.data = longs(stripAt);

  const file = new Uint8Array(dataOffset + pixels.length);
  const view = new DataView(file.buffer);
  file.set(little ? [0x49, 0x49, 42, 0] : [0x4d, 0x4d, 0, 42]);
  view.setUint32(4, 8, little);
  view.setUint16(8, entries.length, little);
  let values = 8 + ifdSize;
  entries.forEach((e, i) => {
    const at = 10 + 12 * i;
    view.setUint16(at, e.tag, little);
    view.setUint16(at + 2, e.type, little);
    view.setUint32(at + 4, e.count, little);
    if (e.data.length <= 4) {
      file.set(e.data, at + 8);
    } else {
      view.setUint32(at + 8, values, little);
      file.set(e.data, values);
      values += e.data.length + (e.data.length & 1);
    }
  });
  view.setUint32(10 + 12 * entries.length, 0, little);
  file.set(pixels, dataOffset);
  return file;
}
