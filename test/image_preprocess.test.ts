import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import sharp from 'sharp';

import { decodeImage, type DecodedImage } from '../src/encode/image/decode/index.js';
import { createImagePreprocessor } from '../src/encode/image/preprocess.js';
import {
  CLIP_MEAN,
  CLIP_STD,
  DEFAULT_CLIP_OPTIONS,
  centerCropOffsets,
  clipRgbCrop,
  clipTransform,
  clipTransformWithSize,
  fromPreprocessorConfig,
  normalizationTable,
  outputSize,
  preprocessImageFile,
  resizedSize,
  roundHalfEven,
  type ClipPreprocessOptions,
} from '../src/encode/image/clip_image_transform.js';
import {
  mulDiv255,
  nearestSourceIndices,
  resampleCoefficients,
  resize8,
  resizeI32,
  toFixedPoint,
  type RasterI32,
  type ResampleFilter,
} from '../src/encode/image/pil_resample.js';

const GOLDEN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden', 'images');

interface GoldenEntry {
  file: string;
  format: string;
  mode: string;
  size: [number, number];
  shortestEdge: number;
  crop: number;
  exifRotate: boolean;
  expected: string;
  note: string;
}

const manifest = JSON.parse(readFileSync(path.join(GOLDEN_DIR, 'manifest.json'), 'utf8')) as {
  pillow: string;
  images: GoldenEntry[];
};
// The decoders' cases from issue 15 (scripts/make_decode_goldens.py: BMP RLE escapes, short BMPs, TIFF
// orientation and sample layouts), in the same layout under decode/.
const decodeManifest = JSON.parse(readFileSync(path.join(GOLDEN_DIR, 'decode', 'manifest.json'), 'utf8')) as { images: GoldenEntry[] };
manifest.images.push(...decodeManifest.images.map((e) => ({ ...e, file: `decode/${e.file}`, expected: `decode/${e.expected}` })));

/**
 * Allowed max abs difference per golden file. Every case is exact today
 * (sharp's JPEG decoder matched Debian's libjpeg-turbo on all of them); a
 * file listed here would document a decoder difference, not a resampling one.
 */
const TOLERANCE: Record<string, number> = {};

async function readExpected(rel: string): Promise<Uint8Array> {
  const { data, info } = await sharp(path.join(GOLDEN_DIR, rel)).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3, `${rel} must be an RGB PNG`);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > m) m = d;
  }
  return m;
}

const report: string[] = [];
after(() => {
  if (report.length) console.log(`PIL ${manifest.pillow} golden crops, max abs diff:\n  ${report.join('\n  ')}`);
});

describe('PIL/torchvision golden crops', () => {
  assert.ok(manifest.images.length >= 30);
  for (const entry of manifest.images) {
    const label = `${entry.file} (${entry.format} ${entry.mode} ${entry.size.join('x')}, resize ${entry.shortestEdge}, crop ${entry.crop}${entry.exifRotate ? ', exif' : ''})`;
    it(label, async () => {
      const img = await decodeImage(path.join(GOLDEN_DIR, entry.file), { exifRotate: entry.exifRotate });
      assert.equal(img.mode, entry.mode, 'decoded mode matches PIL');
      if (!entry.exifRotate) assert.deepEqual([img.width, img.height], entry.size);
      const options = {
        size: { shortestEdge: entry.shortestEdge },
        crop: { height: entry.crop, width: entry.crop },
      };
      const rgb = clipRgbCrop(img, options);
      assert.equal(rgb.width, entry.crop);
      assert.equal(rgb.height, entry.crop);
      const expected = await readExpected(entry.expected);
      const diff = maxAbsDiff(rgb.data, expected);
      report.push(`${diff}  ${label}`);
      assert.ok(diff <= (TOLERANCE[entry.file] ?? 0), `max abs diff ${diff} vs PIL`);

      // Normalised tensor: torchvision's float32 steps applied to the crop.
      const tensor = clipTransform(img, options);
      const n = entry.crop * entry.crop;
      assert.equal(tensor.length, 3 * n);
      for (let c = 0; c < 3; c++) {
        const mean = Math.fround(CLIP_MEAN[c]);
        const std = Math.fround(CLIP_STD[c]);
        for (let i = 0; i < n; i++) {
          const x = rgb.data[3 * i + c];
          const want = Math.fround(Math.fround(Math.fround(x / 255) - mean) / std);
          if (tensor[c * n + i] !== want) assert.fail(`tensor[${c},${i}] = ${tensor[c * n + i]}, want ${want}`);
          const exact = (x / 255 - CLIP_MEAN[c]) / CLIP_STD[c];
          if (Math.abs(tensor[c * n + i] - exact) > 1e-6) assert.fail(`tensor[${c},${i}] far from the formula`);
        }
      }
    });
  }
});

