// The two JPEG decoders (the system's libjpeg-turbo through TurboJPEG, and sharp) must give the same pixels:
// which one runs depends on the machine, the results must not.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { decodeImage } from '../src/encode/image/decode/index.js';
import { decodeJpegWithTurbo, turboJpegAvailable } from '../src/encode/image/turbojpeg.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const GOLDEN_DIR = path.join(ROOT, 'test', 'golden', 'images');
const DEMO_DIR = path.join(ROOT, 'fixtures', 'demo-images');
const jpegs = [
  ...readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.jpg')).map((f) => path.join(GOLDEN_DIR, f)),
  ...readdirSync(DEMO_DIR).filter((f) => f.endsWith('.jpg')).map((f) => path.join(DEMO_DIR, f)),
];
const MAX_PIXELS = 268_402_689;
// .ci/run installs Debian's libturbojpeg0, so CI must exercise this path rather than skip it.
const skip = turboJpegAvailable() || process.env.CI ? false : 'the system libjpeg-turbo (libturbojpeg) is not installed';

/** What decodeImage gives for each file, as a digest, in a process where the TurboJPEG path is off or on. */
function decodedDigests(decoder: 'sharp' | 'auto'): Record<string, string> {
  const script = `
    import { createHash } from 'node:crypto';
    import { decodeImage } from ${JSON.stringify(path.join(ROOT, 'src/encode/image/decode/index.ts'))};
    const out = {};
    for (const file of ${JSON.stringify(jpegs)}) {
      const img = await decodeImage(file);
      out[file] = img.mode + ' ' + img.width + 'x' + img.height + ' ' + createHash('sha256').update(img.data).digest('hex');
    }
    process.stdout.write(JSON.stringify(out));`;
  const env = { ...process.env, ZEROSHOT_JPEG_DECODER: decoder === 'sharp' ? 'sharp' : '' };
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { cwd: ROOT, env, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as Record<string, string>;
}

describe('JPEG decoding through the system libjpeg-turbo', { skip }, () => {
  it('gives the same pixels and mode as the sharp path on every JPEG fixture', () => {
    const viaSharp = decodedDigests('sharp');
    const viaTurbo = decodedDigests('auto');
    assert.equal(Object.keys(viaSharp).length, jpegs.length);
    assert.deepEqual(viaTurbo, viaSharp);
  });

  it('decodes RGB and greyscale JPEGs itself, and declines CMYK and truncated files', async () => {
    const bytes = (name: string) => readFileSync(path.join(GOLDEN_DIR, name));
    const rgb = decodeJpegWithTurbo(bytes('baseline420_500x375.jpg'), MAX_PIXELS);
    assert.deepEqual([rgb?.mode, rgb?.width, rgb?.height], ['RGB', 500, 375]);
    assert.equal(decodeJpegWithTurbo(bytes('grey_310x241.jpg'), MAX_PIXELS)?.mode, 'L');
    assert.equal(decodeJpegWithTurbo(bytes('progressive_375x500.jpg'), MAX_PIXELS)?.mode, 'RGB');
    assert.equal(decodeJpegWithTurbo(bytes('cmyk_240x320.jpg'), MAX_PIXELS), null);
    assert.equal(decodeJpegWithTurbo(bytes('baseline420_500x375.jpg'), 500 * 375 - 1), null);
    const truncated = bytes('baseline420_500x375.jpg').subarray(0, 20_000);
    assert.equal(decodeJpegWithTurbo(truncated, MAX_PIXELS), null);
    // ... and the sharp path then reports it as PIL would.
    await assert.rejects(decodeImage(truncated), /premature end/);
  });

  it('leaves EXIF rotation to sharp', async () => {
    const file = path.join(GOLDEN_DIR, 'exif_orient6_320x240.jpg');
    const rotated = await decodeImage(file, { exifRotate: true });
    assert.deepEqual([rotated.width, rotated.height], [240, 320]);
    const plain = await decodeImage(file);
    assert.deepEqual([plain.width, plain.height], [320, 240]);
    assert.notEqual(createHash('sha256').update(rotated.data).digest('hex'), createHash('sha256').update(plain.data).digest('hex'));
  });
});
