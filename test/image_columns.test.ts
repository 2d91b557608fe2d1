import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Mulberry32 } from '../src/evaluate/bootstrap.js';
import { cosineScores, l2NormalizeRows } from '../src/score/similarity.js';
import { ImageColumns } from '../src/score/wasm/image_columns.js';
import { IMAGE_COLUMNS_C_SHA256 } from '../src/score/wasm/image_columns_wasm.js';
import { REPLICATE_COUNTS_C_SHA256 } from '../src/evaluate/wasm/replicate_counts_wasm.js';

test('the WebAssembly columns are cosineScores bit for bit: any row count, one text or several, signed zeros and tiny values', () => {
  const random = new Mulberry32(11);
  for (const [rows, dim] of [[97, 512], [8, 16], [1, 3], [29, 768]] as const) {
    const unit = (n: number) => l2NormalizeRows(Float32Array.from({ length: n * dim }, () => random.next() - 0.5), dim);
    const images = unit(rows);
    // Values whose products are subnormal or zero in float32 but not in double, and negative zeros.
    images[0] = -0;
    images[1] = 1e-30;
    const texts = Array.from({ length: 5 }, () => unit(1));
    texts[0][1] = 1e-20;
    const columns = new ImageColumns(images, dim);
    for (const batch of [texts.slice(0, 1), texts]) {
      const got = columns.columns(batch);
      batch.forEach((text, j) => assert.deepEqual(got[j], cosineScores(images, text, dim).data, `${rows} × ${dim}, text ${j} of ${batch.length}`));
    }
    assert.deepEqual(columns.columns([texts[2]], 1)[0], cosineScores(images, texts[2], dim, 1).data, 'scale 1');
  }
});

test('the WebAssembly columns refuse a text of another dimension', () => {
  const columns = new ImageColumns(new Float32Array(16), 4);
  assert.throws(() => columns.columns([new Float32Array(3)]), /3 values against images of 4/);
});

test('the lab\'s WebAssembly modules were built from the current C sources (rerun scripts/build_wasm.sh)', () => {
  const sha = (path: string) => createHash('sha256').update(readFileSync(new URL(path, import.meta.url))).digest('hex');
  assert.equal(sha('../src/score/wasm/image_columns.c'), IMAGE_COLUMNS_C_SHA256);
  assert.equal(sha('../src/evaluate/wasm/replicate_counts.c'), REPLICATE_COUNTS_C_SHA256);
});
