import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import sharp from 'sharp';
import type { AttributeAudit, AuditResult, StrategyAudit, WrittenAuditResult } from '../evaluate/audit.js';
import { DENSE_CONFUSION_MAX_CLASSES, type WrittenClassificationMetrics } from '../evaluate/classification.js';
import { float32FromLittleEndian } from '../encode/cache/npy.js';
import { pathOrBytes, type ImageBytesSource } from '../input/file_range.js';
import { resolveTarMembers } from '../input/image_sources.js';
import { imageSource, type ImageEntry } from '../input/images.js';
import type { GroupMetrics } from '../evaluate/groups.js';
import type { ImageFailure } from '../pipeline.js';
import { strategyHelp } from '../score/strategies.js';
import { writeFileAtomic } from './atomic_write.js';
import { reportHtml } from './report_page.js';
import { RESULT_FILES } from './results.js';
import type { ResultOutput } from './results_folder.js';
import { updateRecordedFile } from './results_folder.js';
import { parseJson, readErrorsFile, readMetricsFile, readOptional, readPredictionsFile, readRunFile, type MetricsFile, type PredictionTable, type RunFile, type ScoresFile, type SimilarityIndexFile } from './result_files.js';

export type { MetricsFile, RunFile } from './result_files.js';

export const REPORT_FILE = RESULT_FILES.report;

export interface ReportOptions {
  /** `embed`: JPEG thumbnails inside the file, so it can be shared alone; `link`: paths relative to the report. */
  readonly thumbnails?: 'embed' | 'link';
  /** Side of the square thumbnails, in px. */
  readonly thumbnailSize?: number;
  /** Images shown per confusion cell and strategy; the rest are counted ("and N more"). */
  readonly galleryCap?: number;
}

export const DEFAULT_REPORT_OPTIONS: Required<ReportOptions> = { thumbnails: 'embed', thumbnailSize: 80, galleryCap: 12 };

const THUMBNAIL_QUALITY = 70;
/** Thumbnails encoded at once: sharp has its own thread pool, this only bounds open files and memory. */
const THUMBNAIL_CONCURRENCY = 16;
/** Failures listed by name in the report; the rest are counted. */
const LISTED_FAILURES = 50;
/** Prompts listed under each gallery image, best first. */
const TOP_PROMPTS = 3;

/** A group as the page shows it: the audit's metrics without the per-group confusion matrix, which the page does not draw. */
export type ReportGroupMetrics = Omit<GroupMetrics, 'confusion'>;
export type ReportAttributeAudit = Omit<AttributeAudit, 'groups'> & { readonly groups: Record<string, ReportGroupMetrics> };
export type ReportStrategyAudit = Omit<StrategyAudit, 'attributes'> & { readonly attributes: readonly ReportAttributeAudit[] };
export type ReportAudit = Omit<AuditResult, 'strategies'> & { readonly strategies: Record<string, ReportStrategyAudit> };

/** One image shown in a gallery. */
export interface GalleryImage {
  readonly key: string;
  /** data: URI (embed) or URL relative to the report (link); null when the image could not be read. */
  readonly src: string | null;
  /** Best prompts first: [prompt index, score (100·cos)]. */
  readonly top: readonly (readonly [number, number])[];
}

/** The images of one (true class, predicted class) cell of one strategy. */
export interface GalleryCell {
  /** Class index; −1 for images without a label. */
  readonly truth: number;
  readonly predicted: number;
  /** Images in the cell (equals the confusion count for labelled cells). */
  readonly total: number;
  /** Indices into `Gallery.images`, at most `cap`, in image order. */
  readonly images: readonly number[];
}

export interface Gallery {
  readonly thumbnails: 'embed' | 'link';
  readonly size: number;
  readonly cap: number;
  /** Every image shown in any cell, once. */
  readonly images: readonly GalleryImage[];
  /** Strategy → its non-empty cells, by true then predicted class. */
  readonly cells: Record<string, readonly GalleryCell[]>;
}

/** Everything the page shows, embedded as JSON in the report. */
export interface ReportData {
  readonly run: RunFile;
  readonly failures: { readonly total: number; readonly listed: readonly ImageFailure[] };
  readonly classes: readonly string[];
  readonly probe: readonly boolean[];
  readonly prompts: readonly string[];
  /** Class index of each prompt. */
  readonly promptClass: readonly number[];
  readonly strategies: readonly string[];
  /** Strategy → its help text from the strategy registry (shown as the strategy's tooltip). */
  readonly strategyHelp: Record<string, string>;
  /** metrics.json's per-strategy metrics as written; null for a run without labels. */
  readonly metrics: Record<string, WrittenClassificationMetrics> | null;
  /** metrics.json's `groups` section (per-group confusion matrices left out); null when absent. */
  readonly audit: ReportAudit | null;
  readonly gallery: Gallery;
}

