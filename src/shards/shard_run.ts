// The three steps of a static sharded run: plan (one machine), embed (one process per shard), collect (one machine).
import { openCache } from '../encode/cache/open_cache.js';
import { defaultEmbeddingCachePath, type ImageScope } from '../encode/cache/embedding_cache.js';
import type { FileHashMemo } from '../encode/cache/fingerprint.js';
import { embedImages, type EmbeddedImages, type EmbeddingProgress, type ImageEmbeddingOptions, type ImageFailure } from '../encode/embed.js';
import { createImagePreprocessor, type ImagePreprocessor } from '../encode/image/preprocess.js';
import { ClipModel, type ModelOptions } from '../encode/model.js';
import type { ImageEntry } from '../input/images.js';
import { absoluteImagesSpec, listImageSource, resolveTarMembers, type SourceListing } from '../input/image_sources.js';
import { imageScope } from '../pipeline.js';
import { makePlan, planEntries, PlanMismatchError, rawNamesOf, shardsFolder, type ShardPlan, type ShardRange } from './plan.js';
import { folderShardStore, type ShardStore } from './shard_store.js';

/** Lists `images` and cuts it into shards; the model is loaded for its fingerprints (embed and collect check them). */
export async function planShards(images: string, shardSize: number, modelOptions: ModelOptions): Promise<ShardPlan> {
  const listing = await listImageSource(images);
  const { kind } = listing.input;
  const input = kind === 'folder' ? undefined : { kind, spec: await absoluteImagesSpec(images) };
  const model = await ClipModel.load(modelOptions);
  const preprocessor = createImagePreprocessor(model.family.preprocess, 0);
  try {
    const { id, revision, dtype } = model.source;
    const keys = listing.images.map((image) => image.key);
    return makePlan(keys, listing.root, { id, revision, dtype }, await imageScope(model, preprocessor), shardSize, rawNamesOf(listing), input);
  } finally {
    await Promise.all([preprocessor.close(), model.dispose()]);
  }
}

export interface EmbedShardOptions extends ModelOptions {
  readonly planPath: string;
  readonly shard: ShardRange;
  /** The images folder on this machine (default: the plan's). */
  readonly images?: string;
  readonly batchSize?: number;
  readonly cache?: string | false;
  /** Preprocessing threads (default: cores − 1, at least 1). */
  readonly preprocessWorkers?: number;
  /** Read and hash every image, even those whose content hash the cache remembers (`--rehash`). */
  readonly rehash?: boolean;
  readonly maxImagePixels?: number;
  readonly onProgress?: (progress: EmbeddingProgress) => void;
  readonly onWarning?: (message: string) => void;
  /** Where the shard goes (default: the files beside the plan). */
  readonly store?: ShardStore;
  /** A model loaded for many shards (loadShardEmbedder), asked for once the shard needs it and left open; default: one loaded for this shard. */
  readonly embedder?: () => Promise<ShardEmbedder>;
}

/** What embedShard's options ask of the model and preprocessing: an embedder loaded with them can serve the shard. */
export type ShardEmbedderOptions = ModelOptions & Pick<EmbedShardOptions, 'preprocessWorkers' | 'maxImagePixels'>;

/**
 * A loaded model with its preprocessing threads, for one shard after another (a queue worker's shard process keeps
 * one between jobs, instead of loading the model for each). Its fingerprints and embedding width are worked out on
 * the first shard and kept: they are those of the model it loaded.
 */
export interface ShardEmbedder {
  readonly model: ClipModel;
  readonly preprocessor: ImagePreprocessor;
  /** The fingerprints of the loaded model and its preprocessing; `fileHashes` spares re-reading its ONNX files. */
  scope(fileHashes?: FileHashMemo): Promise<ImageScope>;
  /** The width of its image embeddings. */
  dim(): Promise<number>;
  close(): Promise<void>;
}

