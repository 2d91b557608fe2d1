import { imageSource, type ImageEntry } from '../input/images.js';
import type { EmbeddingCache, ImageScope } from './cache/embedding_cache.js';
import { fileStamp, hashFileContent, type FileHashMemo, type FileStamp } from './cache/fingerprint.js';
import type { ClipModel } from './model.js';
import type { ImagePreprocessor } from './image/preprocess.js';

export interface ImageFailure {
  readonly image: string;
  readonly error: string;
}

export interface EmbeddingProgress {
  /** Images done (embedded, found in the cache, or failed). */
  readonly done: number;
  readonly total: number;
  readonly failed: number;
  readonly cacheHits: number;
}

export interface EmbeddedImages {
  /** Keys of the images that were embedded, in listing order. */
  readonly keys: string[];
  /** Index in the listing of each embedded image. */
  readonly sourceIndex: number[];
  /** SHA-256 (hex) of each embedded image's file content, the cache's key: what compare aligns runs on. */
  readonly contentHashes: string[];
  /** Row-major [keys.length × dim], L2-normalised. */
  readonly embeddings: Float32Array;
  readonly failures: ImageFailure[];
  readonly cacheHits: number;
  /** Images that went through the model in this run. */
  readonly encoded: number;
  /** Images whose content an earlier file of the listing has (a copy): given that file's embedding, not encoded again. */
  readonly sharedContent: number;
  /** Seconds spent in the vision tower (tower loading included): the rest of the pass is what feeding it cost. */
  readonly inferenceSeconds: number;
  /** Files read to hash their content, and files whose hash the cache remembered by their stamp (not read). */
  readonly hashesRead: number;
  readonly hashesRemembered: number;
}

