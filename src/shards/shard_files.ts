// One shard's output, in the layout clip-retrieval users load: shard-KKKKK.npy (embedded images × dim, float32) and
// shard-KKKKK.parquet (one row per npy row, in its order: key, image_path, sha256), with zeroshot's own metadata in
// shard-KKKKK.json (keys, content hashes, failures, counts) and shard-KKKKK.done, the marker that makes it count.
//
// Writers never share a file name. Each writes its files under names of its own (FILE.PID-HOST.tmp), then, holding
// the shard's lock (shard-KKKKK.lock, created exclusively, held for a few renames), renames them into place and writes
// the done marker last, unless the marker is already there: then another process finished the shard first, its
// files stay, and this one's are dropped. So two processes on one shard never mix their files or fail on a rename,
// and a killed writer leaves only files that do not count: its temporary files (removed by the next writer of the
// shard) or, killed between renames, some data files without the marker (replaced by the next writer's).
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { ImageFailure } from '../encode/embed.js';
import { NpyFloat32Writer, readNpyFloat32 } from '../encode/cache/npy.js';
import { StagedFile } from '../encode/cache/staged_file.js';
import type { ShardPlan } from './plan.js';

export const SHARD_FORMAT = 'zeroshot-shard';

export interface ShardMetadata {
  readonly format: typeof SHARD_FORMAT;
  readonly plan_id: string;
  readonly shard: number;
  readonly model_fp: string;
  readonly preprocess_fp: string;
  readonly dim: number;
  /** Row r of the .npy is the embedding of keys[r], whose file content has sha256 content_hashes[r]. */
  readonly keys: readonly string[];
  readonly content_hashes: readonly string[];
  /** Each row's file as the embedding machine read it (the Parquet file's image_path); absent in older shards. */
  readonly image_paths?: readonly string[];
  readonly failures: readonly ImageFailure[];
  readonly image_warnings: readonly { image: string; warning: string }[];
  readonly counts: {
    readonly cache_hits: number;
    readonly encoded: number;
    readonly shared_content: number;
    /** Files read to hash them, and files whose hash the cache remembered (absent in older shards). */
    readonly hashes_read?: number;
    readonly hashes_remembered?: number;
  };
}

export interface ShardDone {
  readonly plan_id: string;
  readonly shard: number;
  readonly rows: number;
}

/** How old a lock must be to be taken for a dead writer's on another machine: committing takes milliseconds. */
export const SHARD_LOCK_STALE_MS = 60_000;
/** Temporary files of another machine's writer are left alone until this old (it may still be writing them). */
const FOREIGN_TEMPORARY_MAX_AGE_MS = 3_600_000;

const stem = (index: number) => `shard-${String(index).padStart(5, '0')}`;
const HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
/** This process among all writers of a shared folder: its pid and a tag of its host. */
const WRITER = `${process.pid}-${HOST}`;

export function shardFiles(folder: string, index: number): { embeddings: string; parquet: string; metadata: string; done: string; lock: string } {
  const name = join(folder, stem(index));
  return { embeddings: `${name}.npy`, parquet: `${name}.parquet`, metadata: `${name}.json`, done: `${name}.done`, lock: `${name}.lock` };
}

function readDone(folder: string, planId: string, index: number): ShardDone | undefined {
  try {
    const done = JSON.parse(readFileSync(shardFiles(folder, index).done, 'utf8')) as ShardDone;
    return done.plan_id === planId && done.shard === index ? done : undefined;
  } catch {
    return undefined;
  }
}

/** The shard's done marker, when it is there and belongs to this plan. */
export function shardDone(folder: string, plan: ShardPlan, index: number): ShardDone | undefined {
  return readDone(folder, plan.id, index);
}