interface PreprocessCase {
  kind: 'rgb' | 'int32';
  input: string;
  mode: string;
  size: [number, number];
  /** ClipPreprocessOptions fields for 'rgb'; the resize target and filter for 'int32'. */
  options: Record<string, unknown>;
  expected: string;
  note: string;
}

const PREPROCESS_DIR = path.join(GOLDEN_DIR, 'preprocess');
const preprocessManifest = JSON.parse(readFileSync(path.join(PREPROCESS_DIR, 'manifest.json'), 'utf8')) as {
  pillow: string;
  cases: PreprocessCase[];
  floatTables: Record<'original_rescaled' | 'transformers_rescaled', number[]> &
    Record<'original_clip_normalized' | 'transformers_clip_normalized', number[][]>;
};

describe('PIL goldens: every filter, squash, crops, both references', () => {
  assert.ok(preprocessManifest.cases.length >= 90);
  for (const c of preprocessManifest.cases) {
    const label = `${c.input} (${c.mode} ${c.size.join('x')}) ${JSON.stringify(c.options)}: ${c.note}`;
    it(label, async () => {
      const img = await decodeImage(path.join(PREPROCESS_DIR, c.input));
      assert.equal(img.mode, c.mode, 'decoded mode matches PIL');
      if (c.kind === 'int32') {
        const { width, height, resample } = c.options as { width: number; height: number; resample: ResampleFilter };
        assert.equal(img.mode, 'I');
        const got = resizeI32(img as RasterI32, width, height, resample);
        const want = await decodeImage(path.join(PREPROCESS_DIR, c.expected));
        assert.equal(want.mode, 'I');
        assert.deepEqual([got.width, got.height], [want.width, want.height]);
        let diff = 0;
        for (let i = 0; i < got.data.length; i++) diff = Math.max(diff, Math.abs(got.data[i] - (want.data[i] as number)));
        assert.equal(diff, 0, `max abs diff ${diff} vs PIL`);
        return;
      }
      const options = c.options as Partial<ClipPreprocessOptions>;
      const rgb = clipRgbCrop(img, options);
      const size = outputSize({ ...DEFAULT_CLIP_OPTIONS, ...options });
      assert.deepEqual([rgb.width, rgb.height], [size.width, size.height]);
      const diff = maxAbsDiff(rgb.data, await readExpected(path.join('preprocess', c.expected)));
      assert.equal(diff, 0, `max abs diff ${diff} vs PIL`);
      if (options.doNormalize === false) {
        // MobileCLIP: no normalisation, the tensor is the crop / 255 (the float tables below pin the values).
        const tensor = clipTransform(img, options);
        const n = rgb.width * rgb.height;
        for (let i = 0; i < 3 * n; i++) {
          const x = rgb.data[3 * (i % n) + Math.floor(i / n)];
          if (tensor[i] !== preprocessManifest.floatTables.original_rescaled[x]) assert.fail(`tensor[${i}] = ${tensor[i]} for byte ${x}`);
        }
      }
    });
  }

  it('rescale and normalise give torch\'s and numpy\'s float32s for every byte', () => {
    const t = preprocessManifest.floatTables;
    const clip = normalizationTable(DEFAULT_CLIP_OPTIONS);
    const rescaled = normalizationTable({ ...DEFAULT_CLIP_OPTIONS, doNormalize: false });
    for (let c = 0; c < 3; c++) {
      for (let x = 0; x < 256; x++) {
        assert.equal(clip[c * 256 + x], t.original_clip_normalized[c][x]);
        assert.equal(clip[c * 256 + x], t.transformers_clip_normalized[c][x]);
        assert.equal(rescaled[c * 256 + x], t.original_rescaled[x]);
        assert.equal(rescaled[c * 256 + x], t.transformers_rescaled[x]);
      }
    }
  });
});

