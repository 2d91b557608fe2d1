import { argmaxRows } from '../score/strategies.js';
import { classificationMetrics, confusionCells, DENSE_CONFUSION_MAX_CLASSES, type ConfusionCell } from './classification.js';
import { forEachStratifiedResample, percentileInterval, type Interval } from './bootstrap.js';
import type { AuditMemo } from './audit_memo.js';

/** Images split by the value(s) of one attribute (e.g. gender) or of several at once (race × gender). */
export interface Partition {
  /** `gender`, or `race × gender` for an intersection. */
  readonly name: string;
  /** The attributes it splits by: one name, or several for an intersection. */
  readonly factors: readonly string[];
  readonly groups: readonly PartitionGroup[];
  /** Index into `groups` of each image; −1 when the image lacks a value. */
  readonly groupOf: Int32Array;
}

export interface PartitionGroup {
  /** `Male`, or `Black × Female` for an intersection. */
  readonly name: string;
  /** One value per factor. */
  readonly values: readonly string[];
  /** Image indices, ascending. */
  readonly members: Int32Array;
}

const INTERSECTION_SEPARATOR = ' × ';
// Numeric collation orders age bins as 0-2, 3-9, 10-19, … rather than 0-2, 10-19, 20-29, ….
const byValue = new Intl.Collator('en', { numeric: true }).compare;

function partitionFromGroupIds(name: string, factors: readonly string[], groupOf: Int32Array, names: readonly string[], values: readonly (readonly string[])[]): Partition {
  const lists: number[][] = names.map(() => []);
  groupOf.forEach((g, i) => {
    if (g >= 0) lists[g].push(i);
  });
  const groups = names.map((groupName, g) => ({ name: groupName, values: values[g], members: Int32Array.from(lists[g]) }));
  return { name, factors, groups, groupOf };
}

/** Groups images by one attribute; null and empty values (a blank CSV cell) leave the image out. */
export function partitionByAttribute(name: string, values: readonly (string | null)[]): Partition {
  const distinct = [...new Set(values.filter((v): v is string => v !== null && v !== ''))].sort(byValue);
  const index = new Map(distinct.map((v, g) => [v, g]));
  const groupOf = Int32Array.from(values, (v) => (v === null || v === '' ? -1 : index.get(v)!));
  return partitionFromGroupIds(name, [name], groupOf, distinct, distinct.map((v) => [v]));
}

/** The intersection of two partitions: one group per pair of values that occurs (e.g. `Black × Female`). */
export function intersectPartitions(a: Partition, b: Partition): Partition {
  if (a.groupOf.length !== b.groupOf.length) throw new Error(`cannot intersect ${a.name} (${a.groupOf.length} images) with ${b.name} (${b.groupOf.length})`);
  const pairCounts = new Int32Array(a.groups.length * b.groups.length);
  for (let i = 0; i < a.groupOf.length; i++) if (a.groupOf[i] >= 0 && b.groupOf[i] >= 0) pairCounts[a.groupOf[i] * b.groups.length + b.groupOf[i]] += 1;
  const pairToGroup = new Int32Array(pairCounts.length).fill(-1);
  const names: string[] = [];
  const values: string[][] = [];
  pairCounts.forEach((count, pair) => {
    if (count === 0) return;
    const ga = a.groups[Math.floor(pair / b.groups.length)];
    const gb = b.groups[pair % b.groups.length];
    pairToGroup[pair] = names.length;
    names.push(`${ga.name}${INTERSECTION_SEPARATOR}${gb.name}`);
    values.push([...ga.values, ...gb.values]);
  });
  const groupOf = Int32Array.from(a.groupOf, (ga, i) => (ga >= 0 && b.groupOf[i] >= 0 ? pairToGroup[ga * b.groups.length + b.groupOf[i]] : -1));
  return partitionFromGroupIds(`${a.name}${INTERSECTION_SEPARATOR}${b.name}`, [...a.factors, ...b.factors], groupOf, names, values);
}

/** Every image in one group named `all`: the population-level view. */
export function wholePopulation(numImages: number): Partition {
  return partitionFromGroupIds('all', [], new Int32Array(numImages), ['all'], [[]]);
}

