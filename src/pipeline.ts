import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { listImages, type ImageEntry } from './input/images.js';
import { labelIndices, matchLabelsToImages, readLabelMap, readLabelTable, requireColumn } from './input/labels.js';
import { loadSpec, promptCounts, type Spec } from './input/spec.js';
import { ClipModel, type ModelOptions, type ModelSource } from './encode/model.js';
import { createImagePreprocessor, type ImagePreprocessor } from './encode/preprocess.js';
import { cosineScores, type ScoreMatrix } from './score/similarity.js';
import { defaultStrategies, parseStrategy, predictAll, type Strategy } from './score/strategies.js';
import { classificationMetrics, type ClassificationMetrics } from './evaluate/classification.js';
import { auditPredictions, type AuditOptions, type AuditResult } from './evaluate/audit.js';

export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

export interface RunOptions extends ModelOptions {
  /** Folder of images (searched recursively). */
  readonly images: string;
  /** Built-in spec name, spec file path, or an already parsed spec. */
  readonly spec: string | Spec;
  readonly labels?: string;
  readonly labelColumn?: string;
  readonly imageColumn?: string;
  readonly labelMap?: string;
  /** Strategy names (`sum`, `mean`, `max`, `topk:K`, `embedding-mean`); default: all of them. */
  readonly strategies?: readonly string[];
  readonly batchSize?: number;
  /** Threads that decode and preprocess images while the model runs (0: the main thread). */
  readonly preprocessWorkers?: number;
  /** Label-CSV columns to audit by (e.g. gender, age): per-group metrics, gaps, intervals. */
  readonly groups?: readonly string[];
  /** Audit settings: bootstrap resamples, seed, min group size, ranking depth, intersections. */
  readonly audit?: Partial<AuditOptions>;
}

export interface RunProgress {
  readonly done: number;
  readonly total: number;
  readonly failed: number;
}

export interface RunHooks {
  /** Called after each image batch. */
  readonly onProgress?: (progress: RunProgress) => void;
  /** Called once the model is loaded and the texts encoded, before the images. */
  readonly onStage?: (stage: 'model' | 'texts' | 'images' | 'scores') => void;
}

export interface ImageFailure {
  readonly image: string;
  readonly error: string;
}

export interface RunCounts {
  /** Images found in the folder. */
  readonly found: number;
  /** Non-image files in the folder (ignored). */
  readonly ignored_files: number;
  readonly embedded: number;
  readonly failed: number;
  readonly labelled: number;
  /** Embedded images without a label (left out of the metrics). */
  readonly unlabelled: number;
  /** Label rows whose image is not in the folder. */
  readonly labels_without_image: number;
}

export interface RunResult {
  readonly version: string;
  readonly model: ModelSource & { readonly threads: number };
  readonly spec: Spec;
  readonly strategies: readonly Strategy[];
  /** Keys (paths relative to the images folder) of the images that were embedded, in order. */
  readonly imageKeys: readonly string[];
  /** Absolute path of the images folder the keys are relative to. */
  readonly imagesRoot: string;
  /** Images × prompts, 100·cos. */
  readonly similarity: ScoreMatrix;
  readonly imageEmbeddings: Float32Array;
  readonly textEmbeddings: Float32Array;
  readonly dim: number;
  /** Strategy name → predicted class index per embedded image. */
  readonly predictions: Map<string, Int32Array>;
  /** Class index per embedded image (-1 when unlabelled); absent without labels. */
  readonly truth?: Int32Array;
  readonly labelColumn?: string;
  /** Strategy name → metrics; absent without labels. */
  readonly metrics?: Record<string, ClassificationMetrics>;
  /** The subgroup audit (metrics.json's `groups`); absent without labels. */
  readonly audit?: AuditResult;
  readonly failures: readonly ImageFailure[];
  readonly counts: RunCounts;
  readonly timings: Record<string, number>;
  readonly batchSize: number;
}

