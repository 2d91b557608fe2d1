/**
 * Every 8-bit Lab triple (2^24 of them) through PIL 9.4's convert("RGB") and through decode/cielab.ts: the
 * proof that the TypeScript reproduction of LittleCMS's transform is exact. Needs Debian's python3-pil (the
 * reference) and about 250 MB of memory; takes a few seconds.
 *
 *     node --import tsx scripts/check_cielab_cube.ts
 *
 * Prints the number of differing samples and the largest difference; exits 1 if any differ.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { labToRgb, tiffLabToPil } from '../src/encode/image/decode/cielab.js';

const N = 1 << 24;
/** Triple i is (i >> 16, (i >> 8) & 255, i & 255) as a TIFF stores it (a*, b* signed), a 4096 × 4096 image. */
const PIL_CUBE = `
import sys
import numpy as np
import PIL
from PIL import Image
print("PIL", PIL.__version__)
i = np.arange(1 << 24, dtype=np.uint32)
lab = np.stack([i >> 16, (i >> 8) & 255, i & 255], -1).astype(np.uint8)
open(sys.argv[1], "wb").write(Image.frombytes("LAB", (4096, 4096), lab.tobytes()).convert("RGB").tobytes())
`;

const dir = mkdtempSync(path.join(tmpdir(), 'zeroshot-cielab-'));
try {
  const file = path.join(dir, 'pil.rgb');
  execFileSync('/usr/bin/python3', ['-c', PIL_CUBE, file], { stdio: 'inherit' });
  const pil = readFileSync(file);
  const lab = new Uint8Array(3 * N);
  for (let i = 0; i < N; i++) lab.set([i >> 16, (i >> 8) & 255, i & 255], 3 * i);
  tiffLabToPil(lab, 3);
  const ours = new Uint8Array(3 * N);
  const started = performance.now();
  labToRgb(lab, 3, ours);
  const ms = performance.now() - started;
  let differing = 0;
  let max = 0;
  for (let i = 0; i < ours.length; i++) {
    const d = Math.abs(ours[i] - pil[i]);
    if (d) differing++;
    if (d > max) max = d;
  }
  console.log(`${N} Lab triples: ${differing} of ${3 * N} RGB samples differ from PIL (max difference ${max}); conversion ${ms.toFixed(0)} ms`);
  process.exitCode = differing ? 1 : 0;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
