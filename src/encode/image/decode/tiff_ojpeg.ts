/**
 * Old-style JPEG TIFFs (compression 6) as PIL 9.4 reads them. Pillow's TiffDecode.c reads a YCbCr TIFF of any
 * compression but new-style JPEG through libtiff's TIFFRGBAImage, so the pixels are libtiff's, not libjpeg's:
 * - libtiff's OJPEG codec hands libjpeg the JPEG stream (the JPEGInterchangeFormat stream, or one it assembles
 *   from the JPEG*Tables tags and the strips) and takes its raw output: the component planes, decoded with the
 *   default integer IDCT, neither upsampled nor colour-converted; the YCbCr subsampling is the JPEG's own;
 * - tif_getimage.c gives each pixel the chroma sample of its block (replicated, no interpolation) and converts
 *   with TIFFYCbCrToRGBInit's fixed-point tables, built in float32 from YCbCrCoefficients (default 0.299,
 *   0.587, 0.114) and ReferenceBlackWhite (default 0 255 128 255 128 255).
 * The planes come from the system's libjpeg-turbo (TurboJPEG's decompress-to-YUV is that raw output); without it
 * the file is refused, saying so.
 */
import { decodeJpegPlanes, type JpegPlanes } from '../turbojpeg.js';
import type { TiffDirectory } from './tiff_ifd.js';

const T = {
  stripOffsets: 273,
  stripByteCounts: 279,
  jpegInterchangeFormat: 513,
  jpegInterchangeFormatLength: 514,
  restartInterval: 515,
  qTables: 519,
  dcTables: 520,
  acTables: 521,
  coefficients: 529,
  subsampling: 530,
  referenceBlackWhite: 532,
} as const;

/** An old-style JPEG TIFF PIL 9.4 cannot open: libtiff's OJPEG codec rejects it. */
export class OjpegUnreadable extends Error {}

/** TIFFYCbCrToRGB's tables: R = Y + Cr_r, G = Y + (Cb_g + Cr_g) >> 16, B = Y + Cb_b, each indexed by the byte. */
interface YCbCrTables {
  readonly y: Int32Array;
  readonly crR: Int32Array;
  readonly cbB: Int32Array;
  readonly crG: Int32Array;
  readonly cbG: Int32Array;
}

const f32 = Math.fround;
const clamp = (v: number, lo: number, hi: number): number => (!(v >= lo) ? lo : v > hi ? hi : v);
/** libtiff's FIX: a float in 16.16 fixed point, rounded by adding 0.5 and truncating. */
const fix = (v: number): number => Math.trunc(f32(v * 65536) + 0.5);
/** libtiff's Code2V: a code value c on the scale [rb, rw] mapped to [0, cr], in float32. */
function code2v(c: number, rb: number, rw: number, cr: number): number {
  const range = f32(rw - rb);
  return f32(f32((c - Math.trunc(rb)) * cr) / (range !== 0 ? range : 1));
}

/** TIFFYCbCrToRGBInit, in its float32 and integer steps. */
export function ycbcrTables(luma: readonly number[], refBlackWhite: readonly number[]): YCbCrTables {
  const [lr, lg, lb] = luma.map(f32);
  const rbw = refBlackWhite.map(f32);
  const f1 = f32(2 - f32(2 * lr));
  const d1 = fix(clamp(f1, 0, 2));
  const d2 = -fix(clamp(f32(f32(lr * f1) / lg), 0, 2));
  const f3 = f32(2 - f32(2 * lb));
  const d3 = fix(clamp(f3, 0, 2));
  const d4 = -fix(clamp(f32(f32(lb * f3) / lg), 0, 2));
  const t = { y: new Int32Array(256), crR: new Int32Array(256), cbB: new Int32Array(256), crG: new Int32Array(256), cbG: new Int32Array(256) };
  for (let i = 0, x = -128; i < 256; i++, x++) {
    const cr = Math.trunc(clamp(code2v(x, f32(rbw[4] - 128), f32(rbw[5] - 128), 127), -4096, 4096));
    const cb = Math.trunc(clamp(code2v(x, f32(rbw[2] - 128), f32(rbw[3] - 128), 127), -4096, 4096));
    t.crR[i] = (d1 * cr + 32768) >> 16;
    t.cbB[i] = (d3 * cb + 32768) >> 16;
    t.crG[i] = d2 * cr;
    t.cbG[i] = d4 * cb + 32768;
    t.y[i] = Math.trunc(clamp(code2v(x + 128, rbw[0], rbw[1], 255), -4096, 4096));
  }
  return t;
}

