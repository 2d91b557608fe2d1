import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { cacheStats, exportImageEmbeddings, pruneFileHashes, pruneModel } from '../src/encode/cache/cache_admin.js';
import { defaultEmbeddingCachePath, EmbeddingCacheError, type ImageScope } from '../src/encode/cache/embedding_cache.js';
import { openSqliteCache as openEmbeddingCache, type SqliteEmbeddingCache as EmbeddingCache } from '../src/encode/cache/sqlite_cache.js';
import { canonicalJson, fileStamp, fingerprint, hashFileContent, modelFingerprint, STAMP_SETTLE_MS } from '../src/encode/cache/fingerprint.js';
import { npyFloat32Header } from '../src/encode/cache/npy.js';
import { itemEmbedding, itemHash, WRITER_DIM, WRITER_SCOPE } from './helpers/cache_writer.js';
import { checkPutAndGet, checkReadOnly } from './helpers/cache_contract.js';
import { scratchFolders } from './helpers/scratch.js';

const WRITER_SCRIPT = fileURLToPath(new URL('./helpers/cache_writer.ts', import.meta.url));
const SCOPE: ImageScope = { modelFp: 'a'.repeat(64), preprocessFp: 'b'.repeat(64) };


const { scratch } = scratchFolders('cache');

/** Opens a cache that must open, collecting its warnings. */
function open(path: string, options: { readOnly?: boolean; maxBytes?: number } = {}): { cache: EmbeddingCache; warnings: string[] } {
  const warnings: string[] = [];
  const cache = openEmbeddingCache(path, { ...options, onWarning: (message) => warnings.push(message) });
  assert.ok(cache, `cache at ${path} should open; warnings: ${warnings.join('; ')}`);
  return { cache, warnings };
}

function randomEmbedding(dim: number): Float32Array {
  return Float32Array.from({ length: dim }, () => (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 8 - 4));
}

function imageEntries(count: number, dim: number, tag = 'img'): { contentHash: string; embedding: Float32Array }[] {
  return Array.from({ length: count }, (_, i) => ({ contentHash: fingerprint([tag, i]), embedding: randomEmbedding(dim) }));
}

/** Bytes and mtime of a file: a file left alone keeps both. */
function snapshot(path: string): { bytes: Buffer; mtimeMs: number } {
  return { bytes: readFileSync(path), mtimeMs: statSync(path).mtimeMs };
}

function integrityCheck(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------

test('fingerprint: canonical JSON, key order does not matter, unrepresentable values are refused', () => {
  assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1, y: undefined } }), '{"a":[true,null,"x"],"b":1,"c":{"z":1}}');
  assert.equal(fingerprint({ size: 224, mean: [0.5, 0.5] }), fingerprint({ mean: [0.5, 0.5], size: 224 }));
  assert.notEqual(fingerprint({ size: 224 }), fingerprint({ size: 336 }));
  assert.match(fingerprint('x'), /^[0-9a-f]{64}$/);
  assert.throws(() => fingerprint({ a: Number.NaN }), /NaN has no JSON form/);
  assert.throws(() => fingerprint({ a: new Float32Array(2) }), /cannot fingerprint a Float32Array/);
  assert.throws(() => fingerprint(new Map()), /cannot fingerprint a Map/);
});