/** Drops what the page does not draw (per-group confusion matrices, dense or as cells: groups × strategies × up to classes²). */
function compactAudit(audit: WrittenAuditResult): ReportAudit {
  const strategies: Record<string, ReportStrategyAudit> = {};
  for (const [name, strategy] of Object.entries(audit.strategies)) {
    strategies[name] = {
      ...strategy,
      attributes: strategy.attributes.map((attribute) => ({
        ...attribute,
        groups: Object.fromEntries(Object.entries(attribute.groups).map(([group, { confusion: _dense, confusion_cells: _cells, ...metrics }]) => [group, metrics])),
      })),
    };
  }
  return { ...audit, strategies };
}

/** A gallery cell while it is built: rows of predictions.csv rather than gallery image indices. */
interface CellRows {
  readonly truth: number;
  readonly predicted: number;
  total: number;
  readonly rows: number[];
}

/**
 * Each strategy's non-empty (truth, predicted) cells with their first `cap` images in image order.
 * Image order (not, say, score order) lets strategies that agree share thumbnails.
 */
function galleryCells(table: PredictionTable, numClasses: number, cap: number): Record<string, CellRows[]> {
  const cells: Record<string, CellRows[]> = {};
  const truth = table.truth ?? new Int32Array(table.keys.length).fill(-1);
  for (const strategy of table.strategies) {
    const predicted = table.predicted.get(strategy)!;
    // Index (truth + 1)·C + predicted, so unlabelled images (truth −1) come first.
    const byCell = new Map<number, CellRows>();
    truth.forEach((t, row) => {
      const id = (t + 1) * numClasses + predicted[row];
      let cell = byCell.get(id);
      if (!cell) byCell.set(id, (cell = { truth: t, predicted: predicted[row], total: 0, rows: [] }));
      cell.total += 1;
      if (cell.rows.length < cap) cell.rows.push(row);
    });
    cells[strategy] = [...byCell.entries()].sort(([a], [b]) => a - b).map(([, cell]) => cell);
  }
  return cells;
}

/** Galleries a many-class report shows: the cells of the most confused pairs, this many images each. */
const MANY_CLASSES_GALLERY_PAIRS = 25;
const MANY_CLASSES_GALLERY_CAP = 6;
/** similarities.json larger than this is not parsed for the galleries' top prompts (similarities.npy is read by row). */
const MAX_SIMILARITIES_JSON_BYTES = 64 * 1024 ** 2;

/** Per strategy, the cells of its most confused pairs (metrics.json's top_confused), or of its most predicted classes without labels. */
function mostConfusedCells(cells: Record<string, CellRows[]>, metrics: MetricsFile | null, classes: readonly string[]): Record<string, CellRows[]> {
  const index = new Map(classes.map((c, k) => [c, k]));
  return Object.fromEntries(Object.entries(cells).map(([strategy, list]) => {
    const pairs = metrics?.strategies[strategy]?.top_confused;
    if (pairs) {
      const wanted = new Set(pairs.slice(0, MANY_CLASSES_GALLERY_PAIRS).map((p) => `${index.get(p.truth)}>${index.get(p.predicted)}`));
      return [strategy, list.filter((cell) => wanted.has(`${cell.truth}>${cell.predicted}`))];
    }
    return [strategy, [...list].sort((a, b) => b.total - a.total).slice(0, MANY_CLASSES_GALLERY_PAIRS)];
  }));
}

/**
 * The best prompts ([prompt index, score], best first) of each image shown, from its row of similarities.npy (read
 * by offset) or from similarities.json when it is small enough to parse; none otherwise (the galleries then list no
 * prompts). Only the best few are kept per image: a row of an 80,000-prompt spec as an object would cost megabytes.
 */
