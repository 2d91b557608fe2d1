import { readFileSync } from 'node:fs';
import type { ImageEntry, SkippedEntry } from './input/images.js';
import { listImageSource, type ImagesInput, type SourceListing } from './input/image_sources.js';
import { attachedLabelMatch, describeUnmatched, groupValuesOf, labelIndices, matchLabelFile, readLabelMap, type DuplicateLabelPolicy, type LabelMatch, type UnmatchedLabelPolicy } from './input/labels.js';
import { checkPromptsAfterTruncation, loadSpec, promptCounts, type Spec } from './input/spec.js';
import { ClipModel, type ModelOptions, type ModelSource } from './encode/model.js';
import { createImagePreprocessor, type ImagePreprocessor } from './encode/image/preprocess.js';
import { embedImages, embedTexts, type EmbeddedImages, type EmbeddingProgress, type ImageEmbeddingOptions, type ImageFailure } from './encode/embed.js';
import { defaultEmbeddingCachePath, type CacheSessionStats, type ImageScope } from './encode/cache/embedding_cache.js';
import { openCache } from './encode/cache/open_cache.js';
import { fingerprint, modelFingerprint, type FileHashMemo } from './encode/cache/fingerprint.js';
import { scoreMatrix, truncateRows, type ScoreMatrix } from './score/similarity.js';
import { scoreInChunks } from './score/chunked.js';
import type { SimilarityKernel } from './score/similarity_kernel.js';
import { probabilities, probabilityFormula, type ProbabilityScoring } from './score/probabilities.js';
import { scriptWarning } from './encode/text/scripts.js';
import { defaultStrategies, parseStrategy, type Strategy } from './score/strategies.js';
import { classificationMetrics, type ClassificationMetrics } from './evaluate/classification.js';
import { auditPredictions, type AuditOptions, type AuditResult, type ImageAttribute } from './evaluate/audit.js';
import type { AuditMemo } from './evaluate/audit_memo.js';

export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

export interface RunOptions extends ModelOptions {
  /**
   * Folder of images (searched recursively), WebDataset tar shards ('data/{00000..00099}.tar', 'a.tar,b.tar',
   * 'data/*.tar') or a list of files (.csv, .tsv, .parquet); see input/image_sources.ts.
   */
  readonly images: string;
  /** Built-in spec name, spec file path, or an already parsed spec. */
  readonly spec: string | Spec;
  readonly labels?: string;
  readonly labelColumn?: string;
  readonly imageColumn?: string;
  readonly labelMap?: string;
  /** Several label rows for one image with different values: keep the `first`, the `last`, or stop (`error`, the default). */
  readonly duplicateLabels?: DuplicateLabelPolicy;
  /** Label values that name no class (after the label map): stop (`error`, the default) or leave their images unlabelled (`skip`). */
  readonly unmatchedLabels?: UnmatchedLabelPolicy;
  /** Strategy names (`sum`, `mean`, `max`, `topk:K`, `embedding-mean`); default: all of them. */
  readonly strategies?: readonly string[];
  readonly batchSize?: number;
  /** Embedding cache file (default: ~/.cache/zeroshot/embeddings.sqlite); false: no cache. */
  readonly cache?: string | false;
  /** Threads that decode and preprocess images while the model runs (0: the main thread; default: cores − 1, at least 1). */
  readonly preprocessWorkers?: number;
  /** Read and hash every image, even those whose content hash the cache remembers by path, size, mtime and inode. */
  readonly rehash?: boolean;
  /** PIL's MAX_IMAGE_PIXELS: larger images warn, twice as large are refused (default 89,478,485; Infinity: none). */
  readonly maxImagePixels?: number;
  /** Keep the first `dim` coordinates of every embedding, renormalised (Matryoshka models such as jina-clip v2). */
  readonly dim?: number;
  /** Label-CSV columns to audit by (e.g. gender, age): per-group metrics, gaps, intervals. */
  readonly groups?: readonly string[];
  /** Audit settings: bootstrap resamples, seed, min group size, ranking depth, intersections. */
  readonly audit?: Partial<AuditOptions>;
  /** Best classes kept per image and strategy (predictions.csv's top-N columns; at least 5 for top-5 accuracy). */
  readonly topKPredictions?: number;
  /** The images, already listed, in place of listing `images` (collect: the plan's, whose folder need not be there). */
  readonly listing?: SourceListing;
  /** Where the image embeddings come from: the vision tower (embedImages) by default; `collect` gives the shards'. */
  readonly imageEmbedder?: (images: readonly ImageEntry[], options: ImageEmbeddingOptions, scope: ImageScope) => Promise<EmbeddedImages>;
}