test('hashFileContent: the same for a path and its bytes; modelFingerprint: by file contents, or by id + revision', async () => {
  const dir = scratch();
  writeFileSync(join(dir, 'vision.onnx'), 'vision weights');
  writeFileSync(join(dir, 'text.onnx'), 'text weights');
  copyFileSync(join(dir, 'vision.onnx'), join(dir, 'copy-of-vision.onnx'));
  assert.equal(await hashFileContent(join(dir, 'vision.onnx')), await hashFileContent(Buffer.from('vision weights')));
  assert.equal(await hashFileContent(Buffer.from('')), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

  const files = (names: string[]) => names.map((name) => join(dir, name));
  const local = await modelFingerprint({ id: './a', revision: 'main', dtype: 'fp32', onnxFiles: files(['vision.onnx', 'text.onnx']) });
  assert.equal(local, await modelFingerprint({ id: './b', revision: 'x', dtype: 'fp32', onnxFiles: files(['text.onnx', 'copy-of-vision.onnx']) }));
  assert.notEqual(local, await modelFingerprint({ id: './a', revision: 'main', dtype: 'q8', onnxFiles: files(['vision.onnx', 'text.onnx']) }));
  assert.notEqual(local, await modelFingerprint({ id: './a', revision: 'main', dtype: 'fp32', onnxFiles: files(['vision.onnx']) }));
  // Changed bytes (new size and mtime) are hashed again, not served from the in-memory cache.
  writeFileSync(join(dir, 'text.onnx'), 'retrained text weights');
  assert.notEqual(local, await modelFingerprint({ id: './a', revision: 'main', dtype: 'fp32', onnxFiles: files(['vision.onnx', 'text.onnx']) }));

  const hub = await modelFingerprint({ id: 'Xenova/clip-vit-base-patch32', revision: 'main', dtype: 'fp32' });
  assert.notEqual(hub, await modelFingerprint({ id: 'Xenova/clip-vit-base-patch32', revision: 'v2', dtype: 'fp32' }));
});

test('model file hashes are remembered in the cache, so the next process need not re-read the weights', async (t) => {
  const dir = scratch();
  const onnx = join(dir, 'vision_model.onnx');
  writeFileSync(onnx, 'weights');
  const path = join(dir, 'cache.sqlite');
  const first = open(path).cache;
  // Only a file last changed STAMP_SETTLE_MS ago is remembered: the clock is moved on rather than waited for.
  const now = Date.now();
  t.mock.method(Date, 'now', () => now + STAMP_SETTLE_MS);
  const hashed = await modelFingerprint({ id: 'm', revision: 'main', dtype: 'fp32', onnxFiles: [onnx] }, first.fileHashes);
  assert.equal(await modelFingerprint({ id: 'other', revision: 'x', dtype: 'fp32', onnxFiles: [onnx] }), hashed);
  first.close();
  // A reopened cache knows the hash by path, size, mtime, ctime and inode.
  const second = open(path).cache;
  const { stamp } = await fileStamp(onnx);
  assert.deepEqual(second.fileHashes.get([stamp]), [await hashFileContent(onnx)]);
  assert.deepEqual(second.fileHashes.get([{ ...stamp, mtimeNs: stamp.mtimeNs + 1n }]), [undefined], 'a touched file is hashed again');
  second.close();
  // A memo's answer is trusted for a file this process never hashed (it is what saves re-reading).
  const unseen = join(dir, 'text_model.onnx');
  writeFileSync(unseen, 'other weights');
  const memo = { get: (files: readonly unknown[]) => files.map(() => 'f'.repeat(64)), set: () => assert.fail('nothing to remember') };
  const fromMemo = await modelFingerprint({ id: 'm', revision: 'main', dtype: 'fp32', onnxFiles: [unseen] }, memo);
  assert.equal(fromMemo, fingerprint({ kind: 'zeroshot-model-files', files: ['f'.repeat(64)], dtype: 'fp32' }));
});

test('default cache path: $ZEROSHOT_CACHE, else $XDG_CACHE_HOME/zeroshot, else ~/.cache/zeroshot', () => {
  assert.equal(defaultEmbeddingCachePath({ ZEROSHOT_CACHE: '/c/e.sqlite', XDG_CACHE_HOME: '/x' }), '/c/e.sqlite');
  assert.equal(defaultEmbeddingCachePath({ XDG_CACHE_HOME: '/x' }), '/x/zeroshot/embeddings.sqlite');
  assert.match(defaultEmbeddingCachePath({}), /\/\.cache\/zeroshot\/embeddings\.sqlite$/);
});

test('images and texts: put, get back exact copies, count hits and misses', async () => {
  const path = join(scratch(), 'nested', 'folder', 'cache.sqlite');
  await checkPutAndGet(async (options) => open(path, options));
});

test('a renamed or copied image is a hit: the key is its content, not its path', async () => {
  const dir = scratch();
  const { cache } = open(join(dir, 'cache.sqlite'));
  writeFileSync(join(dir, 'cat.jpg'), Buffer.from('pretend JPEG bytes'));
  const embedding = randomEmbedding(8);
  cache.putImageEmbeddings(SCOPE, [{ contentHash: await hashFileContent(join(dir, 'cat.jpg')), embedding }]);
  renameSync(join(dir, 'cat.jpg'), join(dir, 'renamed.jpg'));
  copyFileSync(join(dir, 'renamed.jpg'), join(dir, 'copy.jpg'));
  const hashes = await Promise.all(['renamed.jpg', 'copy.jpg'].map((name) => hashFileContent(join(dir, name))));
  assert.deepEqual(cache.getImageEmbeddings(SCOPE, hashes), [embedding, embedding]);
  assert.equal(cache.stats().image_hits, 2);
  cache.close();
});

test('an empty file is initialised as a cache', () => {
  const path = join(scratch(), 'empty.sqlite');
  writeFileSync(path, '');
  const { cache } = open(path);
  cache.putTextEmbeddings('m', [{ text: 't', embedding: Float32Array.of(1) }]);
  cache.close();
  assert.equal(cacheStats(path).models[0].texts, 1);
});

test('a file that is no zeroshot cache → error naming it, and the file is left unchanged', () => {
  const dir = scratch();
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'not a database at all\n'.repeat(300));
  const foreign = join(dir, 'other-app.db');
  const db = new Database(foreign);
  db.exec("CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('Ada')");
  db.close();
  for (const path of [text, foreign]) {
    const before = snapshot(path);
    const listing = readdirSync(dir);
    assert.throws(() => openEmbeddingCache(path, { onWarning: assert.fail }), (error: Error) => {
      assert.ok(error instanceof EmbeddingCacheError);
      assert.ok(error.message.includes(`'${path}' is not a zeroshot embedding cache`), error.message);
      return true;
    });
    assert.throws(() => cacheStats(path), EmbeddingCacheError);
    assert.deepEqual(snapshot(path), before);
    assert.deepEqual(readdirSync(dir), listing);
  }
  assert.throws(() => openEmbeddingCache(foreign), /an SQLite database with tables people/);
});

