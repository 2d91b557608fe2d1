// A shard plan: the images of a folder, sorted, cut into contiguous shards that machines embed independently
// (`zeroshot embed PLAN --shard K/N`) and one machine scores (`zeroshot collect PLAN`).
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { ImageScope, ModelLabel } from '../encode/cache/embedding_cache.js';
import { fingerprint } from '../encode/cache/fingerprint.js';
import type { ImageEntry, ImageListing } from '../input/images.js';
import type { ImagesInputKind } from '../input/image_sources.js';

export const PLAN_FORMAT = 'zeroshot-shard-plan';
export const PLAN_VERSION = 1;

/**
 * The plan itself, or the plan against the model or job at hand, is wrong: trying the same shard again cannot
 * succeed (a queue fails such a job at once instead of spending its retries).
 */
export class PlanMismatchError extends Error {
  override name = 'PlanMismatchError';
}

export interface ShardRange {
  readonly index: number;
  /** First image (index into `images`) and how many. */
  readonly start: number;
  readonly count: number;
}

export interface ShardPlan {
  readonly format: typeof PLAN_FORMAT;
  readonly version: number;
  /** sha256 of the rest of the manifest: shard files of another plan are never taken for this one's. */
  readonly id: string;
  /** Absolute folder the keys are relative to, as seen by the planning machine (`--images` overrides it). */
  readonly images_root: string;
  readonly model: ModelLabel;
  readonly model_fp: string;
  readonly preprocess_fp: string;
  readonly shard_size: number;
  readonly shards: readonly ShardRange[];
  /** Keys (relative paths, forward slashes), sorted as listImages sorts them. */
  readonly images: readonly string[];
  /**
   * Names that are not UTF-8: key (with `\xNN` escapes) → the name's bytes relative to the images folder, base64.
   * Absent when every name is UTF-8.
   */
  readonly raw_names?: Readonly<Record<string, string>>;
  /**
   * WebDataset tars or a file list: the kind and `--images` with absolute paths (collect lists it again for the
   * images' own label rows). Absent for a folder. Keys of tar members are `<tar>/<member>`, the tar under images_root.
   */
  readonly images_input?: { readonly kind: Exclude<ImagesInputKind, 'folder'>; readonly spec: string };
}

/**
 * The manifest of `keys` (sorted here) cut into shards of `shardSize`, its id derived from its content. `rawNames`:
 * the bytes (relative to the folder) of the keys whose names are not UTF-8.
 */