/**
 * Runs whose images × prompts exceed this keep no similarity matrix in memory (4 bytes a value): scoring runs in
 * blocks, the outputs recompute the blocks from the embeddings, and the audit's prompt analysis and ranking bias
 * (which read the whole matrix) are left out with a warning; its group metrics stay.
 */
export const KEEP_SIMILARITY_MAX_VALUES = 1 << 25;

/**
 * Specs with more prompts than this get no prompt analysis or ranking bias in the audit: they list every prompt
 * (ImageNet's 80,000 made metrics.json 36 MB and the report 26 MB on 14 images); the group metrics stay.
 */
export const AUDIT_MAX_PROMPTS = 10_000;

export type { EmbeddingProgress as RunProgress, ImageFailure } from './encode/embed.js';

export interface RunHooks {
  /** Called after each image batch. */
  readonly onProgress?: (progress: EmbeddingProgress) => void;
  /** Called after each batch of prompts through the text tower (and once first, with what the cache held). */
  readonly onTextProgress?: (progress: EmbeddingProgress) => void;
  /** Problems that do not stop the run (e.g. the cache became read-only); default: process warnings. */
  readonly onWarning?: (message: string) => void;
  /** Called once the model is loaded and the texts encoded, before the images. */
  readonly onStage?: (stage: 'model' | 'texts' | 'images' | 'scores') => void;
}

export interface RunCounts {
  /** Images found in the folder. */
  readonly found: number;
  /** Non-image files in the folder (ignored). */
  readonly ignored_files: number;
  readonly embedded: number;
  /** Embedded images whose embedding came from the cache. */
  readonly cache_hits: number;
  /** Embedded images that went through the model in this run. */
  readonly encoded: number;
  /** Embedded images with the same content as an earlier file of the folder (copies): encoded once for all. */
  readonly shared_content: number;
  /** Files read to hash their content, and files whose hash the cache remembered by their unchanged stamp (not read). */
  readonly hashes_read: number;
  readonly hashes_remembered: number;
  readonly failed: number;
  readonly labelled: number;
  /** Embedded images without a label (left out of the metrics). */
  readonly unlabelled: number;
  /** Label rows whose image is not in the folder. */
  readonly labels_without_image: number;
  /** Data rows of the labels CSV (0 without labels). */
  readonly label_rows: number;
  /** Label rows for an image another row already labels (the same values, or dropped by --duplicate-labels first|last). */
  readonly duplicate_label_rows: number;
  /** FIFOs, sockets, dangling or looping links, unreadable folders under --images (listed in `skipped`). */
  readonly skipped: number;
}