test('a cache of a newer schema → error asking to upgrade, and the file is left unchanged', () => {
  const path = join(scratch(), 'future.sqlite');
  open(path).cache.close();
  const db = new Database(path);
  db.pragma('user_version = 2');
  db.close();
  const before = snapshot(path);
  assert.throws(() => openEmbeddingCache(path), /written by a newer zeroshot \(schema version 2; this one reads 1\); upgrade or use --cache OTHER/);
  assert.deepEqual(snapshot(path), before);
});

test('a location that cannot be created → null and one warning, not an error', () => {
  const dir = scratch();
  writeFileSync(join(dir, 'a-file'), 'x');
  for (const path of [join(dir, 'a-file', 'cache.sqlite'), join(dir, 'a-file', 'deeper', 'cache.sqlite')]) {
    const warnings: string[] = [];
    assert.equal(openEmbeddingCache(path, { onWarning: (message) => warnings.push(message) }), null);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /cache\.sqlite': cannot be used: '.*a-file' is a file, (not a folder|so no folder can be made inside it); continuing without the cache/);
  }
  // A folder where the file should be.
  const warnings: string[] = [];
  assert.equal(openEmbeddingCache(dir, { onWarning: (message) => warnings.push(message) }), null);
  assert.match(warnings[0], /cannot be used: '.*' is a folder, not a file/);
});

