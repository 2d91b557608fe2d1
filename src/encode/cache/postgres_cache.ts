// The shared backend: one PostgreSQL database that many machines use at once, as the embedding cache of a run
// (`--cache postgres://…`) and as the store of a sharded run's queue workers (`--store postgres://…`). Keyed as the
// SQLite cache is; every write is INSERT … ON CONFLICT DO NOTHING, and a shard's embeddings go in one transaction
// with its row, so a retried or duplicated job leaves one row per image. The only importer of `pg`.
import pg from 'pg';
import { chooseModel, choosePreprocessing, exportDim, ExportWriter, type CacheCheck, type CacheFileStats, type ExportResult, type FileHashPruneResult, type ModelStats } from './cache_admin.js';
import {
  CACHE_FORMAT,
  EmbeddingCacheError,
  type CacheSessionStats,
  type EmbeddingCache,
  type ImageScope,
  type ModelLabel,
  type OpenCacheOptions,
} from './embedding_cache.js';
import { stampKey, type FileHashMemo } from './fingerprint.js';
import { float32FromLittleEndian, float32ToLittleEndian } from './npy.js';
import type { ShardPlan } from '../../shards/plan.js';
import type { ShardMetadata } from '../../shards/shard_files.js';
import type { ShardOutput, ShardStore } from '../../shards/shard_store.js';

export const STORE_SCHEMA_VERSION = 1;

/**
 * When a run last remembered or used a file hash (Unix ms, refreshed at most once a day), for `cache prune
 * --file-hashes --older-than DAYS`: the only test that holds for every machine sharing the store, since a path this
 * machine does not have may be another's file. Added to stores made before it; null in rows older zeroshot writes.
 */
const SEEN_AT_COLUMN = 'seen_at BIGINT';
/** A hit whose seen_at is older than this is refreshed. */
const SEEN_AT_REFRESH_MS = 24 * 3600 * 1000;

// Embeddings are little-endian float32 bytea, as in SQLite and .npy. bench/pg_embeddings.ts, 10,000 × 512 in
// unnest batches of 1,000: bytea writes in 1.2 s and reads in 0.3 s, real[] in 8.1 s and 4.7 s (both exact, 28.8 MB).
const SCHEMA = `
  CREATE TABLE meta (
    format         TEXT NOT NULL,
    schema_version INTEGER NOT NULL
  );
  CREATE TABLE models (
    model_fp TEXT PRIMARY KEY,
    label    JSONB NOT NULL                -- e.g. {"id": "Xenova/clip-vit-base-patch32", "dtype": "fp32"}
  );
  CREATE TABLE image_embeddings (
    model_fp      TEXT NOT NULL,
    preprocess_fp TEXT NOT NULL,
    content_hash  TEXT NOT NULL,           -- sha256 of the image file's bytes
    embedding     BYTEA NOT NULL,          -- little-endian float32
    PRIMARY KEY (model_fp, preprocess_fp, content_hash)
  );
  CREATE TABLE image_paths (
    model_fp      TEXT NOT NULL,
    preprocess_fp TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    path          TEXT NOT NULL,
    seen_at       BIGINT NOT NULL,         -- Unix time, ms
    PRIMARY KEY (model_fp, preprocess_fp, content_hash, path)
  );
  CREATE TABLE text_embeddings (
    model_fp  TEXT NOT NULL,
    text      TEXT NOT NULL,
    embedding BYTEA NOT NULL,              -- little-endian float32
    PRIMARY KEY (model_fp, text)
  );
  CREATE TABLE file_hashes (              -- content hashes of model and image files, so a run need not re-read them
    path   TEXT NOT NULL,                  -- absolute, as the machine that hashed it saw it
    stamp  TEXT NOT NULL,                  -- fingerprint.ts stampKey: size, mtime and ctime in ns, device, inode
    sha256 TEXT NOT NULL,
    ${SEEN_AT_COLUMN},
    PRIMARY KEY (path, stamp)              -- machines with their own copies at one path each keep theirs
  );
  CREATE TABLE shards (                   -- a row is a committed shard: its done mark
    plan_id      TEXT NOT NULL,
    shard        INTEGER NOT NULL,
    metadata     JSON NOT NULL,            -- shard_files.ts ShardMetadata; its embeddings are in image_embeddings
    committed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, shard)
  );
  INSERT INTO meta (format, schema_version) VALUES ('${CACHE_FORMAT}', ${STORE_SCHEMA_VERSION});
`;
const TABLES = ['file_hashes', 'image_embeddings', 'image_paths', 'meta', 'models', 'shards', 'text_embeddings'];
/** Serialises the first initialisation of a database between processes: pg_advisory_xact_lock's key ('ZSEC'). */
const INIT_LOCK = 0x5a534543;
/** Rows per INSERT: about 4 MB of parameters for 512-dim embeddings. */
const INSERT_CHUNK = 1000;
const POOL_SIZE = 4;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * A connection from the pool. A connection in use that breaks also emits 'error' (besides failing its query), which
 * would crash the process without a listener: the failing query reports it.
 */