export async function loadShardEmbedder(options: ShardEmbedderOptions): Promise<ShardEmbedder> {
  const model = await ClipModel.load(options);
  const preprocessor = createImagePreprocessor(model.family.preprocess, options.preprocessWorkers, { maxImagePixels: options.maxImagePixels });
  let scope: Promise<ImageScope> | undefined;
  let dim: Promise<number> | undefined;
  return {
    model,
    preprocessor,
    scope: (fileHashes) => {
      scope ??= imageScope(model, preprocessor, fileHashes);
      scope.catch(() => (scope = undefined));
      return scope;
    },
    dim: () => (dim ??= model.imageEmbeddingDim().then((known) => known ?? probedImageEmbeddingDim(model))),
    close: async () => void (await Promise.all([preprocessor.close(), model.dispose()])),
  };
}

function checkScope(plan: ShardPlan, scope: ImageScope, planPath: string): void {
  if (scope.modelFp !== plan.model_fp || scope.preprocessFp !== plan.preprocess_fp) {
    const what = scope.modelFp !== plan.model_fp ? 'model' : 'image preprocessing';
    throw new PlanMismatchError(`plan '${planPath}' was made with another ${what} than this one (plan: model ${JSON.stringify(plan.model)}); give the plan's --model, --dtype and --preprocess-reference`);
  }
}

/** Embeds one shard into its files; a done shard is skipped ('skipped'), a partial one redone. */
export async function embedShard(plan: ShardPlan, options: EmbedShardOptions): Promise<'embedded' | 'skipped'> {
  const store = options.store ?? folderShardStore(shardsFolder(options.planPath));
  const index = options.shard.index;
  if (await store.isDone(plan, index)) return 'skipped';
  const cache = options.cache === false ? null : await openCache(options.cache ?? defaultEmbeddingCachePath(), { onWarning: options.onWarning, required: typeof options.cache === 'string' });
  const shared = !!options.embedder;
  let embedder: ShardEmbedder | undefined;
  try {
    embedder = await (options.embedder ?? (() => loadShardEmbedder(options)))();
    const { model, preprocessor } = embedder;
    const scope = await embedder.scope(cache?.fileHashes);
    checkScope(plan, scope, options.planPath);
    const root = options.images ?? plan.images_root;
    const entries = await resolveTarMembers(root, planEntries(plan, root, options.shard));
    const dim = await embedder.dim();
    const imageWarnings: { image: string; warning: string }[] = [];
    const images = await embedImages(entries, {
      model,
      preprocessor,
      dim,
      batchSize: options.batchSize ?? 32,
      cache: cache && { store: cache, scope },
      rehash: options.rehash,
      onProgress: options.onProgress,
      onImageWarning: (image, warning) => imageWarnings.push({ image, warning }),
    });
    await store.clearPartial(plan, index);
    await store.commit(plan, {
      metadata: {
        format: 'zeroshot-shard',
        plan_id: plan.id,
        shard: index,
        model_fp: scope.modelFp,
        preprocess_fp: scope.preprocessFp,
        dim,
        keys: images.keys,
        content_hashes: images.contentHashes,
        image_paths: images.sourceIndex.map((i) => entries[i].path),
        failures: images.failures,
        image_warnings: imageWarnings,
        counts: {
          cache_hits: images.cacheHits,
          encoded: images.encoded,
          shared_content: images.sharedContent,
          hashes_read: images.hashesRead,
          hashes_remembered: images.hashesRemembered,
        },
      },
      embeddings: images.embeddings,
    });
    return 'embedded';
  } finally {
    await cache?.close();
    if (!shared) await embedder?.close();
  }
}

/** A graph that leaves its embedding width symbolic: one blank image through the tower tells it. */
async function probedImageEmbeddingDim(model: ClipModel): Promise<number> {
  const { height, width } = model.imageShape;
  return (await model.encodeImages(new Float32Array(3 * height * width), 1)).dim;
}

/**
 * What `collect` runs on: the plan's images as a listing under `root` (default: the plan's), without reading the
 * folder, which need not be there: the shards hold the embeddings, and labels are matched by key.
 */
export function planListing(plan: ShardPlan, root: string = plan.images_root): SourceListing {
  const input = plan.images_input ? { ...plan.images_input, files: [] } : { kind: 'folder' as const, spec: root, files: [root] };
  return { root, images: planEntries(plan, root), ignored: 0, skipped: [], input };
}

