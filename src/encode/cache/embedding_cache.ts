import { closeSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'csv-stringify/sync';
import { fileLocationProblem } from '../../report/writable_path.js';
import type { FileHashMemo } from './fingerprint.js';
import { float32FromLittleEndian, float32ToLittleEndian, NpyFloat32Writer } from './npy.js';

// ---------------------------------------------------------------------------------------------------------------
// The file format

export const CACHE_FORMAT = 'zeroshot-embedding-cache';
export const CACHE_SCHEMA_VERSION = 1;
/** `PRAGMA application_id` 'ZSEC': tells a zeroshot cache from any other SQLite file. */
const APPLICATION_ID = 0x5a534543;
// Rows are a whole embedding (2–5 KB); large pages waste less space on rows that do not fit a page's remainder.
const PAGE_SIZE = 32768;

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
  CREATE TABLE file_hashes (              -- content hashes of model files, so a run need not re-read them
    path     TEXT PRIMARY KEY,
    size     INTEGER NOT NULL,
    mtime_ms REAL NOT NULL,
    sha256   TEXT NOT NULL
  );
  PRAGMA application_id = ${APPLICATION_ID};
  PRAGMA user_version = ${CACHE_SCHEMA_VERSION};
`;

/** `$ZEROSHOT_CACHE`, else `$XDG_CACHE_HOME/zeroshot/embeddings.sqlite`, else `~/.cache/zeroshot/embeddings.sqlite`. */
export function defaultEmbeddingCachePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ZEROSHOT_CACHE) return env.ZEROSHOT_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'zeroshot', 'embeddings.sqlite');
}

/** The file is no cache of ours, or of a newer zeroshot: the user must pick another file, so this is thrown. */
export class EmbeddingCacheError extends Error {
  override name = 'EmbeddingCacheError';
}

type SqliteDatabase = Database.Database;

/** Opens `path` and checks it is a zeroshot cache (or empty) without writing to it. */
function connect(path: string, readOnly: boolean, busyTimeoutMs: number): { db: SqliteDatabase; initialised: boolean } {
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
    applicationId = db.pragma('application_id', { simple: true }) as number;
    version = db.pragma('user_version', { simple: true }) as number;
    tables = db.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all();
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
  db.pragma(`page_size = ${PAGE_SIZE}`); // only takes effect while the file is still empty
  db.pragma('journal_mode = WAL');
  // IMMEDIATE and re-checked inside: two processes may both have seen the file empty.
  db.transaction(() => {
    if (!checkFormat(db, path)) db.exec(SCHEMA);
  }).immediate();
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
function namingDamage(path: string, error: unknown): unknown {
  return isCorruption(error) ? new EmbeddingCacheError(corruptionMessage(path, error)) : error;
}

function describe(error: unknown): string {
  const code = sqliteCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.startsWith(code) ? `${code}: ${message}` : message;
}

// ---------------------------------------------------------------------------------------------------------------
// The cache a run uses

export interface OpenCacheOptions {
  /** Called once per problem that makes the run continue without (part of) the cache. */
  onWarning?: (message: string) => void;
  /** Use the cached embeddings without adding any. */
  readOnly?: boolean;
  /** Largest size of the database; when reached, writes stop with a warning, as on a full disk. */
  maxBytes?: number;
  /** How long to wait for another process's write to finish. */
  busyTimeoutMs?: number;
  /**
   * The path was asked for (--cache): a location that cannot hold it (a folder, a virtual file system such as
   * /proc, a folder that is not writable) is an EmbeddingCacheError. Otherwise it warns and the run goes on without.
   */
  required?: boolean;
}

/** Which model and image preprocessing produced an image embedding. */
export interface ImageScope {
  modelFp: string;
  preprocessFp: string;
}

/** What the caller registers about a model fingerprint, for people reading `cache stats`. */
export interface ModelLabel {
  id: string;
  revision?: string;
  dtype?: string;
  dim?: number;
  [field: string]: unknown;
}

/** This session's use of the cache, for run.json. */
export interface CacheSessionStats {
  image_hits: number;
  image_misses: number;
  text_hits: number;
  text_misses: number;
  writes_disabled: boolean;
}

/**
 * Opens (creating if needed) the cache at `path`. Returns null, after a warning, when the cache cannot be used at
 * all (folder or file cannot be created, or cannot be opened); throws EmbeddingCacheError when `path` is another
 * kind of file or a cache of a newer schema. A cache that turns out unwritable (read-only, disk full, I/O errors)
 * keeps serving reads: its first failing write warns once and stops further writes.
 */
export function openEmbeddingCache(path: string, options: OpenCacheOptions = {}): EmbeddingCache | null {
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
    if (initialised) return new EmbeddingCache(file, db, warn, 'read-only');
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
  // Per connection. A cache that turns out read-only, full or failing is noticed by its first write.
  db.pragma('synchronous = NORMAL');
  if (options.maxBytes !== undefined) db.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxBytes / PAGE_SIZE))}`);
  return new EmbeddingCache(file, db, warn, 'read-write');
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
    getFileHash: db.prepare<[string, number, number], string>('SELECT sha256 FROM file_hashes WHERE path = ? AND size = ? AND mtime_ms = ?').pluck(),
    putFileHash: db.prepare<[string, number, number, string]>('INSERT OR REPLACE INTO file_hashes (path, size, mtime_ms, sha256) VALUES (?, ?, ?, ?)'),
    putModel: db.prepare<[string, string]>(
      'INSERT INTO models (model_fp, label) VALUES (?, ?) ON CONFLICT (model_fp) DO UPDATE SET label = excluded.label',
    ),
  };
}