describe('preprocessImageFile', () => {
  it('decodes and transforms a file path and a buffer identically', async () => {
    const file = path.join(GOLDEN_DIR, 'baseline420_500x375.jpg');
    const a = await preprocessImageFile(file);
    const b = await preprocessImageFile(readFileSync(file));
    assert.equal(a.length, 3 * 224 * 224);
    assert.deepEqual(a, b);
  });

  it('writes into a given array, and rejects one of the wrong size', async () => {
    const file = path.join(GOLDEN_DIR, 'baseline420_500x375.jpg');
    const out = new Float32Array(3 * 224 * 224);
    assert.equal(await preprocessImageFile(file, {}, out), out);
    assert.deepEqual(out, await preprocessImageFile(file));
    await assert.rejects(preprocessImageFile(file, {}, new Float32Array(10)), /output holds 10 floats, the image needs 150528/);
  });
});

describe('createImagePreprocessor', () => {
  const config = JSON.parse(readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'tiny-clip', 'preprocessor_config.json'), 'utf8'));
  const files = ['baseline420_500x375.jpg', 'odd_253x397.png', 'rgb24_211x161.bmp'].map((f) => path.join(GOLDEN_DIR, f));

  for (const workers of [0, 2]) {
    it(`with ${workers} worker thread(s), writes each image into its slot of allocated memory`, async () => {
      const preprocessor = createImagePreprocessor(fromPreprocessorConfig(config), workers);
      try {
        const n = 3 * 224 * 224;
        const memory = preprocessor.allocate(files.length * n);
        assert.equal(memory.buffer instanceof SharedArrayBuffer, workers > 0);
        await Promise.all(files.map((f, j) => preprocessor.runInto(f, memory.subarray(j * n, (j + 1) * n))));
        for (const [j, f] of files.entries()) assert.deepEqual(memory.slice(j * n, (j + 1) * n), await preprocessImageFile(f, preprocessor.options));
        await assert.rejects(preprocessor.runInto(path.join(GOLDEN_DIR, 'missing.jpg'), memory.subarray(0, n)), /cannot read image file/);
        if (workers > 0) await assert.rejects(preprocessor.runInto(files[0], new Float32Array(n)), /target must come from allocate/);
      } finally {
        await preprocessor.close();
      }
    });
  }
});

