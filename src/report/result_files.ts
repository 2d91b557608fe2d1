/**
 * The files zeroshot writes, as typed contracts shared by their writer (results.ts, compare) and every reader
 * (the report, compare, sweep). Each file has a schema version: JSON objects carry `schema_version`; files whose
 * shape is fixed otherwise (the seed's similarities JSON, CSV, JSON lines) have theirs in run.json's
 * `schema_versions`. A file without a version was written before versions existed and has version 1's layout.
 * A reader given a newer version refuses it with the file, both versions and the way out.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { WrittenAuditResult } from '../evaluate/audit.js';
import type { WrittenClassificationMetrics } from '../evaluate/classification.js';
import type { ImagesInput } from '../input/image_sources.js';
import type { McNemarTest } from '../evaluate/compare/mcnemar.js';
import type { PairedEstimate } from '../evaluate/compare/paired_bootstrap.js';
import type { ImageFailure, ImageWarning, RunCounts, RunResult, RunScoring, UnmatchedLabels } from '../pipeline.js';
import type { SkippedEntry } from '../input/images.js';
import { strategyOfName } from '../score/strategies.js';
import type { FailedOutput, WrittenFile } from './results_folder.js';

/** The schema version of each file this zeroshot writes and reads. */
export const SCHEMA_VERSIONS = {
  'run.json': 1,
  'metrics.json': 1,
  'predictions.csv': 1,
  'similarities.json': 1,
  'probabilities.json': 1,
  'errors.jsonl': 1,
  'similarities_index.json': 1,
  'comparison.json': 1,
  'comparison.csv': 1,
  'changed.csv': 1,
} as const;

export type ResultFileName = keyof typeof SCHEMA_VERSIONS;

/** run.json, the record of a results folder, written last by `runRecord` (results.ts) and writeResultsFolder. */
export interface RunFile {
  readonly schema_version?: number;
  /** The schema version of every other file of the folder. */
  readonly schema_versions?: Partial<Record<ResultFileName, number>>;
  readonly tool: { readonly name: string; readonly version: string };
  readonly model: {
    readonly id: string;
    readonly kind: string;
    readonly path?: string;
    readonly revision: string;
    readonly dtype: string;
    readonly threads: number;
    /** cpu or cuda; absent before --device (cpu). */
    readonly device?: string;
    readonly family?: string;
    readonly variant?: string;
  };
  readonly spec: { readonly name: string; readonly source: string; readonly classes: readonly { readonly name: string; readonly prompts: readonly string[]; readonly probe: boolean }[] };
  readonly scoring?: RunScoring;
  readonly embedding_dim?: number;
  /** Images read and embedded, but with a warning (e.g. PIL's DecompressionBombWarning). */
  readonly image_warnings?: readonly ImageWarning[];
  readonly strategies: readonly string[];
  readonly images_root: string;
  /** What --images was (a folder, WebDataset tars, a file list) and the files it named; absent before it existed (a folder). */
  readonly images_input?: ImagesInput;
  readonly label_column: string | null;
  /**
   * With labels: --unmatched-labels (error or skip) and, label value → embedded images left out of the metrics and
   * the audit because it names no class of the spec (after the label map); absent in folders written before it.
   */
  readonly unmatched_labels?: UnmatchedLabels;
  /** Label-CSV columns the run was audited by (predictions.csv's `group:<column>` columns). */
  readonly group_columns?: readonly string[];
  readonly batch_size: number;
  /** Image preprocessing threads (--workers); absent in older folders. */
  readonly preprocess_workers?: number;
  readonly counts: RunCounts;
  readonly skipped?: readonly SkippedEntry[];
  readonly cache?: RunResult['cache'];
  readonly timings: Record<string, number>;
  /** The sweep combination and settings that wrote the folder (zeroshot sweep), which a re-run checks. */
  readonly sweep?: Record<string, unknown>;
  /** --similarities: how the images × prompts matrices were written; absent before it existed (json). */
  readonly similarities_format?: 'json' | 'npy' | 'parquet' | 'none';
  readonly finished_at?: string;
  /** Every other file of the folder with its size and sha256. */
  readonly files?: Record<string, WrittenFile>;
  readonly failed_outputs?: readonly FailedOutput[];
}

/** metrics.json: written only for labelled runs; `groups` only when the run had group attributes. */
export interface MetricsFile {
  readonly schema_version?: number;
  readonly classes: readonly string[];
  /** Per strategy; for more than DENSE_CONFUSION_MAX_CLASSES classes the confusion matrix as non-zero cells. */
  readonly strategies: Record<string, WrittenClassificationMetrics>;
  /** The audit; above DENSE_CONFUSION_MAX_CLASSES classes each group's confusion matrix as `confusion_cells`. */
  readonly groups?: WrittenAuditResult;
}

