// Warm re-runs: an image's content hash is remembered in the cache by its file stamp (path, size, mtime and ctime in
// ns, device, inode) once the file has settled, so a re-run does not read the files again; a changed file is read,
// --rehash reads every file, and run.json counts both.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { STAMP_SETTLE_MS, fileStamp } from '../src/encode/cache/fingerprint.js';
import { openSqliteCache } from '../src/encode/cache/sqlite_cache.js';
import { parseSpec } from '../src/input/spec.js';
import { runZeroShot, type RunResult } from '../src/pipeline.js';
import { runRecord } from '../src/report/results.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/tiny-clip', import.meta.url));
const SPEC = 'classes:\n  warm: [a photo of something warm]\n  cool: [a photo of something cool]\n';

async function imageFolder(count: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zs-warm-'));
  for (let n = 0; n < count; n++) {
    const pixels = Buffer.alloc(32 * 24 * 3, (n * 37) % 256);
    pixels[n] = 255 - pixels[n];
    await sharp(pixels, { raw: { width: 32, height: 24, channels: 3 } }).png().toFile(join(dir, `img${n}.png`));
  }
  return dir;
}

/** Moves the clock on past the settle time, as if the files had been written a while ago. */
function settleFiles(t: TestContext): void {
  const now = Date.now();
  t.mock.method(Date, 'now', () => now + STAMP_SETTLE_MS + 1000);
}

async function run(images: string, cache: string, rehash = false): Promise<RunResult> {
  return runZeroShot({ images, spec: parseSpec(SPEC, 'two.yaml'), model: FIXTURE, offline: true, cache, rehash, preprocessWorkers: 0 }, { onWarning: () => {} });
}

const hashCounts = (result: RunResult) => {
  const { hashes_read, hashes_remembered } = runRecord(result).counts as RunResult['counts'];
  return [hashes_read, hashes_remembered];
};

test('a warm re-run reads no image to hash it; a changed file is read again; --rehash reads every file', async (t) => {
  const images = await imageFolder(6);
  const cache = join(images, 'cache.sqlite');
  settleFiles(t);
  const cold = await run(images, cache);
  assert.deepEqual(hashCounts(cold), [6, 0]);

  const warm = await run(images, cache);
  assert.deepEqual(hashCounts(warm), [0, 6]);
  assert.deepEqual(warm.imageHashes, cold.imageHashes);
  assert.deepEqual([warm.counts.cache_hits, warm.counts.encoded], [6, 0]);

  // Rewritten in place with other bytes of the same size, its mtime put back: the ctime gives it away.
  const victim = join(images, 'img2.png');
  const before = await stat(victim);
  const bytes = await readFile(join(images, 'img3.png'));
  assert.equal(bytes.length, before.size, 'the fixture images have one size');
  await writeFile(victim, bytes);
  await utimes(victim, before.atime, before.mtime);
  t.mock.reset();
  settleFiles(t);
  const changed = await run(images, cache);
  assert.deepEqual(hashCounts(changed), [1, 5]);
  const i = changed.imageKeys.indexOf('img2.png');
  assert.equal(changed.imageHashes[i], changed.imageHashes[changed.imageKeys.indexOf('img3.png')], 'img2.png now holds img3.png’s bytes');
  assert.notEqual(changed.imageHashes[i], cold.imageHashes[i]);

  const rehashed = await run(images, cache, true);
  assert.deepEqual(hashCounts(rehashed), [6, 0]);
  assert.deepEqual(rehashed.imageHashes, changed.imageHashes);
});

test('a file changed in the last STAMP_SETTLE_MS is not remembered (two writes in one clock tick look alike)', async () => {
  const images = await imageFolder(3);
  const cache = join(images, 'cache.sqlite');
  // The real clock: the files were written just now.
  assert.equal((await fileStamp(join(images, 'img0.png'))).settled, false);
  assert.deepEqual(hashCounts(await run(images, cache)), [3, 0]);
  assert.deepEqual(hashCounts(await run(images, cache)), [3, 0]);
});

test('a cache made before file stamps gains the column; opened read-only, it remembers nothing', async (t) => {
  const images = await imageFolder(2);
  const cache = join(images, 'cache.sqlite');
  openSqliteCache(cache)!.close();
  const old = new Database(cache);
  old.exec('ALTER TABLE file_hashes DROP COLUMN stamp');
  old.close();
  const readOnly = openSqliteCache(cache, { readOnly: true })!;
  const { stamp } = await fileStamp(join(images, 'img0.png'));
  assert.deepEqual(readOnly.fileHashes.get([stamp]), [undefined]);
  readOnly.close();

  settleFiles(t);
  assert.deepEqual(hashCounts(await run(images, cache)), [2, 0]);
  assert.deepEqual(hashCounts(await run(images, cache)), [0, 2]);
  const columns = new Database(cache, { readonly: true }).prepare("SELECT name FROM pragma_table_info('file_hashes')").pluck().all();
  assert.ok(columns.includes('stamp'), columns.join(', '));
});
