// The PostgreSQL store (src/encode/cache/postgres_cache.ts) on a real server on loopback (test/helpers/postgres_server.ts):
// the cache contract as SQLite keeps it, the schema and foreign databases, shards committed at least once with an
// exactly-once effect, a server that goes away and comes back, the password never shown, and `run --cache
// postgres://` through the built CLI (npm run build first).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { EmbeddingCacheError, type ImageScope } from '../src/encode/cache/embedding_cache.js';
import { openCache } from '../src/encode/cache/open_cache.js';
import { fingerprint } from '../src/encode/cache/fingerprint.js';
import { checkPostgresStore, openPostgresCache, openPostgresStore, postgresCacheStats, prunePostgresFileHashes, prunePostgresModel, StoreError, STORE_SCHEMA_VERSION, type PostgresStore } from '../src/encode/cache/postgres_cache.js';
import { makePlan, type ShardPlan } from '../src/shards/plan.js';
import type { ShardMetadata } from '../src/shards/shard_files.js';
import { folderShardStore, openShardStore, type ShardOutput } from '../src/shards/shard_store.js';
import { checkPutAndGet, checkReadOnly, imageEntries, randomEmbedding } from './helpers/cache_contract.js';
import { postgresUnavailable, testPostgres, type TestPostgres } from './helpers/postgres_server.js';
import { scratchFolders } from './helpers/scratch.js';

const execFileAsync = promisify(execFile);
const CLI = fileURLToPath(new URL('../bin/zeroshot.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../fixtures/tiny-clip', import.meta.url));
const IMAGES = fileURLToPath(new URL('../fixtures/demo-images', import.meta.url));
const SCOPE: ImageScope = { modelFp: 'c'.repeat(64), preprocessFp: 'd'.repeat(64) };
const skip = postgresUnavailable();

let server: TestPostgres;
before(async () => {
  if (!skip) server = await testPostgres();
});
after(async () => {
  await server?.close();
});

const { scratch } = scratchFolders('pg-test');

/** A URL of a fresh database, with `password` in it (loopback trusts: any password is accepted). */
async function freshUrl(password?: string): Promise<string> {
  const url = new URL(await server.newDatabase());
  if (password) url.password = password;
  return url.toString();
}

async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

function opener(url: string) {
  return async (options: { readOnly?: boolean } = {}) => {
    const warnings: string[] = [];
    const cache = await openPostgresCache(url, { ...options, required: true, onWarning: (message) => warnings.push(message) });
    assert.ok(cache, `store at ${url} should open; warnings: ${warnings.join('; ')}`);
    return { cache, warnings };
  };
}

/** A plan of `count` keys in shards of `size`, and shard `index`'s output: keys with embeddings, two sharing content. */
function shardOf(plan: ShardPlan, index: number, dim = 8): ShardOutput {
  const { start, count } = plan.shards[index];
  const keys = plan.images.slice(start, start + count);
  // The second key has the first one's content: one row for both.
  const contentHashes = keys.map((key, r) => fingerprint(['content', r === 1 ? keys[0] : key]));
  const embeddings = new Float32Array(keys.length * dim);
  keys.forEach((_, r) => embeddings.set(r === 1 ? embeddings.subarray(0, dim) : randomEmbedding(dim), r * dim));
  const metadata: ShardMetadata = {
    format: 'zeroshot-shard',
    plan_id: plan.id,
    shard: index,
    model_fp: plan.model_fp,
    preprocess_fp: plan.preprocess_fp,
    dim,
    keys,
    content_hashes: contentHashes,
    failures: [{ image: 'broken.jpg', error: 'not an image' }],
    image_warnings: [],
    counts: { cache_hits: 0, encoded: keys.length - 1, shared_content: 1 },
  };
  return { metadata, embeddings };
}

function planOf(count: number, size: number, tag = 'plan'): ShardPlan {
  const keys = Array.from({ length: count }, (_, i) => `${tag}/img${String(i).padStart(4, '0')}.jpg`);
  return makePlan(keys, '/images', { id: 'test-model' }, SCOPE, size);
}