export interface RunResult {
  readonly version: string;
  /** `device`: cpu or cuda (absent: cpu). */
  readonly model: ModelSource & { readonly threads: number; readonly device?: string; readonly family: string; readonly variant: string };
  readonly spec: Spec;
  readonly strategies: readonly Strategy[];
  /** Keys (paths relative to the images folder) of the images that were embedded, in order. */
  readonly imageKeys: readonly string[];
  /** SHA-256 of each embedded image's file content, in `imageKeys` order (predictions.csv's `sha256`). */
  readonly imageHashes: readonly string[];
  /** Absolute path of the images folder the keys are relative to. */
  readonly imagesRoot: string;
  /**
   * What --images was: a folder, tar shards or a file list, and the files it named (run.json's `images_input`);
   * absent in results built without a listing.
   */
  readonly imagesInput?: ImagesInput;
  /** What under the images folder was neither read nor an ignored file, and why (run.json's `skipped`). */
  readonly skipped: readonly SkippedEntry[];
  /** Images × prompts, 100·cos; absent when larger than KEEP_SIMILARITY_MAX_VALUES (see similarityBlocks). */
  readonly similarity?: ScoreMatrix;
  /** How similarities become the model's probabilities, and with which learned values (run.json's `scoring`). */
  readonly scoring: RunScoring;
  /** Images × prompts probabilities (probabilities.json); absent when the learned values are unknown or the similarity matrix is not kept. */
  readonly probabilities?: ScoreMatrix;
  readonly imageEmbeddings: Float32Array;
  readonly textEmbeddings: Float32Array;
  readonly dim: number;
  /** Strategy name → predicted class index per embedded image. */
  readonly predictions: Map<string, Int32Array>;
  /** Strategy name → the `topCount` best classes of each embedded image, best first (images × topCount). */
  readonly topClasses: Map<string, Int32Array>;
  readonly topCount: number;
  /** --top-k-predictions: best classes predictions.csv lists per image and strategy (0: only the prediction). */
  readonly topKPredictions: number;
  /** Class index per embedded image (-1 when unlabelled); absent without labels. */
  readonly truth?: Int32Array;
  readonly labelColumn?: string;
  /** The --label-map applied to the label values (results folder's label-map.yaml); absent without one. */
  readonly labelMap?: ReadonlyMap<string, string>;
  /** With labels: the --unmatched-labels policy and the embedded images left unlabelled per label value naming no class. */
  readonly unmatchedLabels?: UnmatchedLabels;
  /** The --groups columns' value per embedded image (predictions.csv's `group:<column>`); empty without them. */
  readonly groupValues: readonly ImageAttribute[];
  /** Strategy name → metrics; absent without labels. */
  readonly metrics?: Record<string, ClassificationMetrics>;
  /** The subgroup audit (metrics.json's `groups`); absent without labels. */
  readonly audit?: AuditResult;
  readonly failures: readonly ImageFailure[];
  /** Images that were read and embedded, but with a warning (run.json's `image_warnings`). */
  readonly imageWarnings: readonly ImageWarning[];
  readonly counts: RunCounts;
  readonly timings: Record<string, number>;
  readonly batchSize: number;
  /** Threads that decoded and preprocessed the images (0: the main thread); absent where no image was preprocessed here. */
  readonly preprocessWorkers?: number;
  /** Cache file and this run's hits and misses; null without a cache. */
  readonly cache: (CacheSessionStats & { readonly path: string; readonly model_fp: string; readonly preprocess_fp: string }) | null;
}

/** run.json's `scoring`: the family's probability rule, its learned values and where they came from. */
export interface RunScoring {
  readonly kind: 'softmax' | 'sigmoid';
  readonly logit_scale: number | null;
  readonly logit_bias: number | null;
  /** `onnx/model.onnx` (read from the file), `options` (--logit-scale/--logit-bias), or null when unknown. */
  readonly source: string | null;
  /** The formula in words, or why there are no probabilities. */
  readonly formula: string;
}

/** run.json's `unmatched_labels`: the --unmatched-labels policy and, label value → images it left out (skip). */
export interface UnmatchedLabels {
  readonly policy: UnmatchedLabelPolicy;
  readonly left_out: Readonly<Record<string, number>>;
}

export interface ImageWarning {
  readonly image: string;
  readonly warning: string;
}

/** No image of the folder could be read: the run is a failure, but its record (errors, counts) is still worth writing. */
export class NoImageReadError extends Error {
  override readonly name = 'NoImageReadError';
  constructor(message: string, readonly result: RunResult) {
    super(message);
  }
}

