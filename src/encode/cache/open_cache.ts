import type { EmbeddingCache, OpenCacheOptions } from './embedding_cache.js';
import { openSqliteCache } from './sqlite_cache.js';

/** A PostgreSQL URL (postgres:// or postgresql://), as opposed to an SQLite file path. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** The PostgreSQL backend, loaded on first use: SQLite-only users never load `pg`. */
export const postgresBackend = () => import('./postgres_cache.js');

/**
 * The cache at `location`: an SQLite file path (the embedded default) or a PostgreSQL URL (a store shared by many
 * machines, see postgres_cache.ts). null: unusable, after a warning.
 */
export async function openCache(location: string, options: OpenCacheOptions = {}): Promise<EmbeddingCache | null> {
  if (isPostgresUrl(location)) return (await postgresBackend()).openPostgresCache(location, options);
  return openSqliteCache(location, options);
}
