// The prompt lab's engine: a saved run's image embeddings in memory (from the cache, by content hash), and per
// edit the text embeddings (memory, cache, or the text tower through one queue), then the pipeline's own
// scoreEmbeddings. Save-as-run builds the RunResult `zeroshot run` would and writes it with the same writer.
import { createHash } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { embedImages } from '../encode/embed.js';
import { defaultEmbeddingCachePath, type EmbeddingCache, type ImageScope } from '../encode/cache/embedding_cache.js';
import { openCache } from '../encode/cache/open_cache.js';
import { createImagePreprocessor, type ImagePreprocessor } from '../encode/image/preprocess.js';
import { ClipModel, type ModelOptions } from '../encode/model.js';
import type { ImageAttribute } from '../evaluate/audit.js';
import { AuditMemo } from '../evaluate/audit_memo.js';
import { predictionShares, sharesBaseline, type SharesBaseline } from '../evaluate/prediction_shares.js';
import type { ImageBytesSource } from '../input/file_range.js';
import { resolveTarMembers } from '../input/image_sources.js';
import { listImages } from '../input/images.js';
import { labelIndices, readLabelMap } from '../input/labels.js';
import { checkPromptsAfterTruncation } from '../input/spec.js';
import { imageScope, modelScoring, scoreEmbeddings, VERSION, type EmbeddingLabels, type RunResult, type RunScoring, type ScoredEmbeddings } from '../pipeline.js';
import { reportOutput, runImageSources, thumbnailDataUri } from '../report/html_report.js';
import { metricsFile, RESULT_FILES, writeResults } from '../report/results.js';
import { parsePredictions, readErrorsFile, readMetricsFile, readOptional, readRunFile, type ErrorLine, type MetricsFile, type PredictionTable, type RunFile } from '../report/result_files.js';
import type { SimilarityFormat } from '../report/similarity_outputs.js';
import { cosineScores, truncateRows, type ScoreMatrix } from '../score/similarity.js';
import { strategyName } from '../score/strategies.js';
import { LOOP_KERNEL_MAX_MACS } from '../score/chunked.js';
import type { SimilarityKernel } from '../score/similarity_kernel.js';
import {
  SCORED_SPECS_KEPT,
  THUMBNAIL_SIZE,
  type CellResponse,
  type ImageScoresResponse,
  type LabLabelMap,
  type LabSpec,
  type LeftOutImages,
  type SaveRunResponse,
  type ScoreResponse,
  type SessionResponse,
} from '../server/lab_api.js';
import { changesFromSaved } from './changes.js';
import { labSpecOfRun, resolveLabSpec, type ResolvedLabSpec } from './lab_spec.js';
import { TextEmbeddingQueue } from './text_queue.js';
import { columnKeepingKernel } from './column_kernel.js';

export interface LabSessionOptions extends Pick<ModelOptions, 'modelCacheDir' | 'offline' | 'threads' | 'device' | 'preprocessReference' | 'exifRotate' | 'logitScale' | 'logitBias'> {
  /** Embedding cache file (default: $ZEROSHOT_CACHE or ~/.cache/zeroshot/embeddings.sqlite); false: none. */
  readonly cache?: string | false;
  /** Where save-as-run writes its folders (default: `<results>-lab` beside the results folder). */
  readonly saveDir?: string;
  /** Images per vision-tower call, for images missing from the cache. */
  readonly batchSize?: number;
  readonly maxImagePixels?: number;
  /** Problems that do not stop the lab, and what it does at start (images encoded once). */
  readonly onWarning?: (message: string) => void;
}

/** A request the lab refuses for what it says (a bad spec, a label with no class): HTTP 400 with the message. */
export class LabInputError extends Error {
  override readonly name = 'LabInputError';
}

/** A spec_hash or image index the session does not have: HTTP 404. */
export class LabNotFoundError extends Error {
  override readonly name = 'LabNotFoundError';
}

/** One scored spec, kept for its images' scores and cells. */
interface ScoredSpecEntry {
  readonly resolved: ResolvedLabSpec;
  readonly bootstrap: number;
  readonly scored: ScoredEmbeddings;
  readonly textEmbeddings: Float32Array;
  /** True class per image in this spec's classes (−1 unlabelled); absent without labels. */
  readonly truth?: Int32Array;
  readonly labelled: number;
  /** The label map scored with (saved label value → class), and the labelled images it left out (null without labels). */
  readonly labelMap: ReadonlyMap<string, string>;
  readonly leftOut: LeftOutImages | null;
  readonly response: ScoreResponse;
}

