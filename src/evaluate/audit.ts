import type { ScoreMatrix } from '../score/similarity.js';
import { strategyDefinition, strategyOfName, type Strategy } from '../score/strategies.js';
import { CONFIDENCE_LEVEL } from './bootstrap.js';
import { auditGroups, intersectPartitions, partitionByAttribute, tallyOutcomes, wholePopulation, writtenGroupMetrics, type GroupAudit, type Partition, type WrittenGroupMetrics } from './groups.js';
import { auditProbes, type ProbeAudit, type ProbeGroupRates } from './probes.js';
import { analysePrompts, compareStrategy, type PromptAnalysis, type StrategyComparisonRow } from './prompt_analysis.js';
import { auditRankingBias, DEFAULT_RANKING_DEPTH, type RankingBiasAudit } from './ranking_bias.js';
import { drawnCounts, sameValues, type AuditMemo } from './audit_memo.js';
import type { ReplicateCounts } from './wasm/replicate_counts.js';

export interface AuditOptions {
  /** Bootstrap resamples per interval; 0 skips the intervals. */
  readonly bootstrap: number;
  readonly seed: number;
  /** Groups smaller than this are reported with too_small: true and left out of the gaps. */
  readonly minGroupSize: number;
  /** Ranking depth k of MaxSkew@k and NDKL (capped at the number of ranked images). */
  readonly rankingK: number;
  /** Also audit every pair of attributes crossed (e.g. race × gender). */
  readonly intersections: boolean;
}

export const DEFAULT_AUDIT_OPTIONS: AuditOptions = { bootstrap: 1000, seed: 0, minGroupSize: 30, rankingK: DEFAULT_RANKING_DEPTH, intersections: true };

/** One group attribute, one value per image (null when unknown). */
export interface ImageAttribute {
  readonly name: string;
  readonly values: readonly (string | null)[];
}

export interface AuditInput {
  readonly classes: readonly string[];
  /** probe[c]: class c is a harm probe (never a true label). */
  readonly probe: readonly boolean[];
  /** True class per image, −1 when unlabelled. */
  readonly truth: Int32Array;
  /** Strategy name → predicted class per image. */
  readonly predictions: ReadonlyMap<string, Int32Array>;
  readonly attributes: readonly ImageAttribute[];
  /**
   * Rows = images, cols = prompts: what the prompt analysis and ranking bias read. Absent for label sets too large
   * for it (the group metrics, gaps and probes need only the predictions).
   */
  readonly similarity?: ScoreMatrix;
  /** Why there is no similarity matrix, for metrics.json. */
  readonly similarityOmitted?: string;
  readonly promptClass: Int32Array;
  readonly prompts: readonly string[];
  readonly options?: Partial<AuditOptions>;
  /** What audits of the same images keep between them (the prompt lab): bootstrap draws, rankings; the same results without. */
  readonly memo?: AuditMemo;
}

export interface AttributeAudit extends GroupAudit {
  readonly probes: ProbeAudit | null;
}

export interface StrategyAudit {
  /** Probe rates over all images; null without probe classes. */
  readonly probes_overall: ProbeGroupRates | null;
  readonly attributes: readonly AttributeAudit[];
}

export interface AuditResult {
  readonly settings: {
    readonly bootstrap: number;
    readonly seed: number;
    readonly confidence: number;
    readonly min_group_size: number;
    readonly ranking_k: number;
    readonly intersections: boolean;
  };
  readonly classes: readonly string[];
  readonly probe_classes: readonly string[];
  /** Accuracy and balanced accuracy per strategy, in the order of `predictions`. */
  readonly comparison: readonly StrategyComparisonRow[];
  readonly strategies: Record<string, StrategyAudit>;
  /** Null (with the reason in `prompts_omitted`) when the run kept no similarity matrix for it. */
  readonly prompts: PromptAnalysis | null;
  readonly prompts_omitted?: string;
  /** Per attribute (and intersection): each prompt's MaxSkew@k and NDKL; empty without the similarity matrix. */
  readonly ranking_bias: readonly RankingBiasAudit[];
}

