// No file can kill a run, and what is readable follows PIL 9.4: decompression-bomb limits checked from the
// header before decoding, formats recognised by their bytes, PNG chunk rules, BMP RLE escapes, decoder
// threads that die replaced. Every input is generated here, small in bytes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

import { DEFAULT_MAX_IMAGE_PIXELS, DecompressionBombError, decodeImage } from '../src/encode/image/decode/index.js';
import { DecodeMemoryBudget } from '../src/encode/image/decode/memory_budget.js';
import { createImagePreprocessor } from '../src/encode/image/preprocess.js';
import { clipRgbCrop, fromPreprocessorConfig, preprocessImageFile, type ClipPreprocessOptions } from '../src/encode/image/clip_image_transform.js';
import { runZeroShot } from '../src/pipeline.js';
import { parseSpec } from '../src/input/spec.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const GOLDEN = path.join(ROOT, 'test', 'golden', 'images');
const FIXTURE = path.join(ROOT, 'fixtures', 'tiny-clip');
const golden = (name: string) => readFileSync(path.join(GOLDEN, name));

// ------------------------------------------------------------------ builders

const u16le = (v: number) => Buffer.from([v & 255, (v >> 8) & 255]);
const u32le = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const u32be = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};

function pngChunk(type: string, body: Uint8Array, crc?: number): Buffer {
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), body]);
  return Buffer.concat([u32be(body.length), typed, u32be(crc ?? crc32(typed))]);
}

/** An 8-bit RGB PNG of w × h (or a header declaring another size), with chunks before and after its IDAT. */
function png(w: number, h: number, { pre = [] as Buffer[], post = [] as Buffer[], iend = true, declared = [w, h], methods = [0, 0, 0] } = {}): Buffer {
  const ihdr = Buffer.concat([u32be(declared[0]), u32be(declared[1]), Buffer.from([8, 2, ...methods])]);
  const rows = Buffer.alloc(h * (1 + 3 * w));
  for (let y = 0; y < h; y++) for (let i = 0; i < 3 * w; i++) rows[y * (1 + 3 * w) + 1 + i] = (i * 7 + y * 13) & 255;
  return Buffer.concat([
    Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
    pngChunk('IHDR', ihdr),
    ...pre,
    pngChunk('IDAT', deflateSync(rows)),
    ...post,
    ...(iend ? [pngChunk('IEND', Buffer.alloc(0))] : []),
  ]);
}

/** An 8-bit palette BMP (BITMAPINFOHEADER) with a 256-colour palette; `compression` 1 = RLE8. */
function bmp8(width: number, height: number, pixelData: Uint8Array, compression = 0): Buffer {
  const palette = Buffer.alloc(1024);
  for (let i = 0; i < 256; i++) palette.set([(i * 3) & 255, (i * 5) & 255, (i * 7) & 255, 0], 4 * i);
  const info = Buffer.concat([u32le(40), u32le(width), u32le(height), u16le(1), u16le(8), u32le(compression), u32le(pixelData.length), u32le(2835), u32le(2835), u32le(256), u32le(0)]);
  const offset = 14 + info.length + palette.length;
  return Buffer.concat([Buffer.from('BM'), u32le(offset + pixelData.length), u32le(0), u32le(offset), info, palette, pixelData]);
}

/** A minimal little-endian TIFF header + first IFD declaring w × h (no usable pixel data). */
function tiffHeader(w: number, h: number): Buffer {
  const entry = (tag: number, type: number, value: number) => Buffer.concat([u16le(tag), u16le(type), u32le(1), u32le(value)]);
  return Buffer.concat([Buffer.from('II*\0', 'latin1'), u32le(8), u16le(3), entry(256, 4, w), entry(257, 4, h), entry(258, 3, 8), u32le(0)]);
}

/** A minimal little-endian TIFF declaring w × h with extra SHORT tags (no usable pixel data). */
function tiffWith(w: number, h: number, tags: [number, number][]): Buffer {
  const all = new Map<number, number>([[256, w], [257, h], [258, 8], [262, 1], ...tags]);
  const sorted = [...all].sort((a, b) => a[0] - b[0]);
  const entries = sorted.map(([tag, value]) => Buffer.concat([u16le(tag), u16le(3), u32le(1), u16le(value), u16le(0)]));
  return Buffer.concat([Buffer.from('II*\0', 'latin1'), u32le(8), u16le(sorted.length), ...entries, u32le(0)]);
}