test('read-only: cached embeddings are used, nothing is written, no warning; a missing file → null + warning', async () => {
  const dir = scratch();
  const path = join(dir, 'cache.sqlite');
  await checkReadOnly(async (options) => open(path, options));
  assert.equal(cacheStats(path).models[0].images, 2);

  const missing: string[] = [];
  assert.equal(openEmbeddingCache(join(dir, 'missing.sqlite'), { readOnly: true, onWarning: (m) => missing.push(m) }), null);
  assert.match(missing[0], /missing\.sqlite': cannot open it .*; continuing without the cache/);
});

test('a full disk mid-run: the failed batch is rolled back, writes stop with one warning, reads go on', () => {
  const path = join(scratch(), 'cache.sqlite');
  const before = imageEntries(4, 512, 'before');
  const writer = open(path).cache;
  writer.putImageEmbeddings(SCOPE, before);
  writer.close();

  // max_page_count at the current size: the next page SQLite needs fails with SQLITE_FULL, like a full disk.
  const { cache, warnings } = open(path, { maxBytes: 1 });
  const batch = imageEntries(32, 512, 'during');
  assert.doesNotThrow(() => cache.putImageEmbeddings(SCOPE, batch));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /cannot write to it \(SQLITE_FULL: database or disk is full\); continuing without saving new embeddings/);
  cache.putImageEmbeddings(SCOPE, imageEntries(32, 512, 'after'));
  cache.putTextEmbeddings('m', [{ text: 't', embedding: Float32Array.of(1) }]);
  cache.registerModel('m', { id: 'x' });
  assert.equal(warnings.length, 1);
  assert.deepEqual(cache.getImageEmbeddings(SCOPE, [before[0].contentHash]), [before[0].embedding]);
  assert.equal(cache.stats().writes_disabled, true);
  cache.close();

  const after = open(path).cache;
  assert.ok(after.getImageEmbeddings(SCOPE, batch.map((e) => e.contentHash)).every((e) => e === undefined), 'no part of the failed batch');
  after.close();
  assert.equal(integrityCheck(path), 'ok');
});

/** Runs the writer script in its own node process. */
function startWriter(cachePath: string, args: (string | number)[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER_SCRIPT, cachePath, ...args.map(String)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((done) => {
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
  });
  /** Resolves once the output satisfies `condition`. */
  const outputReaches = (condition: (output: string) => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => condition(stdout) && resolve();
      child.stdout.on('data', check);
      check();
    });
  return { child, exited, outputReaches };
}

test('two processes writing overlapping entries into one new cache at once both finish with correct values', async () => {
  const path = join(scratch(), 'shared.sqlite');
  const writers = [startWriter(path, [0, 1500, 20, 'up', 'wait']), startWriter(path, [750, 1500, 20, 'down', 'wait'])];
  // Both loaded and waiting before either opens the file: they create, initialise and fill it at the same time.
  await Promise.all(writers.map((w) => w.outputReaches((output) => output.startsWith('ready'))));
  for (const writer of writers) writer.child.stdin.end('go\n');
  const results = await Promise.all(writers.map((w) => w.exited));
  for (const result of results) {
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr.includes('warning'), false, result.stderr);
    assert.match(result.stdout, /verified 1500 mismatches 0\n$/);
  }
  const { cache } = open(path);
  const items = Array.from({ length: 2250 }, (_, i) => i);
  const stored = cache.getImageEmbeddings(WRITER_SCOPE, items.map(itemHash));
  items.forEach((item) => assert.deepEqual(stored[item], itemEmbedding(item)));
  cache.close();
  const stats = cacheStats(path).models[0];
  assert.deepEqual([stats.images, stats.texts], [2250, 2250]);
  assert.equal(integrityCheck(path), 'ok');
});