/** The audit as metrics.json's `groups` section holds it: each group's confusion matrix as non-zero cells above DENSE_CONFUSION_MAX_CLASSES classes. */
export type WrittenAttributeAudit = Omit<AttributeAudit, 'groups'> & { readonly groups: Record<string, WrittenGroupMetrics> };
export type WrittenStrategyAudit = Omit<StrategyAudit, 'attributes'> & { readonly attributes: readonly WrittenAttributeAudit[] };
export type WrittenAuditResult = Omit<AuditResult, 'strategies'> & { readonly strategies: Record<string, WrittenStrategyAudit> };

/** The audit as metrics.json writes it (see WrittenAuditResult). */
export function writtenAudit(audit: AuditResult): WrittenAuditResult {
  const strategies: Record<string, WrittenStrategyAudit> = Object.fromEntries(Object.entries(audit.strategies).map(([name, strategy]) => [name, {
    ...strategy,
    // Keyed by group value (user text): fromEntries, so a group named `__proto__` is kept.
    attributes: strategy.attributes.map((attribute) => ({ ...attribute, groups: Object.fromEntries(Object.entries(attribute.groups).map(([group, metrics]) => [group, writtenGroupMetrics(metrics)])) })),
  }]));
  return { ...audit, strategies };
}

function checkInput(input: AuditInput): void {
  const n = input.truth.length;
  const C = input.classes.length;
  if (n === 0) throw new Error('no images to audit');
  if (input.probe.length !== C) throw new Error(`${input.probe.length} probe flags for ${C} classes`);
  input.truth.forEach((t, i) => {
    if (t < -1 || t >= C) throw new Error(`image ${i}: true class ${t} is outside 0..${C - 1} (−1 marks unlabelled)`);
    // A probe label would let a harmful assignment count as correct.
    if (t >= 0 && input.probe[t]) throw new Error(`image ${i} is labelled with probe class '${input.classes[t]}'; probe classes are never true labels`);
  });
  for (const [name, predicted] of input.predictions) {
    if (predicted.length !== n) throw new Error(`strategy ${name}: ${predicted.length} predictions for ${n} images`);
    predicted.forEach((p, i) => {
      if (p < 0 || p >= C) throw new Error(`strategy ${name}, image ${i}: predicted class ${p} is outside 0..${C - 1}`);
    });
  }
  for (const attribute of input.attributes) {
    if (attribute.values.length !== n) throw new Error(`attribute ${attribute.name}: ${attribute.values.length} values for ${n} images`);
  }
  if (!input.similarity) return;
  const { rows, cols } = input.similarity;
  if (rows !== n) throw new Error(`similarity matrix has ${rows} rows for ${n} images`);
  if (input.promptClass.length !== cols || input.prompts.length !== cols) {
    throw new Error(`similarity matrix has ${cols} prompt columns, but ${input.prompts.length} prompts and ${input.promptClass.length} prompt classes`);
  }
}

/** Single attributes, then (if asked) each pair of them crossed, in input order. */
function auditedPartitions(attributes: readonly ImageAttribute[], intersections: boolean): Partition[] {
  const single = attributes.map((a) => partitionByAttribute(a.name, a.values));
  if (!intersections) return single;
  const crossed = single.flatMap((a, i) => single.slice(i + 1).map((b) => intersectPartitions(a, b)));
  return [...single, ...crossed];
}

/** Image × resample multiplicities an audit without a memo draws at most for the prompt analysis's intervals. */
const MAX_RESAMPLE_BYTES = 256 * 2 ** 20;

/** The population's resamples as the comparison's tallies draw them (kept by the memo), or null without a bootstrap. */
function populationResamples(population: Partition, options: AuditOptions, memo?: AuditMemo): ReplicateCounts | null {
  if (options.bootstrap === 0) return null;
  return memo ? memo.counts(population, options.bootstrap, options.seed) : drawnCounts(population, options.bootstrap, options.seed, MAX_RESAMPLE_BYTES);
}

/** The distinct prediction arrays (by content, first seen first) and the slot of each strategy's among them. */
function distinctPredictions(predictions: readonly Int32Array[]): { distinct: Int32Array[]; slotOf: Int32Array } {
  const distinct: Int32Array[] = [];
  const slotOf = Int32Array.from(predictions, (predicted) => {
    const slot = distinct.findIndex((other) => sameValues(other, predicted));
    return slot >= 0 ? slot : distinct.push(predicted) - 1;
  });
  return { distinct, slotOf };
}