const countRows = async (url: string, table: string) => Number((await sql<{ n: string }>(url, `SELECT COUNT(*) AS n FROM ${table}`))[0].n);

// ---------------------------------------------------------------------------------------------------------------

test('the cache contract: put, get back exact copies by scope and key, hits and misses, kept after reopening', { skip }, async () => {
  await checkPutAndGet(opener(await freshUrl()));
});

test('the cache contract: read-only uses what is there and writes nothing', { skip }, async () => {
  await checkReadOnly(opener(await freshUrl()));
});

test('openCache takes a postgres:// URL; a repeated key in one lookup is answered for each', { skip }, async () => {
  const url = await freshUrl();
  const cache = await openCache(url, { required: true });
  assert.ok(cache);
  const [entry] = imageEntries(1, 4);
  await cache.putImageEmbeddings(SCOPE, [entry, entry]);
  assert.deepEqual(await cache.getImageEmbeddings(SCOPE, [entry.contentHash, entry.contentHash]), [entry.embedding, entry.embedding]);
  await cache.recordImagePaths(SCOPE, [{ contentHash: entry.contentHash, path: 'a.jpg' }, { contentHash: entry.contentHash, path: 'a.jpg' }]);
  await cache.registerModel(SCOPE.modelFp, { id: 'test-model', dtype: 'fp32' });
  await cache.close();
  const stats = await postgresCacheStats(url);
  assert.deepEqual(stats.models.map((m) => [m.label?.id, m.images, m.preprocessings[0].paths]), [['test-model', 1, 1]]);
});

test("files' content hashes are remembered by path and whole stamp, for every machine using the store", { skip }, async () => {
  const url = await freshUrl();
  const stamp = (path: string, mtimeNs: bigint) => ({ path, size: 10, mtimeNs, ctimeNs: mtimeNs, dev: 1n, ino: 2n });
  const writer = (await opener(url)()).cache;
  await writer.fileHashes!.set([
    { file: stamp('/data/a.jpg', 1n), sha256: 'old' },
    { file: stamp('/data/a.jpg', 5n), sha256: 'a'.repeat(64) },
    { file: stamp('/data/b.jpg', 1n), sha256: 'b'.repeat(64) },
  ]);
  await writer.close();
  const reader = (await opener(url)()).cache;
  const got = await reader.fileHashes!.get([stamp('/data/a.jpg', 5n), stamp('/data/b.jpg', 2n), stamp('/data/c.jpg', 1n), stamp('/data/b.jpg', 1n)]);
  assert.deepEqual(got, ['a'.repeat(64), undefined, undefined, 'b'.repeat(64)]);
  // Another machine's own copy at the same path keeps its hash beside this one's.
  assert.deepEqual(await reader.fileHashes!.get([stamp('/data/a.jpg', 1n)]), ['old']);
  await reader.close();
  assert.equal((await postgresCacheStats(url)).file_hashes, 3);
});

