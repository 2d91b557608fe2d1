import type { ImageAttribute } from '../audit.js';
import { CONFIDENCE_LEVEL } from '../bootstrap.js';
import {
  blockAccuracy,
  blockBalancedAccuracy,
  blockPredictionRate,
  blockRecall,
  comparedGroups,
  intersectPartitions,
  partitionByAttribute,
  spread,
  tallyOutcomes,
  wholePopulation,
  type OutcomeTallies,
  type Partition,
} from '../groups.js';
import type { AttributeComparison, ChangedImage, GroupComparison, StrategyComparison } from '../../report/result_files.js';
import { predictionAgreement } from './agreement.js';
import { discordantPairs, mcnemarExact } from './mcnemar.js';
import { estimateOf, groupBlock, pairedDifference, type TallyStatistic } from './paired_bootstrap.js';

/** One run's predictions on the shared images, in the comparison's class order. */
export interface AlignedRun {
  readonly name: string;
  /** Strategy name → predicted class per shared image. */
  readonly predictions: ReadonlyMap<string, Int32Array>;
}

export interface ComparisonSettings {
  /** Bootstrap resamples per interval; 0 skips the intervals. */
  readonly bootstrap: number;
  readonly seed: number;
  /** Groups with fewer compared images are reported but left out of the gaps (as in the audit). */
  readonly minGroupSize: number;
  /** Also compare every pair of attributes crossed (race × gender), as the audit does. */
  readonly intersections: boolean;
}

export const DEFAULT_COMPARISON_SETTINGS: ComparisonSettings = { bootstrap: 1000, seed: 0, minGroupSize: 30, intersections: true };

/** Everything the comparison needs, already aligned: row i is the same image in every run. */
export interface ComparisonInput {
  readonly classes: readonly string[];
  readonly probe: readonly boolean[];
  readonly keys: readonly string[];
  readonly contentHashes: readonly (string | null)[];
  /** True class per shared image, −1 without a label. */
  readonly truth: Int32Array;
  readonly attributes: readonly ImageAttribute[];
  readonly runs: readonly AlignedRun[];
  /** Index into `runs` of the baseline. */
  readonly baseline: number;
  readonly settings: ComparisonSettings;
}

/** A run against the baseline for one strategy, with the images whose prediction changed. */
export interface RunComparison extends StrategyComparison {
  readonly changed: readonly ChangedImage[];
}

export interface ComparisonResult {
  readonly comparisons: RunComparison[];
  readonly agreement_matrix: Record<string, (number | null)[][]>;
  readonly resampling: string;
  readonly interval: string;
  readonly confidence: number;
}

/** Outcome tallies of one strategy's runs: over all images, and per attribute; index k = members[k]. */
interface StrategyTallies {
  readonly population: OutcomeTallies[];
  readonly attributes: OutcomeTallies[][];
}

/**
 * The statistics of one strategy over the runs that have it (`members`, run indices), from tallies that
 * resampled them together (paired).
 */
function compareStrategy(input: ComparisonInput, strategy: string, members: readonly number[], partitions: readonly Partition[], tallied: StrategyTallies): RunComparison[] {
  const { classes, probe, truth, settings } = input;
  const C = classes.length;
  const probeClasses = classes.flatMap((_, c) => (probe[c] ? [c] : []));
  const predictions = members.map((r) => input.runs[r].predictions.get(strategy)!);
  const base = members.indexOf(input.baseline);

  const groupStat = (g: number, block: (counts: Int32Array, offset: number) => number): TallyStatistic => (t, b) => {
    const { counts, offset } = groupBlock(t, b, g);
    return block(counts, offset);
  };
  const accuracyOf = (counts: Int32Array, offset: number) => blockAccuracy(counts, offset, C);
  const probeRateOf = (counts: Int32Array, offset: number) => blockPredictionRate(counts, offset, C, probeClasses);
  const spreadOver = (groups: readonly number[], block: (counts: Int32Array, offset: number) => number): TallyStatistic => {
    const values = new Float64Array(groups.length);
    return (t, b) => {
      groups.forEach((g, k) => {
        const { counts, offset } = groupBlock(t, b, g);
        values[k] = block(counts, offset);
      });
      return spread(values);
    };
  };
  const both = (tallies: OutcomeTallies[], k: number, statistic: TallyStatistic) => ({
    own: estimateOf(tallies[k], statistic),
    difference: pairedDifference(tallies[k], tallies[base], statistic),
  });
  const { population, attributes: attributeTallies } = tallied;

  return members.map((r, k) => {
    const accuracy = both(population, k, groupStat(0, accuracyOf));
    const balanced = both(population, k, groupStat(0, (counts, offset) => blockBalancedAccuracy(counts, offset, C)));
    const probeRate = probeClasses.length ? both(population, k, groupStat(0, probeRateOf)) : null;
    const { b, c } = discordantPairs(truth, predictions[base], predictions[k]);
    const agreement = predictionAgreement(predictions[base], predictions[k], C);
    const attributes: AttributeComparison[] = partitions.map((partition, a) => {
      const tallies = attributeTallies[a];
      const compared = comparedGroups(partition, settings.minGroupSize);
      const groups: Record<string, GroupComparison> = Object.fromEntries(partition.groups.map((group, g) => {
        const groupAccuracy = both(tallies, k, groupStat(g, accuracyOf));
        const groupProbe = probeClasses.length ? both(tallies, k, groupStat(g, probeRateOf)) : null;
        return [group.name, {
          n: group.members.length,
          accuracy: groupAccuracy.own,
          accuracy_difference: groupAccuracy.difference,
          probe_rate: groupProbe?.own ?? null,
          probe_rate_difference: groupProbe?.difference ?? null,
        }];
      }));
      const gap = both(tallies, k, spreadOver(compared, accuracyOf));
      const probeGap = probeClasses.length ? both(tallies, k, spreadOver(compared, probeRateOf)) : null;
      // Per class, as the audit's fairness gaps: the spread of recall (equal opportunity) and of the rate of being
      // predicted that class (demographic parity) over the compared groups; probe classes have no recall.
      const perClass = (statistic: (c: number) => (counts: Int32Array, offset: number) => number, skipProbes: boolean) =>
        Object.fromEntries(classes.flatMap((name, c) => (skipProbes && probe[c] ? [] : [[name, both(tallies, k, spreadOver(compared, statistic(c)))]])));
      const equalOpportunity = perClass((c) => (counts, offset) => blockRecall(counts, offset, C, c), true);
      const demographicParity = perClass((c) => (counts, offset) => blockPredictionRate(counts, offset, C, [c]), false);
      return {
        attribute: partition.name,
        compared_groups: compared.map((g) => partition.groups[g].name),
        groups,
        accuracy_gap: gap.own,
        accuracy_gap_difference: gap.difference,
        probe_rate_gap: probeGap?.own ?? null,
        probe_rate_gap_difference: probeGap?.difference ?? null,
        equal_opportunity: Object.fromEntries(Object.entries(equalOpportunity).map(([c, v]) => [c, v.own])),
        equal_opportunity_difference: Object.fromEntries(Object.entries(equalOpportunity).map(([c, v]) => [c, v.difference])),
        demographic_parity: Object.fromEntries(Object.entries(demographicParity).map(([c, v]) => [c, v.own])),
        demographic_parity_difference: Object.fromEntries(Object.entries(demographicParity).map(([c, v]) => [c, v.difference])),
      };
    });
    const changed: ChangedImage[] = [];
    predictions[k].forEach((p, i) => {
      if (p === predictions[base][i]) return;
      changed.push({ image: input.keys[i], sha256: input.contentHashes[i], label: truth[i] >= 0 ? classes[truth[i]] : '', baseline: classes[predictions[base][i]], predicted: classes[p] });
    });
    return {
      run: input.runs[r].name,
      strategy,
      n: truth.length,
      accuracy: accuracy.own,
      accuracy_difference: accuracy.difference,
      balanced_accuracy: balanced.own,
      balanced_accuracy_difference: balanced.difference,
      mcnemar: mcnemarExact(b, c),
      agreement: agreement.agreement,
      kappa: agreement.kappa,
      probe_rate: probeRate?.own ?? null,
      probe_rate_difference: probeRate?.difference ?? null,
      attributes,
      changed_images: changed.length,
      changed,
    };
  });
}

