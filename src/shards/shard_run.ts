// The three steps of a static sharded run: plan (one machine), embed (one process per shard), collect (one machine).
import { join } from 'node:path';
import { openCache } from '../encode/cache/open_cache.js';
import { defaultEmbeddingCachePath, type ImageScope } from '../encode/cache/embedding_cache.js';
import { embedImages, type EmbeddedImages, type EmbeddingProgress, type ImageEmbeddingOptions, type ImageFailure } from '../encode/embed.js';
import { createImagePreprocessor } from '../encode/image/preprocess.js';
import { ClipModel, type ModelOptions } from '../encode/model.js';
import { listImages, type ImageEntry } from '../input/images.js';
import { imageScope } from '../pipeline.js';
import { makePlan, shardsFolder, type ShardPlan, type ShardRange } from './plan.js';
import { folderShardStore, type ShardStore } from './shard_store.js';

/** Lists `images` and cuts it into shards; the model is loaded for its fingerprints (embed and collect check them). */
export async function planShards(images: string, shardSize: number, modelOptions: ModelOptions): Promise<ShardPlan> {
  const listing = await listImages(images);
  const model = await ClipModel.load(modelOptions);
  const preprocessor = createImagePreprocessor(model.family.preprocess, 0);
  try {
    const { id, revision, dtype } = model.source;
    return makePlan(listing.images.map((image) => image.key), listing.root, { id, revision, dtype }, await imageScope(model, preprocessor), shardSize);
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
  readonly preprocessWorkers?: number;
  readonly maxImagePixels?: number;
  readonly onProgress?: (progress: EmbeddingProgress) => void;
  readonly onWarning?: (message: string) => void;
  /** Where the shard goes (default: the files beside the plan). */
  readonly store?: ShardStore;
}

function checkScope(plan: ShardPlan, scope: ImageScope, planPath: string): void {
  if (scope.modelFp !== plan.model_fp || scope.preprocessFp !== plan.preprocess_fp) {
    const what = scope.modelFp !== plan.model_fp ? 'model' : 'image preprocessing';
    throw new Error(`plan '${planPath}' was made with another ${what} than this one (plan: model ${JSON.stringify(plan.model)}); give the plan's --model, --dtype and --preprocess-reference`);
  }
}

/** Embeds one shard into its files; a done shard is skipped ('skipped'), a partial one redone. */
export async function embedShard(plan: ShardPlan, options: EmbedShardOptions): Promise<'embedded' | 'skipped'> {
  const store = options.store ?? folderShardStore(shardsFolder(options.planPath));
  const index = options.shard.index;
  if (await store.isDone(plan, index)) return 'skipped';
  const cache = options.cache === false ? null : await openCache(options.cache ?? defaultEmbeddingCachePath(), { onWarning: options.onWarning, required: typeof options.cache === 'string' });
  const model = await ClipModel.load(options);
  const preprocessor = createImagePreprocessor(model.family.preprocess, options.preprocessWorkers, { maxImagePixels: options.maxImagePixels });
  try {
    const scope = await imageScope(model, preprocessor, cache?.fileHashes);
    checkScope(plan, scope, options.planPath);
    const root = options.images ?? plan.images_root;
    const entries: ImageEntry[] = plan.images.slice(options.shard.start, options.shard.start + options.shard.count).map((key) => ({ key, path: join(root, key) }));
    // The vision tower's width is only known from its output: one blank image tells it (the tower is loaded anyway).
    const { height, width } = model.imageShape;
    const { dim } = await model.encodeImages(new Float32Array(3 * height * width), 1);
    const imageWarnings: { image: string; warning: string }[] = [];
    const images = await embedImages(entries, {
      model,
      preprocessor,
      dim,
      batchSize: options.batchSize ?? 32,
      cache: cache && { store: cache, scope },
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
        failures: images.failures,
        image_warnings: imageWarnings,
        counts: { cache_hits: images.cacheHits, encoded: images.encoded, shared_content: images.sharedContent },
      },
      embeddings: images.embeddings,
    });
    return 'embedded';
  } finally {
    await cache?.close();
    await Promise.all([preprocessor.close(), model.dispose()]);
  }
}

/**
 * runZeroShot's `imageEmbedder` for `collect`: the shards' embeddings in the listing's order, in place of the vision
 * tower. Every shard must be done, and the folder must hold the plan's images (labels are matched on its listing).
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
    let cacheHits = 0, encoded = 0, sharedContent = 0;
    for (const shard of plan.shards) {
      const { metadata, embeddings } = await store.read(plan, shard.index);
      if (metadata.dim !== options.dim) throw new Error(`shard ${shard.index}: embeddings of ${metadata.dim} dimensions, the model's text embeddings have ${options.dim}`);
      metadata.keys.forEach((key, r) => rows.set(key, { vector: embeddings.subarray(r * metadata.dim, (r + 1) * metadata.dim), hash: metadata.content_hashes[r] }));
      for (const failure of metadata.failures) failed.set(failure.image, failure.error);
      for (const { image, warning } of metadata.image_warnings) options.onImageWarning?.(image, warning);
      cacheHits += metadata.counts.cache_hits;
      encoded += metadata.counts.encoded;
      sharedContent += metadata.counts.shared_content;
    }
    const planned = new Set(plan.images);
    const unplanned = images.filter((image) => !planned.has(image.key));
    if (unplanned.length || images.length !== plan.images.length) {
      throw new Error(`the images folder no longer holds the plan's images (${unplanned.length} not in the plan, e.g. '${unplanned[0]?.key ?? '-'}'; ${images.length} listed, ${plan.images.length} planned); make a new plan`);
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
    return { keys, sourceIndex, contentHashes, embeddings: matrix.subarray(0, keys.length * options.dim), failures, cacheHits, encoded, sharedContent, inferenceSeconds: 0 };
  };
}