test('kill -9 mid-run: every committed batch is there whole, no batch is there in part, the file is sound', async () => {
  const path = join(scratch(), 'crash.sqlite');
  const batchSize = 32;
  const writer = startWriter(path, [0, 100_000, batchSize, 'up']);
  await writer.outputReaches((output) => (output.match(/^committed/gm) ?? []).length >= 40);
  writer.child.kill('SIGKILL');
  const result = await writer.exited;
  assert.equal(result.signal, 'SIGKILL');
  const committedEnd = Math.max(...[...result.stdout.matchAll(/^committed \d+ (\d+)$/gm)].map((m) => Number(m[1])));
  assert.ok(committedEnd >= 40 * batchSize);

  assert.equal(integrityCheck(path), 'ok');
  const { cache } = open(path);
  const checkedItems = committedEnd + 20 * batchSize; // past the last reported batch: batches may have committed unreported
  const stored = cache.getImageEmbeddings(WRITER_SCOPE, Array.from({ length: checkedItems }, (_, item) => itemHash(item)));
  for (let item = 0; item < committedEnd; item++) assert.deepEqual(stored[item], itemEmbedding(item), `item ${item} of a committed batch`);
  for (let start = 0; start < checkedItems; start += batchSize) {
    const present = stored.slice(start, start + batchSize).map((embedding) => embedding !== undefined);
    assert.ok(present.every((p) => p === present[0]), `batch at ${start} is there in part`);
    stored.slice(start, start + batchSize).forEach((embedding, i) => embedding && assert.deepEqual(embedding, itemEmbedding(start + i)));
  }
  cache.close();
});

test('cache stats: file size, and per model and preprocessing the counts, bytes and label', () => {
  const path = join(scratch(), 'cache.sqlite');
  const { cache } = open(path);
  cache.registerModel(SCOPE.modelFp, { id: 'Xenova/clip-vit-base-patch32', dtype: 'fp32', dim: 512 });
  cache.putImageEmbeddings(SCOPE, imageEntries(5, 512));
  cache.putImageEmbeddings({ ...SCOPE, preprocessFp: 'c'.repeat(64) }, imageEntries(2, 512));
  cache.recordImagePaths(SCOPE, [{ contentHash: fingerprint(['img', 0]), path: 'a.jpg' }, { contentHash: fingerprint(['img', 0]), path: 'b.jpg' }]);
  cache.putTextEmbeddings(SCOPE.modelFp, [{ text: 'a', embedding: new Float32Array(512) }]);
  cache.putTextEmbeddings('unregistered', [{ text: 'a', embedding: new Float32Array(4) }]);
  cache.close();

  const stats = cacheStats(path);
  assert.ok(stats.file_bytes > 7 * 2048);
  assert.deepEqual(stats.models, [
    {
      model_fp: SCOPE.modelFp,
      label: { id: 'Xenova/clip-vit-base-patch32', dtype: 'fp32', dim: 512 },
      images: 7,
      image_bytes: 7 * 2048,
      texts: 1,
      text_bytes: 2048,
      preprocessings: [
        { preprocess_fp: SCOPE.preprocessFp, images: 5, image_bytes: 5 * 2048, paths: 2 },
        { preprocess_fp: 'c'.repeat(64), images: 2, image_bytes: 2 * 2048, paths: 0 },
      ],
    },
    { model_fp: 'unregistered', label: null, images: 0, image_bytes: 0, texts: 1, text_bytes: 16, preprocessings: [] },
  ]);
});

