import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import sharp from 'sharp';

const execFileAsync = promisify(execFile);
const CLI = fileURLToPath(new URL('../bin/zeroshot.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/tiny-clip', import.meta.url));
const SPEC = 'classes:\n  warm: [a photo of something warm, a red thing]\n  cool: [a photo of something cool, a blue thing]\n';

/** `count` distinct small noise images. */
async function imageFolder(count: number, seed = 1): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zs-cache-run-'));
  await mkdir(join(dir, 'images'));
  for (let n = 0; n < count; n++) {
    const pixels = Buffer.alloc(48 * 40 * 3);
    let state = (seed * 1000003 + n * 7919) >>> 0;
    for (let i = 0; i < pixels.length; i++) {
      state = (state * 1664525 + 1013904223) >>> 0;
      pixels[i] = state >>> 24;
    }
    await sharp(pixels, { raw: { width: 48, height: 40, channels: 3 } }).png().toFile(join(dir, 'images', `img${String(n).padStart(4, '0')}.png`));
  }
  await writeFile(join(dir, 'spec.yaml'), SPEC);
  return dir;
}

async function zeroshotRun(dir: string, cache: string | null, out: string, extra: string[] = []) {
  const args = [CLI, 'run', '--images', join(dir, 'images'), '--spec', join(dir, 'spec.yaml'), '--model', FIXTURE, '--offline', '--out', out, '-q',
    ...(cache ? ['--cache', cache] : ['--no-cache']), ...extra];
  const { stdout, stderr } = await execFileAsync(process.execPath, args);
  const runJson = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
  return { stdout, stderr, runJson, similarities: await readFile(join(out, 'similarities.json'), 'utf8') };
}

test('a re-run with a changed spec encodes only the new prompts; a grown folder only the new images', async () => {
  const dir = await imageFolder(10);
  const cache = join(dir, 'cache.sqlite');
  const first = await zeroshotRun(dir, cache, join(dir, 'r1'));
  assert.deepEqual([first.runJson.counts.cache_hits, first.runJson.counts.encoded], [0, 10]);
  assert.deepEqual([first.runJson.cache.text_hits, first.runJson.cache.text_misses], [0, 4]);
  const share = first.runJson.timings.image_inference_share;
  assert.ok(share > 0 && share <= 1, `image_inference_share ${share}`);

  await writeFile(join(dir, 'spec.yaml'), SPEC + '  grey: [a photo of something grey]\n');
  const second = await zeroshotRun(dir, cache, join(dir, 'r2'));
  assert.deepEqual([second.runJson.counts.cache_hits, second.runJson.counts.encoded], [10, 0]);
  assert.deepEqual([second.runJson.cache.text_hits, second.runJson.cache.text_misses], [4, 1]);
  assert.deepEqual([second.runJson.cache.image_hits, second.runJson.cache.image_misses], [10, 0]);
  assert.equal(second.runJson.timings.image_inference_share, 0); // every image came from the cache

  // Renamed and copied files are hits (content-addressed); two new images are encoded.
  await copyFile(join(dir, 'images', 'img0000.png'), join(dir, 'images', 'copy-of-0.png'));
  const extra = await imageFolder(2, 99);
  for (const name of ['img0000.png', 'img0001.png']) await copyFile(join(extra, 'images', name), join(dir, 'images', `new-${name}`));
  const third = await zeroshotRun(dir, cache, join(dir, 'r3'));
  assert.deepEqual([third.runJson.counts.embedded, third.runJson.counts.cache_hits, third.runJson.counts.encoded], [13, 11, 2]);

  // Cached embeddings give exactly the numbers of a run without the cache.
  const uncached = await zeroshotRun(dir, null, join(dir, 'r4'));
  assert.equal(third.similarities, uncached.similarities);
  assert.equal(uncached.runJson.cache, null);
});