/** The saved run as the lab holds it. */
interface SavedRun {
  readonly dir: string;
  readonly run: Omit<RunFile, 'files' | 'failed_outputs'>;
  readonly hadReport: boolean;
  readonly metrics: MetricsFile | null;
  readonly table: PredictionTable;
  readonly contentHashes: readonly string[];
  readonly failures: readonly ErrorLine[];
  /** True class name per image (null: unlabelled); null without labels. */
  readonly labels: readonly (string | null)[] | null;
  readonly groupValues: readonly ImageAttribute[];
  readonly topKPredictions: number;
  /** The --label-map the run applied (its label-map.yaml: CSV value → saved class); empty without one. */
  readonly labelMap: ReadonlyMap<string, string>;
}

const elapsed = (start: number) => Math.round((performance.now() - start) * 10) / 10;

/** predictions.csv's `top<N>:<strategy>` columns say the run's --top-k-predictions (0 without them). */
function topKOfHeader(text: string): number {
  const header = (parseCsv(text.slice(0, text.indexOf('\n') + 1 || undefined), { to_line: 1 }) as string[][])[0] ?? [];
  const counts = header.flatMap((name) => /^top(\d+):/.exec(name)?.[1] ?? []).map(Number);
  return counts.length ? counts[0] : 0;
}

/** Cells of the (truth, predicted) table with images: [truth (−1 unlabelled), predicted, count], by truth then predicted. */
function cellCounts(truth: Int32Array | null, predicted: Int32Array, numClasses: number): [number, number, number][] {
  // Cell id (truth + 1)·C + predicted: a plain loop over a typed array (a Map per image cost ms per edit).
  const counts = new Int32Array((numClasses + 1) * numClasses);
  for (let i = 0; i < predicted.length; i++) counts[((truth ? truth[i] : -1) + 1) * numClasses + predicted[i]] += 1;
  const cells: [number, number, number][] = [];
  for (let id = 0; id < counts.length; id++) if (counts[id]) cells.push([Math.floor(id / numClasses) - 1, id % numClasses, counts[id]]);
  return cells;
}

/** `first` then `then`: CSV value → class through both maps (a value `first` leaves alone goes through `then` alone). */
function composedLabelMap(first: ReadonlyMap<string, string>, then: ReadonlyMap<string, string>): Map<string, string> {
  const composed = new Map([...first].map(([value, className]) => [value, then.get(className) ?? className]));
  for (const [value, className] of then) if (!first.has(value)) composed.set(value, className);
  return composed;
}

export class LabSession {
  private readonly scoredSpecs = new Map<string, ScoredSpecEntry>();
  /** The audit's draws and rankings over these images, made once: each edit redoes only what it changed. */
  private readonly auditMemo = new AuditMemo();
  /** Scoring's exact loop with each prompt's column of scores kept. */
  private readonly similarityKernel: SimilarityKernel;
  /** The saved run's predicted classes per strategy and group, each score's shares are compared with. */
  private readonly sharesBaseline: SharesBaseline;
  /** Where each image's bytes are (tar members as their ranges), found on the first thumbnail. */
  private imageSources?: Promise<ImageBytesSource[]>;
  private lastLabelIndices?: { readonly key: string; readonly indices: ReturnType<typeof labelIndices> };
  private savedHash = '';
  private saveCounter = 0;

  private constructor(
    private readonly saved: SavedRun,
    private readonly model: ClipModel,
    private readonly preprocessor: ImagePreprocessor,
    private readonly cache: EmbeddingCache | null,
    private readonly scope: ImageScope,
    private readonly texts: TextEmbeddingQueue,
    /** N × dim (run.json's embedding_dim), L2-normalised. */
    private readonly imageEmbeddings: Float32Array,
    private readonly dim: number,
    readonly saveDir: string,
  ) {
    this.similarityKernel = columnKeepingKernel(imageEmbeddings, dim);
    this.sharesBaseline = sharesBaseline(saved.run.spec.classes.map((c) => c.name), saved.table.predicted, saved.groupValues);
  }