test('prune: by fingerprint prefix or unique model id; ambiguous or unknown selectors are errors', () => {
  const path = join(scratch(), 'cache.sqlite');
  const { cache } = open(path);
  const models = { base: '1234abcd'.repeat(8), large: '1234abce'.repeat(8), quantised: '99'.repeat(32) };
  cache.registerModel(models.base, { id: 'clip-base', dtype: 'fp32' });
  cache.registerModel(models.large, { id: 'clip-large', dtype: 'fp32' });
  cache.registerModel(models.quantised, { id: 'clip-base', dtype: 'q8' });
  for (const modelFp of Object.values(models)) {
    cache.putImageEmbeddings({ modelFp, preprocessFp: 'p' }, imageEntries(50, 512));
    cache.recordImagePaths({ modelFp, preprocessFp: 'p' }, [{ contentHash: fingerprint(['img', 1]), path: 'x.jpg' }]);
    cache.putTextEmbeddings(modelFp, [{ text: 'a', embedding: new Float32Array(512) }]);
  }
  cache.close();

  assert.throws(() => pruneModel(path, '1234abc'), /no model '1234abc' \(give a fingerprint, a prefix of ≥ 8 characters, or a model id\); its models:\n {2}1234abcd1234 \{"id":"clip-base","dtype":"fp32"\}/);
  assert.throws(() => pruneModel(path, '1234ab'), /no model/);
  assert.throws(() => pruneModel(path, 'clip-base'), /'clip-base' is ambiguous; it matches:\n {2}1234abcd1234 .*\n {2}9999/);
  assert.throws(() => pruneModel(path, '1234abc', { vacuum: true }), /no model/);

  const removed = pruneModel(path, '1234abce');
  assert.deepEqual(
    { ...removed, file_bytes_before: 0, file_bytes_after: 0 },
    { model_fp: models.large, label: { id: 'clip-large', dtype: 'fp32' }, images: 50, image_paths: 1, texts: 1, vacuumed: false, file_bytes_before: 0, file_bytes_after: 0 },
  );
  const vacuumed = pruneModel(path, models.quantised, { vacuum: true });
  assert.equal(vacuumed.images, 50);
  assert.ok(vacuumed.file_bytes_after < vacuumed.file_bytes_before, `${vacuumed.file_bytes_after} < ${vacuumed.file_bytes_before}`);
  // Now the id is unique.
  assert.equal(pruneModel(path, 'clip-base').model_fp, models.base);
  assert.deepEqual(cacheStats(path).models, []);
  assert.equal(integrityCheck(path), 'ok');
});

/** Reads a .npy file the way NumPy documents it, independently of our writer. */
function readNpy(path: string): { descr: string; fortranOrder: boolean; shape: number[]; data: Float32Array; headerBytes: number } {
  const bytes = readFileSync(path);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x93, ...Buffer.from('NUMPY'), 1, 0]);
  const headerBytes = 10 + bytes.readUInt16LE(8);
  const header = bytes.subarray(10, headerBytes).toString('latin1');
  assert.ok(header.endsWith('\n'));
  const match = /^\{'descr': '([^']+)', 'fortran_order': (True|False), 'shape': \(([\d, ]*)\), \} *\n$/.exec(header);
  assert.ok(match, `header ${JSON.stringify(header)}`);
  const shape = match[3].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + headerBytes, bytes.byteOffset + bytes.byteLength));
  return { descr: match[1], fortranOrder: match[2] === 'True', shape, data, headerBytes };
}