function gif(screen: [number, number], frame: [number, number]): Buffer {
  return Buffer.concat([
    Buffer.from('GIF89a', 'latin1'), u16le(screen[0]), u16le(screen[1]), Buffer.from([0x80, 0, 0]), Buffer.alloc(6, 0x80),
    Buffer.from([0x2c]), u16le(0), u16le(0), u16le(frame[0]), u16le(frame[1]), Buffer.from([0, 2, 2, 0x4c, 0x01, 0, 0x3b]),
  ]);
}

/**
 * The 1.3 KB RLE8 BMP of issue 15: `size`² pixels reached through delta escapes (4 bytes each as PIL reads
 * them: escape, a skipped pair, right, up), then an end-of-bitmap. Before the fix the decoder grew a JavaScript
 * array and V8 aborted the whole process.
 */
function rleDeltaBomb(size: number): Buffer {
  const ops: number[] = [];
  for (let skipped = 0; skipped < size * size; skipped += 255 + 255 * size) ops.push(0, 2, 0, 0, 255, 255);
  ops.push(0, 1);
  return bmp8(size, size, Uint8Array.from(ops), 1);
}

// ------------------------------------------------------------------ tests

const pixels16000 = 16000 * 16000;
const bombPattern = new RegExp(`DecompressionBombError.*${pixels16000} pixels.*limit of ${2 * DEFAULT_MAX_IMAGE_PIXELS}.*--max-image-pixels N`);