export interface ImageEmbeddingOptions {
  readonly model: ClipModel;
  readonly preprocessor: ImagePreprocessor;
  readonly dim: number;
  readonly batchSize: number;
  readonly cache?: { readonly store: EmbeddingCache; readonly scope: ImageScope } | null;
  readonly onProgress?: (progress: EmbeddingProgress) => void;
  /** A warning about an image that was still embedded (PIL's DecompressionBombWarning), with the image's key. */
  readonly onImageWarning?: (image: string, message: string) => void;
  /** Read and hash every file, even those whose hash the cache remembers (`--rehash`); the memo is refreshed. */
  readonly rehash?: boolean;
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Reads are I/O-bound and small: this many in flight keeps the disk busy without holding many files. */
const READ_CONCURRENCY = 16;

/** One chunk's content hashes (or why a file could not be read), and how many were read rather than remembered. */
async function hashChunk(images: readonly ImageEntry[], memo: FileHashMemo | undefined, rehash: boolean): Promise<{ results: PromiseSettledResult<string>[]; read: number; remembered: number }> {
  const sources = await Promise.allSettled(images.map(imageSource));
  // Plain files are stamped; bytes (a name only its raw bytes open) and tar members are hashed as they come.
  const stamps = await Promise.all(sources.map((source) => (memo && source.status === 'fulfilled' && typeof source.value === 'string' ? fileStamp(source.value).catch(() => undefined) : undefined)));
  const stamped = stamps.flatMap((s) => (s ? [s.stamp] : []));
  const memoHashes = memo && !rehash && stamped.length ? await memo.get(stamped) : [];
  const known = new Map<FileStamp, string>();
  stamped.forEach((stamp, k) => memoHashes[k] !== undefined && known.set(stamp, memoHashes[k]!));
  const fresh: { file: FileStamp; sha256: string }[] = [];
  let read = 0;
  let remembered = 0;
  const results = await Promise.allSettled(sources.map(async (source, j) => {
    if (source.status === 'rejected') throw source.reason;
    const stamp = stamps[j];
    const hit = stamp && known.get(stamp.stamp);
    if (hit) {
      remembered += 1;
      return hit;
    }
    read += 1;
    const sha256 = await hashFileContent(source.value);
    if (stamp?.settled) fresh.push({ file: stamp.stamp, sha256 });
    return sha256;
  }));
  if (fresh.length) await memo!.set(fresh);
  return { results, read, remembered };
}

/**
 * Embeds the listed images. Pass 1 hashes each file's content (or takes the hash the cache remembers for the file's
 * unchanged stamp: path, size, mtime, ctime, inode; see fingerprint.ts FileStamp) and takes what the cache already
 * has (a renamed or copied file is a hit). Pass 2 sends only the misses, in full batches, through preprocessing (worker
 * threads) and the vision tower, preparing the next batch while the current one runs, and commits each batch
 * to the cache in one transaction, so an interrupted run loses at most the batch in flight.
 */
export async function embedImages(images: readonly ImageEntry[], options: ImageEmbeddingOptions): Promise<EmbeddedImages> {
  const { dim, batchSize, cache } = options;
  // One matrix, row i for listed image i, compacted at the end: memory stays one embedding matrix whatever
  // the number of images.
  const matrix = new Float32Array(images.length * dim);
  const embedded = new Uint8Array(images.length);
  const store = (i: number, vector: Float32Array) => {
    matrix.set(vector, i * dim);
    embedded[i] = 1;
  };
  const failed = new Map<number, string>();
  const hashes: string[] = new Array(images.length);
  let cacheHits = 0;
  const report = () =>
    options.onProgress?.({ done: cacheHits + encoded + sharedContent + failed.size, total: images.length, failed: failed.size, cacheHits });
  let encoded = 0;
  let sharedContent = 0;
  let inferenceMs = 0;
  let hashesRead = 0;
  let hashesRemembered = 0;

  // Pass 1: content hashes and cache hits.
  const memo = cache?.store.fileHashes;
  for (let start = 0; start < images.length; start += READ_CONCURRENCY * 4) {
    const chunk = images.slice(start, start + READ_CONCURRENCY * 4);
    const { results: settled, read, remembered } = await hashChunk(chunk, memo, options.rehash ?? false);
    hashesRead += read;
    hashesRemembered += remembered;
    settled.forEach((result, j) => {
      if (result.status === 'fulfilled') hashes[start + j] = result.value;
      else failed.set(start + j, errorMessage(result.reason));
    });
    if (cache) {
      const indices = chunk.map((_, j) => start + j).filter((i) => hashes[i] !== undefined);
      (await cache.store.getImageEmbeddings(cache.scope, indices.map((i) => hashes[i]))).forEach((vector, k) => {
        if (vector) {
          store(indices[k], vector);
          cacheHits += 1;
        }
      });
    }
  }
  if (cacheHits > 0) report();

  // Pass 2: the misses, in full batches. The workers write a batch into `shared` while ONNX Runtime encodes the
  // previous one from `input`, which must be memory of its own (onnxruntime-node rejects SharedArrayBuffer
  // views). Both live for the whole run, so batches allocate no pixel memory.
  // Files of the same content (copies, links under other names) go through the model once: the first of them.
  const firstOfContent = new Map<string, number>();
  const sameAs = new Map<number, number>();
  const misses = images.map((_, i) => i).filter((i) => {
    if (embedded[i] || failed.has(i)) return false;
    const first = firstOfContent.get(hashes[i]);
    if (first === undefined) firstOfContent.set(hashes[i], i);
    else sameAs.set(i, first);
    return first === undefined;
  });
  const { height, width } = options.model.imageShape;
  const pixelsPerImage = 3 * height * width;
  const slots = Math.min(batchSize, misses.length);
  const shared = options.preprocessor.allocate(slots * pixelsPerImage);
  const input = new Float32Array(slots * pixelsPerImage);
  const slot = (j: number) => shared.subarray(j * pixelsPerImage, (j + 1) * pixelsPerImage);
  const prepare = async (from: number) => {
    const batch = misses.slice(from, from + batchSize);
    // Paths, not bytes: ONNX Runtime's run blocks this thread, so the worker must be able to read the files
    // itself for decoding to overlap inference.
    return { batch, settled: await Promise.allSettled(batch.map(async (i, j) => options.preprocessor.runInto(await imageSource(images[i]), slot(j)))) };
  };
  let next = misses.length > 0 ? prepare(0) : null;
  // The tower loads while the workers decode the first batch, not after. A load error is not lost: the first
  // encodeImages awaits the same load and throws it.
  if (next) options.model.loadTower('vision').catch(() => {});
  for (let from = 0; next; from += batchSize) {
    const { batch, settled } = await next;
    const ready: number[] = [];
    settled.forEach((result, j) => {
      if (result.status === 'fulfilled') {
        for (const warning of result.value.warnings) options.onImageWarning?.(images[batch[j]].key, warning);
        input.set(slot(j), ready.length * pixelsPerImage);
        ready.push(batch[j]);
      } else {
        failed.set(batch[j], errorMessage(result.reason));
      }
    });
    // `shared` is copied out: the workers may fill it with the next batch now.
    next = from + batchSize < misses.length ? prepare(from + batchSize) : null;
    if (ready.length > 0) {
      const started = performance.now();
      const { embeddings } = await options.model.encodeImages(input.subarray(0, ready.length * pixelsPerImage), ready.length);
      inferenceMs += performance.now() - started;
      const entries = ready.map((i, k) => ({ contentHash: hashes[i], embedding: embeddings.subarray(k * dim, (k + 1) * dim) }));
      entries.forEach((entry, k) => store(ready[k], entry.embedding));
      await cache?.store.putImageEmbeddings(cache.scope, entries);
      encoded += ready.length;
    }
    report();
  }
  // The copies take their first file's embedding, or its failure.
  for (const [i, first] of sameAs) {
    if (embedded[first]) {
      store(i, matrix.subarray(first * dim, (first + 1) * dim));
      sharedContent += 1;
    } else failed.set(i, failed.get(first) ?? 'not embedded');
  }
  if (sameAs.size) report();

  const keys: string[] = [];
  const sourceIndex: number[] = [];
  images.forEach((image, i) => {
    if (!embedded[i]) return;
    // Rows move only towards the front, so copying in listing order never overwrites a row still to move.
    if (keys.length !== i) matrix.copyWithin(keys.length * dim, i * dim, (i + 1) * dim);
    keys.push(image.key);
    sourceIndex.push(i);
  });
  await cache?.store.recordImagePaths(cache.scope, sourceIndex.map((i) => ({ contentHash: hashes[i], path: images[i].path })));
  const failures = [...failed].sort(([a], [b]) => a - b).map(([i, error]) => ({ image: images[i].key, error }));
  return {
    keys,
    sourceIndex,
    contentHashes: sourceIndex.map((i) => hashes[i]),
    embeddings: matrix.subarray(0, keys.length * dim),
    failures,
    cacheHits,
    encoded,
    sharedContent,
    inferenceSeconds: inferenceMs / 1000,
    hashesRead,
    hashesRemembered,
  };
}

/** Normalised text embeddings, taking what the cache has and encoding (and storing) the rest. */
export async function embedTexts(
  model: ClipModel,
  prompts: readonly string[],
  cache?: { readonly store: EmbeddingCache; readonly modelFp: string } | null,
  onProgress?: (progress: EmbeddingProgress) => void,
): Promise<{ embeddings: Float32Array; dim: number; cacheHits: number }> {
  const cached = cache ? await cache.store.getTextEmbeddings(cache.modelFp, prompts) : prompts.map(() => undefined);
  const missing = prompts.filter((_, j) => !cached[j]);
  const cacheHits = prompts.length - missing.length;
  const report = (encoded: number) => onProgress?.({ done: cacheHits + encoded, total: prompts.length, failed: 0, cacheHits });
  report(0);
  const fresh = missing.length > 0 ? await model.encodeTexts(missing, undefined, report) : null;
  const dim = fresh?.dim ?? cached.find((v) => v)!.length;
  if (fresh && cache) {
    await cache.store.putTextEmbeddings(cache.modelFp, missing.map((text, k) => ({ text, embedding: fresh.embeddings.slice(k * dim, (k + 1) * dim) })));
  }
  const embeddings = new Float32Array(prompts.length * dim);
  let freshRow = 0;
  prompts.forEach((_, j) => {
    const vector = cached[j] ?? fresh!.embeddings.subarray(freshRow * dim, ++freshRow * dim);
    embeddings.set(vector, j * dim);
  });
  return { embeddings, dim, cacheHits: prompts.length - missing.length };
}
