import { percentileInterval, type Interval } from '../bootstrap.js';
import type { OutcomeTallies } from '../groups.js';

/**
 * Paired estimates from outcome tallies that share their resamples (groups.ts' tallyOutcomes called with several
 * runs' predictions: replicate b draws the same images for every run). A run's statistic and its difference to
 * the baseline are computed on the observed sample and on each replicate; the interval is the percentile one
 * (bootstrap.ts' percentileInterval: replicates where the statistic is undefined are left out).
 */
export interface PairedEstimate {
  readonly value: number | null;
  readonly ci: Interval | null;
}

/** A statistic of one set of tallies at replicate b (−1: the observed sample); NaN when undefined. */
export type TallyStatistic = (tallies: OutcomeTallies, replicate: number) => number;

const orNull = (value: number) => (Number.isNaN(value) ? null : value);

function summarise(replicates: number, valueAt: (replicate: number) => number): PairedEstimate {
  const value = orNull(valueAt(-1));
  if (replicates === 0) return { value, ci: null };
  const values = new Float64Array(replicates);
  for (let b = 0; b < replicates; b++) values[b] = valueAt(b);
  return { value, ci: percentileInterval(values) };
}

function checkPaired(run: OutcomeTallies, baseline: OutcomeTallies): void {
  if (run.replicates !== baseline.replicates || run.numGroups !== baseline.numGroups || run.stride !== baseline.stride) {
    throw new Error('paired estimates need tallies of the same partition, classes and resamples');
  }
}

/** The statistic of one run, with its bootstrap interval. */
export function estimateOf(run: OutcomeTallies, statistic: TallyStatistic): PairedEstimate {
  return summarise(run.replicates, (b) => statistic(run, b));
}

/** run − baseline, on the observed sample and on each shared replicate. */
export function pairedDifference(run: OutcomeTallies, baseline: OutcomeTallies, statistic: TallyStatistic): PairedEstimate {
  checkPaired(run, baseline);
  return summarise(run.replicates, (b) => statistic(run, b) - statistic(baseline, b));
}

/** The counters of group g at replicate b (−1: observed) and their offset, for groups.ts' block statistics. */
export function groupBlock(tallies: OutcomeTallies, replicate: number, group: number): { counts: Int32Array; offset: number } {
  return replicate < 0
    ? { counts: tallies.observed, offset: group * tallies.stride }
    : { counts: tallies.resampled, offset: (replicate * tallies.numGroups + group) * tallies.stride };
}