describe('decompression bombs: refused from the header, before decoding', () => {
  const jpeg = Buffer.from(golden('baseline420_500x375.jpg'));
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
  jpeg.writeUInt16BE(16000, sof + 5);
  jpeg.writeUInt16BE(16000, sof + 7);
  const lossless = Buffer.from(golden('lossless_280x210.webp'));
  // VP8L: 14 bits width - 1, 14 bits height - 1, after the 0x2f signature at byte 20.
  const vp8lBits = (16382 | (16382 << 14)) >>> 0;
  lossless.writeUInt32LE(((lossless.readUInt32LE(21) & 0xf0000000) | vp8lBits) >>> 0, 21);
  const lossy = Buffer.from(golden('lossy_300x300.webp'));
  lossy.writeUInt16LE(16000, 26);
  lossy.writeUInt16LE(16000, 28);
  const vp8x = Buffer.concat([Buffer.from('RIFF', 'latin1'), u32le(22), Buffer.from('WEBPVP8X', 'latin1'), u32le(10), Buffer.alloc(4), Buffer.from([0x7f, 0x3e, 0, 0x7f, 0x3e, 0])]);
  const cases: [string, Uint8Array][] = [
    ['JPEG (SOF)', jpeg.subarray(0, 800)],
    ['PNG (IHDR)', png(4, 4, { declared: [16000, 16000] })],
    ['lossless WebP (VP8L)', lossless],
    ['lossy WebP (VP8)', lossy],
    ['extended WebP (VP8X)', vp8x],
    ['GIF (screen)', gif([16000, 16000], [1, 1])],
    ['RLE8 BMP reached through deltas', rleDeltaBomb(16000)],
    ['TIFF (first IFD)', tiffHeader(16000, 16000)],
  ];
  for (const [name, bytes] of cases) {
    it(`${name}: ${bytes.length} bytes declaring 16000 x 16000`, async () => {
      const started = performance.now();
      await assert.rejects(decodeImage(bytes), (err: Error) => {
        assert.ok(err instanceof DecompressionBombError, err.message);
        assert.match(err.message, name.startsWith('lossless') ? /DecompressionBombError.*16383x16383/ : bombPattern);
        return true;
      });
      assert.ok(performance.now() - started < 500, 'refused without decoding');
    });
  }

  it('above the limit only a warning: the image is decoded (PIL: DecompressionBombWarning)', async () => {
    const warnings: string[] = [];
    const img = await decodeImage(golden('exact_224x224.png'), { maxImagePixels: 30_000, onWarning: (w) => warnings.push(w) });
    assert.deepEqual([img.width, img.height], [224, 224]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /224x224 = 50176 pixels, more than max image pixels 30000: decoded anyway.*--max-image-pixels N/);
    await assert.rejects(decodeImage(golden('exact_224x224.png'), { maxImagePixels: 25_000 }), DecompressionBombError);
    await decodeImage(golden('exact_224x224.png'), { maxImagePixels: 25_088 }); // exactly 2x: accepted, as PIL's `>`
    // No limit: a header-only TIFF of 20000² then fails as corrupt data, not as a bomb.
    await assert.rejects(decodeImage(tiffHeader(20000, 20000), { maxImagePixels: Infinity }), (err: Error) => !(err instanceof DecompressionBombError) && /cannot decode image buffer \(TIFF\)/.test(err.message));
  });

  it('an invalid limit is refused when the preprocessor is made, not once per image', () => {
    const options = fromPreprocessorConfig(JSON.parse(readFileSync(path.join(FIXTURE, 'preprocessor_config.json'), 'utf8')));
    assert.throws(() => createImagePreprocessor(options, 0, { maxImagePixels: 0 }), /max image pixels must be a positive integer/);
    assert.throws(() => createImagePreprocessor(options, 0, { maxImagePixels: 1.5 }), /max image pixels must be a positive integer/);
  });

  for (const workers of [0, 1]) {
    it(`the warning comes back from the preprocessor with ${workers} worker thread(s)`, async () => {
      const options = fromPreprocessorConfig(JSON.parse(readFileSync(path.join(FIXTURE, 'preprocessor_config.json'), 'utf8')));
      const preprocessor = createImagePreprocessor(options, workers, { maxImagePixels: 30_000 });
      try {
        const target = preprocessor.allocate(3 * 224 * 224);
        const { warnings } = await preprocessor.runInto(path.join(GOLDEN, 'exact_224x224.png'), target);
        assert.equal(warnings.length, 1);
        assert.match(warnings[0], /exact_224x224\.png \(PNG\) declares 224x224 = 50176 pixels/);
        await assert.rejects(preprocessor.runInto(path.join(GOLDEN, 'odd_253x397.png'), target), /DecompressionBombError/);
      } finally {
        await preprocessor.close();
      }
    });
  }

  it('a GIF frame that grows the canvas past the limit is refused before the canvas is allocated', async () => {
    await assert.rejects(decodeImage(gif([10, 10], [3000, 3000]), { maxImagePixels: 1_000_000 }), /DecompressionBombError.*3000x3000 = 9000000 pixels/);
  });

  it('the 1.3 KB RLE BMP of 12000 x 12000 decodes with a warning instead of killing the process', async () => {
    const bytes = rleDeltaBomb(12000);
    assert.ok(bytes.length < 1400, `${bytes.length} bytes`);
    const warnings: string[] = [];
    const img = await decodeImage(bytes, { onWarning: (w) => warnings.push(w) });
    assert.deepEqual([img.mode, img.width, img.height], ['P', 12000, 12000]);
    assert.equal(warnings.length, 1);
    assert.ok(img.data.every((v) => v === 0), 'delta-skipped pixels are index 0, as in PIL');
  });
});