/** What keys a loaded model's image embeddings (the cache's and the shard plan's): its files and its preprocessing. */
export async function imageScope(model: ClipModel, preprocessor: ImagePreprocessor, fileHashes?: FileHashMemo): Promise<ImageScope> {
  const { id, revision, dtype } = model.source;
  return {
    modelFp: await modelFingerprint({ id, revision, dtype, onnxFiles: model.onnxFiles(), settings: model.fingerprintSettings() }, fileHashes),
    preprocessFp: fingerprint({ kind: 'zeroshot-clip-preprocess', options: preprocessor.options }),
  };
}

/** How a loaded model's similarities become probabilities (run.json's `scoring`), and its learned values if known. */
export function modelScoring(model: ClipModel): { scoring: RunScoring; learned?: ProbabilityScoring } {
  const values = model.scoringValues();
  const learned = values.logitScale === undefined ? undefined : { kind: values.kind, logitScale: values.logitScale, logitBias: values.logitBias };
  return {
    scoring: {
      kind: values.kind,
      logit_scale: values.logitScale ?? null,
      logit_bias: values.logitBias ?? null,
      source: values.source ?? null,
      formula: learned ? probabilityFormula(learned) : values.missing!,
    },
    learned,
  };
}

const seconds = (start: number) => Number(((performance.now() - start) / 1000).toFixed(3));