const seconds = (start: number) => Number(((performance.now() - start) / 1000).toFixed(3));

/** The seed's process end to end: spec → text embeddings, images → image embeddings, 100·cos, strategies, metrics. */
export async function runZeroShot(options: RunOptions, hooks: RunHooks = {}): Promise<RunResult> {
  const started = performance.now();
  const spec = typeof options.spec === 'string' ? await loadSpec(options.spec) : options.spec;
  const strategies = options.strategies?.length ? options.strategies.map(parseStrategy) : defaultStrategies(promptCounts(spec));
  const listing = await listImages(options.images);
  const classes = spec.classes.map((c) => c.name);

  // Labels are checked before the model loads, so a bad column or value fails in a second, not after encoding.
  let labelRows: ReturnType<typeof matchLabelsToImages> | undefined;
  let labelMap: Map<string, string> | undefined;
  if (options.labels) {
    const table = await readLabelTable(options.labels, options.imageColumn);
    const labelColumn = options.labelColumn ?? 'label';
    requireColumn(table, labelColumn, '--label-column');
    for (const column of options.groups ?? []) requireColumn(table, column, '--groups');
    labelMap = options.labelMap ? await readLabelMap(options.labelMap) : undefined;
    labelRows = matchLabelsToImages(table, listing);
    labelIndices(labelRows.rowOfImage, labelColumn, classes, labelMap);
  }

  const timings: Record<string, number> = {};
  let stageStart = performance.now();
  hooks.onStage?.('model');
  const model = await ClipModel.load(options);
  timings.load_model_s = seconds(stageStart);
  try {
    stageStart = performance.now();
    hooks.onStage?.('texts');
    const text = await model.encodeTexts(spec.prompts);
    timings.encode_texts_s = seconds(stageStart);

    stageStart = performance.now();
    hooks.onStage?.('images');
    const batchSize = options.batchSize ?? 32;
    const preprocessor = createImagePreprocessor(model.preprocessorConfig, options.preprocessWorkers);
    const images = await embedImages(model, preprocessor, listing.images, batchSize, hooks.onProgress).finally(() => preprocessor.close());
    timings.encode_images_s = seconds(stageStart);
    timings.images_per_s = Number((images.keys.length / Math.max(timings.encode_images_s, 1e-9)).toFixed(2));
    if (images.keys.length === 0) {
      throw new Error(`none of the ${listing.images.length} images in '${options.images}' could be read; first error: ${images.failures[0]?.error}`);
    }

    stageStart = performance.now();
    hooks.onStage?.('scores');
    const similarity = cosineScores(images.embeddings, text.embeddings, text.dim);
    const strategyInputs = {
      similarity,
      promptClass: spec.promptClass,
      numClasses: classes.length,
      imageEmbeddings: images.embeddings,
      textEmbeddings: text.embeddings,
      dim: text.dim,
    };
    const predictions = predictAll(strategyInputs, strategies);

    let truth: Int32Array | undefined;
    let metrics: Record<string, ClassificationMetrics> | undefined;
    let audit: AuditResult | undefined;
    let labelled = 0;
    if (labelRows) {
      const embeddedRows = images.sourceIndex.map((i) => labelRows!.rowOfImage[i]);
      const labels = labelIndices(embeddedRows, options.labelColumn ?? 'label', classes, labelMap);
      truth = labels.truth;
      labelled = labels.labelled;
      metrics = Object.fromEntries([...predictions].map(([name, predicted]) => [name, classificationMetrics(labels.truth, predicted, classes)]));
      audit = auditPredictions({
        classes,
        probe: spec.classes.map((c) => c.probe),
        truth: labels.truth,
        predictions,
        attributes: (options.groups ?? []).map((name) => ({ name, values: embeddedRows.map((row) => row?.[name] || null) })),
        similarity,
        promptClass: spec.promptClass,
        prompts: spec.prompts,
        options: options.audit,
      });
    }
    timings.score_s = seconds(stageStart);
    timings.total_s = seconds(started);

    return {
      version: VERSION,
      model: { ...model.source, threads: model.threads },
      spec,
      strategies,
      imageKeys: images.keys,
      imagesRoot: listing.root,
      similarity,
      imageEmbeddings: images.embeddings,
      textEmbeddings: text.embeddings,
      dim: text.dim,
      predictions,
      truth,
      labelColumn: labelRows ? (options.labelColumn ?? 'label') : undefined,
      metrics,
      audit,
      failures: images.failures,
      counts: {
        found: listing.images.length,
        ignored_files: listing.ignored,
        embedded: images.keys.length,
        failed: images.failures.length,
        labelled,
        unlabelled: labelRows ? images.keys.length - labelled : 0,
        labels_without_image: labelRows?.labelsWithoutImage ?? 0,
      },
      timings,
      batchSize,
    };
  } finally {
    await model.dispose();
  }
}