test('kill -9 mid-run, run again: the run completes, reuses what was committed, and equals an uninterrupted run', async () => {
  const dir = await imageFolder(400);
  const cache = join(dir, 'cache.sqlite');
  const child = spawn(process.execPath, [CLI, 'run', '--images', join(dir, 'images'), '--spec', join(dir, 'spec.yaml'), '--model', FIXTURE,
    '--offline', '--out', join(dir, 'killed'), '--cache', cache, '--batch-size', '4', '--threads', '1', '-q'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // Kill once a few batches are committed (polling the cache from outside, as another process would).
  let committed = 0;
  for (let tries = 0; tries < 600 && committed < 40; tries++) {
    await new Promise((r) => setTimeout(r, 25));
    try {
      const db = new Database(cache, { readonly: true, fileMustExist: true });
      committed = (db.prepare('SELECT count(*) AS n FROM image_embeddings').get() as { n: number }).n;
      db.close();
    } catch {
      // not created yet
    }
  }
  child.kill('SIGKILL');
  await exited;
  assert.ok(committed >= 40, `the child committed ${committed} embeddings before the kill`);

  const resumed = await zeroshotRun(dir, cache, join(dir, 'resumed'));
  assert.equal(resumed.runJson.counts.embedded, 400);
  assert.ok(resumed.runJson.counts.cache_hits >= committed && resumed.runJson.counts.cache_hits < 400, `hits ${resumed.runJson.counts.cache_hits}`);
  const reference = await zeroshotRun(dir, null, join(dir, 'reference'));
  assert.equal(resumed.similarities, reference.similarities);
  assert.equal(await readFile(join(dir, 'resumed', 'predictions.csv'), 'utf8'), await readFile(join(dir, 'reference', 'predictions.csv'), 'utf8'));
});

test('two runs on the same cache at once both finish with correct results', async () => {
  const dir = await imageFolder(60);
  const cache = join(dir, 'cache.sqlite');
  const [a, b] = await Promise.all([zeroshotRun(dir, cache, join(dir, 'a'), ['--batch-size', '4']), zeroshotRun(dir, cache, join(dir, 'b'), ['--batch-size', '4'])]);
  const reference = await zeroshotRun(dir, null, join(dir, 'ref'));
  assert.equal(a.similarities, reference.similarities);
  assert.equal(b.similarities, reference.similarities);
});

test('a file that is not a zeroshot cache is an error and stays untouched; an unusable location is an error when asked for, else a warning', async () => {
  const dir = await imageFolder(3);
  const notACache = join(dir, 'notes.sqlite');
  await writeFile(notACache, 'my precious notes');
  const before = await stat(notACache);
  await assert.rejects(zeroshotRun(dir, notACache, join(dir, 'r')), /is not a zeroshot (embedding )?cache/);
  assert.equal(await readFile(notACache, 'utf8'), 'my precious notes');
  assert.equal((await stat(notACache)).mtimeMs, before.mtimeMs);

  // The cache's folder cannot be created (its parent is a file). Asked for with --cache: an error, in words.
  const unusable = join(notACache, 'cache.sqlite');
  await assert.rejects(zeroshotRun(dir, unusable, join(dir, 'r2')), /embedding cache '.*cache\.sqlite' cannot be used: '.*notes\.sqlite' is a file/);
  // The default location ($ZEROSHOT_CACHE here): the run finishes without the cache, after a warning.
  const out = join(dir, 'r3');
  const args = [CLI, 'run', '--images', join(dir, 'images'), '--spec', join(dir, 'spec.yaml'), '--model', FIXTURE, '--offline', '--out', out, '-q'];
  const { stderr } = await execFileAsync(process.execPath, args, { env: { ...process.env, ZEROSHOT_CACHE: unusable } });
  assert.match(stderr, /zeroshot: warning: embedding cache .* cannot be used: .*; continuing without the cache/);
  const runJson = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
  assert.equal(runJson.counts.embedded, 3);
  assert.equal(runJson.cache, null);
});