/** The seed's process end to end: spec → text embeddings, images → image embeddings, 100·cos, strategies, metrics. */
export async function runZeroShot(options: RunOptions, hooks: RunHooks = {}): Promise<RunResult> {
  const started = performance.now();
  const spec = typeof options.spec === 'string' ? await loadSpec(options.spec) : options.spec;
  const strategies = options.strategies?.length ? options.strategies.map(parseStrategy) : defaultStrategies(promptCounts(spec));
  // Tars and file lists bring label rows of their own (.cls/.json members, other columns): they label the run when a
  // label column or groups are asked for without a labels CSV. Only those columns' values are kept.
  const attachedLabels = !options.labels && (options.labelColumn !== undefined || !!options.groups?.length);
  const listing = options.listing ?? (await listImageSource(options.images, {
    imageColumn: options.imageColumn,
    columns: attachedLabels ? [options.labelColumn ?? 'label', ...(options.groups ?? [])] : [],
  }));
  const classes = spec.classes.map((c) => c.name);

  // Labels are checked before the model loads, so a bad column or value fails in a second, not after encoding.
  let labelRows: LabelMatch | undefined;
  let labelMap: Map<string, string> | undefined;
  if (options.labels) {
    const labelColumn = options.labelColumn ?? 'label';
    labelRows = await matchLabelFile(options.labels, listing, {
      imageColumn: options.imageColumn,
      labelColumn,
      groupColumns: options.groups,
      duplicates: options.duplicateLabels,
    });
    labelMap = options.labelMap ? await readLabelMap(options.labelMap) : undefined;
    labelIndices(labelRows.rowOfImage, labelColumn, classes, labelMap, options.unmatchedLabels);
  } else if (attachedLabels && listing.labels) {
    const labelColumn = options.labelColumn ?? 'label';
    labelRows = attachedLabelMatch(listing.labels, { labelColumn, groupColumns: options.groups });
    labelMap = options.labelMap ? await readLabelMap(options.labelMap) : undefined;
    labelIndices(labelRows.rowOfImage, labelColumn, classes, labelMap, options.unmatchedLabels);
  }

  const timings: Record<string, number> = {};
  // Opened before the model so a file that is not a zeroshot cache fails at once.
  // A path given explicitly must work; the default location only warns when it cannot be used.
  const cache = options.cache === false
    ? null
    : await openCache(options.cache ?? defaultEmbeddingCachePath(), { onWarning: hooks.onWarning, required: typeof options.cache === 'string' });
  let stageStart = performance.now();
  hooks.onStage?.('model');
  let model: ClipModel | undefined;
  let preprocessor: ImagePreprocessor | undefined;
  try {
    model = await ClipModel.load(options);
    preprocessor = createImagePreprocessor(model.family.preprocess, options.preprocessWorkers, { maxImagePixels: options.maxImagePixels });
    const { id, revision, dtype } = model.source;
    const { modelFp, preprocessFp } = await imageScope(model, preprocessor, cache?.fileHashes);
    await cache?.registerModel(modelFp, { id, revision, dtype });
    const languageWarning = scriptWarning(spec.prompts, model.tokenizer.kind, model.tokenizer.englishOnly ?? false);
    for (const warning of [...model.family.warnings, ...(languageWarning ? [languageWarning] : [])]) (hooks.onWarning ?? process.emitWarning)(warning);
    // Prompts that only differ beyond the tokenizer's cut would get one embedding; checked with CLIP's exact tokenizer.
    const tokenizer = model.tokenizer;
    if (tokenizer.kind === 'clip-bpe') checkPromptsAfterTruncation(spec, (prompt) => tokenizer.encodeBatch([prompt]).inputIds);
    timings.load_model_s = seconds(stageStart);

    stageStart = performance.now();
    hooks.onStage?.('texts');
    const text = await embedTexts(model, spec.prompts, cache && { store: cache, modelFp }, hooks.onTextProgress);
    // Matryoshka: the first `dim` coordinates, renormalised; checked before any image is encoded.
    const dim = options.dim ?? text.dim;
    if (!Number.isInteger(dim) || dim < 1 || dim > text.dim) throw new Error(`--dim ${dim}: the model's embeddings have ${text.dim} dimensions; give 1 to ${text.dim}`);
    const textEmbeddings = truncateRows(text.embeddings, text.dim, dim);
    // The text tower is not needed for the images: its memory is better spent on the image batches.
    await model.releaseTower('text');
    timings.encode_texts_s = seconds(stageStart);

    stageStart = performance.now();
    hooks.onStage?.('images');
    const batchSize = options.batchSize ?? 32;
    const imageWarnings: ImageWarning[] = [];
    const images = await (options.imageEmbedder ?? embedImages)(listing.images, {
      model,
      preprocessor,
      dim: text.dim,
      batchSize,
      cache: cache && { store: cache, scope: { modelFp, preprocessFp } },
      onProgress: hooks.onProgress,
      rehash: options.rehash,
      // Images read with a warning (e.g. PIL's DecompressionBombWarning): kept, said, and listed in run.json.
      onImageWarning: (image, warning) => {
        imageWarnings.push({ image, warning });
        hooks.onWarning?.(`${image}: ${warning}`);
      },
    }, { modelFp, preprocessFp });
    timings.encode_images_s = seconds(stageStart);
    // The share of the images stage the vision tower was running: near 1 when decoding keeps up with the model.
    timings.image_inference_share = Number((images.inferenceSeconds / Math.max(timings.encode_images_s, 1e-9)).toFixed(3));
    timings.images_per_s = Number((images.keys.length / Math.max(timings.encode_images_s, 1e-9)).toFixed(2));

    stageStart = performance.now();
    hooks.onStage?.('scores');
    const imageEmbeddings = truncateRows(images.embeddings, text.dim, dim);
    const topKPredictions = options.topKPredictions ?? 0;
    if (!Number.isInteger(topKPredictions) || topKPredictions < 0) throw new Error(`--top-k-predictions ${topKPredictions}: give a whole number of classes`);
    const { scoring, learned } = modelScoring(model);

    let labels: EmbeddingLabels | undefined;
    let labelled = 0;
    let unmatched: ReadonlyMap<string, number> = new Map();
    if (labelRows && images.keys.length > 0) {
      const embeddedRows = images.sourceIndex.map((i) => labelRows!.rowOfImage[i]);
      const indices = labelIndices(embeddedRows, options.labelColumn ?? 'label', classes, labelMap, options.unmatchedLabels);
      labelled = indices.labelled;
      unmatched = indices.unmatched;
      if (unmatched.size) {
        const leftOut = [...unmatched.values()].reduce((a, b) => a + b, 0);
        (hooks.onWarning ?? process.emitWarning)(`--unmatched-labels skip: ${leftOut} images left out of the metrics and the audit, their labels naming no class of the spec: ${describeUnmatched(unmatched)}`);
      }
      labels = { truth: indices.truth, groupValues: groupValuesOf(embeddedRows, options.groups ?? []) };
    }
    const { similarity, probabilities: probabilityMatrix, predictions, topClasses, topCount, metrics, audit } = await scoreEmbeddings(
      { spec, strategies, imageEmbeddings, textEmbeddings, dim, imageCount: images.keys.length, threads: model.threads, topKPredictions, learned, labels, audit: options.audit },
      hooks.onWarning,
    );
    const truth = labels?.truth;
    const groupValues = labels?.groupValues ?? [];
    timings.score_s = seconds(stageStart);
    timings.total_s = seconds(started);

    const result: RunResult = {
      version: VERSION,
      model: { ...model.source, threads: model.threads, device: model.device, family: model.family.family, variant: model.family.variant },
      spec,
      strategies,
      imageKeys: images.keys,
      imageHashes: images.contentHashes,
      imagesRoot: listing.root,
      imagesInput: listing.input,
      skipped: listing.skipped,
      similarity,
      scoring,
      probabilities: probabilityMatrix,
      imageEmbeddings,
      textEmbeddings,
      dim,
      predictions,
      topClasses,
      topCount,
      topKPredictions,
      truth,
      labelColumn: labelRows ? (options.labelColumn ?? 'label') : undefined,
      labelMap: labelRows ? labelMap : undefined,
      unmatchedLabels: labelRows ? { policy: options.unmatchedLabels ?? 'error', left_out: Object.fromEntries(unmatched) } : undefined,
      groupValues,
      metrics,
      audit,
      failures: images.failures,
      imageWarnings,
      counts: {
        found: listing.images.length,
        ignored_files: listing.ignored,
        embedded: images.keys.length,
        cache_hits: images.cacheHits,
        encoded: images.encoded,
        shared_content: images.sharedContent,
        hashes_read: images.hashesRead,
        hashes_remembered: images.hashesRemembered,
        failed: images.failures.length,
        labelled,
        unlabelled: labelRows ? images.keys.length - labelled : 0,
        labels_without_image: labelRows?.labelsWithoutImage ?? 0,
        label_rows: labelRows?.rows ?? 0,
        duplicate_label_rows: labelRows?.duplicateRows ?? 0,
        skipped: listing.skipped.length,
      },
      timings,
      batchSize,
      preprocessWorkers: preprocessor.workers,
      cache: cache && { path: cache.path, model_fp: modelFp, preprocess_fp: preprocessFp, ...cache.stats() },
    };
    if (images.keys.length === 0) {
      const first = images.failures[0];
      throw new NoImageReadError(
        `none of the ${listing.images.length} images in '${options.images}' could be read; first error: ${first ? `${first.image}: ${first.error}` : 'none recorded'}`,
        result,
      );
    }
    return result;
  } finally {
    await cache?.close();
    await Promise.all([preprocessor?.close(), model?.dispose()]);
  }
}

