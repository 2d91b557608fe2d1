import { EmbeddingCacheError, type EmbeddingCache, type OpenCacheOptions } from './embedding_cache.js';
import { openSqliteCache } from './sqlite_cache.js';

/**
 * The cache at `location`: an SQLite file path (the embedded default). A database URL names a shared store, which
 * is not there yet: it is refused rather than taken for a file name. null: unusable, after a warning.
 */
export async function openCache(location: string, options: OpenCacheOptions = {}): Promise<EmbeddingCache | null> {
  if (/^postgres(ql)?:\/\//i.test(location)) {
    throw new EmbeddingCacheError(`--cache ${location.replace(/\/\/[^@/]*@/, '//…@')}: a PostgreSQL store is not supported yet (planned, issue 14); give an SQLite file path`);
  }
  return openSqliteCache(location, options);
}