const to255 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** tif_getimage.c's putcontig8bitYCbCr*tile: every pixel with its block's chroma sample, converted by the tables. */
export function ycbcrPlanesToRgb(jpeg: JpegPlanes, tables: YCbCrTables): Uint8Array {
  const { width, height, chromaStep: [sx, sy], planes: [yp, cbp, crp] } = jpeg;
  const rgb = new Uint8Array(width * height * 3);
  for (let row = 0, o = 0; row < height; row++) {
    const yRow = row * yp.width;
    const cRow = Math.floor(row / sy) * cbp.width;
    for (let col = 0; col < width; col++, o += 3) {
      const c = cRow + Math.floor(col / sx);
      const y = tables.y[yp.data[yRow + col]];
      const cb = cbp.data[c];
      const cr = crp.data[c];
      rgb[o] = to255(y + tables.crR[cr]);
      rgb[o + 1] = to255(y + ((tables.cbG[cb] + tables.crG[cr]) >> 16));
      rgb[o + 2] = to255(y + tables.cbB[cb]);
    }
  }
  return rgb;
}

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/**
 * The bytes libtiff's OJPEG reader takes in (OJPEGReadBufferFill): the JPEGInterchangeFormat stream (to the end
 * of the file when its length is missing or too large), then each strip, with the restart marker libtiff inserts
 * after every strip but the last.
 */
function readerInput(bytes: Uint8Array, dir: TiffDirectory): Uint8Array {
  const size = bytes.length;
  const parts: Uint8Array[] = [];
  const jif = dir.integers(T.jpegInterchangeFormat)?.[0] ?? 0;
  if (jif !== 0 && jif < size) {
    const length = dir.integers(T.jpegInterchangeFormatLength)?.[0] ?? 0;
    parts.push(bytes.subarray(jif, length === 0 || jif + length > size ? size : jif + length));
  }
  const offsets = dir.integers(T.stripOffsets) ?? [];
  const counts = dir.integers(T.stripByteCounts) ?? [];
  offsets.forEach((offset, k) => {
    if (offset !== 0 && offset < size) {
      const count = counts[k] ?? 0;
      parts.push(bytes.subarray(offset, count === 0 || offset + count > size ? size : offset + count));
    }
    if (k < offsets.length - 1) parts.push(Uint8Array.of(0xff, 0xd0 + (k % 8)));
  });
  return concat(parts);
}

/** Markers OJPEGReadHeaderInfoSec accepts before the scan: SOI, COM, APPn, DRI, DQT, DHT, SOF0/1/3, SOS. */
function acceptedMarker(m: number): boolean {
  return m === 0xd8 || m === 0xfe || (m >= 0xe0 && m <= 0xef) || m === 0xdd || m === 0xdb || m === 0xc4 || m === 0xc0 || m === 0xc1 || m === 0xc3 || m === 0xda;
}

/**
 * Checks the markers of a stream that starts with one, up to its scan, as libtiff reads them; a chroma component
 * sampled other than 1 × 1 makes libtiff upsample inside libjpeg, which is not reproduced.
 */
function checkStreamMarkers(stream: Uint8Array): void {
  let p = 0;
  let sof = false;
  while (p + 1 < stream.length && stream[p] === 0xff) {
    p++;
    while (p < stream.length && stream[p] === 0xff) p++;
    const m = stream[p++];
    if (!acceptedMarker(m)) throw new OjpegUnreadable(`JPEG marker 0x${m.toString(16)} (${m === 0xc2 ? 'progressive' : 'not one libtiff reads'}), which libtiff's OJPEG codec rejects`);
    if (m === 0xd8) continue;
    if (p + 2 > stream.length) break;
    const length = (stream[p] << 8) | stream[p + 1];
    if (m === 0xc0 || m === 0xc1 || m === 0xc3) {
      sof = true;
      const components = stream[p + 7];
      for (let c = 1; c < components; c++) {
        if (stream[p + 8 + 3 * c + 1] !== 0x11) throw new Error('a JPEG whose chroma is sampled other than 1 × 1, which libtiff upsamples inside libjpeg (not reproduced)');
      }
    }
    if (m === 0xda) break;
    p += length;
  }
  if (!sof) throw new Error('a JPEG stream without a frame header, which libtiff completes from the TIFF tags (not reproduced)');
}

/**
 * The JPEG stream libjpeg decodes for an old-style JPEG TIFF: the reader's input as it is when it starts with a
 * marker (libtiff rewrites the same headers), else the stream libtiff builds from the JPEG*Tables tags: one
 * table per component (a component repeating the previous one's offset shares its table), a baseline frame of
 * components 0, 1, 2 with the luma sampled per YCbCrSubsampling and chroma 1 × 1, the scan, then EOI.
 */