describe('formats: recognised by their bytes, only the six zeroshot reproduces PIL on are decoded', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), 'zeroshot-formats-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="16000" height="16000"><rect width="16000" height="16000"/></svg>';
  const cases: [string, string | Uint8Array, RegExp][] = [
    ['SVG renamed .jpg', svg, /unsupported format SVG \(PIL cannot read it either\)/],
    ['SVG with a BOM and an XML prolog', `\uFEFF<?xml version="1.0"?>\n<!-- c -->\n${svg}`, /unsupported format SVG/],
    ['gzip-compressed SVG', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), /unsupported format SVGZ/],
    ['HEIF', Buffer.concat([u32be(24), Buffer.from('ftypheic\0\0\0\0mif1heic', 'latin1')]), /unsupported format HEIF \(PIL cannot/],
    ['AVIF', Buffer.concat([u32be(24), Buffer.from('ftypavif\0\0\0\0avifmif1', 'latin1')]), /unsupported format AVIF/],
    ['PDF', '%PDF-1.4\n1 0 obj<<>>endobj\n', /unsupported format PDF/],
    ['JPEG 2000 (JP2)', Buffer.from('\0\0\0\x0cjP  \r\n\x87\n\0\0\0\x14ftypjp2 ', 'latin1'), /unsupported format JPEG 2000/],
    ['JPEG 2000 codestream', Buffer.from([0xff, 0x4f, 0xff, 0x51, 0, 0x2f]), /unsupported format JPEG 2000/],
    ['PPM (libvips reads it, zeroshot claims it not)', 'P6\n16000 16000\n255\n', /unrecognised format/],
  ];
  for (const [name, content, pattern] of cases) {
    it(`${name}: refused with a clear error`, async () => {
      const file = path.join(dir, 'image.jpg');
      writeFileSync(file, content);
      await assert.rejects(decodeImage(file), (err: Error) => {
        assert.match(err.message, new RegExp(`image file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
        assert.match(err.message, pattern);
        return true;
      });
    });
  }
});

function badIdatCrc(bytes: Buffer): Buffer {
  const at = bytes.indexOf('IDAT');
  bytes[at + 4 + bytes.readUInt32BE(at - 4)] ^= 1;
  return bytes;
}

describe('PNG: refused where PIL 9.4 refuses it, read where PIL reads it', () => {
  const megabytes = (n: number) => deflateSync(Buffer.alloc(n << 20, 0x61));
  const refused: [string, Buffer, RegExp][] = [
    ['zTXt with an unknown compression method', png(8, 4, { post: [pngChunk('zTXt', Buffer.concat([Buffer.from('k\0\x01'), deflateSync('x')]))] }), /Unknown compression method 1 in zTXt/],
    ['zTXt inflating past 1 MiB, before the image data', png(8, 4, { pre: [pngChunk('zTXt', Buffer.concat([Buffer.from('k\0\0'), megabytes(2)]))] }), /Decompressed Data Too Large/],
    ['zTXt inflating past 1 MiB, after the image data', png(8, 4, { post: [pngChunk('zTXt', Buffer.concat([Buffer.from('k\0\0'), megabytes(2)]))] }), /Decompressed Data Too Large/],
    ['compressed iTXt inflating past 1 MiB', png(8, 4, { pre: [pngChunk('iTXt', Buffer.concat([Buffer.from('k\0\x01\0\0\0'), megabytes(2)]))] }), /Decompressed Data Too Large/],
    ['65 text chunks of 1 MiB (PIL: more than 64 MiB of text)', png(8, 4, { post: Array.from({ length: 65 }, (_, i) => pngChunk('zTXt', Buffer.concat([Buffer.from(`k${i}\0\0`), megabytes(1)]))) }), /Too much memory used in text chunks/],
    ['a bad CRC before the image data', png(8, 4, { pre: [pngChunk('tEXt', Buffer.from('k\0v'), 1)] }), /bad checksum in tEXt/],
    ['a broken chunk type before the image data', png(8, 4, { pre: [pngChunk('t-Xt', Buffer.from('k\0v'))] }), /broken PNG file \(chunk type/],
    ['an unknown filter method', png(8, 4, { methods: [0, 1, 0] }), /unknown filter method 1 \(PIL: unknown filter category\)/],
    ['image data cut short', png(8, 4, { iend: false }).subarray(0, -10), /cannot decode image buffer \(PNG\)/],
  ];
  for (const [name, bytes, pattern] of refused) {
    it(`refuses ${name}`, async () => {
      await assert.rejects(decodeImage(bytes), pattern);
    });
  }
  const read: [string, Buffer][] = [
    ['no IEND chunk', png(8, 4, { iend: false })],
    ['a bad CRC after the image data (PIL does not check it)', png(8, 4, { post: [pngChunk('tEXt', Buffer.from('k\0v'), 1)] })],
    ['zTXt of exactly 1 MiB', png(8, 4, { pre: [pngChunk('zTXt', Buffer.concat([Buffer.from('k\0\0'), megabytes(1)]))] })],
    ['corrupt zlib data in a zTXt (PIL reads it as empty text)', png(8, 4, { pre: [pngChunk('zTXt', Buffer.from('k\0\0notzlib'))] })],
    ['an unknown compression method in IHDR (PIL ignores it; libpng alone would refuse it)', png(8, 4, { methods: [1, 0, 0] })],
    ['a bad IDAT CRC (PIL does not check it; libpng alone would refuse it)', badIdatCrc(png(8, 4))],
    ['no IEND and the last CRC cut off (PIL reads it; libpng alone would refuse it)', png(8, 4, { iend: false }).subarray(0, -4)],
  ];
  for (const [name, bytes] of read) {
    it(`reads one with ${name}`, async () => {
      const img = await decodeImage(bytes);
      assert.deepEqual([img.mode, img.width, img.height], ['RGB', 8, 4]);
    });
  }
});

describe('BMP RLE: PIL 9.4 semantics', () => {
  // 4 x 2 RLE8, bottom-up: the stream fills the bottom row first.
  const decode = (ops: number[]) => decodeImage(bmp8(4, 2, Uint8Array.from(ops), 1));
  it('end-of-line pads the row with index 0; a delta takes its offsets from the 2 bytes after its own pair', async () => {
    const img = await decode([2, 7, 0, 0, 0, 2, 9, 9, 1, 0, 3, 5, 0, 1]);
    // Row stream: [7 7 0 0] (end of line), then a delta whose offsets are (1, 0) (not 9, 9): one pixel skipped, then 5 5 5.
    assert.deepEqual(Array.from(img.data), [0, 5, 5, 5, 7, 7, 0, 0]);
  });
  it('data that stops before the last pixel is PIL\'s "not enough image data"', async () => {
    await assert.rejects(decode([2, 7, 0, 1]), /ends after 2 of 8 pixels \(PIL: not enough image data\)/);
  });
  it('a truncated delta is refused, as PIL fails to unpack it', async () => {
    await assert.rejects(decode([4, 1, 0, 2, 0, 0]), /delta escape is truncated/);
  });
});

describe('BMP: pixel data one byte short', () => {
  it('is read when only the last row\'s padding is missing, as PIL reads it', async () => {
    const data = Uint8Array.from({ length: 8 * 2 }, (_, i) => i); // rows of 5 pixels padded to 8 bytes
    const full = await decodeImage(bmp8(5, 2, data));
    const short = await decodeImage(bmp8(5, 2, data.subarray(0, data.length - 1)));
    assert.deepEqual(short.data, full.data);
    await assert.rejects(decodeImage(bmp8(5, 2, data.subarray(0, 12))), /BMP is truncated/);
  });
});

describe('TIFFs PIL reads that zeroshot refuses, each with the reason and a way out', () => {
  const cases: [string, [number, number][], RegExp][] = [
    ['old-style JPEG with RGB photometric', [[259, 6], [262, 2], [277, 3]], /old-style JPEG compression \(6\) and photometric 2 .*only YCbCr is reproduced/],
    ['old-style JPEG in tiles', [[259, 6], [262, 6], [277, 3], [322, 16]], /old-style JPEG compression \(6\) in tiles or separate planes/],
  ];
  for (const [name, tags, pattern] of cases) {
    it(name, async () => {
      await assert.rejects(decodeImage(tiffWith(64, 64, tags)), (err: Error) => pattern.test(err.message) && /\(PIL reads it, zeroshot does not\); convert it.*tiffcp/.test(err.message));
    });
  }
});

describe('TIFFs PIL 9.4 cannot open either: refused, saying so', () => {
  const cases: [string, [number, number][], RegExp][] = [
    ['64-bit float grey', [[258, 64], [339, 3]], /floating-point samples other than one 32-bit grey sample \(1 × 64-bit\)/],
    ['32-bit float RGB', [[258, 32], [277, 3], [339, 3], [262, 2]], /floating-point samples other than one 32-bit grey sample \(3 × 32-bit\)/],
    ['palette + associated alpha', [[262, 3], [277, 2], [338, 1]], /a palette with 1 extra sample\(s\) other than one 8-bit unassociated alpha/],
    ['compression 34926', [[259, 34926]], /compression 34926 \(an unofficial Zstandard code/],
    ['ITU L*a*b*', [[262, 10], [277, 3]], /ITU L\*a\*b\* colour \(photometric 10\)/],
    ['16-bit CIELAB', [[262, 8], [277, 3], [258, 16]], /CIELAB colour in 3 × 16-bit samples \(PIL reads three unsigned 8-bit samples only\)/],
    ['CIELAB + an extra sample', [[262, 8], [277, 4], [338, 0]], /CIELAB colour in 4 × 8-bit samples with extra samples/],
    ['old-style JPEG, one sample', [[259, 6], [262, 6]], /old-style JPEG compression \(6\) in 1 × 8-bit samples/],
    // grey with an extra sample other than OPEN_INFO's one LA layout (associated alpha: golden files in tiff_color.test.ts)
    ['16-bit grey + unassociated alpha', [[277, 2], [258, 16], [338, 2]], /grey \(photometric 1\) in 2 × 16-bit samples, ExtraSamples 2 \(unassociated alpha\)/],
    ['MinIsWhite grey + alpha', [[262, 0], [277, 2], [338, 2]], /grey \(photometric 0\) in 2 × 8-bit samples, ExtraSamples 2/],
    ['grey + alpha, signed', [[277, 2], [338, 2], [339, 2]], /grey \(photometric 1\) in 2 × 8-bit signed samples/],
    ['grey + alpha, FillOrder 2', [[266, 2], [277, 2], [338, 2]], /ExtraSamples 2 \(unassociated alpha\), FillOrder 2/],
    ['grey + an unspecified extra sample', [[277, 2], [338, 0]], /ExtraSamples 0 \(unspecified\)/],
    ['grey in two samples, no ExtraSamples', [[277, 2]], /grey \(photometric 1\) in 2 × 8-bit samples, no ExtraSamples tag/],
  ];
  for (const [name, tags, pattern] of cases) {
    it(name, async () => {
      await assert.rejects(decodeImage(tiffWith(64, 64, tags)), (err: Error) => pattern.test(err.message) && /PIL 9\.4 cannot open either/.test(err.message));
    });
  }
});

describe('TIFF modes F and PA under every filter, both references and no resize, as PIL 9.4 gives them', () => {
  const dir = path.join(GOLDEN, 'decode');
  const { variants } = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    variants: { file: string; options: Partial<ClipPreprocessOptions>; expected: string }[];
  };
  assert.equal(variants.length, 26);
  for (const { file, options, expected } of variants) {
    it(`${file}: ${JSON.stringify(options)}`, async () => {
      const rgb = clipRgbCrop(await decodeImage(path.join(dir, file)), options);
      const { data } = await sharp(path.join(dir, expected)).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual(Buffer.from(rgb.data), data);
    });
  }
});

describe('TIFF chunks that libvips cannot read, rewritten: damaged data gives a clear error', () => {
  const dir = path.join(GOLDEN, 'decode');
  for (const file of ['tiled_planar_lzw_pred2_150x110.tif', 'zstd_150x110.tif', 'lzma_150x110.tif']) {
    it(`${file} cut short`, async () => {
      const bytes = readFileSync(path.join(dir, file));
      // Keep the directory (at the end for tiffcp's output) and lose the first half of the pixel data.
      const damaged = Buffer.from(bytes);
      damaged.fill(0xa5, 16, bytes.length >> 1);
      await assert.rejects(decodeImage(damaged), /cannot decode image buffer \(TIFF\): /);
    });
  }
  it('tiles far larger than the image are refused before their buffer is allocated', async () => {
    const tags: [number, number][] = [[277, 3], [262, 2], [284, 2], [322, 65520], [323, 65520], [324, 8], [325, 8]];
    await assert.rejects(decodeImage(tiffWith(150, 110, tags)), /TIFF declares 65520x65520 tiles for a 150x110 image/);
  });
});

describe('TIFF Orientation 5-8: turned on load, resized to the shape of the size before, as PIL 9.4 + torchvision do', () => {
  const dir = path.join(GOLDEN, 'decode');
  const { swapped } = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    swapped: { file: string; size: [number, number]; sizeBeforeLoad: [number, number]; expected: string }[];
  };
  assert.equal(swapped.length, 4);
  for (const entry of swapped) {
    it(entry.file, async () => {
      const img = await decodeImage(path.join(dir, entry.file));
      assert.deepEqual([img.width, img.height], entry.size);
      assert.deepEqual(img.sizeBeforeLoad, { width: entry.sizeBeforeLoad[0], height: entry.sizeBeforeLoad[1] });
      // The default transform takes the resize shape from sizeBeforeLoad, as torchvision does.
      const rgb = clipRgbCrop(img, {});
      const { data } = await sharp(path.join(dir, entry.expected)).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual(Buffer.from(rgb.data), data);
    });
  }
});

describe('the shared decoding-memory budget', () => {
  it('makes a decode wait while the budget is spent and gives back what a dead thread held', async () => {
    const buffer = DecodeMemoryBudget.allocate(2, 1024 * 1024);
    const a = new DecodeMemoryBudget(buffer, 0);
    const b = new DecodeMemoryBudget(buffer, 1);
    const held = await a.acquire(100_000); // 800 KB of 1 MiB
    let bGot = false;
    const waiting = b.acquire(50_000).then((n) => ((bGot = true), n));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(bGot, false, 'waits while the budget is spent');
    a.release(held);
    b.release(await waiting);
    assert.equal(DecodeMemoryBudget.inUse(buffer), 0);
    const huge = await a.acquire(10 ** 9); // more than the whole budget: runs alone
    assert.equal(huge, 1024);
    DecodeMemoryBudget.reclaim(buffer, 0); // the thread died holding it
    assert.equal(DecodeMemoryBudget.inUse(buffer), 0);
  });
});

describe('a preprocessing thread that dies', () => {
  const config = JSON.parse(readFileSync(path.join(FIXTURE, 'preprocessor_config.json'), 'utf8'));
  const options = fromPreprocessorConfig(config);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'zeroshot-killer-'));
    for (const f of ['baseline420_500x375.jpg', 'odd_253x397.png', 'rgb24_211x161.bmp', 'animated_240x180.gif']) copyFileSync(path.join(GOLDEN, f), path.join(dir, f));
    copyFileSync(path.join(GOLDEN, 'rgba_320x240.png'), path.join(dir, 'killer.png'));
    process.env.ZEROSHOT_TEST_EXHAUST_HEAP = 'killer.png';
  });
  after(() => {
    delete process.env.ZEROSHOT_TEST_EXHAUST_HEAP;
    rmSync(dir, { recursive: true, force: true });
  });

  it('is replaced: its image fails with a message, the others in flight are retried and come out right', async () => {
    const preprocessor = createImagePreprocessor(options, 2);
    try {
      const files = ['baseline420_500x375.jpg', 'killer.png', 'odd_253x397.png', 'rgb24_211x161.bmp', 'animated_240x180.gif'].map((f) => path.join(dir, f));
      const n = 3 * 224 * 224;
      const memory = preprocessor.allocate(files.length * n);
      const settled = await Promise.allSettled(files.map((f, j) => preprocessor.runInto(f, memory.subarray(j * n, (j + 1) * n))));
      for (const [j, result] of settled.entries()) {
        if (j === 1) {
          assert.equal(result.status, 'rejected');
          assert.match((result as PromiseRejectedResult).reason.message, /the image decoder thread died on this image \(.*memory limit.*\)/);
        } else {
          assert.equal(result.status, 'fulfilled', String((result as PromiseRejectedResult).reason));
          assert.deepEqual(memory.slice(j * n, (j + 1) * n), await preprocessImageFile(files[j], options));
        }
      }
      // The replacement thread works.
      await preprocessor.runInto(files[0], memory.subarray(0, n));
    } finally {
      await preprocessor.close();
    }
  });

  it('does not end a run: the good images are embedded and the killer is in the failures', async () => {
    const spec = parseSpec(JSON.stringify({ name: 'robustness', classes: { a: ['a photo'], b: ['a drawing'] } }), 'robustness.json');
    const result = await runZeroShot({ images: dir, spec, model: FIXTURE, offline: true, cache: false, preprocessWorkers: 1 });
    assert.deepEqual([...result.imageKeys].sort(), ['animated_240x180.gif', 'baseline420_500x375.jpg', 'odd_253x397.png', 'rgb24_211x161.bmp']);
    assert.equal(result.failures.length, 1);
    assert.equal(result.failures[0].image, 'killer.png');
    assert.match(result.failures[0].error, /decoder thread died/);
  });
});