describe('decode errors', () => {
  const jpeg = readFileSync(path.join(GOLDEN_DIR, 'baseline420_500x375.jpg'));
  const png = readFileSync(path.join(GOLDEN_DIR, 'odd_253x397.png'));
  const gif = readFileSync(path.join(GOLDEN_DIR, 'animated_240x180.gif'));
  const bmp = readFileSync(path.join(GOLDEN_DIR, 'rgb24_211x161.bmp'));
  const webp = readFileSync(path.join(GOLDEN_DIR, 'lossless_280x210.webp'));
  const cases: [string, Uint8Array, RegExp][] = [
    ['zero-byte buffer', new Uint8Array(0), /empty \(0 bytes\)/],
    ['garbage', Buffer.from('definitely not an image, just text'), /cannot decode image buffer \(unrecognised format\)/],
    ['truncated JPEG', jpeg.subarray(0, jpeg.length >> 1), /cannot decode image buffer \(JPEG\).*premature end/],
    ['JPEG header only', jpeg.subarray(0, 200), /cannot decode image buffer \(JPEG\)/],
    ['truncated PNG', png.subarray(0, png.length >> 1), /cannot decode image buffer \(PNG\)/],
    ['PNG signature only', png.subarray(0, 8), /cannot decode image buffer \(PNG\).*truncated/],
    ['truncated GIF', gif.subarray(0, gif.length >> 3), /cannot decode image buffer \(GIF\).*truncated/],
    ['truncated BMP', bmp.subarray(0, bmp.length >> 1), /cannot decode image buffer \(BMP\).*truncated/],
    ['BMP header only', bmp.subarray(0, 20), /cannot decode image buffer \(BMP\).*truncated/],
    ['truncated WebP', webp.subarray(0, webp.length >> 1), /cannot decode image buffer \(WEBP\)/],
  ];
  for (const [name, bytes, pattern] of cases) {
    it(`${name} throws a clear error`, async () => {
      await assert.rejects(decodeImage(bytes), (err: Error) => {
        assert.match(err.message, pattern);
        return true;
      });
    });
  }
  it('missing file names the path', async () => {
    await assert.rejects(decodeImage('/nonexistent/dir/x.jpg'), /cannot read image file \/nonexistent\/dir\/x\.jpg/);
  });
  it('zero-byte file names the path', async () => {
    await assert.rejects(decodeImage('/dev/null'), /image file \/dev\/null is empty \(0 bytes\)/);
  });
});

describe('geometry', () => {
  it('round half to even like Python', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 1.2, 1.7].map(roundHalfEven), [0, 2, 2, 4, 0, -2, 1, 2]);
  });
  it('center crop offsets use int(round(...))', () => {
    const left = (w: number): number => centerCropOffsets(w, 224, 224, 224).left;
    assert.equal(left(224), 0);
    assert.equal(left(225), 0); // 0.5 -> 0
    assert.equal(left(226), 1);
    assert.equal(left(227), 2); // 1.5 -> 2
    assert.equal(left(229), 2); // 2.5 -> 2
    assert.equal(left(231), 4); // 3.5 -> 4
    assert.equal(centerCropOffsets(224, 233, 224, 224).top, 4); // 4.5 -> 4
  });
  it('center crop larger than the image pads floor before, ceil after', () => {
    assert.deepEqual(centerCropOffsets(200, 224, 224, 224), { left: -12, top: 0 });
    assert.deepEqual(centerCropOffsets(201, 223, 224, 224), { left: -11, top: 0 });
  });
  it('resize keeps the short side and truncates the long one', () => {
    assert.deepEqual(resizedSize(500, 375, { shortestEdge: 224 }), { width: 298, height: 224 });
    assert.deepEqual(resizedSize(375, 500, { shortestEdge: 224 }), { width: 224, height: 298 });
    assert.deepEqual(resizedSize(1, 1, { shortestEdge: 224 }), { width: 224, height: 224 });
    assert.deepEqual(resizedSize(300, 300, { shortestEdge: 224 }), { width: 224, height: 224 });
    assert.deepEqual(resizedSize(1500, 45, { shortestEdge: 224 }), { width: 7466, height: 224 });
    assert.deepEqual(resizedSize(640, 480, { height: 100, width: 50 }), { width: 50, height: 100 });
  });
});