/**
 * similarities_index.json, beside the .npy matrices of `--similarities npy`: what their rows and columns are.
 * The matrices are float32 C-order arrays of `shape`, one row per image, one column per prompt.
 */
export interface SimilarityIndexFile {
  readonly schema_version: number;
  readonly shape: readonly [number, number];
  readonly dtype: 'float32';
  readonly values: string;
  readonly files: { readonly similarities: string; readonly probabilities: string | null };
  /** Row i's image (predictions.csv's keys, in the same order). */
  readonly images: readonly string[];
  /** Column j's prompt and its class. */
  readonly prompts: readonly string[];
  readonly prompt_classes: readonly string[];
}

/** similarities.json and probabilities.json: the seed's `{"<image>": {"<prompt>": score, …}, …}`. */
export type ScoresFile = Record<string, Record<string, number>>;

/** One line of errors.jsonl. */
export type ErrorLine = ImageFailure;

/**
 * predictions.csv's columns: `image`, one per strategy (named as in --strategies) with the predicted class,
 * `label` when labels were given, `group:<column>` per audited label-CSV column, and `sha256`, the content hash
 * of the image file (the embedding cache's key), which compare aligns runs on; with `--top-k-predictions N`, one
 * `top<N>:<strategy>` column per strategy holding its N best classes as a JSON array, best first.
 */
export const PREDICTION_COLUMNS = { image: 'image', label: 'label', contentHash: 'sha256', groupPrefix: 'group:' } as const;

/** predictions.csv's column of a strategy's N best classes. */
export function topClassColumn(count: number, strategy: string): string {
  return `top${count}:${strategy}`;
}

const TOP_CLASS_COLUMN = /^top(\d+):(.+)$/;

/** One row of predictions.csv, as written. */
export interface PredictionRow {
  readonly image: string;
  /** Strategy name → predicted class name. */
  readonly predicted: Record<string, string>;
  /** '' when the image has no label; absent without labels. */
  readonly label?: string;
  /** Group column → value ('' when unknown). */
  readonly groups: Record<string, string>;
  readonly sha256?: string;
}

/** predictions.csv as read: class indices in the run's class order. */
export interface PredictionTable {
  readonly keys: readonly string[];
  /** Content hash per row; null when the file has no `sha256` column (written before it had one). */
  readonly contentHashes: readonly string[] | null;
  readonly strategies: readonly string[];
  /** Strategy → predicted class per row. */
  readonly predicted: Map<string, Int32Array>;
  /** True class per row, −1 without a label; null when the file has no `label` column. */
  readonly truth: Int32Array | null;
  /** Group column → value per row (null when unknown). */
  readonly groups: Map<string, readonly (string | null)[]>;
  /** Strategy → its best classes per row, best first, from the `top<N>:<strategy>` columns (empty without them). */
  readonly topClasses: Map<string, readonly (readonly string[])[]>;
}

/** A file written by a newer zeroshot than this one. */
export class SchemaVersionError extends Error {
  override readonly name = 'SchemaVersionError';
}

/** Throws when `found` (a file's schema_version) is newer than what this zeroshot reads; absent means version 1. */
export function checkSchemaVersion(path: string, file: ResultFileName, found: unknown): void {
  const reads = SCHEMA_VERSIONS[file];
  if (found === undefined) return;
  if (typeof found !== 'number' || !Number.isInteger(found) || found < 1) {
    throw new SchemaVersionError(`${path}: schema_version ${JSON.stringify(found)} is not a version number; the file is damaged or not written by zeroshot`);
  }
  if (found > reads) {
    throw new SchemaVersionError(`${path} has schema version ${found} (${file}); this zeroshot reads version ${reads}: upgrade zeroshot to read it`);
  }
}