/** Strategy names that are score-level strategies (prompt leave-one-out reruns them from the score matrix). */
function scoreLevelStrategies(names: Iterable<string>): Strategy[] {
  return [...names].flatMap((name) => {
    const strategy = strategyOfName(name);
    return strategy && !strategyDefinition(strategy).needsEmbeddings ? [strategy] : [];
  });
}

/**
 * The fairness audit of a set of predictions: per-group and intersectional metrics with gaps, harm-probe
 * rates, bootstrap intervals, the strategy comparison, prompt analysis and ranking bias. Pure and JSON-ready.
 * All strategies share each partition's resamples, so their intervals are paired.
 */
export function auditPredictions(input: AuditInput): AuditResult {
  checkInput(input);
  // An option given as undefined keeps its default.
  const given = Object.entries(input.options ?? {}).filter(([, value]) => value !== undefined);
  const options: AuditOptions = { ...DEFAULT_AUDIT_OPTIONS, ...Object.fromEntries(given) };
  const { classes, probe, truth, memo } = input;
  const C = classes.length;
  const n = truth.length;
  const population = memo ? memo.sameAsLast('population', [n], () => wholePopulation(n)) : wholePopulation(n);
  const partitions = memo
    ? memo.sameAsLast('partitions', [options.intersections, ...input.attributes.flatMap((a) => [a.name, a.values])], () => auditedPartitions(input.attributes, options.intersections))
    : auditedPartitions(input.attributes, options.intersections);
  const names = [...input.predictions.keys()];
  // Strategies that predict every image alike (top-3 is the sum for classes of at most three prompts) have one
  // audit, made for the first of them.
  const { distinct, slotOf } = distinctPredictions([...input.predictions.values()]);
  const populationTallies = tallyOutcomes(population, truth, distinct, C, options.bootstrap, options.seed, memo);
  const attributeAudits: AttributeAudit[][] = distinct.map(() => []);
  for (const partition of partitions) {
    const tallies = tallyOutcomes(partition, truth, distinct, C, options.bootstrap, options.seed, memo);
    distinct.forEach((predicted, d) => {
      const groups = auditGroups({ partition, tallies: tallies[d], truth, predicted, classes, probe, minGroupSize: options.minGroupSize });
      attributeAudits[d].push({ ...groups, probes: auditProbes(partition, tallies[d], classes, probe, options.minGroupSize) });
    });
  }
  const audits = distinct.map((predicted, d): { comparison: Omit<StrategyComparisonRow, 'strategy'>; audit: StrategyAudit } => {
    // The one-group partition is never "too small" to report on.
    const overall = auditProbes(population, populationTallies[d], classes, probe, 0);
    const { strategy: _name, ...comparison } = compareStrategy('', truth, predicted, classes, populationTallies[d]);
    return { comparison, audit: { probes_overall: overall === null ? null : overall.groups.all, attributes: attributeAudits[d] } };
  });
  const strategies: Record<string, StrategyAudit> = Object.fromEntries(names.map((name, s) => [name, audits[slotOf[s]].audit]));
  return {
    settings: {
      bootstrap: options.bootstrap,
      seed: options.seed,
      confidence: CONFIDENCE_LEVEL,
      min_group_size: options.minGroupSize,
      ranking_k: options.rankingK,
      intersections: options.intersections,
    },
    classes,
    probe_classes: classes.filter((_, c) => probe[c]),
    comparison: names.map((name, s) => ({ strategy: name, ...audits[slotOf[s]].comparison })),
    strategies,
    ...(input.similarity
      ? {
          prompts: analysePrompts({ similarity: input.similarity, promptClass: input.promptClass, prompts: input.prompts, classes, truth, strategies: scoreLevelStrategies(input.predictions.keys()), memo, resamples: populationResamples(population, options, memo) }),
          ranking_bias: auditRankingBias(input.similarity, input.prompts, input.promptClass, classes, partitions, options.rankingK, memo),
        }
      : { prompts: null, prompts_omitted: input.similarityOmitted ?? 'no similarity matrix was given', ranking_bias: [] }),
  };
}