  private imageCount(): number {
    return this.saved.table.keys.length;
  }

  /** The lab over a results folder of `zeroshot run`: its images' embeddings from the cache (the missing ones encoded once). */
  static async open(resultsDir: string, options: LabSessionOptions = {}): Promise<LabSession> {
    const warn = options.onWarning ?? process.emitWarning;
    const { files, failed_outputs: _failed, ...run } = await readRunFile(resultsDir);
    const classes = run.spec.classes.map((c) => c.name);
    const predictionsPath = join(resultsDir, RESULT_FILES.predictions);
    const predictionsText = await readOptional(predictionsPath);
    if (predictionsText === null) throw new Error(`${predictionsPath} not found: '${resultsDir}' holds no predictions to start the lab from; run the spec with zeroshot run first`);
    const table = parsePredictions(predictionsText, classes, predictionsPath);
    if (!table.contentHashes) throw new Error(`${predictionsPath} has no sha256 column (written by an older zeroshot): run the spec again with zeroshot run and serve that folder`);
    const saved: SavedRun = {
      dir: resolve(resultsDir),
      run,
      hadReport: files ? RESULT_FILES.report in files : false,
      metrics: await readMetricsFile(resultsDir),
      table,
      contentHashes: table.contentHashes,
      failures: await readErrorsFile(resultsDir),
      labels: table.truth && Array.from(table.truth, (t) => (t < 0 ? null : classes[t])),
      groupValues: (run.group_columns ?? []).map((name) => ({ name, values: table.groups.get(name) ?? table.keys.map(() => null) })),
      topKPredictions: topKOfHeader(predictionsText),
      labelMap: files && RESULT_FILES.labelMap in files ? await readLabelMap(join(resultsDir, RESULT_FILES.labelMap)) : new Map(),
    };

    const cache = options.cache === false
      ? null
      : await openCache(options.cache ?? defaultEmbeddingCachePath(), { onWarning: warn, required: typeof options.cache === 'string' });
    let model: ClipModel | undefined;
    let preprocessor: ImagePreprocessor | undefined;
    try {
      model = await ClipModel.load({
        model: run.model.kind === 'folder' && run.model.path ? run.model.path : run.model.id,
        revision: run.model.revision,
        dtype: run.model.dtype,
        modelCacheDir: options.modelCacheDir,
        offline: options.offline,
        threads: options.threads ?? run.model.threads,
        device: options.device ?? (run.model.device as ModelOptions['device']),
        preprocessReference: options.preprocessReference,
        exifRotate: options.exifRotate,
        // Learned values the run was given on the command line (its files do not hold them).
        logitScale: options.logitScale ?? (run.scoring?.source === 'options' ? (run.scoring.logit_scale ?? undefined) : undefined),
        logitBias: options.logitBias ?? (run.scoring?.source === 'options' ? (run.scoring.logit_bias ?? undefined) : undefined),
      });
      preprocessor = createImagePreprocessor(model.family.preprocess, 0, { maxImagePixels: options.maxImagePixels });
      const scope = await imageScope(model, preprocessor, cache?.fileHashes);
      if (run.cache && (run.cache.model_fp !== scope.modelFp || run.cache.preprocess_fp !== scope.preprocessFp)) {
        const which = run.cache.model_fp !== scope.modelFp ? "the model's files differ from the run's (they changed, or another --dtype)" : "the image preprocessing differs from the run's (another --preprocess-reference or --exif-rotate)";
        throw new Error(`${join(resultsDir, 'run.json')}: ${which}; serve with the run's settings, or run the spec again with zeroshot run`);
      }
      await cache?.registerModel(scope.modelFp, { id: model.source.id, revision: model.source.revision, dtype: model.source.dtype });
      const texts = new TextEmbeddingQueue(model, cache && { store: cache, modelFp: scope.modelFp });
      // The saved spec's prompts first: their embeddings (cached by the run) give the tower's full dimension.
      const savedPrompts = run.spec.classes.flatMap((c) => c.prompts);
      const fullDim = (await texts.embeddings(savedPrompts)).rows[0].length;
      const imageEmbeddings = await LabSession.imageEmbeddings(saved, { model, preprocessor, cache, scope, fullDim, batchSize: options.batchSize ?? run.batch_size, warn });
      await model.releaseTower('vision');
      const dim = run.embedding_dim ?? fullDim;
      const saveDir = resolve(options.saveDir ?? join(dirname(saved.dir), `${basename(saved.dir)}-lab`));
      const session = new LabSession(saved, model, preprocessor, cache, scope, texts, truncateRows(imageEmbeddings, fullDim, dim), dim, saveDir);
      session.savedHash = (await session.score(labSpecOfRun(run))).spec_hash;
      return session;
    } catch (error) {
      await Promise.all([preprocessor?.close(), model?.dispose()]);
      await cache?.close();
      throw error;
    }
  }

