// One shard's output: shard-KKKKK.npy (embedded images × dim, float32), shard-KKKKK.json (keys, content hashes,
// failures) and shard-KKKKK.done, each written under a temporary name and renamed, the done marker last. A shard
// without its marker is partial: the next `embed` of it removes what is there and redoes it.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
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
  readonly failures: readonly ImageFailure[];
  readonly image_warnings: readonly { image: string; warning: string }[];
  readonly counts: { readonly cache_hits: number; readonly encoded: number; readonly shared_content: number };
}

export interface ShardDone {
  readonly plan_id: string;
  readonly shard: number;
  readonly rows: number;
}

const stem = (index: number) => `shard-${String(index).padStart(5, '0')}`;

export function shardFiles(folder: string, index: number): { embeddings: string; metadata: string; done: string } {
  const name = stem(index);
  return { embeddings: join(folder, `${name}.npy`), metadata: join(folder, `${name}.json`), done: join(folder, `${name}.done`) };
}

/** The shard's done marker, when it is there and belongs to this plan. */
export function shardDone(folder: string, plan: ShardPlan, index: number): ShardDone | undefined {
  try {
    const done = JSON.parse(readFileSync(shardFiles(folder, index).done, 'utf8')) as ShardDone;
    return done.plan_id === plan.id && done.shard === index ? done : undefined;
  } catch {
    return undefined;
  }
}

/** Removes a partial shard: its files and the temporary files of a writer that was killed. */
export function clearShard(folder: string, index: number): void {
  const name = stem(index);
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.startsWith(`${name}.`)) rmSync(join(folder, entry.name), { force: true });
  }
}

/** Writes the shard's files, each complete or not at all, then its done marker. */
export function writeShard(folder: string, metadata: ShardMetadata, embeddings: Float32Array): void {
  mkdirSync(folder, { recursive: true });
  const files = shardFiles(folder, metadata.shard);
  const rows = metadata.keys.length;
  const npyFile = new StagedFile(files.embeddings);
  try {
    const npy = new NpyFloat32Writer(rows, metadata.dim, (chunk) => npyFile.write(chunk));
    for (let r = 0; r < rows; r++) npy.writeRow(embeddings.subarray(r * metadata.dim, (r + 1) * metadata.dim));
    npy.finish();
    npyFile.commit();
  } catch (error) {
    npyFile.abort();
    throw error;
  }
  writeWhole(files.metadata, JSON.stringify(metadata) + '\n');
  writeWhole(files.done, JSON.stringify({ plan_id: metadata.plan_id, shard: metadata.shard, rows } satisfies ShardDone) + '\n');
}

function writeWhole(path: string, text: string): void {
  const file = new StagedFile(path);
  try {
    file.write(text);
    file.commit();
  } catch (error) {
    file.abort();
    throw error;
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