describe('resampling internals', () => {
  it('coefficients are normalised and fixed-point rounded half away from zero', () => {
    const c = resampleCoefficients('bicubic', 500, 298);
    for (let i = 0; i < 298; i++) {
      let s = 0;
      for (let t = 0; t < c.count[i]; t++) s += c.weights[i * c.kernelSize + t];
      assert.ok(Math.abs(s - 1) < 1e-12);
    }
    assert.deepEqual(Array.from(toFixedPoint(new Float64Array([0.5 / 4194304, -0.5 / 4194304, 0.25]))), [1, -1, 1048576]);
  });
  it('a window of the resize equals the same region of the full resize', () => {
    const w = 97;
    const h = 61;
    const data = new Uint8Array(w * h * 3);
    let seed = 7;
    for (let i = 0; i < data.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      data[i] = seed >>> 24;
    }
    const src = { width: w, height: h, channels: 3, data };
    const full = resize8(src, 53, 140, 'bicubic');
    const win = { left: 7, top: 30, width: 20, height: 50 };
    const part = resize8(src, 53, 140, 'bicubic', win);
    for (let y = 0; y < win.height; y++) {
      for (let x = 0; x < win.width * 3; x++) {
        assert.equal(part.data[y * win.width * 3 + x], full.data[(y + win.top) * 53 * 3 + win.left * 3 + x]);
      }
    }
  });
  it('nearest picks floor((i + 0.5) * scale)', () => {
    assert.deepEqual(Array.from(nearestSourceIndices(4, 8)), [0, 0, 1, 1, 2, 2, 3, 3]);
    assert.deepEqual(Array.from(nearestSourceIndices(9, 3)), [1, 4, 7]);
  });
  it('MULDIV255 matches rounding of a*b/255', () => {
    for (let a = 0; a < 256; a += 5) for (let b = 0; b < 256; b += 3) assert.equal(mulDiv255(a, b), Math.round((a * b) / 255));
  });
});