  /** Every image's embedding by content hash from the cache; those missing are encoded once (and cached). */
  private static async imageEmbeddings(
    saved: SavedRun,
    context: { model: ClipModel; preprocessor: ImagePreprocessor; cache: EmbeddingCache | null; scope: ImageScope; fullDim: number; batchSize: number; warn: (message: string) => void },
  ): Promise<Float32Array> {
    const { cache, scope, fullDim } = context;
    const hashes = saved.contentHashes;
    const found = cache ? await cache.getImageEmbeddings(scope, hashes) : hashes.map(() => undefined);
    const matrix = new Float32Array(hashes.length * fullDim);
    const missing: number[] = [];
    found.forEach((vector, i) => (vector ? matrix.set(vector, i * fullDim) : missing.push(i)));
    if (missing.length === 0) return matrix;
    context.warn(`${missing.length} of ${hashes.length} image embeddings are not in the ${cache ? 'cache' : 'memory (no cache)'}: encoding them once${cache ? ' (and caching them)' : ''}`);
    // A folder is listed again (its entries know names that are not UTF-8); tar members and listed files are found by key.
    const root = saved.run.images_root;
    const listed = !saved.run.images_input || saved.run.images_input.kind === 'folder'
      ? (await listImages(root)).images
      : await resolveTarMembers(root, missing.map((i) => ({ key: saved.table.keys[i], path: join(root, saved.table.keys[i]) }))).catch((error: Error) => {
        throw new Error(`${error.message.replace(/; make a new plan$/, '')}, and their embeddings are not in the cache: restore them, or run the spec again with zeroshot run`);
      });
    const byKey = new Map(listed.map((image) => [image.key, image]));
    const entries = missing.map((i) => {
      const entry = byKey.get(saved.table.keys[i]);
      if (!entry) throw new Error(`image '${saved.table.keys[i]}' of the run is no longer in '${saved.run.images_root}' and its embedding is not in the cache; restore it, or run the spec again with zeroshot run`);
      return entry;
    });
    const embedded = await embedImages(entries, { model: context.model, preprocessor: context.preprocessor, dim: fullDim, batchSize: context.batchSize, cache: cache && { store: cache, scope } });
    if (embedded.failures.length) throw new Error(`image '${embedded.failures[0].image}' of the run cannot be read now (${embedded.failures[0].error}); restore it, or run the spec again with zeroshot run`);
    missing.forEach((i, k) => {
      if (embedded.contentHashes[k] !== hashes[i]) throw new Error(`image '${saved.table.keys[i]}' changed since the run (its content hash differs from predictions.csv's); run the spec again with zeroshot run`);
      matrix.set(embedded.embeddings.subarray(k * fullDim, (k + 1) * fullDim), i * fullDim);
    });
    return matrix;
  }

  /** GET /api/session. */
  session(): SessionResponse {
    const { run, metrics, table, labels, groupValues } = this.saved;
    const settings = metrics?.groups?.settings;
    return {
      run,
      spec: labSpecOfRun(run),
      metrics,
      spec_hash: this.savedHash,
      images: { count: table.keys.length, keys: table.keys, labels, groups: Object.fromEntries(groupValues.map((g) => [g.name, g.values])) },
      settings: { bootstrap: this.auditSettings().bootstrap, seed: settings?.seed ?? 0, min_group_size: settings?.min_group_size ?? 30, intersections: settings?.intersections ?? true },
      save_dir: basename(this.saveDir),
    };
  }