/** Labels of embedded images: the true class per image (−1 unlabelled) and the --groups columns' values. */
export interface EmbeddingLabels {
  readonly truth: Int32Array;
  readonly groupValues: readonly ImageAttribute[];
}

/** What scoreEmbeddings scores: embeddings already made, a spec and its strategies, and the labels if any. */
export interface EmbeddingsToScore {
  readonly spec: Spec;
  readonly strategies: readonly Strategy[];
  /** imageCount × dim and prompts × dim, L2-normalised (already cut to --dim). */
  readonly imageEmbeddings: Float32Array;
  readonly textEmbeddings: Float32Array;
  readonly dim: number;
  readonly imageCount: number;
  readonly threads: number;
  /** --top-k-predictions (0: only the prediction). */
  readonly topKPredictions: number;
  /** The model's learned probability values; absent when unknown (no probabilities). */
  readonly learned?: ProbabilityScoring;
  readonly labels?: EmbeddingLabels;
  readonly audit?: Partial<AuditOptions>;
  /** What audits of the same images keep between them (the prompt lab's edits); the results are the same without. */
  readonly auditMemo?: AuditMemo;
  /** The similarity kernel (default: scoreInChunks' choice by size). */
  readonly kernel?: SimilarityKernel;
}

/** RunResult's scored part. */
export type ScoredEmbeddings = Pick<RunResult, 'similarity' | 'probabilities' | 'predictions' | 'topClasses' | 'topCount' | 'metrics' | 'audit'>;