test('cache prune --file-hashes on a store: hashes unused for --older-than days go (old rows without seen_at too), used ones are refreshed and stay; a store made before seen_at gets the column', { skip }, async () => {
  const url = await freshUrl();
  const stamp = (path: string) => ({ path, size: 10, mtimeNs: 1n, ctimeNs: 1n, dev: 1n, ino: 2n });
  const cache = (await opener(url)()).cache;
  await cache.fileHashes!.set(['/data/used.jpg', '/data/unused.jpg', '/data/recent.jpg'].map((path) => ({ file: stamp(path), sha256: path })));
  await cache.close();
  const day = 24 * 3600 * 1000;
  await sql(url, "UPDATE file_hashes SET seen_at = $1 WHERE path <> '/data/recent.jpg'", [Date.now() - 40 * day]);
  // As a store made before seen_at: the column goes, and a row that older zeroshot writes has none.
  await sql(url, 'ALTER TABLE file_hashes DROP COLUMN seen_at');
  await sql(url, "INSERT INTO file_hashes (path, stamp, sha256) VALUES ('/data/legacy.jpg', 'x', 'legacy')");
  assert.deepEqual(await sql(url, "SELECT column_name FROM information_schema.columns WHERE table_name = 'file_hashes' AND column_name = 'seen_at'"), []);
  const reopened = (await opener(url)()).cache;
  assert.deepEqual(await reopened.fileHashes!.get([stamp('/data/used.jpg')]), ['/data/used.jpg']);
  await reopened.close();
  await sql(url, "UPDATE file_hashes SET seen_at = $1 WHERE path IN ('/data/used.jpg', '/data/unused.jpg')", [Date.now() - 40 * day]);
  await sql(url, "UPDATE file_hashes SET seen_at = $1 WHERE path = '/data/recent.jpg'", [Date.now() - day / 2]);
  // A hit on a hash last used over a day ago refreshes it.
  const again = (await opener(url)()).cache;
  assert.deepEqual(await again.fileHashes!.get([stamp('/data/used.jpg'), stamp('/data/recent.jpg')]), ['/data/used.jpg', '/data/recent.jpg']);
  await again.close();
  const seen = Object.fromEntries((await sql<{ path: string; seen_at: string | null }>(url, 'SELECT path, seen_at FROM file_hashes')).map((row) => [row.path, row.seen_at === null ? null : Number(row.seen_at)]));
  assert.ok(seen['/data/used.jpg']! > Date.now() - 60_000, 'refreshed');
  assert.ok(seen['/data/recent.jpg']! < Date.now() - day / 4, 'used within the day: not written again');
  assert.equal(seen['/data/legacy.jpg'], null);

  assert.deepEqual(await prunePostgresFileHashes(url, 30), { path: url, entries: 4, removed: 2 });
  assert.deepEqual((await sql<{ path: string }>(url, 'SELECT path FROM file_hashes ORDER BY path')).map((row) => row.path), ['/data/recent.jpg', '/data/used.jpg']);
  const cli = await execFileAsync(process.execPath, [CLI, 'cache', 'prune', '--file-hashes', '--older-than', '0', '--cache', url]);
  assert.equal(cli.stdout, `removed 2 of 2 remembered file hashes from ${url}\n`);
});

test('schema: created on first open (also by several processes at once), versioned in table meta', { skip }, async () => {
  const url = await freshUrl();
  const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore(url)));
  await Promise.all(stores.map((store) => store.close()));
  assert.deepEqual(await sql(url, 'SELECT format, schema_version FROM meta'), [{ format: 'zeroshot-embedding-cache', schema_version: STORE_SCHEMA_VERSION }]);
  const tables = await sql<{ table_name: string }>(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
  assert.deepEqual(tables.map((t) => t.table_name), ['file_hashes', 'image_embeddings', 'image_paths', 'meta', 'models', 'shards', 'text_embeddings']);
  // Read-only on an empty database: nothing to use, nothing created.
  const empty = await freshUrl();
  const warnings: string[] = [];
  assert.equal(await openPostgresCache(empty, { readOnly: true, onWarning: (m) => warnings.push(m) }), null);
  assert.match(warnings[0], /holds no embeddings yet; continuing without the cache/);
  assert.equal(await countRows(empty, "information_schema.tables WHERE table_schema = 'public'"), 0);
});

