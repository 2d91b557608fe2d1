// The embedded default backend of the embedding cache: one SQLite file (WAL), shared safely by concurrent runs.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { fileLocationProblem } from '../../report/writable_path.js';
import {
  EmbeddingCacheError,
  type CacheSessionStats,
  type EmbeddingCache,
  type ImageScope,
  type ModelLabel,
  type OpenCacheOptions,
} from './embedding_cache.js';
import { stampKey, type FileHashMemo } from './fingerprint.js';
import { float32FromLittleEndian, float32ToLittleEndian } from './npy.js';

// ---------------------------------------------------------------------------------------------------------------
// The file format

export const CACHE_SCHEMA_VERSION = 1;
/** `PRAGMA application_id` 'ZSEC': tells a zeroshot cache from any other SQLite file. */
const APPLICATION_ID = 0x5a534543;
// Rows are a whole embedding (2–5 KB); large pages waste less space on rows that do not fit a page's remainder.
const PAGE_SIZE = 32768;

/**
 * The file's whole stamp (fingerprint.ts stampKey: size, mtime and ctime in ns, device, inode), which a hash is
 * trusted by. Added to caches of schema 1 made before it (ALTER TABLE, see addStampColumn); rows that older zeroshot
 * versions write leave it null, and a null stamp is never trusted.
 */
const STAMP_COLUMN = 'stamp TEXT';

const SCHEMA = `
  CREATE TABLE models (
    model_fp TEXT PRIMARY KEY,
    label    TEXT NOT NULL                 -- JSON, e.g. {"id": "Xenova/clip-vit-base-patch32", "dtype": "fp32", "dim": 512}
  );
  CREATE TABLE image_embeddings (
    model_fp      TEXT NOT NULL,
    preprocess_fp TEXT NOT NULL,
    content_hash  TEXT NOT NULL,           -- sha256 of the image file's bytes
    embedding     BLOB NOT NULL,           -- little-endian float32
    PRIMARY KEY (model_fp, preprocess_fp, content_hash)
  );
  CREATE TABLE image_paths (
    model_fp      TEXT NOT NULL,
    preprocess_fp TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    path          TEXT NOT NULL,
    seen_at       INTEGER NOT NULL,        -- Unix time, ms
    PRIMARY KEY (model_fp, preprocess_fp, content_hash, path)
  ) WITHOUT ROWID;
  CREATE TABLE text_embeddings (
    model_fp  TEXT NOT NULL,
    text      TEXT NOT NULL,
    embedding BLOB NOT NULL,               -- little-endian float32
    PRIMARY KEY (model_fp, text)
  );
  CREATE TABLE file_hashes (              -- content hashes of model and image files, so a run need not re-read them
    path     TEXT PRIMARY KEY,
    size     INTEGER NOT NULL,
    mtime_ms REAL NOT NULL,
    sha256   TEXT NOT NULL,
    ${STAMP_COLUMN}
  );
  PRAGMA application_id = ${APPLICATION_ID};
  PRAGMA user_version = ${CACHE_SCHEMA_VERSION};
`;

export type SqliteDatabase = Database.Database;

/** Opens `path` and checks it is a zeroshot cache (or empty) without writing to it. */
export function connect(path: string, readOnly: boolean, busyTimeoutMs: number): { db: SqliteDatabase; initialised: boolean } {
  const db = new Database(path, readOnly ? { readonly: true, fileMustExist: true } : {});
  try {
    // Before any read: another process may be creating the file right now.
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    return { db, initialised: checkFormat(db, path) };
  } catch (error) {
    db.close();
    throw error;
  }
}

/** true: a cache of this schema; false: an empty database to initialise; otherwise throws. */
function checkFormat(db: SqliteDatabase, path: string): boolean {
  let applicationId: number, version: number, tables: string[];
  try {
    // One snapshot: read one by one, another process's initialisation could commit between the header and the tables.
    [applicationId, version, tables] = db.transaction(() => [
      db.pragma('application_id', { simple: true }) as number,
      db.pragma('user_version', { simple: true }) as number,
      db.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all(),
    ] as const)();
  } catch (error) {
    const code = sqliteCode(error);
    if (isCorruption(error)) throw new EmbeddingCacheError(corruptionMessage(path, error));
    if (code === 'SQLITE_NOTADB') {
      throw new EmbeddingCacheError(
        `'${path}' is not a zeroshot embedding cache (not an SQLite database); it was left unchanged. Choose another file with --cache` +
          ' (if it was a cache, its header is damaged: move it aside and the next run starts a new one, or run with --no-cache).',
      );
    }
    throw error;
  }
  const empty = tables.length === 0 && version === 0;
  if (applicationId === APPLICATION_ID && version > CACHE_SCHEMA_VERSION) {
    throw new EmbeddingCacheError(
      `embedding cache '${path}' was written by a newer zeroshot (schema version ${version}; this one reads ${CACHE_SCHEMA_VERSION}); upgrade or use --cache OTHER`,
    );
  }
  if (applicationId === APPLICATION_ID && version === CACHE_SCHEMA_VERSION) return true;
  if (empty && (applicationId === 0 || applicationId === APPLICATION_ID)) return false;
  const holds = tables.length ? `an SQLite database with tables ${tables.join(', ')}` : `an SQLite database with application_id ${applicationId}`;
  throw new EmbeddingCacheError(`'${path}' is not a zeroshot embedding cache (${holds}); it was left unchanged. Choose another file with --cache.`);
}

