import type { Command } from 'commander';
import { COMPARISON_FILES, writeComparison } from '../report/compare.js';
import type { ComparisonFile } from '../report/result_files.js';
import { progressReporter } from './progress.js';
import { runSweep } from './sweep.js';
import { readSweepFile } from './sweep_file.js';

type IntegerParser = (flag: string) => (value: string) => number;

/** The stdout summary of a comparison: per strategy and run, Δ accuracy with its interval and McNemar's p. */
export function comparisonSummary(comparison: ComparisonFile): string {
  const pct = (x: number | null) => (x === null ? '–' : `${x > 0 ? '+' : ''}${(100 * x).toFixed(2)}`);
  const leftOut = comparison.runs.filter((r) => r.left_out > 0).map((r) => `${r.name}: ${r.left_out} left out`);
  const lines = [
    `${comparison.shared_images} images shared by all ${comparison.runs.length} runs (aligned by ${comparison.aligned_by})${leftOut.length ? `; ${leftOut.join(', ')}` : ', none left out'}`,
    `baseline: ${comparison.baseline}`,
    '',
  ];
  const rows = comparison.comparisons
    .filter((c) => c.run !== comparison.baseline)
    .map((c) => [c.strategy, c.run, pct(c.accuracy_difference.value), c.accuracy_difference.ci ? `[${pct(c.accuracy_difference.ci[0])}, ${pct(c.accuracy_difference.ci[1])}]` : '', c.mcnemar.p_value.toFixed(3), String(c.changed_images)]);
  const header = ['strategy', 'run', 'Δ acc. %', 'interval', 'McNemar p', 'changed'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const format = (row: string[]) => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  lines.push(format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(format));
  return lines.join('\n');
}

/** `zeroshot compare` and `zeroshot sweep`. */
export function addComparisonCommands(program: Command, parsers: { readonly positiveInt: IntegerParser; readonly wholeNumber: IntegerParser }): void {
  program
    .command('compare')
    .description('compare results folders on the images they share: differences with paired bootstrap intervals, McNemar, group gaps, agreement, changed images')
    .argument('<runs...>', 'results folders written by `zeroshot run` (at least two, or one with --baseline)')
    .requiredOption('--out <dir>', `comparison folder (${Object.values(COMPARISON_FILES).join(', ')})`)
    .option('--baseline <dir>', 'the results folder the others are compared with (default: the first)')
    .option('--bootstrap <n>', 'paired bootstrap resamples (0: no intervals)', parsers.wholeNumber('--bootstrap'), 1000)
    .option('--seed <n>', 'seed of the bootstrap', parsers.wholeNumber('--seed'), 0)
    .option('--min-group-size <n>', 'groups with fewer shared images are left out of the gaps', parsers.wholeNumber('--min-group-size'), 30)
    .option('--no-intersections', 'compare single attributes only, not pairs of them crossed (race × gender)')
    .option('--gallery-cap <n>', 'changed images shown per run and strategy in comparison.html', parsers.positiveInt('--gallery-cap'), 24)
    .action(async (runs: string[], flags: { out: string; baseline?: string; bootstrap: number; seed: number; minGroupSize: number; intersections: boolean; galleryCap: number }) => {
      const { comparison, files } = await writeComparison(runs, flags.out, flags);
      process.stdout.write(comparisonSummary(comparison) + '\n');
      process.stderr.write(`wrote ${files.join(', ')}\n`);
    });

  program
    .command('sweep')
    .description('run models × specs × dtypes over one image folder, each into its own results folder (complete ones skipped), then compare them')
    .argument('<sweep>', 'sweep file (YAML or JSON): images, labels, out, models, specs, dtypes, … (see README, "Comparing runs")')
    .option('-q, --quiet', 'no progress output')
    .action(async (file: string, flags: { quiet?: boolean }) => {
      const plan = await readSweepFile(file);
      const log = (line: string) => !flags.quiet && process.stderr.write(line + '\n');
      let progress = progressReporter(process.stderr, !!flags.quiet);
      const outcome = await runSweep(plan, {
        onLine: log,
        onProgress: (p) => progress.update(p),
        onRunDone: () => {
          progress.stop();
          progress = progressReporter(process.stderr, !!flags.quiet);
        },
        onWarning: (message) => process.stderr.write(`zeroshot: warning: ${message}\n`),
      });
      log(`${outcome.ran.length} run, ${outcome.skipped.length} complete and skipped${outcome.comparison ? `; comparison in ${plan.comparisonDir}` : ''}`);
      if (outcome.comparison) process.stdout.write(comparisonSummary(outcome.comparison) + '\n');
    });
}