/** Indices of the groups with at least `minGroupSize` images: the ones gaps compare. */
export function comparedGroups(partition: Partition, minGroupSize: number): number[] {
  return partition.groups.flatMap((g, index) => (g.members.length >= minGroupSize ? [index] : []));
}

/**
 * Per-group outcome counts of one strategy's predictions, observed and bootstrapped.
 * Each group has a block of 3C counters: predicted[c], support[c] (labelled images of true class c)
 * and hits[c] (of those, predicted c). Every statistic of the audit (accuracy, recall, prediction and
 * probe rates) is a ratio of these, so replicates never need the images themselves.
 */
export interface OutcomeTallies {
  readonly numClasses: number;
  readonly numGroups: number;
  /** Counters per group block: 3·numClasses. */
  readonly stride: number;
  readonly replicates: number;
  /** Counts of the sample itself, [group][counter]. */
  readonly observed: Int32Array;
  /** Bootstrap counts, [replicate][group][counter]. */
  readonly resampled: Int32Array;
}

/** Histogram of cell codes over the given images. */
function countCells(cellOfImage: Int32Array, images: Int32Array, histogram: Int32Array): void {
  histogram.fill(0);
  for (let k = 0; k < images.length; k++) histogram[cellOfImage[images[k]]] += 1;
}

/**
 * Adds a histogram of (truth, prediction) cells, cell = (truth + 1)·C + predicted with truth −1 for
 * unlabelled images, to the counters of one group block.
 */
function addCells(histogram: Int32Array, C: number, counts: Int32Array, offset: number): void {
  for (let t = -1; t < C; t++) {
    for (let p = 0; p < C; p++) {
      const m = histogram[(t + 1) * C + p];
      if (m === 0) continue;
      counts[offset + p] += m;
      if (t < 0) continue;
      counts[offset + C + t] += m;
      if (p === t) counts[offset + 2 * C + t] += m;
    }
  }
}

/**
 * Outcome tallies of several strategies' predictions over one partition, with a stratified bootstrap
 * (images resampled within each group). All strategies share the resamples, so their intervals are
 * paired and the random draws are paid for once. Counting a histogram of (truth, prediction) cells
 * and folding it into counters afterwards keeps the per-image work to one increment per strategy.
 */
export function tallyOutcomes(partition: Partition, truth: Int32Array, predictions: readonly Int32Array[], numClasses: number, replicates: number, seed: number, memo?: AuditMemo): OutcomeTallies[] {
  const C = numClasses;
  const stride = 3 * C;
  const numGroups = partition.groups.length;
  // Plain loops here and below (not Int32Array.from with a callback, ten times slower): the lab re-audits per edit.
  const cellOf = predictions.map((predicted) => {
    const cells = new Int32Array(predicted.length);
    for (let i = 0; i < predicted.length; i++) cells[i] = (truth[i] + 1) * C + predicted[i];
    return cells;
  });
  // Repeated tallies of the same images (the prompt lab) move the memo's counts instead of drawing again.
  const memoised = memo?.resampled(partition, cellOf, C, replicates, seed);
  const histogram = new Int32Array((C + 1) * C);
  const tallies = predictions.map((_, s) => ({
    numClasses: C,
    numGroups,
    stride,
    replicates,
    observed: new Int32Array(numGroups * stride),
    resampled: memoised ? memoised[s] : new Int32Array(replicates * numGroups * stride),
  }));
  partition.groups.forEach((group, g) => {
    tallies.forEach((tally, s) => {
      countCells(cellOf[s], group.members, histogram);
      addCells(histogram, C, tally.observed, g * stride);
    });
  });
  if (memoised) return tallies;
  const strata = partition.groups.map((group) => group.members);
  forEachStratifiedResample(strata, replicates, seed, (b, g, drawn) => {
    for (let s = 0; s < tallies.length; s++) {
      countCells(cellOf[s], drawn, histogram);
      addCells(histogram, C, tallies[s].resampled, (b * numGroups + g) * stride);
    }
  });
  return tallies;
}