export async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export function parseJson<T>(text: string, path: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Reads and checks run.json of a results folder. */
export async function readRunFile(resultsDir: string): Promise<RunFile> {
  const path = join(resultsDir, 'run.json');
  const text = await readOptional(path);
  if (text === null) throw new Error(`${path} not found: '${resultsDir}' is not a results folder (written by zeroshot run)`);
  const run = parseJson<RunFile>(text, path);
  checkSchemaVersion(path, 'run.json', run.schema_version);
  for (const [file, version] of Object.entries(run.schema_versions ?? {})) {
    if (file in SCHEMA_VERSIONS) checkSchemaVersion(join(resultsDir, file), file as ResultFileName, version);
  }
  return run;
}

/** Reads metrics.json; null when the folder has none (a run without labels). */
export async function readMetricsFile(resultsDir: string): Promise<MetricsFile | null> {
  const path = join(resultsDir, 'metrics.json');
  const text = await readOptional(path);
  if (text === null) return null;
  const metrics = parseJson<MetricsFile>(text, path);
  checkSchemaVersion(path, 'metrics.json', metrics.schema_version);
  return metrics;
}

/** Reads errors.jsonl; empty when absent. */
export async function readErrorsFile(resultsDir: string): Promise<ErrorLine[]> {
  const path = join(resultsDir, 'errors.jsonl');
  const text = await readOptional(path);
  return (text ?? '').split('\n').filter((line) => line.trim() !== '').map((line, i) => parseJson<ErrorLine>(line, `${path}:${i + 1}`));
}

/**
 * Parses predictions.csv text. Strategy columns are the ones whose header is a strategy name (the registry's
 * syntax), so the columns may come in any order and later versions may add columns.
 */
export function parsePredictions(text: string, classes: readonly string[], path: string): PredictionTable {
  const rows: string[][] = parse(text);
  if (rows.length === 0) throw new Error(`${path} is empty`);
  const [header, ...body] = rows;
  if (header[0] !== PREDICTION_COLUMNS.image) throw new Error(`${path}: the first column is '${header[0]}', expected '${PREDICTION_COLUMNS.image}'`);
  const labelColumn = header.indexOf(PREDICTION_COLUMNS.label);
  const hashColumn = header.indexOf(PREDICTION_COLUMNS.contentHash);
  const strategyColumns = header.flatMap((name, column) => (column > 0 && strategyOfName(name) ? [column] : []));
  const groupColumns = header.flatMap((name, column) => (name.startsWith(PREDICTION_COLUMNS.groupPrefix) ? [column] : []));
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const indexOf = (name: string, row: number): number => {
    const c = classIndex.get(name);
    if (c === undefined) throw new Error(`${path}, row ${row + 2}: '${name}' is not one of the spec's classes`);
    return c;
  };
  const topColumns = header.flatMap((name, column): [number, string][] => {
    const strategy = TOP_CLASS_COLUMN.exec(name)?.[2];
    return strategy !== undefined && strategyOfName(strategy) ? [[column, strategy]] : [];
  });
  const topClassesOf = (cell: string, row: number): string[] => {
    let value: unknown;
    try {
      value = JSON.parse(cell);
    } catch {
      value = undefined;
    }
    if (!Array.isArray(value) || !value.every((name) => typeof name === 'string')) throw new Error(`${path}, row ${row + 2}: a top-classes cell must be a JSON array of class names, got '${cell.slice(0, 80)}'`);
    for (const name of value) indexOf(name, row);
    return value;
  };
  return {
    keys: body.map((row) => row[0]),
    contentHashes: hashColumn < 0 ? null : body.map((row) => row[hashColumn]),
    strategies: strategyColumns.map((column) => header[column]),
    predicted: new Map(strategyColumns.map((column) => [header[column], Int32Array.from(body, (row, r) => indexOf(row[column], r))])),
    truth: labelColumn < 0 ? null : Int32Array.from(body, (row, r) => (row[labelColumn] === '' ? -1 : indexOf(row[labelColumn], r))),
    groups: new Map(groupColumns.map((column) => [header[column].slice(PREDICTION_COLUMNS.groupPrefix.length), body.map((row) => row[column] || null)])),
    topClasses: new Map(topColumns.map(([column, strategy]) => [strategy, body.map((row, r) => topClassesOf(row[column], r))])),
  };
}

/** Reads predictions.csv of a results folder; null when absent. */
export async function readPredictionsFile(resultsDir: string, classes: readonly string[]): Promise<PredictionTable | null> {
  const path = join(resultsDir, 'predictions.csv');
  const text = await readOptional(path);
  return text === null ? null : parsePredictions(text, classes, path);
}

/** One run of a comparison, as comparison.json describes it. */
export interface ComparedRun {
  /** Short name: the results folder's name, made unique. */
  readonly name: string;
  readonly dir: string;
  readonly model: string;
  readonly dtype: string;
  readonly spec: string;
  readonly strategies: readonly string[];
  /** Images of this run that are in every run (and compared). */
  readonly shared: number;
  /** Images of this run left out because another run does not have them. */
  readonly left_out: number;
  /** The folder its images were read from (the gallery's thumbnails). */
  readonly images_root: string;
}

/** One statistic of a run (or of its difference to the baseline) with its paired bootstrap interval. */
export type ComparedValue = PairedEstimate;

/** A run against the baseline for one strategy. */
export interface StrategyComparison {
  readonly run: string;
  readonly strategy: string;
  readonly n: number;
  readonly accuracy: ComparedValue;
  readonly accuracy_difference: ComparedValue;
  readonly balanced_accuracy: ComparedValue;
  readonly balanced_accuracy_difference: ComparedValue;
  /** McNemar's exact test on per-image correctness: b = baseline right and run wrong, c = the other way. */
  readonly mcnemar: McNemarTest;
  /** Share of images with the same predicted class in both runs, and Cohen's kappa of the two predictions. */
  readonly agreement: number;
  readonly kappa: number | null;
  /** Any-probe rate over all images (null when the spec has no probe class) and its difference. */
  readonly probe_rate: ComparedValue | null;
  readonly probe_rate_difference: ComparedValue | null;
  /** Per group column: the groups' accuracies and probe rates, the accuracy gap, and their differences. */
  readonly attributes: readonly AttributeComparison[];
  /** Images whose predicted class differs from the baseline's (listed in changed.csv). */
  readonly changed_images: number;
}

export interface GroupComparison {
  readonly n: number;
  readonly accuracy: ComparedValue;
  readonly accuracy_difference: ComparedValue;
  readonly probe_rate: ComparedValue | null;
  readonly probe_rate_difference: ComparedValue | null;
}

export interface AttributeComparison {
  readonly attribute: string;
  /** Groups with at least min_group_size compared images, which the gaps are over. */
  readonly compared_groups: readonly string[];
  readonly groups: Record<string, GroupComparison>;
  /** Max − min group accuracy (this run), and this run's gap minus the baseline's. */
  readonly accuracy_gap: ComparedValue;
  readonly accuracy_gap_difference: ComparedValue;
  readonly probe_rate_gap: ComparedValue | null;
  readonly probe_rate_gap_difference: ComparedValue | null;
  /** Per (non-probe) class: max − min recall over the compared groups (equal opportunity), and its difference. */
  readonly equal_opportunity: Record<string, ComparedValue>;
  readonly equal_opportunity_difference: Record<string, ComparedValue>;
  /** Per class: max − min rate of being predicted it over the compared groups (demographic parity), and its difference. */
  readonly demographic_parity: Record<string, ComparedValue>;
  readonly demographic_parity_difference: Record<string, ComparedValue>;
}

/** One row of changed.csv (with the run and strategy): an image whose predicted class differs from the baseline's. */
export interface ChangedImage {
  readonly image: string;
  readonly sha256: string | null;
  readonly label: string;
  readonly baseline: string;
  readonly predicted: string;
}

/** comparison.json, the record of a comparison folder (written last, with the other files' sizes and sha256). */
export interface ComparisonFile {
  readonly schema_version: number;
  /** The schema version of the comparison folder's other files. */
  readonly schema_versions: Partial<Record<ResultFileName, number>>;
  readonly tool: { readonly name: string; readonly version: string };
  readonly settings: {
    readonly bootstrap: number;
    readonly seed: number;
    readonly confidence: number;
    readonly min_group_size: number;
    /** Pairs of attributes crossed (`race × gender`) are compared too. */
    readonly intersections: boolean;
    /** How the paired bootstrap resamples: "stratified by group" or "over all images". */
    readonly resampling: string;
    readonly interval: string;
  };
  /** `sha256` when every run's predictions.csv has content hashes, else `key`. */
  readonly aligned_by: 'sha256' | 'key';
  readonly baseline: string;
  readonly shared_images: number;
  readonly classes: readonly string[];
  readonly probe_classes: readonly string[];
  readonly runs: readonly ComparedRun[];
  /** Every run (baseline included, with zero differences) × strategy the runs share. */
  readonly comparisons: readonly StrategyComparison[];
  /** Strategy → run × run share of images with the same prediction (rows and columns in `runs` order). */
  readonly agreement_matrix: Record<string, (number | null)[][]>;
  readonly finished_at?: string;
  readonly files?: Record<string, WrittenFile>;
  readonly failed_outputs?: readonly FailedOutput[];
}

/** Reads and checks a comparison.json. */
export async function readComparisonFile(path: string): Promise<ComparisonFile> {
  const text = await readOptional(path);
  if (text === null) throw new Error(`${path} not found`);
  const comparison = parseJson<ComparisonFile>(text, path);
  checkSchemaVersion(path, 'comparison.json', comparison.schema_version);
  return comparison;
}