function initialise(db: SqliteDatabase, path: string): void {
  // Switching to WAL while another process initialises the same new file can fail with SQLITE_BUSY at once, without
  // the busy handler (SQLite's deadlock avoidance): wait a little and try again, for up to about ten seconds.
  for (let attempt = 0; ; attempt++) {
    try {
      db.pragma(`page_size = ${PAGE_SIZE}`); // only takes effect while the file is still empty
      db.pragma('journal_mode = WAL');
      // IMMEDIATE and re-checked inside: two processes may both have seen the file empty.
      db.transaction(() => {
        if (!checkFormat(db, path)) db.exec(SCHEMA);
      }).immediate();
      return;
    } catch (error) {
      if (!sqliteCode(error)?.startsWith('SQLITE_BUSY') || attempt >= 200) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 + Math.floor(Math.random() * 30));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Failures the run survives: the cache is an optimisation, so storage trouble must not cost the user the run.

const STORAGE_FAILURES = new Set(['SQLITE_FULL', 'SQLITE_READONLY', 'SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_BUSY']);

function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Extended codes (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED…) count as their primary code. */
function isStorageFailure(error: unknown): boolean {
  const code = sqliteCode(error);
  return code !== undefined && STORAGE_FAILURES.has(code.split('_').slice(0, 2).join('_'));
}

/** SQLITE_CORRUPT and its extended codes: the file's pages are damaged ("database disk image is malformed"). */
function isCorruption(error: unknown): boolean {
  return sqliteCode(error)?.startsWith('SQLITE_CORRUPT') ?? false;
}

/** A damaged cache: which file, and the three ways out. */
function corruptionMessage(path: string, error: unknown): string {
  return (
    `embedding cache '${path}' is damaged (${error instanceof Error ? error.message : String(error)}). ` +
    `Ways out: \`zeroshot cache check --cache '${path}'\` runs SQLite's integrity check and lists the damage; ` +
    `move the file aside (e.g. mv '${path}' '${path}.damaged', and its -wal file) and the next run starts a new cache; or run with --no-cache`
  );
}

/** The error to throw from a command on the cache: a damaged file is named, with the ways out. */
export function namingDamage(path: string, error: unknown): unknown {
  return isCorruption(error) ? new EmbeddingCacheError(corruptionMessage(path, error)) : error;
}

export function describe(error: unknown): string {
  const code = sqliteCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.startsWith(code) ? `${code}: ${message}` : message;
}

// ---------------------------------------------------------------------------------------------------------------
// The cache a run uses

/**
 * Opens (creating if needed) the cache at `path`. Returns null, after a warning, when the cache cannot be used at
 * all (folder or file cannot be created, or cannot be opened); throws EmbeddingCacheError when `path` is another
 * kind of file or a cache of a newer schema. A cache that turns out unwritable (read-only, disk full, I/O errors)
 * keeps serving reads: its first failing write warns once and stops further writes.
 */
export function openSqliteCache(path: string, options: OpenCacheOptions = {}): SqliteEmbeddingCache | null {
  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, 'EmbeddingCacheWarning'));
  const file = resolve(path);
  const readOnly = options.readOnly ?? false;
  const withoutCache = (why: string) => {
    warn(`embedding cache '${file}': ${why}; continuing without the cache`);
    return null;
  };
  // Checked before any mkdir: Node's recursive mkdir never returns on /proc.
  const location = fileLocationProblem(file);
  if (location) {
    if (options.required) throw new EmbeddingCacheError(`embedding cache '${file}' cannot be used: ${location}; give another --cache FILE, or --no-cache`);
    return withoutCache(`cannot be used: ${location}`);
  }
  if (!readOnly) {
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (error) {
      return withoutCache(`cannot create its folder (${describe(error)})`);
    }
  }
  let connection: ReturnType<typeof connect>;
  try {
    connection = connect(file, readOnly, options.busyTimeoutMs ?? 30_000);
  } catch (error) {
    if (error instanceof EmbeddingCacheError) throw error;
    return withoutCache(`cannot open it (${describe(error)})`);
  }
  const { db, initialised } = connection;
  if (readOnly) {
    if (initialised) return new SqliteEmbeddingCache(file, db, warn, 'read-only');
    db.close();
    return withoutCache('it holds no embeddings yet');
  }
  if (!initialised) {
    try {
      initialise(db, file);
    } catch (error) {
      db.close();
      if (!isStorageFailure(error)) throw error;
      return withoutCache(`cannot initialise it (${describe(error)})`);
    }
  }
  try {
    addStampColumn(db);
  } catch (error) {
    db.close();
    if (!isStorageFailure(error)) throw error;
    return withoutCache(`cannot add the file stamps column (${describe(error)})`);
  }
  // Per connection. A cache that turns out read-only, full or failing is noticed by its first write.
  db.pragma('synchronous = NORMAL');
  if (options.maxBytes !== undefined) db.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxBytes / PAGE_SIZE))}`);
  return new SqliteEmbeddingCache(file, db, warn, 'read-write');
}

const hasStampColumn = (db: SqliteDatabase) => db.prepare("SELECT 1 FROM pragma_table_info('file_hashes') WHERE name = 'stamp'").get() !== undefined;

/** A cache made before file stamps gets the column; IMMEDIATE and re-checked, since two processes may open it at once. */
function addStampColumn(db: SqliteDatabase): void {
  if (hasStampColumn(db)) return;
  db.transaction(() => {
    if (!hasStampColumn(db)) db.exec(`ALTER TABLE file_hashes ADD COLUMN ${STAMP_COLUMN}`);
  }).immediate();
}

type CacheState = 'read-write' | 'read-only' | 'off';

function prepareStatements(db: SqliteDatabase) {
  return {
    getImage: db.prepare<[string, string, string], Buffer>(
      'SELECT embedding FROM image_embeddings WHERE model_fp = ? AND preprocess_fp = ? AND content_hash = ?',
    ).pluck(),
    putImage: db.prepare<[string, string, string, Buffer]>(
      'INSERT INTO image_embeddings (model_fp, preprocess_fp, content_hash, embedding) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    putPath: db.prepare<[string, string, string, string, number]>(
      'INSERT OR REPLACE INTO image_paths (model_fp, preprocess_fp, content_hash, path, seen_at) VALUES (?, ?, ?, ?, ?)',
    ),
    getText: db.prepare<[string, string], Buffer>('SELECT embedding FROM text_embeddings WHERE model_fp = ? AND text = ?').pluck(),
    putText: db.prepare<[string, string, Buffer]>(
      'INSERT INTO text_embeddings (model_fp, text, embedding) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    putModel: db.prepare<[string, string]>(
      'INSERT INTO models (model_fp, label) VALUES (?, ?) ON CONFLICT (model_fp) DO UPDATE SET label = excluded.label',
    ),
  };
}

function prepareFileHashStatements(db: SqliteDatabase) {
  return {
    get: db.prepare<[string, string], string>('SELECT sha256 FROM file_hashes WHERE path = ? AND stamp = ?').pluck(),
    // mtime_ms too: zeroshot versions before file stamps read it.
    put: db.prepare<[string, number, number, string, string]>('INSERT OR REPLACE INTO file_hashes (path, size, mtime_ms, stamp, sha256) VALUES (?, ?, ?, ?, ?)'),
  };
}

/** Embeddings by content: images by (model, preprocessing, image bytes), texts by (model, text). */
export class SqliteEmbeddingCache implements EmbeddingCache {
  private readonly session: CacheSessionStats;
  private readonly statements: ReturnType<typeof prepareStatements>;
  /** Absent for a read-only cache made before file stamps: nothing in it can be trusted by stamp. */
  private readonly fileHashStatements?: ReturnType<typeof prepareFileHashStatements>;

  /** Use openEmbeddingCache. */
  constructor(
    readonly path: string,
    private readonly db: SqliteDatabase,
    private readonly warn: (message: string) => void,
    private state: CacheState,
  ) {
    this.statements = prepareStatements(db);
    if (hasStampColumn(db)) this.fileHashStatements = prepareFileHashStatements(db);
    this.session = { image_hits: 0, image_misses: 0, text_hits: 0, text_misses: 0, writes_disabled: state !== 'read-write' };
  }

  /** Records what a model fingerprint stands for (shown by `cache stats`, used to select a model by id). */
  registerModel(modelFp: string, label: ModelLabel): void {
    this.write(() => this.statements.putModel.run(modelFp, JSON.stringify(label)));
  }

  /**
   * A file-hash memo backed by the cache: ONNX files of hundreds of MB, and the images of a warm re-run, are not
   * read again while their stamp is unchanged.
   */
  get fileHashes(): FileHashMemo {
    const statements = this.fileHashStatements;
    return {
      get: (files) => {
        const none = files.map(() => undefined);
        if (this.state === 'off' || !statements) return none;
        return this.guardRead(() => this.db.transaction(() => files.map((file) => statements.get.get(file.path, stampKey(file))))(), none);
      },
      set: (entries) => {
        if (!statements) return;
        this.write(() => {
          for (const { file, sha256 } of entries) statements.put.run(file.path, file.size, Number(file.mtimeNs) / 1e6, stampKey(file), sha256);
        });
      },
    };
  }

  /** The cached embedding of each content hash, or undefined; counted as hits and misses. */
  getImageEmbeddings(scope: ImageScope, contentHashes: readonly string[]): (Float32Array | undefined)[] {
    const found = this.read(contentHashes, (hash) => this.statements.getImage.get(scope.modelFp, scope.preprocessFp, hash));
    const hits = found.filter(Boolean).length;
    this.session.image_hits += hits;
    this.session.image_misses += found.length - hits;
    return found;
  }

  /** Stores one batch in one transaction: after a crash, a batch is there whole or not at all. */
  putImageEmbeddings(scope: ImageScope, entries: readonly { contentHash: string; embedding: Float32Array }[]): void {
    this.write(() => {
      for (const { contentHash, embedding } of entries) {
        this.statements.putImage.run(scope.modelFp, scope.preprocessFp, contentHash, float32ToLittleEndian(embedding));
      }
    });
  }

  /** Remembers under which path each content was seen (for export); call it for hits and misses alike. */
  recordImagePaths(scope: ImageScope, entries: readonly { contentHash: string; path: string }[], seenAt = Date.now()): void {
    this.write(() => {
      for (const { contentHash, path } of entries) this.statements.putPath.run(scope.modelFp, scope.preprocessFp, contentHash, path, seenAt);
    });
  }

  getTextEmbeddings(modelFp: string, texts: readonly string[]): (Float32Array | undefined)[] {
    const found = this.read(texts, (text) => this.statements.getText.get(modelFp, text));
    const hits = found.filter(Boolean).length;
    this.session.text_hits += hits;
    this.session.text_misses += found.length - hits;
    return found;
  }

  putTextEmbeddings(modelFp: string, entries: readonly { text: string; embedding: Float32Array }[]): void {
    this.write(() => {
      for (const { text, embedding } of entries) this.statements.putText.run(modelFp, text, float32ToLittleEndian(embedding));
    });
  }

  stats(): CacheSessionStats {
    return { ...this.session };
  }

  close(): void {
    try {
      this.db.close(); // the last connection checkpoints the WAL into the file
    } catch (error) {
      if (!isStorageFailure(error)) throw error;
      this.warn(`embedding cache '${this.path}': closing failed (${describe(error)}); its committed embeddings stay in the WAL file`);
    }
  }

  private read(keys: readonly string[], lookup: (key: string) => Buffer | undefined): (Float32Array | undefined)[] {
    const none = keys.map(() => undefined);
    if (this.state === 'off') return none;
    // One read transaction per batch: one snapshot, one lock.
    return this.guardRead(() => this.db.transaction(() => keys.map((key) => {
      const blob = lookup(key);
      return blob ? float32FromLittleEndian(blob) : undefined;
    }))(), none);
  }

  /** `work`, or `fallback` once the cache is turned off because reading failed (storage trouble, a damaged file). */
  private guardRead<T>(work: () => T, fallback: T): T {
    try {
      return work();
    } catch (error) {
      if (isCorruption(error)) this.stop('off', `${corruptionMessage(this.path, error)}. Continuing without the cache`, false);
      else if (isStorageFailure(error)) this.stop('off', `cannot read it (${describe(error)}); continuing without the cache`);
      else throw error;
      return fallback;
    }
  }

  private write(work: () => void): void {
    if (this.state !== 'read-write') return;
    try {
      // IMMEDIATE: take the write lock up front, so a concurrent writer makes us wait (busy_timeout), not fail.
      this.db.transaction(work).immediate();
    } catch (error) {
      // A damaged file is not read either: what it returns cannot be trusted.
      if (isCorruption(error)) this.stop('off', `${corruptionMessage(this.path, error)}. Continuing without the cache`, false);
      else if (isStorageFailure(error)) this.stop('read-only', `cannot write to it (${describe(error)}); continuing without saving new embeddings`);
      else throw error;
    }
  }

  private stop(state: CacheState, why: string, namePath = true): void {
    this.state = state;
    this.session.writes_disabled = true;
    this.warn(namePath ? `embedding cache '${this.path}': ${why}` : why);
  }
}

/** An existing cache file, for the admin commands: a missing file is an error, not a new cache. */
export function connectExisting(path: string, readOnly: boolean): { db: SqliteDatabase; initialised: boolean } {
  const file = resolve(path);
  if (!statSync(file, { throwIfNoEntry: false })?.isFile()) throw new EmbeddingCacheError(`no embedding cache at '${file}'`);
  return connect(file, readOnly, 30_000);
}