/** A statistic of one group block, whose counters are counts[offset .. offset + 3C). */
export type BlockStatistic = (counts: Int32Array, offset: number) => number;

/** A point estimate (null when undefined) and its percentile interval (null without replicates). */
export interface Estimate {
  readonly value: number | null;
  readonly ci: Interval | null;
}

/** JSON has no NaN: undefined statistics are written as null. */
function nullIfNaN(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}

/** `valueAt(−1)` on the observed sample, `valueAt(b)` on replicate b, summarised as an Estimate. */
function estimate(replicates: number, valueAt: (replicate: number) => number): Estimate {
  const value = nullIfNaN(valueAt(-1));
  if (replicates === 0) return { value, ci: null };
  const replicateValues = new Float64Array(replicates);
  for (let b = 0; b < replicates; b++) replicateValues[b] = valueAt(b);
  return { value, ci: percentileInterval(replicateValues) };
}

/** A statistic of one group, observed and with its bootstrap interval. */
export function estimateForGroup(tallies: OutcomeTallies, group: number, statistic: BlockStatistic): Estimate {
  const { observed, resampled, numGroups, stride } = tallies;
  return estimate(tallies.replicates, (b) => (b < 0 ? statistic(observed, group * stride) : statistic(resampled, (b * numGroups + group) * stride)));
}

/** A summary (e.g. spread) of a statistic over several groups, observed and with its bootstrap interval. */
export function estimateAcrossGroups(tallies: OutcomeTallies, groups: readonly number[], statistic: BlockStatistic, summary: (values: Float64Array) => number): Estimate {
  const { observed, resampled, numGroups, stride } = tallies;
  const values = new Float64Array(groups.length);
  return estimate(tallies.replicates, (b) => {
    for (let k = 0; k < groups.length; k++) {
      values[k] = b < 0 ? statistic(observed, groups[k] * stride) : statistic(resampled, (b * numGroups + groups[k]) * stride);
    }
    return summary(values);
  });
}

/** Images in a block (each image is predicted as exactly one class). */
function blockSize(counts: Int32Array, offset: number, C: number): number {
  let n = 0;
  for (let c = 0; c < C; c++) n += counts[offset + c];
  return n;
}

/** Correct / labelled; NaN without labelled images. */
export function blockAccuracy(counts: Int32Array, offset: number, C: number): number {
  let labelled = 0;
  let hits = 0;
  for (let c = 0; c < C; c++) {
    labelled += counts[offset + C + c];
    hits += counts[offset + 2 * C + c];
  }
  return labelled === 0 ? NaN : hits / labelled;
}

/** Recall of class c; NaN when the block has no image of class c. */
export function blockRecall(counts: Int32Array, offset: number, C: number, c: number): number {
  const support = counts[offset + C + c];
  return support === 0 ? NaN : counts[offset + 2 * C + c] / support;
}

/** Mean recall over the classes present (as classificationMetrics' balanced accuracy); NaN if none is. */
export function blockBalancedAccuracy(counts: Int32Array, offset: number, C: number): number {
  let total = 0;
  let present = 0;
  for (let c = 0; c < C; c++) {
    const recall = blockRecall(counts, offset, C, c);
    if (!Number.isNaN(recall)) {
      total += recall;
      present += 1;
    }
  }
  return present === 0 ? NaN : total / present;
}

/** Share of the block's images predicted as any class in `targets`; NaN for an empty block. */
export function blockPredictionRate(counts: Int32Array, offset: number, C: number, targets: readonly number[]): number {
  const n = blockSize(counts, offset, C);
  let hitsOnTargets = 0;
  for (const c of targets) hitsOnTargets += counts[offset + c];
  return n === 0 ? NaN : hitsOnTargets / n;
}

/** Lowest and highest of the defined (non-NaN) values, and how many are defined. */
function definedRange(values: ArrayLike<number>): { low: number; high: number; defined: number } {
  let low = Infinity;
  let high = -Infinity;
  let defined = 0;
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (Number.isNaN(v)) continue;
    defined += 1;
    if (v < low) low = v;
    if (v > high) high = v;
  }
  return { low, high, defined };
}