/** Embeddings by content: images by (model, preprocessing, image bytes), texts by (model, text). */
export class EmbeddingCache {
  private readonly session: CacheSessionStats;
  private readonly statements: ReturnType<typeof prepareStatements>;

  /** Use openEmbeddingCache. */
  constructor(
    readonly path: string,
    private readonly db: SqliteDatabase,
    private readonly warn: (message: string) => void,
    private state: CacheState,
  ) {
    this.statements = prepareStatements(db);
    this.session = { image_hits: 0, image_misses: 0, text_hits: 0, text_misses: 0, writes_disabled: state !== 'read-write' };
  }

  /** Records what a model fingerprint stands for (shown by `cache stats`, used to select a model by id). */
  registerModel(modelFp: string, label: ModelLabel): void {
    this.write(() => this.statements.putModel.run(modelFp, JSON.stringify(label)));
  }

  /** A file-hash memo backed by the cache: ONNX files of hundreds of MB are hashed once, not on every run. */
  get fileHashes(): FileHashMemo {
    return {
      get: (file) => (this.state === 'off' ? undefined : this.guardRead(() => this.statements.getFileHash.get(file.path, file.size, file.mtimeMs), undefined)),
      set: (file, sha256) => this.write(() => this.statements.putFileHash.run(file.path, file.size, file.mtimeMs, sha256)),
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

// ---------------------------------------------------------------------------------------------------------------
// `cache stats | prune | export`: operations the user asks for by name, so failures throw.

function connectExisting(path: string, readOnly: boolean): { db: SqliteDatabase; initialised: boolean } {
  const file = resolve(path);
  if (!statSync(file, { throwIfNoEntry: false })?.isFile()) throw new EmbeddingCacheError(`no embedding cache at '${file}'`);
  return connect(file, readOnly, 30_000);
}

function fileBytes(path: string): number {
  return statSync(path, { throwIfNoEntry: false })?.size ?? 0;
}

export interface PreprocessingStats {
  preprocess_fp: string;
  images: number;
  image_bytes: number;
  paths: number;
}

export interface ModelStats {
  model_fp: string;
  label: ModelLabel | null;
  images: number;
  image_bytes: number;
  texts: number;
  text_bytes: number;
  preprocessings: PreprocessingStats[];
}

export interface CacheFileStats {
  path: string;
  file_bytes: number;
  wal_bytes: number;
  models: ModelStats[];
}

/** Size of the cache file and, per model and preprocessing, how many embeddings it holds (bytes: embedding data). */
export function cacheStats(path: string): CacheFileStats {
  const file = resolve(path);
  const { db, initialised } = connectExisting(file, true);
  try {
    const stats: CacheFileStats = { path: file, file_bytes: fileBytes(file), wal_bytes: fileBytes(`${file}-wal`), models: [] };
    if (!initialised) return stats;
    const models = new Map<string, ModelStats>();
    for (const { model_fp, label } of listModels(db)) {
      models.set(model_fp, { model_fp, label, images: 0, image_bytes: 0, texts: 0, text_bytes: 0, preprocessings: [] });
    }
    const images = db.prepare<[], { model_fp: string; preprocess_fp: string; count: number; bytes: number }>(
      `SELECT model_fp, preprocess_fp, COUNT(*) AS count, SUM(length(embedding)) AS bytes
       FROM image_embeddings GROUP BY model_fp, preprocess_fp`,
    ).all();
    const paths = new Map(
      db.prepare<[], { model_fp: string; preprocess_fp: string; count: number }>(
        'SELECT model_fp, preprocess_fp, COUNT(*) AS count FROM image_paths GROUP BY model_fp, preprocess_fp',
      ).all().map((row) => [`${row.model_fp}\0${row.preprocess_fp}`, row.count]),
    );
    for (const row of images) {
      const model = models.get(row.model_fp)!;
      model.images += row.count;
      model.image_bytes += row.bytes;
      const pathCount = paths.get(`${row.model_fp}\0${row.preprocess_fp}`) ?? 0;
      model.preprocessings.push({ preprocess_fp: row.preprocess_fp, images: row.count, image_bytes: row.bytes, paths: pathCount });
    }
    const texts = db.prepare<[], { model_fp: string; count: number; bytes: number }>(
      'SELECT model_fp, COUNT(*) AS count, SUM(length(embedding)) AS bytes FROM text_embeddings GROUP BY model_fp',
    ).all();
    for (const row of texts) Object.assign(models.get(row.model_fp)!, { texts: row.count, text_bytes: row.bytes });
    stats.models = [...models.values()];
    return stats;
  } catch (error) {
    throw namingDamage(file, error);
  } finally {
    db.close();
  }
}

/** Every model fingerprint in the cache, registered or not, with its label. */
function listModels(db: SqliteDatabase): { model_fp: string; label: ModelLabel | null }[] {
  const rows = db.prepare<[], { model_fp: string; label: string | null }>(
    `SELECT f.model_fp, m.label
     FROM (SELECT model_fp FROM models UNION SELECT model_fp FROM image_embeddings UNION SELECT model_fp FROM text_embeddings) AS f
     LEFT JOIN models AS m USING (model_fp) ORDER BY f.model_fp`,
  ).all();
  return rows.map((row) => ({ model_fp: row.model_fp, label: row.label === null ? null : (JSON.parse(row.label) as ModelLabel) }));
}

const MIN_PREFIX = 8;

/** A fingerprint given in full, or by a prefix long enough to mean one on purpose. */
function matchFingerprints(candidates: readonly string[], selector: string): string[] {
  if (candidates.includes(selector)) return [selector];
  return selector.length >= MIN_PREFIX ? candidates.filter((fp) => fp.startsWith(selector)) : [];
}

/** A model by fingerprint, fingerprint prefix (≥ 8 characters), or the id of its label when only one model has it. */
function selectModel(db: SqliteDatabase, initialised: boolean, selector: string): { model_fp: string; label: ModelLabel | null } {
  const models = initialised ? listModels(db) : [];
  const byFingerprint = matchFingerprints(models.map((m) => m.model_fp), selector);
  const matches = byFingerprint.length ? models.filter((m) => byFingerprint.includes(m.model_fp)) : models.filter((m) => m.label?.id === selector);
  if (matches.length === 1) return matches[0];
  const describeModel = (m: (typeof models)[number]) => `${m.model_fp.slice(0, 12)} ${m.label ? JSON.stringify(m.label) : '(no label)'}`;
  if (matches.length > 1) {
    throw new EmbeddingCacheError(`model '${selector}' is ambiguous; it matches:\n  ${matches.map(describeModel).join('\n  ')}\nGive more of the fingerprint.`);
  }
  const known = models.length ? `its models:\n  ${models.map(describeModel).join('\n  ')}` : 'it holds no embeddings';
  throw new EmbeddingCacheError(`the cache has no model '${selector}' (give a fingerprint, a prefix of ≥ ${MIN_PREFIX} characters, or a model id); ${known}`);
}

export interface PruneResult {
  model_fp: string;
  label: ModelLabel | null;
  images: number;
  image_paths: number;
  texts: number;
  vacuumed: boolean;
  file_bytes_before: number;
  file_bytes_after: number;
}

/** Removes every entry of one model; with `vacuum`, also gives the freed space back to the file system. */
export function pruneModel(path: string, modelSelector: string, options: { vacuum?: boolean } = {}): PruneResult {
  const file = resolve(path);
  const totalBytes = () => fileBytes(file) + fileBytes(`${file}-wal`);
  const { db, initialised } = connectExisting(file, false);
  try {
    const model = selectModel(db, initialised, modelSelector);
    const bytesBefore = totalBytes();
    const removeFrom = (table: string) => db.prepare(`DELETE FROM ${table} WHERE model_fp = ?`).run(model.model_fp).changes;
    const removed = db.transaction(() => {
      removeFrom('models');
      return { images: removeFrom('image_embeddings'), image_paths: removeFrom('image_paths'), texts: removeFrom('text_embeddings') };
    }).immediate();
    if (options.vacuum) {
      db.exec('VACUUM');
      db.pragma('wal_checkpoint(TRUNCATE)');
    }
    return {
      model_fp: model.model_fp,
      label: model.label,
      images: removed.images,
      image_paths: removed.image_paths,
      texts: removed.texts,
      vacuumed: options.vacuum ?? false,
      file_bytes_before: bytesBefore,
      file_bytes_after: totalBytes(),
    };
  } catch (error) {
    throw namingDamage(file, error);
  } finally {
    db.close();
  }
}

export const EXPORT_FILES = { embeddings: 'embeddings.npy', csv: 'index.csv', json: 'index.json' } as const;

export interface ExportResult {
  model_fp: string;
  preprocess_fp: string;
  rows: number;
  dim: number;
  files: string[];
}

/**
 * Writes one model's image embeddings to `outDir`: embeddings.npy (rows × dim float32), index.csv and index.json
 * (row, content hash, last path seen). Rows stream from the database to the files; each file appears complete or
 * not at all. A model embedded with several preprocessings needs `preprocessFp` (a fingerprint or ≥ 8-char prefix).
 */
export function exportImageEmbeddings(path: string, modelSelector: string, outDir: string, options: { preprocessFp?: string } = {}): ExportResult {
  const { db, initialised } = connectExisting(path, true);
  try {
    const model = selectModel(db, initialised, modelSelector);
    // One read transaction: the count in the header and the rows written come from the same snapshot.
    return db.transaction(() => {
      const preprocessFp = selectPreprocessing(db, model.model_fp, options.preprocessFp);
      mkdirSync(outDir, { recursive: true });
      return writeExport(db, model, preprocessFp, outDir);
    })();
  } catch (error) {
    throw namingDamage(resolve(path), error);
  } finally {
    db.close();
  }
}

function selectPreprocessing(db: SqliteDatabase, modelFp: string, selector: string | undefined): string {
  const counts = db.prepare<[string], { preprocess_fp: string; count: number }>(
    'SELECT preprocess_fp, COUNT(*) AS count FROM image_embeddings WHERE model_fp = ? GROUP BY preprocess_fp',
  ).all(modelFp);
  if (!counts.length) throw new EmbeddingCacheError(`model ${modelFp.slice(0, 12)} has no image embeddings in the cache`);
  const matches = selector === undefined ? counts.map((c) => c.preprocess_fp) : matchFingerprints(counts.map((c) => c.preprocess_fp), selector);
  if (matches.length === 1) return matches[0];
  const listing = counts.map((c) => `${c.preprocess_fp} (${c.count} images)`).join('\n  ');
  const problem = selector === undefined ? 'was embedded with several image preprocessings' : `has no single preprocessing '${selector}'`;
  throw new EmbeddingCacheError(`model ${modelFp.slice(0, 12)} ${problem}; choose one of:\n  ${listing}`);
}

function writeExport(db: SqliteDatabase, model: { model_fp: string; label: ModelLabel | null }, preprocessFp: string, outDir: string): ExportResult {
  const shape = db.prepare<[string, string], { rows: number; min_bytes: number; max_bytes: number }>(
    `SELECT COUNT(*) AS rows, MIN(length(embedding)) AS min_bytes, MAX(length(embedding)) AS max_bytes
     FROM image_embeddings WHERE model_fp = ? AND preprocess_fp = ?`,
  ).get(model.model_fp, preprocessFp)!;
  if (shape.min_bytes !== shape.max_bytes) {
    throw new EmbeddingCacheError(`model ${model.model_fp.slice(0, 12)} has embeddings of different sizes (${shape.min_bytes} and ${shape.max_bytes} bytes); the cache is damaged`);
  }
  const dim = shape.max_bytes / 4;
  const rows = db.prepare<[string, string], { content_hash: string; embedding: Buffer; path: string | null }>(
    `SELECT e.content_hash, e.embedding,
       (SELECT p.path FROM image_paths AS p
        WHERE p.model_fp = e.model_fp AND p.preprocess_fp = e.preprocess_fp AND p.content_hash = e.content_hash
        ORDER BY p.seen_at DESC, p.path LIMIT 1) AS path
     FROM image_embeddings AS e WHERE e.model_fp = ? AND e.preprocess_fp = ? ORDER BY e.content_hash`,
  );
  const npyFile = new StagedFile(join(outDir, EXPORT_FILES.embeddings));
  const csvFile = new StagedFile(join(outDir, EXPORT_FILES.csv));
  const jsonFile = new StagedFile(join(outDir, EXPORT_FILES.json));
  const files = [npyFile, csvFile, jsonFile];
  try {
    const npy = new NpyFloat32Writer(shape.rows, dim, (chunk) => npyFile.write(chunk));
    csvFile.write(stringify([['row', 'content_hash', 'path']]));
    const head = { format: CACHE_FORMAT, model_fp: model.model_fp, model: model.label, preprocess_fp: preprocessFp, shape: [shape.rows, dim] };
    // The head object, left open for the rows array that follows it.
    jsonFile.write(JSON.stringify(head, null, 2).replace(/\n}$/, ',\n  "rows": ['));
    let row = 0;
    for (const entry of rows.iterate(model.model_fp, preprocessFp)) {
      npy.writeRow(entry.embedding);
      csvFile.write(stringify([[row, entry.content_hash, entry.path ?? '']]));
      jsonFile.write(`${row ? ',' : ''}\n    ${JSON.stringify({ row, content_hash: entry.content_hash, path: entry.path })}`);
      row++;
    }
    npy.finish();
    jsonFile.write(row ? '\n  ]\n}\n' : ']\n}\n');
    for (const file of files) file.commit();
  } catch (error) {
    for (const file of files) file.abort();
    throw error;
  }
  return { model_fp: model.model_fp, preprocess_fp: preprocessFp, rows: shape.rows, dim, files: files.map((f) => f.path) };
}

/** A file written through a buffer into a temporary name, renamed into place on commit. */
class StagedFile {
  private readonly temporary: string;
  private readonly fd: number;
  private buffer = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  private closed = false;

  constructor(readonly path: string) {
    this.temporary = `${path}.${process.pid}.tmp`;
    this.fd = openSync(this.temporary, 'w');
  }

  write(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.used + bytes.byteLength > this.buffer.byteLength) this.flush();
    if (bytes.byteLength > this.buffer.byteLength) writeAll(this.fd, bytes, bytes.byteLength);
    else {
      this.buffer.set(bytes, this.used);
      this.used += bytes.byteLength;
    }
  }

  commit(): void {
    this.flush();
    this.close();
    renameSync(this.temporary, this.path);
  }

  abort(): void {
    this.close();
    rmSync(this.temporary, { force: true });
  }

  private flush(): void {
    writeAll(this.fd, this.buffer, this.used);
    this.used = 0;
  }

  private close(): void {
    if (!this.closed) closeSync(this.fd);
    this.closed = true;
  }
}

function writeAll(fd: number, bytes: Uint8Array, length: number): void {
  for (let offset = 0; offset < length; ) offset += writeSync(fd, bytes, offset, length - offset);
}

export interface CacheCheck {
  path: string;
  /** SQLite's `PRAGMA integrity_check` found nothing wrong. */
  ok: boolean;
  /** What it found (at most 100 lines), or why the file could not be checked. */
  problems: string[];
}

/** Runs SQLite's integrity check on the cache file, read-only: for `zeroshot cache check`. */
export function checkCache(path: string): CacheCheck {
  const file = resolve(path);
  if (!statSync(file, { throwIfNoEntry: false })?.isFile()) throw new EmbeddingCacheError(`no embedding cache at '${file}'`);
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const lines = db.prepare<[], string>('PRAGMA integrity_check(100)').pluck().all();
    const ok = lines.length === 1 && lines[0] === 'ok';
    return { path: file, ok, problems: ok ? [] : lines };
  } catch (error) {
    return { path: file, ok: false, problems: [describe(error)] };
  } finally {
    db?.close();
  }
}