export function ojpegStream(bytes: Uint8Array, dir: TiffDirectory, width: number, height: number): Uint8Array {
  const input = readerInput(bytes, dir);
  if (input[0] === 0xff) {
    checkStreamMarkers(input);
    return input;
  }
  const segment = (marker: number, body: readonly number[] | Uint8Array): Uint8Array => concat([Uint8Array.of(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255), Uint8Array.from(body)]);
  const parts: Uint8Array[] = [Uint8Array.of(0xff, 0xd8)];
  const tableOffsets = (tag: number, name: string): number[] => {
    const offsets = dir.integers(tag) ?? [];
    if (!offsets[0]) throw new OjpegUnreadable(`no ${name} (missing JPEG tables)`);
    return offsets;
  };
  const shared = (offsets: readonly number[], m: number): boolean => !offsets[m] || (m > 0 && offsets[m] === offsets[m - 1]);
  const tq = [0, 0, 0];
  const q = tableOffsets(T.qTables, 'JPEGQTables');
  for (let m = 0; m < 3; m++) {
    if (shared(q, m)) tq[m] = tq[m - 1];
    else {
      if (q[m] + 64 > bytes.length) throw new OjpegUnreadable('a JPEGQTables entry past the end of the file');
      parts.push(segment(0xdb, concat([Uint8Array.of(m), bytes.subarray(q[m], q[m] + 64)])));
      tq[m] = m;
    }
  }
  const tda = [0, 0, 0];
  for (const [tag, name, ac] of [[T.dcTables, 'JPEGDCTables', 0], [T.acTables, 'JPEGACTables', 1]] as const) {
    const offsets = tableOffsets(tag, name);
    for (let m = 0; m < 3; m++) {
      if (shared(offsets, m)) {
        tda[m] = ac ? tda[m] | (tda[m - 1] & 15) : tda[m - 1];
        continue;
      }
      const counts = bytes.subarray(offsets[m], offsets[m] + 16);
      const n = counts.reduce((a, b) => a + b, 0);
      if (counts.length < 16 || offsets[m] + 16 + n > bytes.length) throw new OjpegUnreadable(`a ${name} entry past the end of the file`);
      parts.push(segment(0xc4, concat([Uint8Array.of(ac ? 16 | m : m), bytes.subarray(offsets[m], offsets[m] + 16 + n)])));
      tda[m] = ac ? tda[m] | m : m << 4;
    }
  }
  const interval = dir.integers(T.restartInterval)?.[0] ?? 0;
  if (interval !== 0) parts.push(segment(0xdd, [interval >> 8, interval & 255]));
  const [sh, sv] = dir.integers(T.subsampling) ?? [2, 2];
  parts.push(segment(0xc0, [8, height >> 8, height & 255, width >> 8, width & 255, 3, 0, (sh << 4) | sv, tq[0], 1, 0x11, tq[1], 2, 0x11, tq[2]]));
  parts.push(segment(0xda, [3, 0, tda[0], 1, tda[1], 2, tda[2], 0, 63, 0]));
  parts.push(input, Uint8Array.of(0xff, 0xd9));
  return concat(parts);
}

/** libtiff's defaults: CCIR 601-1's luma coefficients, and full-range codes with chroma centred on 128. */
const DEFAULT_LUMA = [0.299, 0.587, 0.114];
const DEFAULT_REF_BLACK_WHITE = [0, 255, 128, 255, 128, 255];

/**
 * The RGB pixels PIL 9.4 reads from an old-style JPEG TIFF (YCbCr, 3 × 8-bit samples, strips, the planes
 * together: the caller checks those). Throws OjpegUnreadable where libtiff fails, so PIL does too.
 */
export function decodeOjpeg(bytes: Uint8Array, dir: TiffDirectory, width: number, height: number, maxPixels: number): Uint8Array {
  const planes = decodeJpegPlanes(ojpegStream(bytes, dir, width, height), maxPixels);
  if (planes.width !== width || planes.height !== height) throw new Error(`its JPEG data is ${planes.width}x${planes.height}, the TIFF ${width}x${height}`);
  const luma = dir.floats(T.coefficients);
  const refBlackWhite = dir.floats(T.referenceBlackWhite);
  return ycbcrPlanesToRgb(planes, ycbcrTables(luma?.length === 3 ? luma : DEFAULT_LUMA, refBlackWhite?.length === 6 ? refBlackWhite : DEFAULT_REF_BLACK_WHITE));
}
