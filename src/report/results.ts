import type { RunResult } from '../pipeline.js';
import { labelMapYaml } from '../input/labels.js';
import { strategyName } from '../score/strategies.js';
import { contentOutput, RECORD_FILE, writeResultsFolder, type ResultOutput } from './results_folder.js';
import { SCHEMA_VERSIONS, type MetricsFile, type RunFile } from './result_files.js';
import { largeOutputNotice, SIMILARITY_FILES, similarityOutputs, type SimilarityFormat } from './similarity_outputs.js';
import { jsonLines, predictionsCsv } from './tables.js';
import { writtenAudit } from '../evaluate/audit.js';
import { writtenMetrics } from '../evaluate/classification.js';

export const RESULT_FILES = {
  similarities: SIMILARITY_FILES.json.similarities,
  probabilities: SIMILARITY_FILES.json.probabilities,
  similaritiesNpy: SIMILARITY_FILES.npy.similarities,
  probabilitiesNpy: SIMILARITY_FILES.npy.probabilities,
  similaritiesIndex: SIMILARITY_FILES.npy.index,
  similaritiesParquet: SIMILARITY_FILES.parquet.similarities,
  predictions: 'predictions.csv',
  metrics: 'metrics.json',
  errors: 'errors.jsonl',
  labelMap: 'label-map.yaml',
  report: 'report.html',
  run: RECORD_FILE,
} as const;

/** Every file a results folder may hold: a folder holding anything else is not replaced. */
export const RESULTS_FOLDER_FILES: ReadonlySet<string> = new Set(Object.values(RESULT_FILES));

/** What produced the results: enough to reproduce them and to judge them. */
export function runRecord(result: RunResult, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const record: Omit<RunFile, 'finished_at' | 'files' | 'failed_outputs'> = {
    schema_version: SCHEMA_VERSIONS['run.json'],
    schema_versions: SCHEMA_VERSIONS,
    tool: { name: 'zeroshot', version: result.version },
    model: result.model,
    spec: {
      name: result.spec.name,
      source: result.spec.source,
      classes: result.spec.classes.map((c) => ({ name: c.name, prompts: c.prompts, probe: c.probe })),
    },
    scoring: result.scoring,
    embedding_dim: result.dim,
    image_warnings: result.imageWarnings,
    strategies: result.strategies.map(strategyName),
    images_root: result.imagesRoot,
    images_input: result.imagesInput,
    label_column: result.labelColumn ?? null,
    unmatched_labels: result.unmatchedLabels,
    group_columns: result.groupValues.map((g) => g.name),
    batch_size: result.batchSize,
    preprocess_workers: result.preprocessWorkers,
    counts: result.counts,
    skipped: result.skipped,
    cache: result.cache,
    timings: result.timings,
  };
  return { ...record, ...extra };
}

/** metrics.json's content: per-strategy metrics and the audit as written; null for a run without labels. */
export function metricsFile(result: Pick<RunResult, 'spec' | 'metrics' | 'audit'>): MetricsFile | null {
  const { metrics, audit } = result;
  if (!metrics) return null;
  const strategies = Object.fromEntries(Object.entries(metrics).map(([name, m]) => [name, writtenMetrics(m)]));
  return { schema_version: SCHEMA_VERSIONS['metrics.json'], classes: result.spec.classes.map((c) => c.name), strategies, ...(audit ? { groups: writtenAudit(audit) } : {}) };
}

/**
 * The data files of a run, as named outputs (metrics, probabilities and errors only when there are any); the
 * similarity matrices in `similarities` format (default json: similarities.json and probabilities.json).
 */
export function resultOutputs(result: RunResult, similarities: SimilarityFormat = 'json'): ResultOutput[] {
  const classes = result.spec.classes.map((c) => c.name);
  const top = { count: result.topKPredictions, classes: result.topClasses, stride: result.topCount };
  const [similarityOutput, ...probabilityOutputs] = similarityOutputs(result, similarities);
  const outputs = [
    ...(similarityOutput ? [similarityOutput] : []),
    contentOutput(RESULT_FILES.predictions, () => predictionsCsv(result.imageKeys, classes, result.predictions, result.truth, { groups: result.groupValues, contentHashes: result.imageHashes, top })),
    ...probabilityOutputs,
  ];
  const metrics = metricsFile(result);
  if (metrics) outputs.push(contentOutput(RESULT_FILES.metrics, () => JSON.stringify(metrics, null, 2) + '\n'));
  if (result.failures.length) outputs.push(contentOutput(RESULT_FILES.errors, () => jsonLines(result.failures)));
  // The label map the labels went through, so that the folder says how to run it again (--label-map label-map.yaml).
  if (result.labelMap?.size) outputs.push(contentOutput(RESULT_FILES.labelMap, () => labelMapYaml(result.labelMap!)));
  return outputs;
}

export interface WriteResultsOptions {
  /** More fields for run.json. */
  readonly extra?: Record<string, unknown>;
  /** More outputs after the data files, e.g. the report (which reads them). */
  readonly outputs?: readonly ResultOutput[];
  /** How the images × prompts matrices are written (--similarities; default json). */
  readonly similarities?: SimilarityFormat;
  /** Told before a large similarity output is written, with its estimated size. */
  readonly onNotice?: (message: string) => void;
}

/**
 * Writes the results folder `outDir` as one set (see writeResultsFolder): the previous run's files are replaced
 * together, none left behind. Returns the paths written; throws ResultsWriteError naming any file that failed.
 */
export async function writeResults(result: RunResult, outDir: string, options: WriteResultsOptions = {}): Promise<string[]> {
  const format = options.similarities ?? 'json';
  const notice = largeOutputNotice(format, result.imageKeys.length, result.spec.prompts, result.scoring.logit_scale !== null);
  if (notice) options.onNotice?.(notice);
  const record = { ...runRecord(result, { similarities_format: format, ...options.extra }), finished_at: new Date().toISOString() };
  return writeResultsFolder(outDir, [...resultOutputs(result, format), ...(options.outputs ?? [])], record, RESULTS_FOLDER_FILES);
}

/** The stdout summary: strategy × accuracy × balanced accuracy. */
export function summaryTable(result: RunResult): string {
  const { counts } = result;
  const skipped = counts.skipped ? `, ${counts.skipped} skipped (links, FIFOs, sockets…: listed in run.json)` : '';
  const lines = [
    `${counts.embedded} images embedded (${counts.cache_hits} from the cache), ${counts.failed} failed, ${counts.ignored_files} non-image files ignored${skipped}`,
  ];
  if (!result.metrics) return lines.join('\n');
  const duplicates = counts.duplicate_label_rows ? `; ${counts.duplicate_label_rows} duplicate label rows` : '';
  lines.push(`${counts.labelled} labelled (${counts.unlabelled} without a label; ${counts.labels_without_image} labels without an image${duplicates})`);
  const rows = Object.entries(result.metrics).map(([name, m]) => [name, (100 * m.accuracy).toFixed(2), (100 * m.balanced_accuracy).toFixed(2)]);
  const header = ['strategy', 'accuracy %', 'balanced acc. %'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const format = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  lines.push('', format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(format));
  return lines.join('\n');
}