  /** The saved run's audit settings (metrics.json's groups.settings; the CLI's defaults without an audit). */
  private auditSettings() {
    const settings = this.saved.metrics?.groups?.settings;
    return { bootstrap: settings?.bootstrap ?? 1000, seed: settings?.seed ?? 0, minGroupSize: settings?.min_group_size ?? 30, rankingK: settings?.ranking_k, intersections: settings?.intersections ?? true };
  }

  /** POST /api/score. */
  async score(lab: LabSpec, bootstrap?: number, labelMap: LabLabelMap = {}): Promise<ScoreResponse> {
    return (await this.scoreEntry(lab, bootstrap ?? this.auditSettings().bootstrap, labelMap)).response;
  }

  private async scoreEntry(lab: LabSpec, bootstrap: number, labelMapEntries: LabLabelMap): Promise<ScoredSpecEntry> {
    const started = performance.now();
    let resolved: ResolvedLabSpec;
    try {
      resolved = resolveLabSpec(lab);
    } catch (error) {
      throw new LabInputError((error as Error).message);
    }
    const labelMap = new Map(Object.entries(labelMapEntries));
    // The label map changes the truth (metrics, cells): a spec under another map is another scored spec.
    const specHash = labelMap.size ? createHash('sha256').update(JSON.stringify([resolved.hash, [...labelMap]])).digest('hex').slice(0, 16) : resolved.hash;
    const key = `${specHash}/${bootstrap}`;
    const known = this.scoredSpecs.get(key);
    if (known && known.resolved.yaml === resolved.yaml && JSON.stringify([...known.labelMap]) === JSON.stringify([...labelMap])) {
      // Most recently used last: the map's order is the eviction order.
      this.scoredSpecs.delete(key);
      this.scoredSpecs.set(key, known);
      return known;
    }
    const { spec, strategies } = resolved;
    const classes = spec.classes.map((c) => c.name);
    let labels: (EmbeddingLabels & { labelled: number }) | undefined;
    let leftOut: LeftOutImages | null = null;
    try {
      const tokenizer = this.model.tokenizer;
      if (tokenizer.kind === 'clip-bpe') checkPromptsAfterTruncation(spec, (prompt) => tokenizer.encodeBatch([prompt]).inputIds);
      if (this.saved.labels) {
        const indices = this.labelIndicesOf(classes, labelMap);
        labels = { truth: indices.truth, groupValues: this.saved.groupValues, labelled: indices.labelled };
        leftOut = this.leftOutOf(indices.unmatched);
      }
    } catch (error) {
      throw new LabInputError((error as Error).message);
    }

    const { rows, encoded } = await this.texts.embeddings(spec.prompts);
    const fullDim = rows[0].length;
    const full = new Float32Array(rows.length * fullDim);
    rows.forEach((row, j) => full.set(row, j * fullDim));
    const textEmbeddings = truncateRows(full, fullDim, this.dim);
    const textsDone = performance.now();
    const settings = this.auditSettings();
    const scored = await scoreEmbeddings({
      spec,
      strategies,
      imageEmbeddings: this.imageEmbeddings,
      textEmbeddings,
      dim: this.dim,
      imageCount: this.saved.table.keys.length,
      threads: this.model.threads,
      topKPredictions: this.saved.topKPredictions,
      learned: modelScoring(this.model).learned,
      labels,
      audit: { ...settings, bootstrap },
      auditMemo: this.auditMemo,
      // Kept columns only where `run` would use the exact loop too (larger products go to ONNX Runtime's MatMul).
      kernel: this.imageCount() * spec.prompts.length * this.dim <= LOOP_KERNEL_MAX_MACS ? this.similarityKernel : undefined,
    });
    const metrics = metricsFile({ spec, metrics: scored.metrics, audit: scored.audit });
    const truth = labels?.truth ?? null;
    const response: ScoreResponse = {
      spec_hash: specHash,
      spec: {
        name: spec.name,
        classes,
        probe: spec.classes.map((c) => c.probe),
        prompts: spec.prompts,
        prompt_class: Array.from(spec.promptClass),
        strategies: strategies.map(strategyName),
      },
      metrics,
      cells: Object.fromEntries([...scored.predictions].map(([name, predicted]) => [name, cellCounts(truth, predicted, classes.length)])),
      left_out: leftOut,
      changes: changesFromSaved(metrics, this.saved.metrics),
      shares: predictionShares(scored.predictions, classes, this.sharesBaseline),
      encoded_prompts: encoded,
      timings: { texts_ms: Math.round((textsDone - started) * 10) / 10, score_ms: elapsed(textsDone), total_ms: elapsed(started) },
    };
    const entry: ScoredSpecEntry = { resolved, bootstrap, scored, textEmbeddings, truth: labels?.truth, labelled: labels?.labelled ?? 0, labelMap, leftOut, response };
    this.scoredSpecs.set(key, entry);
    while (this.scoredSpecs.size > SCORED_SPECS_KEPT) this.scoredSpecs.delete(this.scoredSpecs.keys().next().value!);
    return entry;
  }