/** Max − min of the defined (non-NaN) values; NaN when fewer than two are defined. */
export function spread(values: ArrayLike<number>): number {
  const { low, high, defined } = definedRange(values);
  return defined < 2 ? NaN : high - low;
}

/** Min / max of the defined values; 1 when all are 0 (equal, so no disparity); NaN when fewer than two. */
export function minMaxRatio(values: ArrayLike<number>): number {
  const { low, high, defined } = definedRange(values);
  if (defined < 2) return NaN;
  return high === 0 ? 1 : low / high;
}

export interface GroupMetrics {
  /** The attribute value(s) that define the group, one per factor. */
  readonly values: readonly string[];
  /** Images in the group. */
  readonly n: number;
  /** Of those, images with a true label. */
  readonly n_labelled: number;
  readonly accuracy: number | null;
  readonly accuracy_ci: Interval | null;
  /** Per non-probe class; null when the group has no image of that class. */
  readonly recall: Record<string, number | null>;
  /** Per class: share of the group's images predicted as it. */
  readonly prediction_rate: Record<string, number>;
  /** confusion[true][predicted] over the group's labelled images, classes in spec order. */
  readonly confusion: number[][];
  /** The class most often predicted wrongly for this group (ties: the class listed first); null with no errors. */
  readonly most_frequent_error: { readonly class: string; readonly count: number } | null;
  /** Fewer than minGroupSize images: reported, but left out of the gaps. */
  readonly too_small: boolean;
}

/** A group as metrics.json holds it: the confusion matrix dense for few classes, as non-zero cells for many. */
export type WrittenGroupMetrics = Omit<GroupMetrics, 'confusion'> & {
  /** confusion[true][predicted], when the spec has at most DENSE_CONFUSION_MAX_CLASSES classes. */
  readonly confusion?: number[][];
  /** The non-zero [true, predicted, count] cells, by true then predicted class, when it has more. */
  readonly confusion_cells?: readonly ConfusionCell[];
};

/** One group's metrics as metrics.json writes them (see WrittenGroupMetrics). */
export function writtenGroupMetrics(metrics: GroupMetrics): WrittenGroupMetrics {
  const { confusion, ...rest } = metrics;
  return confusion.length > DENSE_CONFUSION_MAX_CLASSES ? { ...rest, confusion_cells: confusionCells(confusion) } : metrics;
}

export interface GroupGaps {
  /** The groups compared: those with at least minGroupSize images. */
  readonly compared_groups: readonly string[];
  /** Max − min accuracy over the compared groups. */
  readonly accuracy_gap: number | null;
  readonly accuracy_gap_ci: Interval | null;
  /** Min / max accuracy over the compared groups. */
  readonly accuracy_ratio: number | null;
  readonly accuracy_ratio_ci: Interval | null;
  /** Equal opportunity: per non-probe class, max − min recall over the compared groups that have the class. */
  readonly recall_spread: Record<string, number | null>;
  readonly recall_spread_ci: Record<string, Interval | null>;
  /** Demographic parity: per class, max − min share of each compared group's images predicted as it. */
  readonly prediction_rate_spread: Record<string, number | null>;
  readonly prediction_rate_spread_ci: Record<string, Interval | null>;
}

export interface GroupAudit {
  readonly attribute: string;
  readonly factors: readonly string[];
  readonly groups: Record<string, GroupMetrics>;
  readonly gaps: GroupGaps;
}

export interface GroupAuditInput {
  readonly partition: Partition;
  readonly tallies: OutcomeTallies;
  readonly truth: Int32Array;
  readonly predicted: Int32Array;
  readonly classes: readonly string[];
  readonly probe: readonly boolean[];
  readonly minGroupSize: number;
}