interface EmbeddedImages {
  readonly keys: string[];
  /** Index in the listing of each embedded image. */
  readonly sourceIndex: number[];
  readonly embeddings: Float32Array;
  readonly failures: ImageFailure[];
}

interface PreparedBatch {
  readonly entries: { readonly index: number; readonly key: string }[];
  readonly pixels: Float32Array;
  readonly failures: ImageFailure[];
}

/**
 * Streams the images through preprocessing and the vision tower in batches. The next batch is decoded
 * while the current one runs in ONNX Runtime, so the model waits as little as possible for pixels.
 */
async function embedImages(
  model: ClipModel,
  preprocessor: ImagePreprocessor,
  images: readonly ImageEntry[],
  batchSize: number,
  onProgress?: (progress: RunProgress) => void,
): Promise<EmbeddedImages> {
  const pixelsPerImage = 3 * model.imageSize * model.imageSize;
  const prepare = async (start: number): Promise<PreparedBatch> => {
    const slice = images.slice(start, start + batchSize);
    const settled = await Promise.allSettled(slice.map(async (image) => preprocessor.run(await readFile(image.path))));
    const entries: PreparedBatch['entries'][number][] = [];
    const failures: ImageFailure[] = [];
    const pixels = new Float32Array(pixelsPerImage * slice.length);
    settled.forEach((result, j) => {
      if (result.status === 'fulfilled') {
        pixels.set(result.value, entries.length * pixelsPerImage);
        entries.push({ index: start + j, key: slice[j].key });
      } else {
        failures.push({ image: slice[j].key, error: (result.reason as Error).message ?? String(result.reason) });
      }
    });
    return { entries, pixels: pixels.subarray(0, entries.length * pixelsPerImage), failures };
  };

  const keys: string[] = [];
  const sourceIndex: number[] = [];
  const chunks: Float32Array[] = [];
  const failures: ImageFailure[] = [];
  let dim = 0;
  let next: Promise<PreparedBatch> | null = prepare(0);
  for (let start = 0; next; start += batchSize) {
    const batch: PreparedBatch = await next;
    next = start + batchSize < images.length ? prepare(start + batchSize) : null;
    failures.push(...batch.failures);
    if (batch.entries.length > 0) {
      const encoded = await model.encodeImages(batch.pixels, batch.entries.length);
      dim = encoded.dim;
      chunks.push(encoded.embeddings);
      for (const entry of batch.entries) {
        keys.push(entry.key);
        sourceIndex.push(entry.index);
      }
    }
    onProgress?.({ done: Math.min(start + batchSize, images.length), total: images.length, failed: failures.length });
  }
  const embeddings = new Float32Array(keys.length * dim);
  let offset = 0;
  for (const chunk of chunks) {
    embeddings.set(chunk, offset);
    offset += chunk.length;
  }
  return { keys, sourceIndex, embeddings, failures };
}