/** Whether the writer `pid-host` is gone: for this machine, by its pid; for another, never known (false). */
function writerIsDead(tag: string): boolean {
  const match = /^(\d+)-([0-9a-f]{8})$/.exec(tag);
  if (!match || match[2] !== HOST) return false;
  try {
    process.kill(Number(match[1]), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Runs `work` holding the shard's lock. A lock whose writer is dead (this machine) or older than
 * SHARD_LOCK_STALE_MS (another machine) is broken; otherwise this waits for it.
 */
function withShardLock<T>(folder: string, index: number, work: () => T): T {
  const { lock } = shardFiles(folder, index);
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      try {
        writeSync(fd, WRITER);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder: string, age: number;
    try {
      [holder, age] = [readFileSync(lock, 'utf8'), Date.now() - statSync(lock).mtimeMs];
    } catch {
      continue; // released meanwhile
    }
    if (writerIsDead(holder) || age > SHARD_LOCK_STALE_MS) rmSync(lock, { force: true });
    else sleep(20);
  }
  try {
    return work();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Removes the temporary files of the shard's dead writers (and of other machines' writers, once old). Under the lock. */
function removeDeadWriters(folder: string, index: number): void {
  const pattern = new RegExp(`^${stem(index)}\\.[a-z]+\\.(\\d+-[0-9a-f]{8})\\.tmp$`);
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const tag = entry.isFile() ? pattern.exec(entry.name)?.[1] : undefined;
    if (!tag || tag === WRITER) continue;
    const path = join(folder, entry.name);
    const foreignAndOld = !tag.endsWith(HOST) && Date.now() - (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > FOREIGN_TEMPORARY_MAX_AGE_MS;
    if (writerIsDead(tag) || foreignAndOld) rmSync(path, { force: true });
  }
}

/** The Parquet metadata: row r describes row r of the .npy. */
function metadataParquet(metadata: ShardMetadata): Uint8Array {
  const paths = metadata.image_paths ?? metadata.keys;
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: 'key', data: [...metadata.keys], type: 'STRING' },
        { name: 'image_path', data: [...paths], type: 'STRING' },
        { name: 'sha256', data: [...metadata.content_hashes], type: 'STRING' },
      ],
    }),
  );
}

/**
 * Writes the shard's files under this writer's own names, then commits them with the done marker under the lock.
 * 'already-done': another process committed the shard first; its files stay, these are dropped.
 */
export function writeShard(folder: string, metadata: ShardMetadata, embeddings: Float32Array): 'committed' | 'already-done' {
  mkdirSync(folder, { recursive: true });
  const files = shardFiles(folder, metadata.shard);
  const rows = metadata.keys.length;
  const staged = (path: string) => new StagedFile(path, `${path}.${WRITER}.tmp`);
  const written: StagedFile[] = [];
  const write = (path: string, fill: (file: StagedFile) => void) => {
    const file = staged(path);
    written.push(file);
    fill(file);
    file.finish();
  };
  try {
    write(files.embeddings, (file) => {
      const npy = new NpyFloat32Writer(rows, metadata.dim, (chunk) => file.write(chunk));
      for (let r = 0; r < rows; r++) npy.writeRow(embeddings.subarray(r * metadata.dim, (r + 1) * metadata.dim));
      npy.finish();
    });
    write(files.parquet, (file) => file.write(metadataParquet(metadata)));
    write(files.metadata, (file) => file.write(JSON.stringify(metadata) + '\n'));
    write(files.done, (file) => file.write(JSON.stringify({ plan_id: metadata.plan_id, shard: metadata.shard, rows } satisfies ShardDone) + '\n'));
    return withShardLock(folder, metadata.shard, () => {
      removeDeadWriters(folder, metadata.shard);
      if (readDone(folder, metadata.plan_id, metadata.shard)) return 'already-done';
      // The done marker last: until it is renamed, what is in place does not count.
      for (const file of written) renameSync(file.temporary, file.path);
      written.length = 0;
      return 'committed';
    });
  } finally {
    for (const file of written) file.abort();
  }
}

/** A done shard's metadata and embeddings, checked against each other and the plan. */
export function readShard(folder: string, plan: ShardPlan, index: number): { metadata: ShardMetadata; embeddings: Float32Array } {
  const files = shardFiles(folder, index);
  const redo = `delete ${files.done} and run \`zeroshot embed --shard ${index}/${plan.shards.length}\` again`;
  let metadata: ShardMetadata, shape: number[], data: Float32Array;
  try {
    metadata = JSON.parse(readFileSync(files.metadata, 'utf8')) as ShardMetadata;
    ({ shape, data } = readNpyFloat32(readFileSync(files.embeddings), files.embeddings));
  } catch (error) {
    throw new Error(`shard ${index} is marked done but its files cannot be read (${error instanceof Error ? error.message : String(error)}); ${redo}`);
  }
  const rows = metadata.keys.length;
  if (metadata.plan_id !== plan.id || shape[0] !== rows || shape[1] !== metadata.dim) {
    throw new Error(`shard ${index} in '${folder}' does not match plan ${plan.id.slice(0, 12)} (${shape.join(' × ')} embeddings for ${rows} keys); ${redo}`);
  }
  return { metadata, embeddings: data };
}