test('prune --file-hashes: remembered hashes of files gone or changed are removed, those of unchanged files stay; cache stats counts them', async () => {
  const dir = scratch();
  const path = join(dir, 'cache.sqlite');
  const files = ['kept.jpg', 'gone.jpg', 'changed.jpg'].map((name) => join(dir, name));
  for (const file of files) writeFileSync(file, file);
  const { cache } = open(path);
  cache.fileHashes.set(await Promise.all(files.map(async (file) => ({ file: (await fileStamp(file)).stamp, sha256: file }))));
  cache.close();
  assert.equal(cacheStats(path).file_hashes, 3);
  rmSync(files[1]);
  writeFileSync(files[2], 'other bytes');
  assert.deepEqual(pruneFileHashes(path), { path, entries: 3, removed: 2 });
  assert.equal(cacheStats(path).file_hashes, 1);
  const db = new Database(path, { readonly: true });
  assert.deepEqual(db.prepare('SELECT path FROM file_hashes').pluck().all(), [files[0]]);
  db.close();
  const reopened = open(path).cache;
  assert.deepEqual(reopened.fileHashes.get([(await fileStamp(files[0])).stamp]), [files[0]]);
  reopened.close();
  assert.deepEqual(pruneFileHashes(path), { path, entries: 1, removed: 0 });
  const zeroshot = (...args: string[]) => spawnSync(process.execPath, [fileURLToPath(new URL('../bin/zeroshot.js', import.meta.url)), ...args, '--cache', path], { encoding: 'utf8' });
  const cli = zeroshot('cache', 'prune', '--file-hashes');
  assert.equal(cli.stdout, `removed 0 of 1 remembered file hashes from ${path}\n`, cli.stderr);
  const stats = zeroshot('cache', 'stats');
  assert.match(stats.stdout, /^ {2}remembered file hashes: 1 \(`cache prune --file-hashes` removes the stale ones\)$/m, stats.stderr);
  assert.equal(JSON.parse(zeroshot('cache', 'stats', '--json').stdout).file_hashes, 1);
});

test('the library exports the cache administration: the SQLite functions, and the PostgreSQL ones through postgresBackend', async () => {
  const library = await import('../src/index.js');
  assert.deepEqual([library.cacheStats, library.pruneFileHashes, library.pruneModel, library.exportImageEmbeddings], [cacheStats, pruneFileHashes, pruneModel, exportImageEmbeddings]);
  assert.equal(library.isPostgresUrl('postgres://db.internal/zeroshot'), true);
  const store = await library.postgresBackend();
  for (const name of ['postgresCacheStats', 'checkPostgresStore', 'prunePostgresModel', 'prunePostgresFileHashes', 'exportPostgresImageEmbeddings'] as const) {
    assert.equal(typeof store[name], 'function', name);
  }
});

test('npy header: NumPy v1.0 layout, padded to a multiple of 64 bytes', () => {
  for (const shape of [[3, 512], [100_000, 768], [0, 4], [7]]) {
    const header = npyFloat32Header(shape);
    assert.equal(header.length % 64, 0);
    const text = header.subarray(10).toString('latin1');
    assert.equal(header.readUInt16LE(8), text.length);
    assert.match(text, shape.length === 1 ? /'shape': \(7,\), \} +\n$/ : new RegExp(`'shape': \\(${shape.join(', ')}\\), \\} +\\n$`));
  }
  assert.throws(() => npyFloat32Header([2, -1]), /bad dimension -1/);
});