describe('options', () => {
  const grey4x2: DecodedImage = { width: 4, height: 2, format: 'OTHER', mode: 'L', data: new Uint8Array([0, 51, 102, 153, 204, 255, 0, 0]) };
  it('reads a Hugging Face preprocessor_config.json', () => {
    const opts = fromPreprocessorConfig({
      crop_size: { height: 336, width: 336 },
      do_center_crop: true,
      do_convert_rgb: true,
      do_normalize: true,
      do_rescale: true,
      do_resize: true,
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.25, 0.25, 0.25],
      resample: 3,
      rescale_factor: 0.00392156862745098,
      size: { shortest_edge: 336 },
    });
    assert.deepEqual(opts.size, { shortestEdge: 336 });
    assert.deepEqual(opts.crop, { height: 336, width: 336 });
    assert.deepEqual(opts.imageMean, [0.5, 0.5, 0.5]);
    assert.deepEqual(opts.imageStd, [0.25, 0.25, 0.25]);
  });
  it('reports bad values with the file, the key and the fix', () => {
    assert.throws(
      () => fromPreprocessorConfig({ resample: 7 }, {}, 'm/preprocessor_config.json'),
      /^Error: m\/preprocessor_config.json: resample is 7, which is not supported; use one of 0 \(nearest\), 1 \(lanczos\), 2 \(bilinear\), 3 \(bicubic\), 4 \(box\), 5 \(hamming\)$/,
    );
    assert.throws(() => fromPreprocessorConfig({ resample: 'bicubic' }), /resample is "bicubic", which is not supported/);
    assert.throws(() => fromPreprocessorConfig({ size: { shortest_edge: -3 } }), /size.shortest_edge must be a positive integer, got -3/);
    assert.throws(() => fromPreprocessorConfig({ size: { longest_edge: 224 } }), /size \{"longest_edge":224\} is not supported: use \{"shortest_edge": N\} or \{"height": H, "width": W\}/);
    assert.throws(() => fromPreprocessorConfig({ crop_size: [224] }), /crop_size must be an integer or \{"height": H, "width": W\}/);
    assert.throws(() => fromPreprocessorConfig({ image_mean: [0.5, 0.5] }), /image_mean must be a number or 3 numbers/);
    assert.throws(() => fromPreprocessorConfig({ do_normalize: 'no' }), /do_normalize must be true or false, got "no"/);
    assert.throws(() => fromPreprocessorConfig({ rescale_factor: 0.5 }), /rescale_factor is 0.5, which is not supported: only 1\/255/);
    assert.throws(
      () => fromPreprocessorConfig({ do_center_crop: false }),
      /without a centre crop the output size would depend on each image \(size is a shortest edge\); set do_center_crop with crop_size, or size \{"height": H, "width": W\}/,
    );
    assert.throws(() => fromPreprocessorConfig({ image_processor_type: 'SiglipImageProcessor', size: 224 }), /size must be \{"height": H, "width": W\} for this image processor/);
    assert.throws(() => clipRgbCrop(grey4x2, { resample: 'cubic' as never }), /resample "cubic" is not supported/);
    assert.throws(() => clipRgbCrop(grey4x2, { reference: 'torch' as never }), /reference "torch" is not supported; use 'original' or 'transformers'/);
  });
  it('reads every resample value, legacy integer sizes and do_normalize without mean/std', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((resample) => fromPreprocessorConfig({ resample }).resample),
      ['nearest', 'lanczos', 'bilinear', 'bicubic', 'box', 'hamming'],
    );
    const laion = fromPreprocessorConfig({ size: 224, crop_size: 224 });
    assert.deepEqual([laion.size, laion.crop, laion.reference], [{ shortestEdge: 224 }, { height: 224, width: 224 }, 'original']);
    const mobileclip = fromPreprocessorConfig({ size: { shortest_edge: 256 }, crop_size: { height: 256, width: 256 }, resample: 2, do_normalize: false });
    assert.equal(mobileclip.doNormalize, false);
    assert.equal(mobileclip.resample, 'bilinear');
    const squash = fromPreprocessorConfig({ size: { height: 200, width: 150 }, do_center_crop: false });
    assert.deepEqual(outputSize(squash), { height: 200, width: 150 });
    const nonSquare = fromPreprocessorConfig({ size: { shortest_edge: 256 }, crop_size: { height: 200, width: 160 } });
    assert.deepEqual(outputSize(nonSquare), { height: 200, width: 160 });
  });
  it('reads SigLIP processor configs as transformers, squash, no crop, mean/std 0.5', () => {
    const siglip = fromPreprocessorConfig({
      image_processor_type: 'SiglipImageProcessor',
      do_resize: true,
      size: { height: 384, width: 384 },
      resample: 3,
      do_rescale: true,
      rescale_factor: 0.00392156862745098,
      do_normalize: true,
    });
    assert.equal(siglip.reference, 'transformers');
    assert.equal(siglip.doCenterCrop, false);
    assert.deepEqual(siglip.imageMean, [0.5, 0.5, 0.5]);
    assert.deepEqual(siglip.imageStd, [0.5, 0.5, 0.5]);
    assert.deepEqual(outputSize(siglip), { height: 384, width: 384 });
    assert.equal(fromPreprocessorConfig({ image_processor_type: 'SiglipImageProcessor' }, { reference: 'original' }).reference, 'original');
  });
  it('do_normalize=false gives x/255 on a squashed image', () => {
    const t = clipTransformWithSize(grey4x2, { size: { height: 2, width: 4 }, doCenterCrop: false, doNormalize: false });
    assert.equal(t.width, 4);
    assert.equal(t.height, 2);
    assert.equal(t.data[1], Math.fround(51 / 255));
    assert.equal(t.data[8 + 1], Math.fround(51 / 255));
  });
  it('16-bit grey can be shifted to 8 bits instead of PIL clipping', () => {
    const img: DecodedImage = { width: 2, height: 1, format: 'PNG', mode: 'I', data: new Int32Array([0x1234, 0xff00]) };
    const clip = clipRgbCrop(img, { doResize: false, crop: { height: 1, width: 2 } });
    assert.deepEqual(Array.from(clip.data), [255, 255, 255, 255, 255, 255]);
    const shifted = clipRgbCrop(img, { doResize: false, crop: { height: 1, width: 2 }, int32Grey: 'shift8' });
    assert.deepEqual(Array.from(shifted.data), [0x12, 0x12, 0x12, 0xff, 0xff, 0xff]);
  });
});
