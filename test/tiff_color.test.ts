// TIFF colour kinds PIL 9.4 converts its own way: CIELAB through LittleCMS (decode/cielab.ts), checked here on
// a committed sample of PIL's conversions (scripts/make_decode_goldens.py; the whole 2^24 cube is checked by
// scripts/check_cielab_cube.ts). The decoded files themselves are golden crops in decode/manifest.json.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

import { labToRgb, tiffLabToPil } from '../src/encode/image/decode/cielab.js';
import { decodeImage } from '../src/encode/image/decode/index.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden', 'images', 'decode');
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
