// `zeroshot cache stats | prune | export | check` on an SQLite cache file: operations the user asks for by name,
// so failures throw.
import { mkdirSync, statSync, type BigIntStats } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'csv-stringify/sync';
import { CACHE_FORMAT, EmbeddingCacheError, type ModelLabel } from './embedding_cache.js';
import { stampKey } from './fingerprint.js';
import { NpyFloat32Writer } from './npy.js';
import { isPostgresUrl } from './open_cache.js';
import { connectExisting, describe, namingDamage, type SqliteDatabase } from './sqlite_cache.js';
import { StagedFile } from './staged_file.js';

/** These functions work on an SQLite file: a PostgreSQL URL is refused by name rather than taken for a file path. */
function sqliteOnly(command: string, path: string): void {
  if (isPostgresUrl(path)) {
    throw new EmbeddingCacheError(`zeroshot cache ${command} is not available for a PostgreSQL store yet; use SQL on the database (its tables: image_embeddings, text_embeddings, image_paths, models, shards)`);
  }
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
  /** Remembered content hashes of model and image files (by path and stamp), of any model: `prune --file-hashes` trims them. */
  file_hashes: number;
}

/**
 * Size of the cache file, per model and preprocessing how many embeddings it holds (bytes: embedding data), and
 * how many file hashes it remembers.
 */