async function checkout(pool: pg.Pool): Promise<pg.PoolClient & { done(broken?: boolean): void }> {
  const client = await pool.connect();
  const ignore = () => {};
  client.on('error', ignore);
  return Object.assign(client, {
    done: (broken = false) => {
      client.off('error', ignore);
      client.release(broken);
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Where it is, without the password, and what went wrong

interface Address {
  /** The URL without password (or password-like query parameters), for run.json, `path`/`location` and messages. */
  readonly display: string;
  readonly host: string;
  readonly port: string;
  readonly user: string;
  readonly database: string;
  readonly password: string;
}

function parseAddress(url: string): Address {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreError(`'${url.replace(/\/\/([^@/:]*):[^@/]*@/, '//$1@')}' is not a valid PostgreSQL URL; give postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, false);
  }
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  const password = decode(parsed.password) || parsed.searchParams.get('password') || '';
  const shown = new URL(parsed);
  shown.password = '';
  for (const key of [...shown.searchParams.keys()]) if (/pass|secret|key/i.test(key)) shown.searchParams.delete(key);
  const host = parsed.hostname || 'localhost';
  const database = decode(parsed.pathname.replace(/^\//, '')) || decode(parsed.username) || 'postgres';
  return {
    display: shown.toString(),
    host,
    port: parsed.port || '5432',
    user: decode(parsed.username) || 'postgres',
    database,
    password,
  };
}

/** A store that cannot be used; `unreachable`: the server could not be reached (a run may go on without it). */
export class StoreError extends EmbeddingCacheError {
  override name = 'StoreError';
  constructor(message: string, readonly unreachable: boolean, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

type PgError = Error & { code?: string };

/** Connection-level trouble: the server is down, restarting, unreachable or the link broke. */
function isConnectionFailure(error: unknown): boolean {
  const code = (error as PgError | null)?.code;
  if (code === undefined) return /connection|timeout|terminated/i.test(error instanceof Error ? error.message : '');
  return /^E[A-Z]+$/.test(code) || /^(08|57P)/.test(code);
}

/**
 * Storage trouble a run survives without the cache: connection loss, a full disk (53), a server-side limit such as
 * a prompt too long for the index (54), an I/O error (58), a read-only server (25006), no right to write (42501).
 */
function isStorageFailure(error: unknown): boolean {
  const code = (error as PgError | null)?.code ?? '';
  return isConnectionFailure(error) || /^(53|54|58)/.test(code) || code === '25006' || code === '42501';
}

/** What happened and what to do, naming host:port/database; never the password. */
function explain(address: Address, error: unknown): string {
  const { code, message } = { code: (error as PgError | null)?.code, message: error instanceof Error ? error.message : String(error) };
  const { host, port } = address;
  switch (code) {
    case 'ECONNREFUSED':
      return `nothing accepts connections at ${host}:${port}: start PostgreSQL there, or correct the URL's host and port`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host '${host}' is not known: correct the URL's host`;
    case 'ETIMEDOUT':
      return `no answer from ${host}:${port}: check that the server is up and reachable from here (network, firewall)`;
    case '28P01':
      return `password authentication failed for user '${address.user}': correct the URL's user or password`;
    case '28000':
      return `the server does not let user '${address.user}' connect to database '${address.database}' (${message}): allow it in pg_hba.conf or use another user`;
    case '3D000':
      return `database '${address.database}' does not exist on ${host}:${port}: create it (createdb -h ${host} -p ${port} ${address.database}) or correct the URL's database`;
    case '54000':
      return `a key too large for the store's index (${message}; a prompt of several KB?): shorten it, or run with --no-cache`;
    case '53100':
      return `the server's disk is full (${message}): free space on it`;
    case '42501':
      return `user '${address.user}' may not do this (${message}): grant it the rights on database '${address.database}' or use another user`;
  }
  if (/timeout/i.test(message)) return `no connection to ${host}:${port} within ${CONNECT_TIMEOUT_MS / 1000} s: check that the server is up and reachable from here`;
  if (isConnectionFailure(error)) return `the connection to ${host}:${port} was lost (${code ? `${code}: ` : ''}${message}): check that the server is up; what was committed stays`;
  return code ? `${code}: ${message}` : message;
}

/** `text` with the password cut out, should a driver message ever quote it (one or two characters would cut up words). */
function redact(address: Address, text: string): string {
  return address.password.length >= 3 ? text.split(address.password).join('…') : text;
}

function storeError(address: Address, doing: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError(redact(address, `PostgreSQL store ${address.display}: ${doing}: ${explain(address, error)}`), isConnectionFailure(error), error);
}

// ---------------------------------------------------------------------------------------------------------------
// Opening: the schema, created on first open and checked on every open

type Checked = 'ours' | 'empty';

async function checkSchema(client: pg.PoolClient, address: Address): Promise<Checked> {
  const { rows } = await client.query<{ table_name: string }>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name',
  );
  const tables = rows.map((row) => row.table_name);
  if (!tables.length) return 'empty';
  const refuse = (holds: string) =>
    new StoreError(`PostgreSQL database ${address.display} is not a zeroshot store (${holds}); it was left unchanged. Give a database of its own (createdb NAME) in the URL.`, false);
  if (!tables.includes('meta')) throw refuse(`it has tables ${tables.slice(0, 10).join(', ')}${tables.length > 10 ? ', …' : ''}`);
  let meta: { format: string; schema_version: number } | undefined;
  try {
    meta = (await client.query<{ format: string; schema_version: number }>('SELECT format, schema_version FROM meta LIMIT 1')).rows[0];
  } catch (error) {
    // Class 42 (no such column, wrong type): a table meta of another application.
    if ((error as PgError).code?.startsWith('42')) throw refuse('its table meta is not ours');
    throw error;
  }
  if (meta?.format !== CACHE_FORMAT) throw refuse(`its table meta holds ${meta ? `format '${meta.format}'` : 'no row'}`);
  if (meta.schema_version > STORE_SCHEMA_VERSION) {
    throw new StoreError(
      `PostgreSQL store ${address.display} was written by a newer zeroshot (schema version ${meta.schema_version}; this one reads ${STORE_SCHEMA_VERSION}); upgrade zeroshot or use another database`,
      false,
    );
  }
  const missing = TABLES.filter((table) => !tables.includes(table));
  if (missing.length) throw refuse(`its schema lacks tables ${missing.join(', ')}`);
  return 'ours';
}

/** Connects, checks the schema and (unless `readOnly`) creates it in an empty database; throws StoreError. */
const hasSeenAt = async (client: pg.PoolClient) =>
  (await client.query("SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'file_hashes' AND column_name = 'seen_at'")).rows.length > 0;

/** Connects, checks the schema and (unless `readOnly`) creates it in an empty database; throws StoreError. */
async function connectStore(url: string, readOnly: boolean): Promise<{ pool: pg.Pool; address: Address; checked: Checked; seenAt: boolean }> {
  const address = parseAddress(url);
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true });
  // An idle connection that breaks (server restart) is reported here; the next query reconnects or fails clearly.
  pool.on('error', () => {});
  try {
    const client = await checkout(pool).catch((error: unknown) => Promise.reject(storeError(address, 'cannot connect', error)));
    try {
      let checked = await checkSchema(client, address);
      if (checked === 'empty' && !readOnly) {
        // Two processes may both find the database empty: the lock makes the second wait and see the first's tables.
        await client.query('BEGIN');
        try {
          await client.query('SELECT pg_advisory_xact_lock($1)', [INIT_LOCK]);
          if ((await checkSchema(client, address)) === 'empty') await client.query(SCHEMA);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        }
        checked = 'ours';
      }
      let seenAt = checked === 'ours' && (await hasSeenAt(client));
      if (checked === 'ours' && !seenAt && !readOnly) {
        // Checked first: ALTER TABLE waits for every transaction on the table, even when the column is there.
        await client.query(`ALTER TABLE file_hashes ADD COLUMN IF NOT EXISTS ${SEEN_AT_COLUMN}`);
        seenAt = true;
      }
      return { pool, address, checked, seenAt };
    } catch (error) {
      throw storeError(address, 'cannot open it', error);
    } finally {
      client.done();
    }
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
}

/** The store a sharded run writes to and collect reads from; every failure throws a StoreError naming the fix. */
export async function openPostgresStore(url: string): Promise<PostgresStore> {
  const { pool, address, seenAt } = await connectStore(url, false);
  return new PostgresStore(pool, address, () => {}, 'read-write', seenAt);
}

/**
 * The store as a run's embedding cache. Returns null, after a warning, when it cannot be reached and was not asked
 * for (`required`: the URL came from --cache; then it throws). A database that is not a zeroshot store, or of a
 * newer schema, always throws. Read-only on an empty database: null after a warning. Trouble later in the run
 * warns once and the run goes on without the cache. `maxBytes` and `busyTimeoutMs` are SQLite's and not used.
 */
export async function openPostgresCache(url: string, options: OpenCacheOptions = {}): Promise<PostgresStore | null> {
  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, 'EmbeddingCacheWarning'));
  const readOnly = options.readOnly ?? false;
  let connection: Awaited<ReturnType<typeof connectStore>>;
  try {
    connection = await connectStore(url, readOnly);
  } catch (error) {
    if (!(error instanceof StoreError) || !error.unreachable || options.required) throw error;
    warn(`${error.message}; continuing without the cache`);
    return null;
  }
  const { pool, address, checked, seenAt } = connection;
  if (checked === 'empty') {
    await pool.end();
    warn(`PostgreSQL store ${address.display}: it holds no embeddings yet; continuing without the cache`);
    return null;
  }
  return new PostgresStore(pool, address, warn, readOnly ? 'read-only' : 'read-write', seenAt);
}