export function makePlan(
  keys: readonly string[],
  imagesRoot: string,
  model: ModelLabel,
  scope: ImageScope,
  shardSize: number,
  rawNames: ReadonlyMap<string, Uint8Array> = new Map(),
  imagesInput?: ShardPlan['images_input'],
): ShardPlan {
  if (!Number.isInteger(shardSize) || shardSize < 1) throw new Error(`--shard-size ${shardSize}: give a whole number of images ≥ 1`);
  if (!keys.length) throw new Error(`--images '${imagesRoot}': no images to plan`);
  const images = [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const shards = Array.from({ length: Math.ceil(images.length / shardSize) }, (_, index) => ({
    index,
    start: index * shardSize,
    count: Math.min(shardSize, images.length - index * shardSize),
  }));
  const raw = rawNames.size ? { raw_names: Object.fromEntries([...rawNames].map(([key, bytes]) => [key, Buffer.from(bytes).toString('base64')])) } : {};
  const input = imagesInput ? { images_input: imagesInput } : {};
  const body = { images_root: resolve(imagesRoot), model, model_fp: scope.modelFp, preprocess_fp: scope.preprocessFp, shard_size: shardSize, shards, images, ...raw, ...input };
  const head = { format: PLAN_FORMAT, version: PLAN_VERSION } as const;
  return { ...head, id: fingerprint({ ...head, ...body }), ...body };
}

export async function writePlan(plan: ShardPlan, path: string): Promise<void> {
  await writeFile(path, JSON.stringify(plan, null, 1) + '\n');
}

export async function readPlan(path: string): Promise<ShardPlan> {
  let plan: ShardPlan;
  try {
    plan = JSON.parse(await readFile(path, 'utf8')) as ShardPlan;
  } catch (error) {
    throw new Error(`plan '${path}' cannot be read (${error instanceof Error ? error.message : String(error)}); make one with \`zeroshot plan IMAGES --shard-size N --out ${path}\``);
  }
  return checkPlan(plan, path);
}

/** A parsed manifest checked as readPlan checks a file: its format, version, and an id that matches its content. */
export function checkPlan(plan: ShardPlan, path: string): ShardPlan {
  if (plan?.format !== PLAN_FORMAT) throw new PlanMismatchError(`'${path}' is not a zeroshot shard plan (no "format": "${PLAN_FORMAT}")`);
  if (plan.version > PLAN_VERSION) throw new PlanMismatchError(`plan '${path}' is of version ${plan.version}, newer than this zeroshot reads (${PLAN_VERSION}); upgrade`);
  const { id, ...body } = plan;
  if (fingerprint(body) !== id) throw new PlanMismatchError(`plan '${path}' was edited after it was made (its id does not match its content); make a new plan`);
  return plan;
}

/** The names of a listing that are not UTF-8, by key: their bytes relative to the listing's root (makePlan's rawNames). */
export function rawNamesOf(listing: ImageListing): Map<string, Uint8Array> {
  const prefix = Buffer.byteLength(listing.root) + 1;
  return new Map(listing.images.flatMap((image) => (image.rawPath ? [[image.key, image.rawPath.subarray(prefix)] as const] : [])));
}

/**
 * The plan's images (those of `range`, default all) as listing entries under `root`, as listImages would list them
 * there: a name that is not UTF-8 is opened by its bytes.
 */
export function planEntries(plan: ShardPlan, root: string, range?: ShardRange): ImageEntry[] {
  const keys = range ? plan.images.slice(range.start, range.start + range.count) : plan.images;
  const rootBytes = Buffer.from(resolve(root));
  return keys.map((key) => {
    const raw = plan.raw_names?.[key];
    const path = join(resolve(root), key);
    return raw === undefined ? { key, path } : { key, path, rawPath: Buffer.concat([rootBytes, Buffer.from('/'), Buffer.from(raw, 'base64')]) };
  });
}

/** The folder of a plan's shard files: `PLAN` without `.json`, plus `.shards`, beside it. */
export function shardsFolder(planPath: string): string {
  return join(dirname(resolve(planPath)), `${basename(planPath).replace(/\.json$/i, '')}.shards`);
}

/**
 * The shard a process embeds: `--shard K/N` (0-based K), else the array index of Slurm (SLURM_ARRAY_TASK_ID) or of
 * a Kubernetes Indexed Job (JOB_COMPLETION_INDEX). N must be the plan's number of shards.
 */
export function selectShard(plan: ShardPlan, flag: string | undefined, env: NodeJS.ProcessEnv = process.env): ShardRange {
  const total = plan.shards.length;
  let index: number;
  let source: string;
  if (flag !== undefined) {
    const match = /^(\d+)\/(\d+)$/.exec(flag.trim());
    if (!match) throw new Error(`--shard ${flag}: give K/N, e.g. --shard 0/${total}`);
    if (Number(match[2]) !== total) throw new Error(`--shard ${flag}: the plan has ${total} shards, not ${match[2]}`);
    [index, source] = [Number(match[1]), `--shard ${flag}`];
  } else {
    const variable = ['SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX'].find((name) => env[name] !== undefined && env[name] !== '');
    if (!variable) throw new Error('no shard given: pass --shard K/N, or run as a Slurm array task (SLURM_ARRAY_TASK_ID) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)');
    [index, source] = [Number(env[variable]), `${variable}=${env[variable]}`];
  }
  if (!Number.isInteger(index) || index < 0 || index >= total) throw new Error(`${source}: shards are numbered 0 to ${total - 1} (e.g. sbatch --array=0-${total - 1})`);
  return plan.shards[index];
}