test('export: embeddings.npy + index.csv + index.json; several preprocessings need a choice', async (t) => {
  const dir = scratch();
  const path = join(dir, 'cache.sqlite');
  const { cache } = open(path);
  const images = imageEntries(37, 24);
  cache.registerModel(SCOPE.modelFp, { id: 'clip-test', dim: 24 });
  cache.putImageEmbeddings(SCOPE, images);
  cache.recordImagePaths(SCOPE, [{ contentHash: images[0].contentHash, path: 'old/name.jpg' }], 1000);
  cache.recordImagePaths(SCOPE, [{ contentHash: images[0].contentHash, path: 'new, "quoted" name.jpg' }], 2000);
  cache.close();

  const out = join(dir, 'export');
  const result = exportImageEmbeddings(path, 'clip-test', out);
  assert.deepEqual([result.rows, result.dim, result.preprocess_fp], [37, 24, SCOPE.preprocessFp]);
  assert.deepEqual(readdirSync(out).sort(), ['embeddings.npy', 'index.csv', 'index.json']);

  const npy = readNpy(join(out, 'embeddings.npy'));
  assert.deepEqual([npy.descr, npy.fortranOrder, npy.shape, npy.headerBytes % 64], ['<f4', false, [37, 24], 0]);
  const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
  assert.deepEqual([index.model, index.model_fp, index.preprocess_fp, index.shape], [{ id: 'clip-test', dim: 24 }, SCOPE.modelFp, SCOPE.preprocessFp, [37, 24]]);
  const byHash = new Map(images.map((e) => [e.contentHash, e.embedding]));
  index.rows.forEach((row: { row: number; content_hash: string }, i: number) => {
    assert.equal(row.row, i);
    assert.deepEqual(npy.data.subarray(i * 24, (i + 1) * 24), byHash.get(row.content_hash));
  });
  const first = index.rows.find((row: { content_hash: string }) => row.content_hash === images[0].contentHash);
  assert.equal(first.path, 'new, "quoted" name.jpg');
  assert.equal(index.rows.filter((row: { path: string | null }) => row.path === null).length, 36);
  const csv = readFileSync(join(out, 'index.csv'), 'utf8').trimEnd().split('\n');
  assert.equal(csv[0], 'row,content_hash,path');
  assert.equal(csv.length, 38);
  assert.ok(csv.includes(`${first.row},${images[0].contentHash},"new, ""quoted"" name.jpg"`));

  const python = spawnSync('/usr/bin/python3', ['-c', 'import numpy']);
  if (python.status !== 0) t.diagnostic('numpy not available: np.load check skipped');
  else {
    const script = 'import sys, hashlib, numpy as np; a = np.load(sys.argv[1]); print(a.dtype, a.shape, hashlib.sha256(a.astype("<f4").tobytes()).hexdigest())';
    const printed = execFileSync('/usr/bin/python3', ['-c', script, join(out, 'embeddings.npy')], { encoding: 'utf8' }).trim();
    assert.equal(printed, `float32 (37, 24) ${await hashFileContent(new Uint8Array(npy.data.buffer))}`);
  }

  const writer = open(path).cache;
  writer.putImageEmbeddings({ ...SCOPE, preprocessFp: 'c'.repeat(64) }, imageEntries(3, 24));
  writer.close();
  assert.throws(() => exportImageEmbeddings(path, 'clip-test', out), new RegExp(`several image preprocessings; choose one of:\n {2}${'b'.repeat(64)} \\(37 images\\)\n {2}${'c'.repeat(64)} \\(3 images\\)`));
  assert.equal(exportImageEmbeddings(path, 'clip-test', out, { preprocessFp: 'cccccccc' }).rows, 3);
  assert.equal(readNpy(join(out, 'embeddings.npy')).shape[0], 3);
  assert.throws(() => exportImageEmbeddings(path, 'clip-test', out, { preprocessFp: 'dddddddd' }), /no single preprocessing 'dddddddd'/);
});

test('10,000 image embeddings of dim 512 in batches of 32: put, then get', (t) => {
  const path = join(scratch(), 'bench.sqlite');
  const { cache } = open(path);
  const entries = Array.from({ length: 10_000 }, (_, i) => ({ contentHash: itemHash(i), embedding: itemEmbedding(i) }));
  assert.equal(entries[0].embedding.length, WRITER_DIM);
  const started = performance.now();
  for (let start = 0; start < entries.length; start += 32) cache.putImageEmbeddings(SCOPE, entries.slice(start, start + 32));
  const put = performance.now() - started;
  let hits = 0;
  for (let start = 0; start < entries.length; start += 32) {
    const batch = entries.slice(start, start + 32);
    const got = cache.getImageEmbeddings(SCOPE, batch.map((e) => e.contentHash));
    got.forEach((embedding, i) => embedding && embedding[511] === batch[i].embedding[511] && hits++);
  }
  const get = performance.now() - started - put;
  cache.close();
  assert.equal(hits, 10_000);
  const megabytes = statSync(path).size / 1e6;
  t.diagnostic(`put ${put.toFixed(0)} ms, get ${get.toFixed(0)} ms, file ${megabytes.toFixed(1)} MB (data ${(10_000 * 2048 / 1e6).toFixed(1)} MB)`);
});
