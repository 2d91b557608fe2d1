import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { runZeroShot, type RunOptions } from '../pipeline.js';
import { writeComparison, type CompareOptions, type Comparison } from '../report/compare.js';
import { reportOutput } from '../report/html_report.js';
import { readRunFile } from '../report/result_files.js';
import { writeResults } from '../report/results.js';
import type { RunProgress } from '../pipeline.js';
import type { SweepCombination, SweepPlan } from './sweep_file.js';

/** What a combination's run.json records under `sweep`: a folder is complete only for the same settings. */
function sweepRecord(plan: SweepPlan, combination: SweepCombination): Record<string, unknown> {
  return {
    name: combination.name,
    model: combination.model,
    spec: combination.spec,
    dtype: combination.dtype,
    images: plan.images,
    labels: plan.labels ?? null,
    label_column: plan.labelColumn ?? null,
    image_column: plan.imageColumn ?? null,
    groups: plan.groups,
    strategies: plan.strategies ?? null,
    bootstrap: plan.bootstrap ?? null,
    seed: plan.seed ?? null,
    min_group_size: plan.minGroupSize ?? null,
    intersections: plan.intersections ?? null,
  };
}

/**
 * Why a combination's folder is not a complete run of these settings, or null when it is: its run.json records
 * the same sweep settings and no failed output, and every file it lists is there with its recorded size.
 */
export async function incompleteBecause(plan: SweepPlan, combination: SweepCombination): Promise<string | null> {
  const run = await readRunFile(combination.dir).catch(() => null);
  if (!run) return 'not run yet';
  if (!isDeepStrictEqual((run as { sweep?: unknown }).sweep, sweepRecord(plan, combination))) return 'run with other settings';
  if (run.failed_outputs?.length) return `${run.failed_outputs.map((f) => f.file).join(', ')} failed`;
  for (const [file, written] of Object.entries(run.files ?? {})) {
    const info = await stat(join(combination.dir, file)).catch(() => null);
    if (!info || info.size !== written.bytes) return `${file} is missing or changed`;
  }
  return null;
}

export interface SweepHooks {
  /** One line per combination: "[2/8] clip.fairface-race.q8: running" / "…: complete, skipped". */
  readonly onLine?: (line: string) => void;
  readonly onProgress?: (progress: RunProgress) => void;
  readonly onRunDone?: () => void;
  readonly onWarning?: (message: string) => void;
}

export interface SweepOutcome {
  readonly ran: readonly string[];
  readonly skipped: readonly string[];
  /** Null for a sweep of one combination. */
  readonly comparison: Comparison | null;
  readonly comparisonFiles: readonly string[];
}

/**
 * Runs every combination of a sweep into its own results folder (all sharing the embedding cache, so each image
 * is encoded once per model and dtype), skips the complete ones, then compares them all.
 */
export async function runSweep(plan: SweepPlan, hooks: SweepHooks = {}): Promise<SweepOutcome> {
  const ran: string[] = [];
  const skipped: string[] = [];
  const total = plan.combinations.length;
  for (const [i, combination] of plan.combinations.entries()) {
    const counter = `[${i + 1}/${total}] ${combination.name}`;
    const reason = await incompleteBecause(plan, combination);
    if (reason === null) {
      hooks.onLine?.(`${counter}: complete, skipped (${combination.dir})`);
      skipped.push(combination.name);
      continue;
    }
    hooks.onLine?.(`${counter}: running (${reason})`);
    const options: RunOptions = {
      images: plan.images,
      spec: combination.spec,
      labels: plan.labels,
      labelColumn: plan.labelColumn,
      imageColumn: plan.imageColumn,
      groups: plan.groups,
      model: combination.model,
      offline: plan.offline,
      dtype: combination.dtype,
      threads: plan.threads,
      batchSize: plan.batchSize,
      strategies: plan.strategies,
      cache: plan.cache,
      audit: { bootstrap: plan.bootstrap, seed: plan.seed, minGroupSize: plan.minGroupSize, intersections: plan.intersections },
    };
    try {
      const result = await runZeroShot(options, { onProgress: hooks.onProgress, onWarning: hooks.onWarning });
      await writeResults(result, combination.dir, { extra: { sweep: sweepRecord(plan, combination) }, outputs: [reportOutput()] });
    } catch (error) {
      throw new Error(`${counter}: ${(error as Error).message}`);
    } finally {
      hooks.onRunDone?.();
    }
    ran.push(combination.name);
  }
  if (total < 2) {
    hooks.onLine?.('one combination: nothing to compare');
    return { ran, skipped, comparison: null, comparisonFiles: [] };
  }
  hooks.onLine?.(`comparing ${total} runs against ${plan.combinations.find((c) => c.dir === plan.baseline)!.name}…`);
  const compareOptions: CompareOptions = { baseline: plan.baseline, bootstrap: plan.bootstrap, seed: plan.seed, minGroupSize: plan.minGroupSize, intersections: plan.intersections };
  const { comparison, files } = await writeComparison(plan.combinations.map((c) => c.dir), plan.comparisonDir, compareOptions);
  return { ran, skipped, comparison, comparisonFiles: files };
}
