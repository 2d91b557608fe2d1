import { isAbsolute, join, resolve } from 'node:path';
import { compareRuns, DEFAULT_COMPARISON_SETTINGS, type ComparisonSettings, type RunComparison } from '../evaluate/compare/compare_runs.js';
import { VERSION } from '../pipeline.js';
import { strategyHelp } from '../score/strategies.js';
import { alignRuns, loadRun } from './compare_inputs.js';
import { comparisonHtml, type ChangedCell, type ComparisonPageData } from './compare_page.js';
import { changedCsv, comparisonCsv, comparisonLatex, comparisonMarkdown } from './compare_tables.js';
import { loadEcharts, mapConcurrently, runImageSources, thumbnailDataUri } from './html_report.js';
import { contentOutput, writeResultsFolder } from './results_folder.js';
import { SCHEMA_VERSIONS, type ComparisonFile } from './result_files.js';

/** The files of a comparison folder; comparison.json is its record, written last with the others' sizes and sha256. */
export const COMPARISON_FILES = {
  comparison: 'comparison.json',
  csv: 'comparison.csv',
  markdown: 'comparison.md',
  latex: 'comparison.tex',
  html: 'comparison.html',
  changed: 'changed.csv',
} as const;

export const COMPARISON_FOLDER_FILES: ReadonlySet<string> = new Set(Object.values(COMPARISON_FILES));

export interface CompareOptions extends Partial<ComparisonSettings> {
  /** The results folder the others are compared with; default: the first. */
  readonly baseline?: string;
  /** Changed images shown per run and strategy in the HTML gallery. */
  readonly galleryCap?: number;
  readonly thumbnailSize?: number;
}

const THUMBNAIL_CONCURRENCY = 16;

/** A comparison in memory: comparison.json's content, and each run's changed images (changed.csv). */
export type Comparison = Omit<ComparisonFile, 'comparisons'> & { readonly comparisons: readonly RunComparison[] };

/** comparison.json's content: the comparison without the changed-image lists, which changed.csv holds. */
export function comparisonRecord(comparison: Comparison): ComparisonFile {
  return { ...comparison, comparisons: comparison.comparisons.map(({ changed: _changed, ...rest }) => rest) };
}

/** Compares results folders (the baseline among them or added first); pure apart from reading them. */
export async function compareResultFolders(dirs: readonly string[], options: CompareOptions = {}): Promise<Comparison> {
  const settings: ComparisonSettings = {
    bootstrap: options.bootstrap ?? DEFAULT_COMPARISON_SETTINGS.bootstrap,
    seed: options.seed ?? DEFAULT_COMPARISON_SETTINGS.seed,
    minGroupSize: options.minGroupSize ?? DEFAULT_COMPARISON_SETTINGS.minGroupSize,
    intersections: options.intersections ?? DEFAULT_COMPARISON_SETTINGS.intersections,
  };
  let all = [...dirs];
  let baseline = 0;
  if (options.baseline !== undefined) {
    const wanted = resolve(options.baseline);
    baseline = all.findIndex((dir) => resolve(dir) === wanted);
    if (baseline < 0) {
      all = [options.baseline, ...all];
      baseline = 0;
    }
  }
  const loaded = await Promise.all(all.map(loadRun));
  const alignment = alignRuns(loaded, baseline, settings);
  const result = compareRuns(alignment.input);
  return {
    schema_version: SCHEMA_VERSIONS['comparison.json'],
    schema_versions: { 'comparison.csv': SCHEMA_VERSIONS['comparison.csv'], 'changed.csv': SCHEMA_VERSIONS['changed.csv'] },
    tool: { name: 'zeroshot', version: VERSION },
    settings: {
      bootstrap: settings.bootstrap,
      seed: settings.seed,
      confidence: result.confidence,
      min_group_size: settings.minGroupSize,
      intersections: settings.intersections,
      resampling: result.resampling,
      interval: result.interval,
    },
    aligned_by: alignment.alignedBy,
    baseline: alignment.runs[baseline].name,
    shared_images: alignment.input.truth.length,
    classes: alignment.input.classes,
    probe_classes: alignment.input.classes.filter((_, c) => alignment.input.probe[c]),
    runs: alignment.runs,
    comparisons: result.comparisons,
    agreement_matrix: result.agreement_matrix,
  };
}

/** The page's data: the comparison without full changed lists, and thumbnails of the first changed images. */
export async function comparisonPageData(comparison: Comparison, options: CompareOptions = {}): Promise<ComparisonPageData> {
  const cap = options.galleryCap ?? 24;
  const size = options.thumbnailSize ?? 96;
  const base = comparison.runs.find((r) => r.name === comparison.baseline)!;
  const root = isAbsolute(base.images_root) ? base.images_root : join(base.dir, base.images_root);
  const keys: string[] = [];
  const indexOf = new Map<string, number>();
  const cells: ChangedCell[] = [];
  const details: [string, string, string][][] = [];
  for (const c of comparison.comparisons) {
    if (c.run === comparison.baseline) continue;
    const shown = c.changed.slice(0, cap);
    cells.push({
      run: c.run,
      strategy: c.strategy,
      total: c.changed.length,
      images: shown.map((x) => {
        if (!indexOf.has(x.image)) indexOf.set(x.image, keys.push(x.image) - 1);
        return indexOf.get(x.image)!;
      }),
    });
    details.push(shown.map((x) => [x.label, x.baseline, x.predicted]));
  }
  const sources = await mapConcurrently(await runImageSources(root, keys), THUMBNAIL_CONCURRENCY, (source) => thumbnailDataUri(source, size));
  return {
    comparison: comparisonRecord(comparison),
    strategyHelp: Object.fromEntries([...new Set(comparison.comparisons.map((c) => c.strategy))].map((s) => [s, strategyHelp(s) ?? ''])),
    gallery: { size, cap, images: keys.map((key, i) => ({ key, src: sources[i] })), cells, details },
  };
}

/**
 * Compares the results folders and writes the comparison folder `outDir` as one set (like a results folder):
 * comparison.csv, .md, .tex, .html and changed.csv, then comparison.json last with their sizes and sha256.
 */
export async function writeComparison(dirs: readonly string[], outDir: string, options: CompareOptions = {}): Promise<{ comparison: Comparison; files: string[] }> {
  const comparison = await compareResultFolders(dirs, options);
  const outputs = [
    contentOutput(COMPARISON_FILES.csv, () => comparisonCsv(comparison)),
    contentOutput(COMPARISON_FILES.changed, () => changedCsv(comparison.comparisons)),
    contentOutput(COMPARISON_FILES.markdown, () => comparisonMarkdown(comparison)),
    contentOutput(COMPARISON_FILES.latex, () => comparisonLatex(comparison)),
    contentOutput(COMPARISON_FILES.html, async () => comparisonHtml(await comparisonPageData(comparison, options), await loadEcharts())),
  ];
  const record: ComparisonFile = { ...comparisonRecord(comparison), finished_at: new Date().toISOString() };
  const files = await writeResultsFolder(outDir, outputs, record, COMPARISON_FOLDER_FILES, COMPARISON_FILES.comparison);
  return { comparison, files };
}