/**
 * collect's listing: the plan's (planListing), except that tars and file lists are listed again (`images`, default
 * the plan's --images) when the run takes its labels from them (`attachedLabels`: --label-column or --groups without
 * --labels), for their label rows: a tar's whole bytes are read once.
 */
export async function collectListing(plan: ShardPlan, images: string | undefined, attachedLabels: boolean): Promise<SourceListing> {
  if (plan.images_input && attachedLabels) return listImageSource(images ?? plan.images_input.spec);
  return planListing(plan, plan.images_input ? undefined : images);
}

/**
 * runZeroShot's `imageEmbedder` for `collect`: the shards' embeddings in the plan's order, in place of the vision
 * tower. Every shard must be done; the images must be the plan's (collect lists them with planListing).
 */
export function shardEmbeddings(plan: ShardPlan, planPath: string, store: ShardStore = folderShardStore(shardsFolder(planPath))): (images: readonly ImageEntry[], options: ImageEmbeddingOptions, scope: ImageScope) => Promise<EmbeddedImages> {
  return async (images, options, scope) => {
    checkScope(plan, scope, planPath);
    const done = await Promise.all(plan.shards.map((shard) => store.isDone(plan, shard.index)));
    const missing = plan.shards.filter((_, i) => !done[i]).map((shard) => shard.index);
    if (missing.length) {
      throw new Error(`${missing.length} of the plan's ${plan.shards.length} shards are not done (${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}); run \`zeroshot embed ${planPath} --shard K/${plan.shards.length}\` for each`);
    }
    const rows = new Map<string, { vector: Float32Array; hash: string }>();
    const failed = new Map<string, string>();
    let cacheHits = 0, encoded = 0, sharedContent = 0, hashesRead = 0, hashesRemembered = 0;
    for (const shard of plan.shards) {
      const { metadata, embeddings } = await store.read(plan, shard.index);
      if (metadata.dim !== options.dim) throw new Error(`shard ${shard.index}: embeddings of ${metadata.dim} dimensions, the model's text embeddings have ${options.dim}`);
      metadata.keys.forEach((key, r) => rows.set(key, { vector: embeddings.subarray(r * metadata.dim, (r + 1) * metadata.dim), hash: metadata.content_hashes[r] }));
      for (const failure of metadata.failures) failed.set(failure.image, failure.error);
      for (const { image, warning } of metadata.image_warnings) options.onImageWarning?.(image, warning);
      cacheHits += metadata.counts.cache_hits;
      encoded += metadata.counts.encoded;
      sharedContent += metadata.counts.shared_content;
      hashesRead += metadata.counts.hashes_read ?? 0;
      hashesRemembered += metadata.counts.hashes_remembered ?? 0;
    }
    const planned = new Set(plan.images);
    const unplanned = images.filter((image) => !planned.has(image.key));
    if (unplanned.length || images.length !== plan.images.length) {
      throw new Error(`the images are not the plan's (${unplanned.length} not in the plan, e.g. '${unplanned[0]?.key ?? '-'}'; ${images.length} given, ${plan.images.length} planned); list them with planListing(plan)`);
    }
    const keys: string[] = [], sourceIndex: number[] = [], contentHashes: string[] = [];
    const failures: ImageFailure[] = [];
    const matrix = new Float32Array(rows.size * options.dim);
    images.forEach((image, i) => {
      const row = rows.get(image.key);
      if (!row) {
        failures.push({ image: image.key, error: failed.get(image.key) ?? 'not embedded' });
        return;
      }
      matrix.set(row.vector, keys.length * options.dim);
      keys.push(image.key);
      sourceIndex.push(i);
      contentHashes.push(row.hash);
    });
    options.onProgress?.({ done: images.length, total: images.length, failed: failures.length, cacheHits });
    return {
      keys,
      sourceIndex,
      contentHashes,
      embeddings: matrix.subarray(0, keys.length * options.dim),
      failures,
      cacheHits,
      encoded,
      sharedContent,
      inferenceSeconds: 0,
      hashesRead,
      hashesRemembered,
    };
  };
}