/**
 * Scores embeddings with a spec and evaluates the predictions: similarities (kept when small enough), every
 * strategy's predictions and best classes, probabilities, and with labels the metrics and the audit. What `run`
 * does after encoding, and what the prompt lab does on each edit.
 */
export async function scoreEmbeddings(input: EmbeddingsToScore, onWarning?: (message: string) => void): Promise<ScoredEmbeddings> {
  const { spec, imageCount } = input;
  const classes = spec.classes.map((c) => c.name);
  const promptCount = spec.prompts.length;
  const keepSimilarity = imageCount * promptCount <= KEEP_SIMILARITY_MAX_VALUES;
  const similarity = keepSimilarity ? scoreMatrix(imageCount, promptCount) : undefined;
  const scored = await scoreInChunks(
    { imageEmbeddings: input.imageEmbeddings, textEmbeddings: input.textEmbeddings, dim: input.dim, promptClass: spec.promptClass, numClasses: classes.length },
    input.strategies,
    {
      threads: input.threads,
      kernel: input.kernel,
      topClasses: Math.max(5, input.topKPredictions),
      onBlock: similarity && ((start, block) => similarity.data.set(block.data, start * promptCount)),
    },
  );
  const { predictions } = scored;
  const probabilityMatrix = input.learned && similarity && probabilities(similarity, input.learned);
  let metrics: Record<string, ClassificationMetrics> | undefined;
  let audit: AuditResult | undefined;
  if (input.labels) {
    const { truth, groupValues } = input.labels;
    metrics = Object.fromEntries(
      [...predictions].map(([name, predicted]) => [name, classificationMetrics(truth, predicted, classes, { top: scored.topClasses.get(name)!, count: scored.topCount })]),
    );
    // The group metrics need only the predictions; the prompt analysis and ranking bias read every prompt's
    // scores, which large label sets do not keep (and which would make metrics.json huge).
    const omitted = !similarity
      ? `the prompt analysis and ranking bias read the whole similarity matrix, and ${imageCount} images × ${promptCount} prompts is more than zeroshot keeps in memory (${KEEP_SIMILARITY_MAX_VALUES} values)`
      : promptCount > AUDIT_MAX_PROMPTS
        ? `the prompt analysis and ranking bias list every prompt, and ${promptCount} prompts is more than ${AUDIT_MAX_PROMPTS}`
        : undefined;
    if (omitted && groupValues.length) (onWarning ?? process.emitWarning)(`${omitted}: metrics.json's 'groups' has the group metrics without them`);
    audit = auditPredictions({
      classes,
      probe: spec.classes.map((c) => c.probe),
      truth,
      predictions,
      attributes: groupValues,
      similarity: omitted ? undefined : similarity,
      similarityOmitted: omitted,
      promptClass: spec.promptClass,
      prompts: spec.prompts,
      options: input.audit,
      memo: input.auditMemo,
    });
  }
  return { similarity, probabilities: probabilityMatrix, predictions, topClasses: scored.topClasses, topCount: scored.topCount, metrics, audit };
}
