import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunResult } from '../pipeline.js';
import { strategyName } from '../score/strategies.js';
import { writeFileAtomic } from './atomic_write.js';
import { jsonLines, predictionsCsv, similaritiesJson } from './tables.js';

export const RESULT_FILES = {
  similarities: 'similarities.json',
  probabilities: 'probabilities.json',
  predictions: 'predictions.csv',
  metrics: 'metrics.json',
  errors: 'errors.jsonl',
  run: 'run.json',
} as const;

/** What produced the results: enough to reproduce them and to judge them. */
export function runRecord(result: RunResult, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tool: { name: 'zeroshot', version: result.version },
    model: result.model,
    spec: {
      name: result.spec.name,
      source: result.spec.source,
      classes: result.spec.classes.map((c) => ({ name: c.name, prompts: c.prompts, probe: c.probe })),
    },
    scoring: result.scoring,
    strategies: result.strategies.map(strategyName),
    images_root: result.imagesRoot,
    label_column: result.labelColumn ?? null,
    batch_size: result.batchSize,
    counts: result.counts,
    skipped: result.skipped,
    cache: result.cache,
    timings: result.timings,
    ...extra,
  };
}

/** Writes every result file into `outDir` (created if needed), each replaced atomically. */
export async function writeResults(result: RunResult, outDir: string, extra: Record<string, unknown> = {}): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const classes = result.spec.classes.map((c) => c.name);
  const written: [string, string][] = [
    [RESULT_FILES.similarities, similaritiesJson(result.imageKeys, result.spec.prompts, result.similarity)],
    [RESULT_FILES.predictions, predictionsCsv(result.imageKeys, classes, result.predictions, result.truth)],
    [RESULT_FILES.run, JSON.stringify({ ...runRecord(result, extra), finished_at: new Date().toISOString() }, null, 2) + '\n'],
  ];
  if (result.probabilities) written.push([RESULT_FILES.probabilities, similaritiesJson(result.imageKeys, result.spec.prompts, result.probabilities)]);
  else await rm(join(outDir, RESULT_FILES.probabilities), { force: true });
  if (result.metrics) {
    const metrics = { classes, strategies: result.metrics, ...(result.audit ? { groups: result.audit } : {}) };
    written.push([RESULT_FILES.metrics, JSON.stringify(metrics, null, 2) + '\n']);
  }
  else await rm(join(outDir, RESULT_FILES.metrics), { force: true });
  if (result.failures.length) written.push([RESULT_FILES.errors, jsonLines(result.failures)]);
  else await rm(join(outDir, RESULT_FILES.errors), { force: true });
  for (const [name, content] of written) await writeFileAtomic(join(outDir, name), content);
  return written.map(([name]) => join(outDir, name));
}

/** The stdout summary: strategy × accuracy × balanced accuracy. */
export function summaryTable(result: RunResult): string {
  const { counts } = result;
  const lines = [
    `${counts.embedded} images embedded (${counts.cache_hits} from the cache), ${counts.failed} failed, ${counts.ignored_files} non-image files ignored`,
  ];
  if (!result.metrics) return lines.join('\n');
  lines.push(`${counts.labelled} labelled (${counts.unlabelled} without a label; ${counts.labels_without_image} labels without an image)`);
  const rows = Object.entries(result.metrics).map(([name, m]) => [name, (100 * m.accuracy).toFixed(2), (100 * m.balanced_accuracy).toFixed(2)]);
  const header = ['strategy', 'accuracy %', 'balanced acc. %'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const format = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  lines.push('', format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(format));
  return lines.join('\n');
}