// ---------------------------------------------------------------------------------------------------------------
// The store

type CacheState = 'read-write' | 'read-only' | 'off';

/** Rows of `entries` sorted by key: concurrent writers then take row locks in one order and never deadlock. */
function sortedBy<T>(entries: readonly T[], key: (entry: T) => string): T[] {
  return [...entries].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function chunks<T>(items: readonly T[], size = INSERT_CHUNK): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

async function insertImageEmbeddings(client: pg.ClientBase, scope: ImageScope, entries: readonly { contentHash: string; embedding: Float32Array }[]): Promise<void> {
  for (const chunk of chunks(sortedBy(entries, (e) => e.contentHash))) {
    await client.query(
      `INSERT INTO image_embeddings (model_fp, preprocess_fp, content_hash, embedding)
       SELECT $1, $2, h, e FROM unnest($3::text[], $4::bytea[]) AS t (h, e) ON CONFLICT DO NOTHING`,
      [scope.modelFp, scope.preprocessFp, chunk.map((e) => e.contentHash), chunk.map((e) => float32ToLittleEndian(e.embedding))],
    );
  }
}

/** Embeddings by content (the EmbeddingCache) and committed shards (the ShardStore), in one PostgreSQL database. */
export class PostgresStore implements EmbeddingCache, ShardStore {
  readonly path: string;
  readonly location: string;
  private readonly session: CacheSessionStats;

  /** Use openPostgresCache or openPostgresStore. */
  constructor(
    private readonly pool: pg.Pool,
    private readonly address: Address,
    private readonly warn: (message: string) => void,
    private state: CacheState,
    /** file_hashes has its seen_at column (a read-only store made before it may not). */
    private readonly seenAt: boolean,
  ) {
    this.path = this.location = address.display;
    this.session = { image_hits: 0, image_misses: 0, text_hits: 0, text_misses: 0, writes_disabled: state !== 'read-write' };
  }

  // --- EmbeddingCache: storage trouble warns once and the run goes on without the cache

  async registerModel(modelFp: string, label: ModelLabel): Promise<void> {
    await this.write((client) =>
      client.query('INSERT INTO models (model_fp, label) VALUES ($1, $2) ON CONFLICT (model_fp) DO UPDATE SET label = excluded.label', [modelFp, JSON.stringify(label)]),
    );
  }

  /**
   * Files' content hashes by path and whole stamp, shared by the machines: the same stamp on a shared file system is
   * the same file, and a stamp taken on another machine's own copy does not match.
   */
  get fileHashes(): FileHashMemo {
    return {
      get: async (files) => {
        // Keyed by path and stamp together: the tab cannot occur in a stamp.
        const keys = files.map((file) => `${stampKey(file)}\t${file.path}`);
        const now = Date.now();
        // A read-only store made before seen_at has none to refresh (and this process writes nothing).
        const staleSql = this.seenAt ? `f.seen_at IS NULL OR f.seen_at < ${now - SEEN_AT_REFRESH_MS}` : 'false';
        const found = await this.lookup(keys, (client) =>
          client.query<{ key: string; value: { sha256: string; stale: boolean } }>(
            `SELECT f.stamp || E'\\t' || f.path AS key, json_build_object('sha256', f.sha256, 'stale', ${staleSql}) AS value
             FROM file_hashes AS f JOIN unnest($1::text[], $2::text[]) AS q (path, stamp) USING (path, stamp)`,
            [files.map((file) => file.path), files.map(stampKey)],
          ),
        );
        const stale = files.filter((_, i) => found[i]?.stale);
        if (stale.length) {
          await this.write(async (client) => {
            for (const chunk of chunks(sortedBy(stale, (file) => `${stampKey(file)}\t${file.path}`))) {
              await client.query(
                'UPDATE file_hashes AS f SET seen_at = $3 FROM unnest($1::text[], $2::text[]) AS q (path, stamp) WHERE f.path = q.path AND f.stamp = q.stamp',
                [chunk.map((file) => file.path), chunk.map(stampKey), now],
              );
            }
          });
        }
        return found.map((value) => value?.sha256);
      },
      set: async (entries) => {
        const unique = sortedBy([...new Map(entries.map((e) => [`${stampKey(e.file)}\t${e.file.path}`, e])).entries()], ([key]) => key).map(([, e]) => e);
        if (!unique.length) return;
        await this.write(async (client) => {
          for (const chunk of chunks(unique)) {
            await client.query(
              // A writable store always has seen_at (connectStore adds it).
              'INSERT INTO file_hashes (path, stamp, sha256, seen_at) SELECT *, $4::bigint FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING',
              [chunk.map((e) => e.file.path), chunk.map((e) => stampKey(e.file)), chunk.map((e) => e.sha256), Date.now()],
            );
          }
        });
      },
    };
  }

  async getImageEmbeddings(scope: ImageScope, contentHashes: readonly string[]): Promise<(Float32Array | undefined)[]> {
    const found = (await this.lookup(contentHashes, (client) =>
      client.query<{ key: string; value: Buffer }>(
        'SELECT content_hash AS key, embedding AS value FROM image_embeddings WHERE model_fp = $1 AND preprocess_fp = $2 AND content_hash = ANY($3::text[])',
        [scope.modelFp, scope.preprocessFp, [...new Set(contentHashes)]],
      ),
    )).map((bytes) => bytes && float32FromLittleEndian(bytes));
    const hits = found.filter(Boolean).length;
    this.session.image_hits += hits;
    this.session.image_misses += found.length - hits;
    return found;
  }

  async putImageEmbeddings(scope: ImageScope, entries: readonly { contentHash: string; embedding: Float32Array }[]): Promise<void> {
    if (entries.length) await this.write((client) => insertImageEmbeddings(client, scope, entries));
  }

  async recordImagePaths(scope: ImageScope, entries: readonly { contentHash: string; path: string }[], seenAt = Date.now()): Promise<void> {
    // One row per (content, path) in a statement: ON CONFLICT DO UPDATE may not touch a row twice.
    const unique = sortedBy([...new Map(entries.map((e) => [`${e.contentHash}\0${e.path}`, e])).entries()], ([key]) => key).map(([, e]) => e);
    if (!unique.length) return;
    await this.write(async (client) => {
      for (const chunk of chunks(unique)) {
        await client.query(
          `INSERT INTO image_paths (model_fp, preprocess_fp, content_hash, path, seen_at)
           SELECT $1, $2, h, p, $5 FROM unnest($3::text[], $4::text[]) AS t (h, p)
           ON CONFLICT (model_fp, preprocess_fp, content_hash, path) DO UPDATE SET seen_at = excluded.seen_at`,
          [scope.modelFp, scope.preprocessFp, chunk.map((e) => e.contentHash), chunk.map((e) => e.path), seenAt],
        );
      }
    });
  }

  async getTextEmbeddings(modelFp: string, texts: readonly string[]): Promise<(Float32Array | undefined)[]> {
    const found = (await this.lookup(texts, (client) =>
      client.query<{ key: string; value: Buffer }>(
        'SELECT text AS key, embedding AS value FROM text_embeddings WHERE model_fp = $1 AND text = ANY($2::text[])',
        [modelFp, [...new Set(texts)]],
      ),
    )).map((bytes) => bytes && float32FromLittleEndian(bytes));
    const hits = found.filter(Boolean).length;
    this.session.text_hits += hits;
    this.session.text_misses += found.length - hits;
    return found;
  }

  async putTextEmbeddings(modelFp: string, entries: readonly { text: string; embedding: Float32Array }[]): Promise<void> {
    if (!entries.length) return;
    await this.write(async (client) => {
      for (const chunk of chunks(sortedBy(entries, (e) => e.text))) {
        await client.query(
          `INSERT INTO text_embeddings (model_fp, text, embedding)
           SELECT $1, t, e FROM unnest($2::text[], $3::bytea[]) AS u (t, e) ON CONFLICT DO NOTHING`,
          [modelFp, chunk.map((e) => e.text), chunk.map((e) => float32ToLittleEndian(e.embedding))],
        );
      }
    });
  }

  stats(): CacheSessionStats {
    return { ...this.session };
  }

  // --- ShardStore: every failure rejects (a queue job then fails and is retried)

  async isDone(plan: ShardPlan, index: number): Promise<boolean> {
    const { rows } = await this.run(`reading shard ${index}'s state`, (client) =>
      client.query('SELECT 1 FROM shards WHERE plan_id = $1 AND shard = $2', [plan.id, index]),
    );
    return rows.length > 0;
  }

  /** Nothing to remove: a shard is committed in one transaction, whole or not at all. */
  async clearPartial(): Promise<void> {}

  async commit(plan: ShardPlan, output: ShardOutput): Promise<void> {
    const { metadata, embeddings } = output;
    if (metadata.plan_id !== plan.id) throw new Error(`shard ${metadata.shard} belongs to plan ${metadata.plan_id.slice(0, 12)}, not ${plan.id.slice(0, 12)}`);
    const scope = { modelFp: metadata.model_fp, preprocessFp: metadata.preprocess_fp };
    const entries = metadata.content_hashes.map((contentHash, r) => ({ contentHash, embedding: embeddings.subarray(r * metadata.dim, (r + 1) * metadata.dim) }));
    await this.run(`committing shard ${metadata.shard}`, (client) =>
      this.inTransaction(client, async () => {
        await insertImageEmbeddings(client, scope, entries);
        await client.query('INSERT INTO shards (plan_id, shard, metadata) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [plan.id, metadata.shard, JSON.stringify(metadata)]);
      }),
    );
  }

  async read(plan: ShardPlan, index: number): Promise<ShardOutput> {
    return this.run(`reading shard ${index}`, async (client) => {
      const shard = (await client.query<{ metadata: ShardMetadata }>('SELECT metadata FROM shards WHERE plan_id = $1 AND shard = $2', [plan.id, index])).rows[0];
      const redo = `delete its row (DELETE FROM shards WHERE plan_id = '${plan.id}' AND shard = ${index}) and embed shard ${index}/${plan.shards.length} again`;
      if (!shard) throw new Error(`shard ${index} of plan ${plan.id.slice(0, 12)} is not committed in the store; embed it first`);
      const { metadata } = shard;
      const { rows } = await client.query<{ content_hash: string; embedding: Buffer }>(
        'SELECT content_hash, embedding FROM image_embeddings WHERE model_fp = $1 AND preprocess_fp = $2 AND content_hash = ANY($3::text[])',
        [metadata.model_fp, metadata.preprocess_fp, [...new Set(metadata.content_hashes)]],
      );
      const byHash = new Map(rows.map((row) => [row.content_hash, row.embedding]));
      const matrix = new Float32Array(metadata.keys.length * metadata.dim);
      let missing = 0;
      metadata.content_hashes.forEach((hash, r) => {
        const bytes = byHash.get(hash);
        if (!bytes || bytes.byteLength !== metadata.dim * 4) missing++;
        else matrix.set(float32FromLittleEndian(bytes), r * metadata.dim);
      });
      if (missing) throw new Error(`shard ${index} is committed but ${missing} of its ${metadata.keys.length} embeddings are missing or of another size in the store (pruned?); ${redo}`);
      return { metadata, embeddings: matrix };
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  // --- plumbing

  private async run<T>(doing: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: Awaited<ReturnType<typeof checkout>>;
    try {
      client = await checkout(this.pool);
    } catch (error) {
      throw storeError(this.address, doing, error);
    }
    let broken = false;
    try {
      return await work(client);
    } catch (error) {
      broken = isConnectionFailure(error);
      throw (error as PgError).code !== undefined || broken ? storeError(this.address, doing, error) : error;
    } finally {
      client.done(broken);
    }
  }

  private async inTransaction<T>(client: pg.PoolClient, work: () => Promise<T>): Promise<T> {
    await client.query('BEGIN');
    try {
      const result = await work();
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }

  /** The value of each key (`select` returns rows of key and value), or undefined; all undefined once the cache is off. */
  private async lookup<V>(keys: readonly string[], select: (client: pg.PoolClient) => Promise<pg.QueryResult<{ key: string; value: V }>>): Promise<(V | undefined)[]> {
    if (this.state === 'off' || !keys.length) return keys.map(() => undefined);
    try {
      const { rows } = await this.run('reading the cache', select);
      const byKey = new Map(rows.map((row) => [row.key, row.value]));
      return keys.map((key) => byKey.get(key));
    } catch (error) {
      if (!(error instanceof StoreError) || !isStorageFailure(error.cause ?? error)) throw error;
      this.stop('off', `${error.message}; continuing without the cache`);
      return keys.map(() => undefined);
    }
  }

  /** One transaction of cache writes; on storage trouble, warns once and stops writing (or stops the cache). */
  private async write(work: (client: pg.PoolClient) => Promise<unknown>): Promise<void> {
    if (this.state !== 'read-write') return;
    try {
      await this.run('writing embeddings', (client) => this.inTransaction(client, () => work(client)));
    } catch (error) {
      const cause = error instanceof StoreError ? error.cause ?? error : error;
      if (!(error instanceof StoreError) || !isStorageFailure(cause)) throw error;
      if (error.unreachable) this.stop('off', `${error.message}; continuing without the cache`);
      else this.stop('read-only', `${error.message}; continuing without saving new embeddings`);
    }
  }

  private stop(state: CacheState, message: string): void {
    this.state = state;
    this.session.writes_disabled = true;
    this.warn(message);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// `zeroshot cache stats | check` on a store

/** Operations the user asks for by name, on a store that must exist: connect read-only, refuse an empty database. */
async function withExistingStore<T>(url: string, work: (client: pg.PoolClient, address: Address) => Promise<T>): Promise<T> {
  const { pool, address, checked } = await connectStore(url, true);
  try {
    if (checked === 'empty') throw new StoreError(`PostgreSQL database ${address.display} holds no zeroshot store yet (a run with --cache or a worker with --store creates it)`, false);
    const client = await checkout(pool);
    try {
      return await work(client, address);
    } catch (error) {
      throw storeError(address, 'reading it', error);
    } finally {
      client.done();
    }
  } finally {
    await pool.end();
  }
}

/** Every model fingerprint in the store, registered or not, with its label. */
const MODELS_SQL = `SELECT f.model_fp, m.label
  FROM (SELECT model_fp FROM models UNION SELECT model_fp FROM image_embeddings UNION SELECT model_fp FROM text_embeddings) AS f
  LEFT JOIN models AS m USING (model_fp) ORDER BY f.model_fp`;

export interface StoreStats extends CacheFileStats {
  /** Committed shards, and of how many plans. */
  shards: number;
  plans: number;
}

/**
 * The database's size, per model and preprocessing how many embeddings it holds (bytes: embedding data), how many
 * file hashes it remembers (for every machine), and its committed shards.
 */
export async function postgresCacheStats(url: string): Promise<StoreStats> {
  return withExistingStore(url, async (client, address) => {
    const number = (value: unknown) => Number(value ?? 0);
    const size = (await client.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes')).rows[0];
    const models = new Map<string, ModelStats>();
    const listed = await client.query<{ model_fp: string; label: ModelLabel | null }>(MODELS_SQL);
    for (const { model_fp, label } of listed.rows) models.set(model_fp, { model_fp, label, images: 0, image_bytes: 0, texts: 0, text_bytes: 0, preprocessings: [] });
    const images = await client.query<{ model_fp: string; preprocess_fp: string; count: string; bytes: string; paths: string }>(
      `SELECT e.model_fp, e.preprocess_fp, e.count, e.bytes,
         (SELECT COUNT(*) FROM image_paths AS p WHERE p.model_fp = e.model_fp AND p.preprocess_fp = e.preprocess_fp) AS paths
       FROM (SELECT model_fp, preprocess_fp, COUNT(*) AS count, SUM(octet_length(embedding)) AS bytes
             FROM image_embeddings GROUP BY model_fp, preprocess_fp) AS e ORDER BY e.model_fp, e.preprocess_fp`,
    );
    for (const row of images.rows) {
      const model = models.get(row.model_fp)!;
      model.images += number(row.count);
      model.image_bytes += number(row.bytes);
      model.preprocessings.push({ preprocess_fp: row.preprocess_fp, images: number(row.count), image_bytes: number(row.bytes), paths: number(row.paths) });
    }
    const texts = await client.query<{ model_fp: string; count: string; bytes: string }>(
      'SELECT model_fp, COUNT(*) AS count, SUM(octet_length(embedding)) AS bytes FROM text_embeddings GROUP BY model_fp',
    );
    for (const row of texts.rows) Object.assign(models.get(row.model_fp)!, { texts: number(row.count), text_bytes: number(row.bytes) });
    const fileHashes = (await client.query<{ n: string }>('SELECT COUNT(*) AS n FROM file_hashes')).rows[0];
    const shards = (await client.query<{ shards: string; plans: string }>('SELECT COUNT(*) AS shards, COUNT(DISTINCT plan_id) AS plans FROM shards')).rows[0];
    return {
      path: address.display,
      file_bytes: number(size.bytes),
      wal_bytes: 0,
      models: [...models.values()],
      file_hashes: number(fileHashes.n),
      shards: number(shards.shards),
      plans: number(shards.plans),
    };
  });
}

/**
 * `cache check` on a store: the schema and its version (checked on connecting), then whether the rows agree: each
 * committed shard's embeddings are all there with its dimension, and each model's embeddings are of one size.
 */
export async function checkPostgresStore(url: string): Promise<CacheCheck> {
  return withExistingStore(url, async (client, address) => {
    const problems: string[] = [];
    const shards = await client.query<{ plan_id: string; shard: number; missing: string }>(
      `SELECT s.plan_id, s.shard, COUNT(*) AS missing
       FROM shards AS s CROSS JOIN LATERAL json_array_elements_text(s.metadata -> 'content_hashes') AS h (content_hash)
       WHERE NOT EXISTS (
         SELECT 1 FROM image_embeddings AS e
         WHERE e.model_fp = s.metadata ->> 'model_fp' AND e.preprocess_fp = s.metadata ->> 'preprocess_fp' AND e.content_hash = h.content_hash
           AND octet_length(e.embedding) = 4 * (s.metadata ->> 'dim')::int)
       GROUP BY s.plan_id, s.shard ORDER BY s.plan_id, s.shard LIMIT 100`,
    );
    for (const row of shards.rows) {
      problems.push(`shard ${row.shard} of plan ${row.plan_id.slice(0, 12)}: ${row.missing} embeddings missing or of another size (DELETE FROM shards WHERE plan_id = '${row.plan_id}' AND shard = ${row.shard}, then embed it again)`);
    }
    for (const table of ['image_embeddings', 'text_embeddings']) {
      const sizes = await client.query<{ model_fp: string; sizes: string }>(
        `SELECT model_fp, string_agg(DISTINCT octet_length(embedding)::text, ', ') AS sizes FROM ${table} GROUP BY model_fp HAVING COUNT(DISTINCT octet_length(embedding)) > 1`,
      );
      for (const row of sizes.rows) problems.push(`${table}: model ${row.model_fp.slice(0, 12)} has embeddings of several sizes (${row.sizes} bytes)`);
    }
    return { path: address.display, ok: problems.length === 0, problems };
  });
}

/**
 * `cache prune --file-hashes` on a store: removes the file hashes no run has used for `olderThanDays` days (rows
 * written before seen_at existed count as unused). Machines sharing the store each have their own files, so age is
 * the test, not whether a path exists here; a file still in use just has its hash read and remembered again.
 */
export async function prunePostgresFileHashes(url: string, olderThanDays: number): Promise<FileHashPruneResult> {
  if (!(olderThanDays >= 0)) throw new StoreError(`--older-than ${olderThanDays}: give a number of days ≥ 0`, false);
  return withExistingStore(url, async (client, address) => {
    const entries = Number((await client.query<{ n: string }>('SELECT COUNT(*) AS n FROM file_hashes')).rows[0].n);
    const before = Date.now() - olderThanDays * 24 * 3600 * 1000;
    const removed = (await hasSeenAt(client))
      ? await client.query('DELETE FROM file_hashes WHERE seen_at IS NULL OR seen_at < $1', [Math.floor(before)])
      : await client.query('DELETE FROM file_hashes');
    return { path: address.display, entries, removed: removed.rowCount ?? 0 };
  });
}

export interface StorePruneResult {
  model_fp: string;
  label: ModelLabel | null;
  images: number;
  image_paths: number;
  texts: number;
  /** Committed shards of the model, removed with its embeddings: embed them again to collect their plan. */
  shards: number;
}

/**
 * `cache prune MODEL` on a store: every row of one model (selected as in an SQLite file: fingerprint, prefix or id),
 * its committed shards included, in one transaction. The space is reused by the database (autovacuum); VACUUM FULL
 * gives it back to the file system, locking the tables meanwhile.
 */
export async function prunePostgresModel(url: string, modelSelector: string): Promise<StorePruneResult> {
  return withExistingStore(url, async (client) => {
    const model = chooseModel((await client.query<{ model_fp: string; label: ModelLabel | null }>(MODELS_SQL)).rows, modelSelector);
    await client.query('BEGIN');
    try {
      const remove = async (sql: string) => (await client.query(sql, [model.model_fp])).rowCount ?? 0;
      const removed = {
        shards: await remove("DELETE FROM shards WHERE metadata ->> 'model_fp' = $1"),
        images: await remove('DELETE FROM image_embeddings WHERE model_fp = $1'),
        image_paths: await remove('DELETE FROM image_paths WHERE model_fp = $1'),
        texts: await remove('DELETE FROM text_embeddings WHERE model_fp = $1'),
      };
      await remove('DELETE FROM models WHERE model_fp = $1');
      await client.query('COMMIT');
      return { model_fp: model.model_fp, label: model.label, ...removed };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  });
}

/** Rows of an export fetched at a time. */
const EXPORT_PAGE = 1000;

/**
 * `cache export MODEL` on a store: the same files as from a cache file (cache_admin.ts ExportWriter), rows in
 * content-hash order, read page by page in one snapshot (REPEATABLE READ), so the header's count and the rows agree
 * while workers keep writing.
 */
export async function exportPostgresImageEmbeddings(url: string, modelSelector: string, outDir: string, options: { preprocessFp?: string } = {}): Promise<ExportResult> {
  return withExistingStore(url, async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const model = chooseModel((await client.query<{ model_fp: string; label: ModelLabel | null }>(MODELS_SQL)).rows, modelSelector);
      const counts = await client.query<{ preprocess_fp: string; count: string }>(
        'SELECT preprocess_fp, COUNT(*) AS count FROM image_embeddings WHERE model_fp = $1 GROUP BY preprocess_fp ORDER BY preprocess_fp',
        [model.model_fp],
      );
      const preprocessFp = choosePreprocessing(counts.rows.map((row) => ({ preprocess_fp: row.preprocess_fp, count: Number(row.count) })), model.model_fp, options.preprocessFp);
      const shape = (await client.query<{ rows: string; min_bytes: number; max_bytes: number }>(
        'SELECT COUNT(*) AS rows, MIN(octet_length(embedding)) AS min_bytes, MAX(octet_length(embedding)) AS max_bytes FROM image_embeddings WHERE model_fp = $1 AND preprocess_fp = $2',
        [model.model_fp, preprocessFp],
      )).rows[0];
      const rows = Number(shape.rows);
      const dim = exportDim(model, shape);
      const writer = new ExportWriter(outDir, { model_fp: model.model_fp, model: model.label, preprocess_fp: preprocessFp, rows, dim });
      try {
        // Keyset pages on the primary key; lower-case hex sorts alike in every collation, and as SQLite sorts it.
        for (let after = ''; ; ) {
          const page = await client.query<{ content_hash: string; embedding: Buffer; path: string | null }>(
            `SELECT e.content_hash, e.embedding,
               (SELECT p.path FROM image_paths AS p
                WHERE p.model_fp = e.model_fp AND p.preprocess_fp = e.preprocess_fp AND p.content_hash = e.content_hash
                ORDER BY p.seen_at DESC, p.path LIMIT 1) AS path
             FROM image_embeddings AS e WHERE e.model_fp = $1 AND e.preprocess_fp = $2 AND e.content_hash > $3 ORDER BY e.content_hash LIMIT $4`,
            [model.model_fp, preprocessFp, after, EXPORT_PAGE],
          );
          if (!page.rows.length) break;
          for (const row of page.rows) writer.write(row.content_hash, row.embedding, row.path);
          after = page.rows[page.rows.length - 1].content_hash;
        }
        writer.commit();
      } catch (error) {
        writer.abort();
        throw error;
      }
      await client.query('COMMIT');
      return { model_fp: model.model_fp, preprocess_fp: preprocessFp, rows, dim, files: writer.files };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  });
}