/**
 * Every run against the baseline, strategy by strategy (the baseline's strategies, for the runs that have
 * them): accuracy, balanced accuracy, per-group accuracy, accuracy gaps, per-class equal-opportunity and
 * demographic-parity gaps and harm-probe rates with their
 * differences and paired percentile intervals, McNemar's exact test, agreement and Cohen's kappa, and the
 * images whose prediction changed. Overall statistics resample all images; an attribute's statistics resample
 * within each of its groups (stratified, as the audit does). Pure and JSON-ready.
 */
export function compareRuns(input: ComparisonInput): ComparisonResult {
  const n = input.truth.length;
  if (n === 0) throw new Error('the runs share no image: nothing to compare');
  for (const run of input.runs) {
    for (const [strategy, predicted] of run.predictions) {
      if (predicted.length !== n) throw new Error(`run ${run.name}, strategy ${strategy}: ${predicted.length} predictions for ${n} shared images`);
    }
  }
  const baseline = input.runs[input.baseline];
  const strategies = [...baseline.predictions.keys()];
  const membersOf = strategies.map((strategy) => input.runs.flatMap((run, r) => (run.predictions.has(strategy) ? [r] : [])));
  // One tally per partition for every (strategy, run): the draws depend only on the partition and the seed, so
  // this is what tallying each strategy apart would give, with the random draws paid for once.
  const flat = strategies.flatMap((strategy, s) => membersOf[s].map((r) => input.runs[r].predictions.get(strategy)!));
  const { truth, classes, settings } = input;
  const tally = (partition: Partition) => tallyOutcomes(partition, truth, flat, classes.length, settings.bootstrap, settings.seed);
  const single = input.attributes.map((a) => partitionByAttribute(a.name, a.values));
  const partitions = settings.intersections ? [...single, ...single.flatMap((a, i) => single.slice(i + 1).map((b) => intersectPartitions(a, b)))] : single;
  const populationTallies = tally(wholePopulation(n));
  const attributeTallies = partitions.map(tally);
  const comparisons: RunComparison[] = [];
  const agreementMatrix: Record<string, (number | null)[][]> = Object.create(null);
  let offset = 0;
  for (const [s, strategy] of strategies.entries()) {
    const members = membersOf[s];
    const slice = (tallies: OutcomeTallies[]) => tallies.slice(offset, offset + members.length);
    comparisons.push(...compareStrategy(input, strategy, members, partitions, { population: slice(populationTallies), attributes: attributeTallies.map(slice) }));
    offset += members.length;
    agreementMatrix[strategy] = input.runs.map((a) => input.runs.map((b) => {
      const pa = a.predictions.get(strategy);
      const pb = b.predictions.get(strategy);
      return pa && pb ? predictionAgreement(pa, pb, input.classes.length).agreement : null;
    }));
  }
  return {
    comparisons,
    agreement_matrix: agreementMatrix,
    resampling: 'paired: each replicate draws the same images for every run; overall statistics over all shared images, per-attribute statistics within each group (stratified)',
    interval: `percentile, ${100 * CONFIDENCE_LEVEL} %`,
    confidence: CONFIDENCE_LEVEL,
  };
}