  /**
   * The saved labels through the label map as indices into `classes`, those naming no class left unlabelled (as
   * `--unmatched-labels skip`); kept for the last classes and map (most edits keep both).
   */
  private labelIndicesOf(classes: readonly string[], labelMap: ReadonlyMap<string, string>): ReturnType<typeof labelIndices> {
    const key = JSON.stringify([classes, [...labelMap]]);
    if (this.lastLabelIndices?.key !== key) {
      const column = this.saved.run.label_column ?? 'label';
      const indices = labelIndices(this.saved.labels!.map((label) => (label === null ? null : { [column]: label })), column, classes, labelMap, 'skip');
      this.lastLabelIndices = { key, indices };
    }
    return this.lastLabelIndices.indices;
  }

  /** This spec's unmatched saved labels, and the images the saved run itself left out (their labels unknown here). */
  private leftOutOf(unmatched: ReadonlyMap<string, number>): LeftOutImages {
    const values: Record<string, number> = Object.fromEntries(unmatched);
    for (const [value, count] of Object.entries(this.saved.run.unmatched_labels?.left_out ?? {})) values[value] = (values[value] ?? 0) + count;
    return { images: Object.values(values).reduce((a, b) => a + b, 0), values };
  }

  /** The most recent scored entry of a spec hash (any bootstrap). */
  private entryOf(specHash: string): ScoredSpecEntry {
    const entries = [...this.scoredSpecs.values()].filter((e) => e.response.spec_hash === specHash);
    if (!entries.length) throw new LabNotFoundError(`spec_hash ${specHash} is not one the lab holds (it keeps the last ${SCORED_SPECS_KEPT} scored specs): post the spec to /api/score again`);
    return entries[entries.length - 1];
  }

  private checkIndex(index: number): string {
    const key = this.saved.table.keys[index];
    if (key === undefined) throw new LabNotFoundError(`image ${index}: the session has images 0 to ${this.saved.table.keys.length - 1}`);
    return key;
  }

  /** GET /api/images/:index/scores. */
  imageScores(specHash: string, index: number): ImageScoresResponse {
    const key = this.checkIndex(index);
    const entry = this.entryOf(specHash);
    const cols = entry.resolved.spec.prompts.length;
    const similarity: ScoreMatrix = entry.scored.similarity
      ? { rows: 1, cols, data: entry.scored.similarity.data.subarray(index * cols, (index + 1) * cols) }
      : cosineScores(this.imageEmbeddings.subarray(index * this.dim, (index + 1) * this.dim), entry.textEmbeddings, this.dim);
    return {
      index,
      key,
      spec_hash: specHash,
      scores: Array.from(similarity.data),
      predicted: Object.fromEntries([...entry.scored.predictions].map(([name, predicted]) => [name, predicted[index]])),
    };
  }

  /** POST /api/cell. */
  cell(specHash: string, strategy: string, truth: number, predicted: number): CellResponse {
    const entry = this.entryOf(specHash);
    const predictions = entry.scored.predictions.get(strategy);
    if (!predictions) throw new LabNotFoundError(`strategy '${strategy}' is not one of the spec's (${[...entry.scored.predictions.keys()].join(', ')})`);
    const images: number[] = [];
    predictions.forEach((p, i) => {
      if (p === predicted && (entry.truth ? entry.truth[i] : -1) === truth) images.push(i);
    });
    return { spec_hash: specHash, strategy, truth, predicted, images };
  }

  /** GET /api/images/:index/thumbnail: a JPEG, or null when the image cannot be read now. */
  async thumbnail(index: number): Promise<Buffer | null> {
    this.checkIndex(index);
    this.imageSources ??= runImageSources(this.saved.run.images_root, this.saved.table.keys);
    const uri = await thumbnailDataUri((await this.imageSources)[index], THUMBNAIL_SIZE);
    return uri === null ? null : Buffer.from(uri.slice(uri.indexOf(',') + 1), 'base64');
  }

