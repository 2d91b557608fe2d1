// Where a sharded run's image embeddings go, one seam for both ways of running: a folder of per-shard files beside
// the plan (static shards, no server) or a shared database (`--store postgres://…`, for queue workers). A shard is
// committed whole with its done mark, and committing a done shard again changes nothing, so a retried or duplicated
// job (at-least-once delivery) has an exactly-once effect.
import { resolve } from 'node:path';
import { isPostgresUrl, postgresBackend } from '../encode/cache/open_cache.js';
import { shardsFolder, type ShardPlan } from './plan.js';
import { readShard, shardDone, writeShard, type ShardMetadata } from './shard_files.js';

/** One embedded shard: row r of `embeddings` (rows × metadata.dim) is the image metadata.keys[r]. */
export interface ShardOutput {
  readonly metadata: ShardMetadata;
  readonly embeddings: Float32Array;
}

export interface ShardStore {
  /** Where it is (a folder, or a database URL without its password), for messages. */
  readonly location: string;
  /** Whether shard `index` of `plan` is committed. */
  isDone(plan: ShardPlan, index: number): Promise<boolean>;
  /** Removes what a killed writer left of a shard that is not done (nothing to do for a transactional store). */
  clearPartial(plan: ShardPlan, index: number): Promise<void>;
  /** Stores the shard's embeddings and its done mark, all or nothing. */
  commit(plan: ShardPlan, output: ShardOutput): Promise<void>;
  /** A committed shard, checked against the plan; an error naming the fix when it cannot be read. */
  read(plan: ShardPlan, index: number): Promise<ShardOutput>;
  close(): Promise<void>;
}

/**
 * The static mode's store: shard-KKKKK.{npy,parquet,json,done} in `folder` (see shard_files.ts). Two processes
 * committing one shard is safe: the first one's files count, the second's are dropped.
 */
export function folderShardStore(folder: string): ShardStore {
  return {
    location: folder,
    isDone: async (plan, index) => shardDone(folder, plan, index) !== undefined,
    // writeShard removes what dead writers left, under the shard's lock: a live writer's files are not touched.
    clearPartial: async () => {},
    commit: async (_plan, output) => void writeShard(folder, output.metadata, output.embeddings),
    read: async (plan, index) => readShard(folder, plan, index),
    close: async () => {},
  };
}

/**
 * The store at `location` (`--store`): a PostgreSQL URL names the shared database; a folder path, that folder;
 * none, the folder of shard files beside the plan.
 */
export async function openShardStore(location: string | undefined, planPath: string): Promise<ShardStore> {
  if (location !== undefined && isPostgresUrl(location)) return (await postgresBackend()).openPostgresStore(location);
  return folderShardStore(location === undefined ? shardsFolder(planPath) : resolve(location));
}