test('a database holding something else, or a newer store, is refused and left unchanged', { skip }, async () => {
  const foreign = await freshUrl();
  await sql(foreign, "CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('Ada')");
  for (const open of [() => openPostgresStore(foreign), () => openPostgresCache(foreign), () => postgresCacheStats(foreign)]) {
    await assert.rejects(open(), (error: Error) => {
      assert.ok(error instanceof EmbeddingCacheError);
      assert.match(error.message, /^PostgreSQL database postgres:\/\/postgres@127\.0\.0\.1:\d+\/zs_test_\w+ is not a zeroshot store \(it has tables people\); it was left unchanged\. Give a database of its own/);
      return true;
    });
  }
  assert.deepEqual(await sql(foreign, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"), [{ table_name: 'people' }]);

  const otherMeta = await freshUrl();
  await sql(otherMeta, "CREATE TABLE meta (format TEXT, schema_version INTEGER); INSERT INTO meta VALUES ('another-app', 1)");
  await assert.rejects(openPostgresStore(otherMeta), /is not a zeroshot store \(its table meta holds format 'another-app'\)/);

  const newer = await freshUrl();
  await (await openPostgresStore(newer)).close();
  await sql(newer, 'UPDATE meta SET schema_version = $1', [STORE_SCHEMA_VERSION + 1]);
  await assert.rejects(openPostgresCache(newer), /was written by a newer zeroshot \(schema version 2; this one reads 1\); upgrade zeroshot or use another database/);
});

test('a shard committed twice, or by two workers at once, leaves one row per image; read gives it back in key order', { skip }, async () => {
  const url = await freshUrl();
  const plan = planOf(25, 10);
  const store = await openShardStore(url, '/unused/plan.json');
  assert.equal(store.location, url);
  const shard1 = shardOf(plan, 1);
  assert.equal(await store.isDone(plan, 1), false);
  await store.clearPartial(plan, 1);
  await store.commit(plan, shard1);
  await store.commit(plan, shardOf(plan, 1)); // a retried job: other numbers, same keys: the first commit stays
  assert.equal(await store.isDone(plan, 1), true);
  assert.equal(await store.isDone(plan, 0), false);
  assert.deepEqual(await store.read(plan, 1), shard1);
  assert.deepEqual([await countRows(url, 'image_embeddings'), await countRows(url, 'shards')], [9, 1]);

  // Two workers with a shard each, then both with the same shard, at once.
  const other = await openShardStore(url, '/unused/plan.json');
  const [a, b] = [shardOf(plan, 2), shardOf(plan, 2)];
  await Promise.all([store.commit(plan, shardOf(plan, 0)), other.commit(plan, a)]);
  await Promise.all([store.commit(plan, b), other.commit(plan, a), store.commit(plan, b)]);
  assert.deepEqual([await countRows(url, 'image_embeddings'), await countRows(url, 'shards')], [9 + 9 + 4, 3]);
  const stored = await other.read(plan, 2);
  assert.deepEqual(stored.metadata, a.metadata);
  assert.deepEqual(stored.embeddings, a.embeddings);

  // The same as the folder store keeps it.
  const folder = folderShardStore(scratch());
  await folder.commit(plan, shard1);
  assert.deepEqual(await folder.read(plan, 1), await store.read(plan, 1));

  await assert.rejects(store.read(planOf(25, 10, 'other'), 0), /shard 0 of plan \w+ is not committed in the store; embed it first/);
  assert.deepEqual((await checkPostgresStore(url)).problems, []);
  // An embedding removed under a committed shard: read and check say which shard and what to do.
  await sql(url, 'DELETE FROM image_embeddings WHERE content_hash = $1', [shard1.metadata.content_hashes[3]]);
  await assert.rejects(store.read(plan, 1), /shard 1 is committed but 1 of its 10 embeddings are missing .*; delete its row \(DELETE FROM shards WHERE plan_id = '\w+' AND shard = 1\) and embed shard 1\/3 again/);
  const check = await checkPostgresStore(url);
  assert.equal(check.ok, false);
  assert.match(check.problems[0], /^shard 1 of plan \w{12}: 1 embeddings missing or of another size/);
  await Promise.all([store.close(), other.close()]);
  // Pruning the model removes its committed shards with their embeddings: the store agrees with itself again.
  const pruned = await prunePostgresModel(url, shard1.metadata.model_fp);
  assert.deepEqual([pruned.images, pruned.shards], [9 + 9 + 4 - 1, 3]);
  assert.deepEqual([await countRows(url, 'image_embeddings'), await countRows(url, 'shards')], [0, 0]);
  assert.deepEqual((await checkPostgresStore(url)).problems, []);
});

test('the server goes away mid-run: store calls reject naming host:port/database and the fix; back, they work', { skip }, async () => {
  const url = await freshUrl('s3cret-pw');
  const plan = planOf(10, 5, 'outage');
  const store = await openPostgresStore(url);
  const cacheWarnings: string[] = [];
  const cache = await openPostgresCache(url, { onWarning: (m) => cacheWarnings.push(m) });
  assert.ok(cache);
  await store.commit(plan, shardOf(plan, 0));
  const where = `127.0.0.1:${new URL(url).port}`;
  await server.stop();
  try {
    for (const call of [() => store.isDone(plan, 1), () => store.commit(plan, shardOf(plan, 1)), () => store.read(plan, 0)]) {
      await assert.rejects(call(), (error: Error) => {
        assert.ok(error instanceof StoreError && error.unreachable, String(error));
        assert.ok(error.message.startsWith(`PostgreSQL store postgres://postgres@${where}/`), error.message);
        assert.match(error.message, new RegExp(`(nothing accepts connections at ${where}: start PostgreSQL there|the connection to ${where} was lost .*: check that the server is up)`));
        assert.ok(!error.message.includes('s3cret-pw'));
        return true;
      });
    }
    // As a run's cache: one warning, then the run goes on without it.
    const [entry] = imageEntries(1, 4);
    assert.deepEqual(await cache.getImageEmbeddings(SCOPE, [entry.contentHash]), [undefined]);
    await cache.putImageEmbeddings(SCOPE, [entry]);
    assert.equal(cacheWarnings.length, 1);
    assert.match(cacheWarnings[0], /; continuing without the cache$/);
    assert.equal(cache.stats().writes_disabled, true);
    // Opening while it is away: asked for (--cache URL) → error; the default location → warning and no cache.
    await assert.rejects(openPostgresCache(url, { required: true }), (error: Error) => error instanceof StoreError && /cannot connect: nothing accepts connections at/.test(error.message));
    const openWarnings: string[] = [];
    assert.equal(await openPostgresCache(url, { onWarning: (m) => openWarnings.push(m) }), null);
    assert.match(openWarnings[0], /cannot connect: nothing accepts connections at .*; continuing without the cache$/);
    assert.ok(![...cacheWarnings, ...openWarnings].some((m) => m.includes('s3cret-pw')));
  } finally {
    await server.start();
  }
  // The retry succeeds once it is back.
  await store.commit(plan, shardOf(plan, 1));
  assert.equal(await store.isDone(plan, 1), true);
  assert.equal((await store.read(plan, 0)).metadata.keys.length, 5);
  await Promise.all([store.close(), cache.close()]);
});

test('connection errors name the server and the fix, never the password', { skip }, async () => {
  const base = new URL(await freshUrl('s3cret-pw'));
  const missingDb = new URL(base);
  missingDb.pathname = '/no_such_database';
  await assert.rejects(openPostgresStore(missingDb.toString()), (error: Error) => {
    assert.match(error.message, /database 'no_such_database' does not exist on 127\.0\.0\.1:\d+: create it \(createdb -h 127\.0\.0\.1 -p \d+ no_such_database\) or correct the URL's database/);
    assert.ok(!error.message.includes('s3cret-pw'));
    return true;
  });
  await assert.rejects(openPostgresStore('postgres://u:s3cret-pw@127.0.0.1:notaport/db'), (error: Error) => !error.message.includes('s3cret-pw') && /not a valid PostgreSQL URL/.test(error.message));
  const store = await openPostgresStore(base.toString());
  assert.ok(!store.location.includes('s3cret-pw') && !(store as PostgresStore).path.includes('s3cret-pw'));
  await store.close();
});

test('zeroshot run --cache postgres:// twice: the same outputs, the second from the store; cache stats and check', { skip }, async () => {
  const url = await freshUrl('s3cret-pw');
  const dir = scratch();
  const run = async (out: string) => {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, 'run', '--images', IMAGES, '--model', MODEL, '--offline', '--cache', url, '--out', join(dir, out)]);
    const runJson = await readFile(join(dir, out, 'run.json'), 'utf8');
    return { output: stdout + stderr, runJson, run: JSON.parse(runJson), similarities: await readFile(join(dir, out, 'similarities.json'), 'utf8') };
  };
  const first = await run('first');
  const second = await run('second');
  assert.equal(second.similarities, first.similarities);
  assert.equal(await readFile(join(dir, 'second', 'predictions.csv'), 'utf8'), await readFile(join(dir, 'first', 'predictions.csv'), 'utf8'));
  assert.deepEqual([first.run.counts.cache_hits, first.run.counts.encoded], [0, 14]);
  assert.deepEqual([second.run.counts.cache_hits, second.run.counts.encoded], [14, 0]);
  assert.equal(second.run.cache.image_hits, 14);
  // The files' content hashes came from the store too: nothing was read again.
  assert.deepEqual([second.run.counts.hashes_read, second.run.counts.hashes_remembered], [0, 14]);
  assert.equal(second.run.cache.text_misses, 0);
  assert.equal(second.run.cache.path, url.replace(':s3cret-pw', ''));
  for (const text of [first.output, first.runJson, second.output, second.runJson]) assert.ok(!text.includes('s3cret-pw'));

  const stats = await execFileAsync(process.execPath, [CLI, 'cache', 'stats', '--cache', url]);
  // The 14 images' file hashes, and the model files'.
  const hashes = await countRows(url, 'file_hashes');
  assert.ok(hashes >= 14, String(hashes));
  assert.match(stats.stdout, new RegExp(`^postgres://postgres@127\\.0\\.0\\.1:\\d+/\\w+: \\d+\\.\\d MB\n  \\w{12}  .*: 14 images \\(0\\.0 MB\\), \\d+ prompts\n  remembered file hashes: ${hashes} \\(\`cache prune --file-hashes\` removes the stale ones\\)\n  committed shards: 0 of 0 plan\\(s\\)\n$`));
  const check = await execFileAsync(process.execPath, [CLI, 'cache', 'check', '--cache', url]);
  assert.match(check.stdout, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/\w+: ok\n$/);
  // export: the same files as from an SQLite cache filled by the same run.
  const file = join(dir, 'cache.sqlite');
  await execFileAsync(process.execPath, [CLI, 'run', '--images', IMAGES, '--model', MODEL, '--offline', '--cache', file, '--out', join(dir, 'sqlite-run')]);
  const exported = async (cache: string, out: string) => {
    const { stdout } = await execFileAsync(process.execPath, [CLI, 'cache', 'export', MODEL, '--out', join(dir, out), '--cache', cache]);
    return { stdout, files: await Promise.all(['embeddings.npy', 'index.csv', 'index.json'].map((name) => readFile(join(dir, out, name)))) };
  };
  const [fromStore, fromFile] = [await exported(url, 'export-pg'), await exported(file, 'export-sqlite')];
  assert.match(fromStore.stdout, /^wrote 14 × \d+ embeddings to /);
  // index.json's label has its keys in JSONB's order: equal as JSON.
  assert.deepEqual(fromStore.files.slice(0, 2), fromFile.files.slice(0, 2));
  assert.deepEqual(JSON.parse(fromStore.files[2].toString()), JSON.parse(fromFile.files[2].toString()));
  // prune MODEL: selected as in a cache file, every row of the model removed.
  await assert.rejects(execFileAsync(process.execPath, [CLI, 'cache', 'prune', 'x', '--cache', url]), (error: { stderr: string }) =>
    /the cache has no model 'x' .*its models:\n {2}\w{12} /.test(error.stderr) && !error.stderr.includes('s3cret-pw'));
  const pruned = await execFileAsync(process.execPath, [CLI, 'cache', 'prune', MODEL, '--cache', url]);
  assert.match(pruned.stdout, /^removed 14 image and \d+ text embeddings of \w{12}, and its 0 committed shards\n$/);
  assert.deepEqual(await sql(url, 'SELECT (SELECT count(*) FROM image_embeddings) + (SELECT count(*) FROM text_embeddings) + (SELECT count(*) FROM image_paths) + (SELECT count(*) FROM models) AS n'), [{ n: '0' }]);
  for (const text of [stats.stdout, check.stdout, pruned.stdout]) assert.ok(!text.includes('s3cret-pw'));
});
