// The embedding cache's contract, which every backend implements: SQLite (sqlite_cache.ts, the embedded default) and a
// shared PostgreSQL store (postgres_cache.ts).
// Keys: images by (model fingerprint, preprocessing fingerprint, content hash), texts by (model fingerprint, text).
// Puts are idempotent (an existing key keeps its embedding), so a batch written twice, by a retried worker or by
// two runs at once, leaves one row per key.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { FileHashMemo } from './fingerprint.js';

export const CACHE_FORMAT = 'zeroshot-embedding-cache';

/** `$ZEROSHOT_CACHE`, else `$XDG_CACHE_HOME/zeroshot/embeddings.sqlite`, else `~/.cache/zeroshot/embeddings.sqlite`. */
export function defaultEmbeddingCachePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ZEROSHOT_CACHE) return env.ZEROSHOT_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'zeroshot', 'embeddings.sqlite');
}

/** The file is no cache of ours, or of a newer zeroshot: the user must pick another file, so this is thrown. */
export class EmbeddingCacheError extends Error {
  override name = 'EmbeddingCacheError';
}

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

/** A value now (SQLite, in-process) or later (a database over the network). Callers always await. */
export type Awaitable<T> = T | Promise<T>;

/** Embeddings by content. Storage trouble is the backend's to absorb (warn, stop writing): the cache is an optimisation. */
export interface EmbeddingCache {
  /** Where the cache lives (a file path or a database URL without its password), for run.json. */
  readonly path: string;
  /** Records what a model fingerprint stands for (shown by `cache stats`, used to select a model by id). */
  registerModel(modelFp: string, label: ModelLabel): Awaitable<void>;
  /** Model files' content hashes by path, size and mtime; absent where the backend cannot keep them. */
  readonly fileHashes?: FileHashMemo;
  /** The cached embedding of each content hash, or undefined; counted as hits and misses. */
  getImageEmbeddings(scope: ImageScope, contentHashes: readonly string[]): Awaitable<(Float32Array | undefined)[]>;
  /** Stores one batch atomically: after a crash, a batch is there whole or not at all. */
  putImageEmbeddings(scope: ImageScope, entries: readonly { contentHash: string; embedding: Float32Array }[]): Awaitable<void>;
  /** Remembers under which path each content was seen (for export); called for hits and misses alike. */
  recordImagePaths(scope: ImageScope, entries: readonly { contentHash: string; path: string }[], seenAt?: number): Awaitable<void>;
  getTextEmbeddings(modelFp: string, texts: readonly string[]): Awaitable<(Float32Array | undefined)[]>;
  putTextEmbeddings(modelFp: string, entries: readonly { text: string; embedding: Float32Array }[]): Awaitable<void>;
  /** This session's hits and misses. */
  stats(): CacheSessionStats;
  close(): Awaitable<void>;
}