async function shownTopPrompts(resultsDir: string, keys: readonly string[], promptIndex: ReadonlyMap<string, number>): Promise<Map<string, [number, number][]>> {
  const tops = new Map<string, [number, number][]>();
  const indexText = await readOptional(join(resultsDir, RESULT_FILES.similaritiesIndex));
  if (indexText !== null) {
    const index = parseJson<SimilarityIndexFile>(indexText, join(resultsDir, RESULT_FILES.similaritiesIndex));
    const rowOf = new Map(index.images.map((key, i) => [key, i]));
    const cols = index.prompts.length;
    const columnPrompt = index.prompts.map((p) => promptIndex.get(p) ?? -1);
    const handle = await open(join(resultsDir, index.files.similarities), 'r').catch(() => null);
    if (!handle) return tops;
    try {
      // The C-order float32 data ends the file, after a header of any length.
      const dataStart = (await handle.stat()).size - index.shape[0] * cols * 4;
      const row = Buffer.alloc(cols * 4);
      for (const key of keys) {
        const i = rowOf.get(key);
        if (i === undefined) continue;
        await handle.read(row, 0, row.length, dataStart + i * cols * 4);
        const values = float32FromLittleEndian(row);
        tops.set(key, bestPrompts(columnPrompt.length, (j) => [columnPrompt[j], values[j]]));
      }
    } finally {
      await handle.close();
    }
    return tops;
  }
  const path = join(resultsDir, RESULT_FILES.similarities);
  const size = await stat(path).then((s) => s.size, () => null);
  if (size === null || size > MAX_SIMILARITIES_JSON_BYTES) return tops;
  const all = parseJson<ScoresFile>(await readFile(path, 'utf8'), path);
  for (const key of keys) {
    const entries = all[key] ? Object.entries(all[key]) : [];
    if (entries.length) tops.set(key, bestPrompts(entries.length, (j) => [promptIndex.get(entries[j][0]) ?? -1, entries[j][1]]));
  }
  return tops;
}

/** The TOP_PROMPTS highest of `count` (prompt index, score) pairs, best first (ties: lower index); index −1 is skipped. */
function bestPrompts(count: number, pair: (j: number) => [number, number]): [number, number][] {
  const best: [number, number][] = [];
  for (let j = 0; j < count; j++) {
    const [prompt, score] = pair(j);
    if (prompt < 0) continue;
    const worse = (a: [number, number]) => score > a[1] || (score === a[1] && prompt < a[0]);
    if (best.length === TOP_PROMPTS && !worse(best[TOP_PROMPTS - 1])) continue;
    let at = best.length === TOP_PROMPTS ? TOP_PROMPTS - 1 : best.length;
    best[at] = [prompt, score];
    while (at > 0 && worse(best[at - 1])) {
      [best[at - 1], best[at]] = [best[at], best[at - 1]];
      at--;
    }
  }
  return best;
}

/** A JPEG thumbnail of an image (a path, its bytes, or its range of a tar) as a data URI; null when it cannot be read. */
export async function thumbnailDataUri(source: ImageBytesSource, size: number): Promise<string | null> {
  try {
    const jpeg = await sharp(await pathOrBytes(source)).rotate().resize(size, size, { fit: 'cover' }).jpeg({ quality: THUMBNAIL_QUALITY }).toBuffer();
    return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
  } catch {
    return null;
  }
}

/**
 * Where the images of `keys` (a run's, under its images_root) are read from: the file, or for a key naming a tar
 * member (`shard.tar/sample.jpg`) its range of the tar, found by listing only the tars the keys name. A tar that no
 * longer holds a member leaves that key's path, which then reads as no thumbnail.
 */
export async function runImageSources(imagesRoot: string, keys: readonly string[]): Promise<ImageBytesSource[]> {
  const files: ImageEntry[] = keys.map((key) => ({ key, path: join(imagesRoot, key) }));
  const entries = await resolveTarMembers(imagesRoot, files).catch(() => files);
  return Promise.all(entries.map(imageSource));
}

/** A URL for `path` relative to the report's folder, each segment percent-encoded. */
function relativeUrl(fromDir: string, path: string): string {
  return relative(fromDir, path).split(sep).map(encodeURIComponent).join('/');
}