export function cacheStats(path: string): CacheFileStats {
  const file = resolve(path);
  const { db, initialised } = connectExisting(file, true);
  try {
    const stats: CacheFileStats = { path: file, file_bytes: fileBytes(file), wal_bytes: fileBytes(`${file}-wal`), models: [], file_hashes: 0 };
    if (!initialised) return stats;
    stats.file_hashes = db.prepare<[], number>('SELECT COUNT(*) FROM file_hashes').pluck().get()!;
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
  return chooseModel(initialised ? listModels(db) : [], selector);
}

/** Of a cache's or store's models, the one `selector` names (see selectModel); an error listing them otherwise. */
export function chooseModel(models: readonly { model_fp: string; label: ModelLabel | null }[], selector: string): { model_fp: string; label: ModelLabel | null } {
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
  if (isPostgresUrl(path)) throw new EmbeddingCacheError('pruneModel takes an SQLite cache file; a PostgreSQL store has prunePostgresModel');
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

export interface FileHashPruneResult {
  /** The cache file, or the store's URL without its password. */
  path: string;
  /** Remembered file hashes before, and how many were removed. */
  entries: number;
  removed: number;
}

/** Rows of file_hashes looked at per read transaction: the others' writes wait at most that long. */
const FILE_HASH_BATCH = 10_000;

/**
 * Removes the remembered file hashes that can never be used again: the file at the path is gone, or is not the one
 * remembered (its stamp, size, times, device or inode, changed; or the row predates stamps). Such a row would
 * otherwise stay forever, one per file ever seen. An SQLite cache belongs to one machine (its WAL needs shared memory),
 * so this machine's view of the paths is the right one. A row changed meanwhile by a run is left alone.
 */
export function pruneFileHashes(path: string): FileHashPruneResult {
  if (isPostgresUrl(path)) throw new EmbeddingCacheError('pruneFileHashes takes an SQLite cache file; a PostgreSQL store has prunePostgresFileHashes');
  const file = resolve(path);
  const { db, initialised } = connectExisting(file, false);
  try {
    if (!initialised) return { path: file, entries: 0, removed: 0 };
    const hasStamp = db.prepare("SELECT 1 FROM pragma_table_info('file_hashes') WHERE name = 'stamp'").get() !== undefined;
    const page = db.prepare<[string, number], { path: string; stamp: string | null }>(
      `SELECT path, ${hasStamp ? 'stamp' : 'NULL AS stamp'} FROM file_hashes WHERE path > ? ORDER BY path LIMIT ?`,
    );
    // Without the column (a cache older than stamps, not opened by a run since) every row is stale: `? IS NULL` holds.
    const remove = db.prepare<[string, string | null]>(`DELETE FROM file_hashes WHERE path = ? AND ${hasStamp ? 'stamp IS ?' : '? IS NULL'}`);
    let entries = 0, removed = 0, after = '';
    for (;;) {
      const rows = page.all(after, FILE_HASH_BATCH);
      if (!rows.length) break;
      entries += rows.length;
      after = rows[rows.length - 1].path;
      const stale = rows.filter((row) => row.stamp === null || currentStamp(row.path) !== row.stamp);
      removed += db.transaction(() => stale.reduce((n, row) => n + remove.run(row.path, row.stamp).changes, 0)).immediate();
    }
    return { path: file, entries, removed };
  } catch (error) {
    throw namingDamage(file, error);
  } finally {
    db.close();
  }
}

/** The stamp of the file at `path` as the memo keys it, or undefined when nothing is there. */
function currentStamp(path: string): string | undefined {
  let info: BigIntStats | undefined;
  try {
    info = statSync(path, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined; // a folder on the way that is no longer one, or no right to look: the file cannot be read either
  }
  return info && stampKey({ path, size: Number(info.size), mtimeNs: info.mtimeNs, ctimeNs: info.ctimeNs, dev: info.dev, ino: info.ino });
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
  sqliteOnly('export', path);
  const { db, initialised } = connectExisting(path, true);
  try {
    const model = selectModel(db, initialised, modelSelector);
    // One read transaction: the count in the header and the rows written come from the same snapshot.
    return db.transaction(() => {
      const preprocessFp = selectPreprocessing(db, model.model_fp, options.preprocessFp);
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
  return choosePreprocessing(counts, modelFp, selector);
}

/** Of a model's preprocessings (with their image counts), the one `selector` names, or its only one. */
export function choosePreprocessing(counts: readonly { preprocess_fp: string; count: number }[], modelFp: string, selector: string | undefined): string {
  if (!counts.length) throw new EmbeddingCacheError(`model ${modelFp.slice(0, 12)} has no image embeddings in the cache`);
  const matches = selector === undefined ? counts.map((c) => c.preprocess_fp) : matchFingerprints(counts.map((c) => c.preprocess_fp), selector);
  if (matches.length === 1) return matches[0];
  const listing = counts.map((c) => `${c.preprocess_fp} (${c.count} images)`).join('\n  ');
  const problem = selector === undefined ? 'was embedded with several image preprocessings' : `has no single preprocessing '${selector}'`;
  throw new EmbeddingCacheError(`model ${modelFp.slice(0, 12)} ${problem}; choose one of:\n  ${listing}`);
}

/** An export's shape, checked: every embedding of one size (`min_bytes` = `max_bytes`). */
export function exportDim(model: { model_fp: string }, shape: { min_bytes: number; max_bytes: number }): number {
  if (shape.min_bytes !== shape.max_bytes) {
    throw new EmbeddingCacheError(`model ${model.model_fp.slice(0, 12)} has embeddings of different sizes (${shape.min_bytes} and ${shape.max_bytes} bytes); the cache is damaged`);
  }
  return shape.max_bytes / 4;
}

/** The export's three files, written row by row; each appears complete or not at all (commit, or abort). */
export class ExportWriter {
  private readonly npyFile: StagedFile;
  private readonly csvFile: StagedFile;
  private readonly jsonFile: StagedFile;
  private readonly npy: NpyFloat32Writer;
  private row = 0;

  constructor(outDir: string, head: { model_fp: string; model: ModelLabel | null; preprocess_fp: string; rows: number; dim: number }) {
    mkdirSync(outDir, { recursive: true });
    this.npyFile = new StagedFile(join(outDir, EXPORT_FILES.embeddings));
    this.csvFile = new StagedFile(join(outDir, EXPORT_FILES.csv));
    this.jsonFile = new StagedFile(join(outDir, EXPORT_FILES.json));
    this.npy = new NpyFloat32Writer(head.rows, head.dim, (chunk) => this.npyFile.write(chunk));
    this.csvFile.write(stringify([['row', 'content_hash', 'path']]));
    const json = { format: CACHE_FORMAT, model_fp: head.model_fp, model: head.model, preprocess_fp: head.preprocess_fp, shape: [head.rows, head.dim] };
    // The head object, left open for the rows array that follows it.
    this.jsonFile.write(JSON.stringify(json, null, 2).replace(/\n}$/, ',\n  "rows": ['));
  }

  get files(): string[] {
    return [this.npyFile, this.csvFile, this.jsonFile].map((file) => file.path);
  }

  /** One row: its content hash, its embedding's little-endian bytes, the last path it was seen at. */
  write(contentHash: string, embedding: Uint8Array, path: string | null): void {
    this.npy.writeRow(embedding);
    this.csvFile.write(stringify([[this.row, contentHash, path ?? '']]));
    this.jsonFile.write(`${this.row ? ',' : ''}\n    ${JSON.stringify({ row: this.row, content_hash: contentHash, path })}`);
    this.row++;
  }

  commit(): void {
    this.npy.finish();
    this.jsonFile.write(this.row ? '\n  ]\n}\n' : ']\n}\n');
    for (const file of [this.npyFile, this.csvFile, this.jsonFile]) file.commit();
  }

  abort(): void {
    for (const file of [this.npyFile, this.csvFile, this.jsonFile]) file.abort();
  }
}

function writeExport(db: SqliteDatabase, model: { model_fp: string; label: ModelLabel | null }, preprocessFp: string, outDir: string): ExportResult {
  const shape = db.prepare<[string, string], { rows: number; min_bytes: number; max_bytes: number }>(
    `SELECT COUNT(*) AS rows, MIN(length(embedding)) AS min_bytes, MAX(length(embedding)) AS max_bytes
     FROM image_embeddings WHERE model_fp = ? AND preprocess_fp = ?`,
  ).get(model.model_fp, preprocessFp)!;
  const dim = exportDim(model, shape);
  const rows = db.prepare<[string, string], { content_hash: string; embedding: Buffer; path: string | null }>(
    `SELECT e.content_hash, e.embedding,
       (SELECT p.path FROM image_paths AS p
        WHERE p.model_fp = e.model_fp AND p.preprocess_fp = e.preprocess_fp AND p.content_hash = e.content_hash
        ORDER BY p.seen_at DESC, p.path LIMIT 1) AS path
     FROM image_embeddings AS e WHERE e.model_fp = ? AND e.preprocess_fp = ? ORDER BY e.content_hash`,
  );
  const writer = new ExportWriter(outDir, { model_fp: model.model_fp, model: model.label, preprocess_fp: preprocessFp, rows: shape.rows, dim });
  try {
    for (const entry of rows.iterate(model.model_fp, preprocessFp)) writer.write(entry.content_hash, entry.embedding, entry.path);
    writer.commit();
  } catch (error) {
    writer.abort();
    throw error;
  }
  return { model_fp: model.model_fp, preprocess_fp: preprocessFp, rows: shape.rows, dim, files: writer.files };
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