  /** POST /api/spec.yaml. */
  specYaml(lab: LabSpec): string {
    try {
      return resolveLabSpec(lab).yaml;
    } catch (error) {
      throw new LabInputError((error as Error).message);
    }
  }

  /**
   * POST /api/save-run: a new folder under the save folder with what `zeroshot run --spec <that YAML> --label-map
   * <its label-map.yaml> --unmatched-labels skip` writes on the run's images, labels and settings (with every
   * embedding in the cache). Its label map is the saved run's followed by `labelMap`, so it maps the CSV's values.
   */
  async saveRun(lab: LabSpec, labelMap: LabLabelMap = {}): Promise<SaveRunResponse> {
    const started = performance.now();
    const entry = await this.scoreEntry(lab, this.auditSettings().bootstrap, labelMap);
    const { spec, strategies } = entry.resolved;
    const { run } = this.saved;
    const n = this.saved.table.keys.length;
    const result: RunResult = {
      version: VERSION,
      model: { ...this.model.source, threads: this.model.threads, device: this.model.device, family: this.model.family.family, variant: this.model.family.variant },
      spec,
      strategies,
      imageKeys: this.saved.table.keys,
      imageHashes: this.saved.contentHashes,
      imagesRoot: run.images_root,
      imagesInput: run.images_input,
      skipped: run.skipped ?? [],
      ...entry.scored,
      scoring: modelScoring(this.model).scoring satisfies RunScoring,
      imageEmbeddings: this.imageEmbeddings,
      textEmbeddings: entry.textEmbeddings,
      dim: this.dim,
      topKPredictions: this.saved.topKPredictions,
      truth: entry.truth,
      labelColumn: run.label_column ?? undefined,
      labelMap: this.saved.labels ? composedLabelMap(this.saved.labelMap, entry.labelMap) : undefined,
      unmatchedLabels: entry.leftOut ? { policy: 'skip', left_out: entry.leftOut.values } : undefined,
      groupValues: this.saved.groupValues,
      failures: this.saved.failures,
      imageWarnings: run.image_warnings ?? [],
      // As a run of these images with every embedding in the cache.
      counts: { ...run.counts, embedded: n, cache_hits: n, encoded: 0, shared_content: 0, labelled: entry.labelled, unlabelled: this.saved.labels ? n - entry.labelled : 0 },
      timings: { score_s: Number(((performance.now() - started) / 1000).toFixed(3)) },
      batchSize: run.batch_size,
      // What the saved run decoded with: a run with the same flags on this machine says the same.
      preprocessWorkers: run.preprocess_workers,
      cache: this.cache && { path: this.cache.path, model_fp: this.scope.modelFp, preprocess_fp: this.scope.preprocessFp, ...this.cache.stats() },
    };
    const folder = await this.freshFolderName(spec.name);
    const written = await writeResults(result, join(this.saveDir, folder), {
      similarities: (run.similarities_format ?? 'json') as SimilarityFormat,
      outputs: this.saved.hadReport ? [reportOutput()] : [],
    });
    return { folder, files: written.map((path) => basename(path)) };
  }

  /** `<spec name>-<UTC time>-<n>`, in letters, digits, `.`, `_` and `-`, not yet in the save folder. */
  private async freshFolderName(specName: string): Promise<string> {
    await mkdir(this.saveDir, { recursive: true });
    const taken = new Set(await readdir(this.saveDir));
    const stem = specName.normalize('NFKD').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 60) || 'spec';
    const time = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    for (;;) {
      const name = `${stem}-${time}-${++this.saveCounter}`;
      if (!taken.has(name)) return name;
    }
  }

  /** Lets the text batch in flight finish and refuses the waiting ones (shutdown's first step). */
  stopTextEncoding(): Promise<void> {
    return this.texts.close();
  }

  /** Finishes the text batch in flight (refusing the waiting ones), then frees the model and closes the cache. */
  async close(): Promise<void> {
    await this.texts.close();
    await Promise.all([this.preprocessor.close(), this.model.dispose()]);
    await this.cache?.close();
  }
}
