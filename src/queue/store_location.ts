// `--store` of the queue commands: a folder shared by every worker (one plan per folder), or a PostgreSQL URL.
import { resolve } from 'node:path';
import { folderShardStore, type ShardStore } from '../shards/shard_store.js';

export async function openStore(location: string): Promise<ShardStore> {
  if (/^postgres(ql)?:\/\//i.test(location)) throw new Error(`--store ${location.replace(/:[^:@/]*@/, '@')}: the PostgreSQL store is not in this build yet; give a shared folder`);
  return folderShardStore(resolve(location));
}
