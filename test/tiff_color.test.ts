// TIFF colour kinds PIL 9.4 converts its own way: CIELAB through LittleCMS (decode/cielab.ts), checked here on
// a committed sample of PIL's conversions (scripts/make_decode_goldens.py; the whole 2^24 cube is checked by
// scripts/check_cielab_cube.ts), and old-style JPEG through libtiff (decode/tiff_ojpeg.ts); and kinds PIL cannot
// open (progressive old-style JPEG, grey with associated alpha), refused as such. The decoded files
// themselves are golden crops in decode/manifest.json, checked by test/image_preprocess.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

import { labToRgb, tiffLabToPil } from '../src/encode/image/decode/cielab.js';
import { decodeImage } from '../src/encode/image/decode/index.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, 'test', 'golden', 'images', 'decode');
const manifest = JSON.parse(readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as {
  cielab: { grid_step: number; hashed: number; multiplier: number; count: number; expected: string };
};

/** The sample's triples as a TIFF stores them, in make_decode_goldens.py's order. */
function cielabSample({ grid_step: step, hashed, multiplier }: typeof manifest.cielab): Uint8Array {
  const out: number[] = [];
  for (let l = 0; l < 256; l++) for (let a = 0; a < 256; a += step) for (let b = 0; b < 256; b += step) out.push(l, a, b);
  for (let j = 0; j < hashed; j++) {
    const v = Number((BigInt(j) * BigInt(multiplier)) % (1n << 24n));
    out.push(v >> 16, (v >> 8) & 255, v & 255);
  }
  return Uint8Array.from(out);
}

describe('CIELAB to RGB as PIL 9.4 converts it (LittleCMS 2.14)', () => {
  it(`matches PIL on ${manifest.cielab.count} Lab triples`, async () => {
    const lab = cielabSample(manifest.cielab);
    assert.equal(lab.length, 3 * manifest.cielab.count);
    tiffLabToPil(lab, 3);
    const rgb = new Uint8Array(lab.length);
    labToRgb(lab, 3, rgb);
    const { data } = await sharp(path.join(DIR, manifest.cielab.expected)).raw().toBuffer({ resolveWithObject: true });
    let differing = 0;
    for (let i = 0; i < rgb.length; i++) if (rgb[i] !== data[i]) differing++;
    assert.equal(differing, 0, `${differing} samples differ from PIL`);
  });

  it('reads samples `channels` apart, from an offset, into an offset', () => {
    const lab = Uint8Array.from([9, 50, 128, 200, 7, 77, 99, 201]);
    const one = new Uint8Array(3);
    labToRgb(lab, 4, one, 1, 4);
    const two = new Uint8Array(9);
    labToRgb(lab, 4, two, 2, 0, 3);
    assert.deepEqual(two.subarray(6), one);
  });

  it('a CIELAB TIFF decodes to mode LAB; with separate planes a* and b* keep their bytes, as PIL 9.4 unpacks them', async () => {
    const contig = await decodeImage(path.join(DIR, 'lab_150x110.tif'));
    const planar = await decodeImage(path.join(DIR, 'lab_planar_lzw_150x110.tif'));
    assert.equal(contig.mode, 'LAB');
    assert.equal(planar.mode, 'LAB');
    assert.equal(planar.data.length, contig.data.length);
    for (let i = 0; i < contig.data.length; i++) if (planar.data[i] !== (contig.data[i] ^ (i % 3 ? 0x80 : 0))) assert.fail(`sample ${i}`);
  });
});

describe('TIFFs PIL 9.4 cannot open (checked by make_decode_goldens.py): refused, saying so', () => {
  const { unreadable } = JSON.parse(readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as { unreadable: { file: string; reason: string }[] };
  // progressive old-style JPEG; grey + associated alpha, MinIsBlack and MinIsWhite, 8 and 16 bits
  assert.equal(unreadable.length, 5);
  for (const { file, reason } of unreadable) {
    it(`${file}: refused as PIL cannot open it either (${reason})`, async () => {
      await assert.rejects(decodeImage(path.join(DIR, file)), (err: Error) => err.message.includes(reason) && /PIL 9\.4 cannot open either.*tiffcp/.test(err.message));
    });
  }

  it('grey + unassociated alpha (mode LA), the grey layout with an extra sample PIL opens, still decodes', async () => {
    const image = await decodeImage(path.join(DIR, 'la_150x110.tif'));
    assert.equal(image.mode, 'LA');
  });
});

describe('old-style JPEG TIFFs as PIL 9.4 reads them (libtiff OJPEG + TIFFRGBAImage)', () => {
  it('without libjpeg-turbo the file is refused, saying what is missing', () => {
    const script = `import('./src/encode/image/decode/index.ts').then((m) => m.decodeImage(${JSON.stringify(path.join(DIR, 'ojpeg_420_150x110.tif'))})).then(() => console.log('decoded'), (e) => console.log(e.message));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, env: { ...process.env, ZEROSHOT_JPEG_DECODER: 'sharp' }, encoding: 'utf8' });
    assert.match(out, /TIFF with old-style JPEG compression \(6\): needs the system's libjpeg-turbo \(TurboJPEG\), which is turned off by ZEROSHOT_JPEG_DECODER=sharp/);
  });
});