/** Maps `items` through `task`, at most `limit` at a time, keeping order. */
export async function mapConcurrently<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Reads a results folder into the data the page shows. */
export async function loadReportData(resultsDir: string, options: ReportOptions = {}): Promise<ReportData> {
  const settings: Required<ReportOptions> = {
    thumbnails: options.thumbnails ?? DEFAULT_REPORT_OPTIONS.thumbnails,
    thumbnailSize: options.thumbnailSize ?? DEFAULT_REPORT_OPTIONS.thumbnailSize,
    galleryCap: options.galleryCap ?? DEFAULT_REPORT_OPTIONS.galleryCap,
  };
  if (!Number.isInteger(settings.thumbnailSize) || settings.thumbnailSize < 8) throw new Error(`thumbnail size ${settings.thumbnailSize} must be an integer of at least 8 px`);
  if (!Number.isInteger(settings.galleryCap) || settings.galleryCap < 0) throw new Error(`gallery cap ${settings.galleryCap} must be a whole number`);
  // Without the folder's file list (sizes, hashes): the report built during the run and one rebuilt later are the same.
  const { files: _files, failed_outputs: _failedOutputs, ...run } = await readRunFile(resultsDir);
  const metricsFile = await readMetricsFile(resultsDir);
  const classes = metricsFile?.classes ?? run.spec.classes.map((c) => c.name);
  const specClass = new Map(run.spec.classes.map((c) => [c.name, c]));
  const prompts = run.spec.classes.flatMap((c) => c.prompts);
  const promptClass = run.spec.classes.flatMap((c) => c.prompts.map(() => classes.indexOf(c.name)));
  const promptIndex = new Map(prompts.map((p, j) => [p, j]));

  const table: PredictionTable = (await readPredictionsFile(resultsDir, classes))
    ?? { keys: [], contentHashes: null, strategies: [], predicted: new Map(), truth: null, groups: new Map(), topClasses: new Map() };
  const strategies = metricsFile ? Object.keys(metricsFile.strategies) : table.strategies.length ? table.strategies : [...run.strategies];

  // Many classes: galleries for the most confused pairs only (else one per non-empty cell: thousands of thumbnails).
  const many = classes.length > DENSE_CONFUSION_MAX_CLASSES;
  const allCells = galleryCells(table, classes.length, many ? Math.min(settings.galleryCap, MANY_CLASSES_GALLERY_CAP) : settings.galleryCap);
  const cells = many ? mostConfusedCells(allCells, metricsFile, classes) : allCells;
  const shownRows = [...new Set(Object.values(cells).flatMap((list) => list.flatMap((cell) => cell.rows)))].sort((a, b) => a - b);
  const imageOfRow = new Map(shownRows.map((row, i) => [row, i]));
  const imagesRoot = isAbsolute(run.images_root) ? run.images_root : join(resultsDir, run.images_root);
  const shownSources = await runImageSources(imagesRoot, shownRows.map((row) => table.keys[row]));
  // A tar member has no file of its own to link to: its thumbnail is embedded in either mode.
  const sources = await mapConcurrently(shownSources, THUMBNAIL_CONCURRENCY, async (source) =>
    settings.thumbnails === 'embed' || typeof source !== 'string' ? thumbnailDataUri(source, settings.thumbnailSize) : relativeUrl(resultsDir, source));
  const tops = await shownTopPrompts(resultsDir, shownRows.map((row) => table.keys[row]), promptIndex);
  const images = shownRows.map((row, i): GalleryImage => ({ key: table.keys[row], src: sources[i], top: tops.get(table.keys[row]) ?? [] }));

  const failures = await readErrorsFile(resultsDir);

  return {
    run,
    failures: { total: failures.length, listed: failures.slice(0, LISTED_FAILURES) },
    classes,
    probe: classes.map((c) => specClass.get(c)?.probe ?? false),
    prompts,
    promptClass,
    strategies,
    strategyHelp: Object.fromEntries(strategies.map((name) => [name, strategyHelp(name) ?? ''])),
    metrics: metricsFile?.strategies ?? null,
    audit: metricsFile?.groups ? compactAudit(metricsFile.groups) : null,
    gallery: {
      thumbnails: settings.thumbnails,
      size: settings.thumbnailSize,
      cap: settings.galleryCap,
      images,
      cells: Object.fromEntries(
        Object.entries(cells).map(([strategy, list]) => [
          strategy,
          list.map(({ truth, predicted, total, rows }) => ({ truth, predicted, total, images: rows.map((row) => imageOfRow.get(row)!) })),
        ]),
      ),
    },
  };
}

let echartsSource: Promise<string> | undefined;

/** ECharts' minified build, read once from node_modules and inlined so the report needs no network. */
export function loadEcharts(): Promise<string> {
  echartsSource ??= readFile(createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js'), 'utf8').catch((error: unknown) => {
    echartsSource = undefined; // let a later call retry rather than keep the failure
    throw error;
  });
  return echartsSource;
}

/** The report of a results folder as one self-contained HTML page (scripts, styles, data and thumbnails inline). */
export async function buildReport(resultsDir: string, options: ReportOptions = {}): Promise<string> {
  const [data, echarts] = await Promise.all([loadReportData(resultsDir, options), loadEcharts()]);
  return reportHtml(data, echarts);
}

/** report.html as an output of a results folder: built from the staged files, so it is swapped in with them. */
export function reportOutput(options: ReportOptions = {}): ResultOutput {
  return { name: REPORT_FILE, afterRecord: true, write: async (path) => writeFile(path, await buildReport(dirname(path), options)) };
}

/** Writes `report.html` into the results folder (replaced atomically) and returns its path. */
export async function writeReport(resultsDir: string, options: ReportOptions = {}): Promise<string> {
  const path = join(resultsDir, REPORT_FILE);
  await writeFileAtomic(path, await buildReport(resultsDir, options));
  await updateRecordedFile(resultsDir, REPORT_FILE);
  return path;
}