function groupMetrics(input: GroupAuditInput, g: number): GroupMetrics {
  const { partition, tallies, classes, probe, minGroupSize } = input;
  const C = classes.length;
  const group = partition.groups[g];
  const truth = new Int32Array(group.members.length);
  const predicted = new Int32Array(group.members.length);
  for (let k = 0; k < group.members.length; k++) {
    truth[k] = input.truth[group.members[k]];
    predicted[k] = input.predicted[group.members[k]];
  }
  const metrics = classificationMetrics(truth, predicted, classes);
  // Keyed by class name (user text): built with fromEntries, whose own properties take `__proto__` as any key.
  const recall: Record<string, number | null> = Object.fromEntries(
    classes.flatMap((name, c) => (probe[c] ? [] : [[name, metrics.per_class[name].support === 0 ? null : metrics.per_class[name].recall]])),
  );
  const predictionRate: Record<string, number> = Object.fromEntries(
    classes.map((name, c) => [name, tallies.observed[g * tallies.stride + c] / group.members.length]),
  );
  const wrong = new Float64Array(C);
  classes.forEach((_, c) => {
    for (let t = 0; t < C; t++) if (t !== c) wrong[c] += metrics.confusion[t][c];
  });
  const mostWrong = argmaxRows(wrong, C)[0];
  return {
    values: group.values,
    n: group.members.length,
    n_labelled: metrics.n,
    accuracy: metrics.n === 0 ? null : metrics.accuracy,
    accuracy_ci: estimateForGroup(tallies, g, (counts, offset) => blockAccuracy(counts, offset, C)).ci,
    recall,
    prediction_rate: predictionRate,
    confusion: metrics.confusion,
    most_frequent_error: wrong[mostWrong] === 0 ? null : { class: classes[mostWrong], count: wrong[mostWrong] },
    too_small: group.members.length < minGroupSize,
  };
}

function groupGaps(input: GroupAuditInput): GroupGaps {
  const { partition, tallies, classes, probe } = input;
  const C = classes.length;
  const compared = comparedGroups(partition, input.minGroupSize);
  const accuracy: BlockStatistic = (counts, offset) => blockAccuracy(counts, offset, C);
  const accuracyGap = estimateAcrossGroups(tallies, compared, accuracy, spread);
  const accuracyRatio = estimateAcrossGroups(tallies, compared, accuracy, minMaxRatio);
  const recalls = classes.flatMap((name, c) =>
    probe[c] ? [] : [[name, estimateAcrossGroups(tallies, compared, (counts, offset) => blockRecall(counts, offset, C, c), spread)] as const],
  );
  const rates = classes.map((name, c) => [name, estimateAcrossGroups(tallies, compared, (counts, offset) => blockPredictionRate(counts, offset, C, [c]), spread)] as const);
  // Keyed by class name (user text): fromEntries defines own properties, so `__proto__` is a key like any other.
  const recallSpread: Record<string, number | null> = Object.fromEntries(recalls.map(([name, r]) => [name, r.value]));
  const recallSpreadCi: Record<string, Interval | null> = Object.fromEntries(recalls.map(([name, r]) => [name, r.ci]));
  const rateSpread: Record<string, number | null> = Object.fromEntries(rates.map(([name, r]) => [name, r.value]));
  const rateSpreadCi: Record<string, Interval | null> = Object.fromEntries(rates.map(([name, r]) => [name, r.ci]));
  return {
    compared_groups: compared.map((g) => partition.groups[g].name),
    accuracy_gap: accuracyGap.value,
    accuracy_gap_ci: accuracyGap.ci,
    accuracy_ratio: accuracyRatio.value,
    accuracy_ratio_ci: accuracyRatio.ci,
    recall_spread: recallSpread,
    recall_spread_ci: recallSpreadCi,
    prediction_rate_spread: rateSpread,
    prediction_rate_spread_ci: rateSpreadCi,
  };
}

/** Per-group metrics and the gaps between groups, for one strategy's predictions over one partition. */
export function auditGroups(input: GroupAuditInput): GroupAudit {
  // Keyed by group value (user text): fromEntries, so a group named `__proto__` is kept.
  const groups: Record<string, GroupMetrics> = Object.fromEntries(input.partition.groups.map((group, g) => [group.name, groupMetrics(input, g)]));
  return { attribute: input.partition.name, factors: input.partition.factors, groups, gaps: groupGaps(input) };
}
