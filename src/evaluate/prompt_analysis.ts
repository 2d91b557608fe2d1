import { scoreMatrix, type ScoreMatrix } from '../score/similarity.js';
import { argmaxRows, classScoresFromPrompts, equivalentStrategy, promptsByClass, strategyDefinition, strategyName, type Strategy } from '../score/strategies.js';
import type { AuditMemo } from './audit_memo.js';
import type { ReplicateCounts } from './wasm/replicate_counts.js';
import { percentileInterval, type Interval } from './bootstrap.js';
import { accuracyOfCounts, accuracyOfPredictions, classificationMetrics } from './classification.js';
import { blockAccuracy, blockBalancedAccuracy, estimateForGroup, type OutcomeTallies } from './groups.js';

/** For each prompt: how many images it is the top-scoring prompt for, overall and among its own class's images. */
export function topPromptCounts(similarity: ScoreMatrix, promptClass: Int32Array, truth: Int32Array): { own_class: Int32Array; all: Int32Array } {
  const top = argmaxRows(similarity.data, similarity.cols);
  const ownClass = new Int32Array(similarity.cols);
  const all = new Int32Array(similarity.cols);
  top.forEach((j, i) => {
    all[j] += 1;
    if (truth[i] === promptClass[j]) ownClass[j] += 1;
  });
  return { own_class: ownClass, all };
}

/** One class's scores (one per image) from the given prompt columns, by a score-level strategy. */
function classScoreFromColumns(similarity: ScoreMatrix, columns: Int32Array, strategy: Strategy): Float64Array {
  const { rows, cols, data } = similarity;
  const subset = new Float32Array(rows * columns.length);
  for (let i = 0; i < rows; i++) for (let k = 0; k < columns.length; k++) subset[i * columns.length + k] = data[i * cols + columns[k]];
  return classScoresFromPrompts(scoreMatrix(rows, columns.length, subset), new Int32Array(columns.length), 1, strategy);
}

/** Prompt texts and the memo that keeps a class's scores by strategy and the texts of its prompts. */
interface KeptClassScores {
  readonly prompts: readonly string[];
  readonly memo: AuditMemo;
}

/** classScoreFromColumns, kept in the memo (a prompt's scores of the same images do not change). */
function keptClassScore(similarity: ScoreMatrix, columns: Int32Array, strategy: Strategy, kept: KeptClassScores): Float64Array {
  const key = `${strategyName(strategy)}\u0000${similarity.rows}\u0000${Array.from(columns, (j) => kept.prompts[j]).join('\u0000')}`;
  return kept.memo.classScores(key, () => classScoreFromColumns(similarity, columns, strategy));
}

/**
 * classScoresFromPrompts' scores from each class's kept scores: a class's score depends only on its own prompts,
 * so an edit rescores only the classes whose prompts changed (the same operations, the same doubles).
 */
function classScoresFromKept(similarity: ScoreMatrix, promptClass: Int32Array, numClasses: number, strategy: Strategy, kept: KeptClassScores): Float64Array {
  const rows = similarity.rows;
  const out = new Float64Array(rows * numClasses);
  promptsByClass(promptClass, numClasses).forEach((columns, c) => {
    const scores = columns.length ? keptClassScore(similarity, columns, strategy, kept) : classScoreFromColumns(similarity, columns, strategy);
    for (let i = 0; i < rows; i++) out[i * numClasses + c] = scores[i];
  });
  return out;
}

/** What leaving each prompt out of a score-level strategy needs: each row's best two classes, and the rescored class. */
interface LeaveOneOut {
  readonly best: Int32Array;
  readonly runnerUp: Int32Array;
  /** The left-out prompt's class's scores from its other prompts (−∞ when it had no other). */
  readonly rescored: (removed: number) => Float64Array;
}

function leaveOneOut(
  similarity: ScoreMatrix,
  promptClass: Int32Array,
  numClasses: number,
  strategy: Strategy,
  allPrompts: Float64Array,
  kept?: KeptClassScores,
  /** argmaxRows(allPrompts), when the caller has it. */
  best = argmaxRows(allPrompts, numClasses),
): LeaveOneOut {
  const C = numClasses;
  const rows = similarity.rows;
  const members = promptsByClass(promptClass, C);
  // Each row's best class and its best other class (ties to the class listed first, as argmaxRows): a change to
  // one class's score then decides the row's new argmax without rescanning the other classes.
  const runnerUp = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let second = -1;
    for (let k = 0; k < C; k++) if (k !== best[i] && (second < 0 || allPrompts[i * C + k] > allPrompts[i * C + second])) second = k;
    runnerUp[i] = second;
  }
  const rescored = (removed: number) => {
    const others = members[promptClass[removed]].filter((j) => j !== removed);
    if (others.length === 0) return new Float64Array(rows).fill(-Infinity);
    return kept ? keptClassScore(similarity, others, strategy, kept) : classScoreFromColumns(similarity, others, strategy);
  };
  return { best, runnerUp, rescored };
}

/** Row i's prediction when class c's score becomes `score`: c if it beats the best other class (ties to the class listed first). */
function predictionWith(plan: LeaveOneOut, allPrompts: Float64Array, C: number, i: number, c: number, score: number): number {
  const rival = plan.best[i] === c ? plan.runnerUp[i] : plan.best[i];
  return rival < 0 || score > allPrompts[i * C + rival] || (score === allPrompts[i * C + rival] && c < rival) ? c : rival;
}

/**
 * Predictions of a score-level strategy with each prompt left out in turn (entry j: without prompt j).
 * A score-level class score depends only on that class's own prompts, so only the left-out prompt's
 * class is rescored. A class left without prompts gets score −∞, so it can no longer be predicted
 * (rather than scoring 0, or NaN for `mean`).
 */
export function predictionsWithoutEachPrompt(
  similarity: ScoreMatrix,
  promptClass: Int32Array,
  numClasses: number,
  strategy: Strategy,
  /** The strategy's class scores with every prompt, when the caller has them. */
  allPrompts: Float64Array = classScoresFromPrompts(similarity, promptClass, numClasses, strategy),
): Int32Array[] {
  const plan = leaveOneOut(similarity, promptClass, numClasses, strategy, allPrompts);
  return Array.from(promptClass, (c, removed) => {
    const rescored = plan.rescored(removed);
    const predicted = new Int32Array(similarity.rows);
    for (let i = 0; i < predicted.length; i++) predicted[i] = predictionWith(plan, allPrompts, numClasses, i, c, rescored[i]);
    return predicted;
  });
}

/** Each prompt's leave-one-out accuracy, and the labelled images whose correctness leaving it out flips. */
interface LeftOut {
  readonly accuracy: number[];
  /** Per prompt, per image: +1 correct only without the prompt, −1 correct only with it, else 0. */
  readonly flips: Int8Array[];
}

/**
 * accuracyOfPredictions of each of predictionsWithoutEachPrompt's predictions, counted as they are decided (no
 * prediction arrays: this runs images × prompts × strategies times per edit in the prompt lab), with the images
 * each prompt's removal flips (what its interval needs).
 */
function accuracyWithoutEachPrompt(similarity: ScoreMatrix, promptClass: Int32Array, numClasses: number, strategy: Strategy, allPrompts: Float64Array, best: Int32Array, truth: Int32Array, kept?: KeptClassScores): LeftOut {
  const plan = leaveOneOut(similarity, promptClass, numClasses, strategy, allPrompts, kept, best);
  const labelled: number[] = [];
  const predictedAs: number[][] = Array.from({ length: numClasses }, () => []);
  let correctAll = 0;
  for (let i = 0; i < truth.length; i++) {
    if (truth[i] < 0) continue;
    labelled.push(i);
    predictedAs[plan.best[i]].push(i);
    if (plan.best[i] === truth[i]) correctAll++;
  }
  const everyLabelled = Int32Array.from(labelled);
  const labelledPredictedAs = predictedAs.map((images) => Int32Array.from(images));
  const members = promptsByClass(promptClass, numClasses);
  let noNaN = true;
  for (let x = 0; x < allPrompts.length && noNaN; x++) noNaN = !Number.isNaN(allPrompts[x]);
  const accuracy: number[] = [];
  const flips = Array.from(promptClass, (c, removed) => {
    const rescored = plan.rescored(removed);
    // A removal that cannot raise its class's score changes only the images that class was predicted for (a class
    // that lost keeps losing): only those are looked at.
    const images = noNaN && cannotRaise(strategy, similarity, removed, members[c].length) ? labelledPredictedAs[c] : everyLabelled;
    const flipped = new Int8Array(truth.length);
    let correct = correctAll;
    for (let k = 0; k < images.length; k++) {
      const i = images[k];
      const t = truth[i];
      const hit = predictionWith(plan, allPrompts, numClasses, i, c, rescored[i]) === t;
      if (hit === (plan.best[i] === t)) continue;
      flipped[i] = hit ? 1 : -1;
      correct += hit ? 1 : -1;
    }
    accuracy.push(accuracyOfCounts(correct, everyLabelled.length));
    return flipped;
  });
  return { accuracy, flips };
}

/**
 * Leaving prompt `removed` out of its class (of `prompts` prompts) gives every image a class score no higher, in
 * floating point too: the class left without prompts (−∞); max; top-k of more than k + 1 prompts (the k best of
 * the rest, each no higher, summed best first); the sum, when the prompt scores no image below zero (the same sum
 * in prompt order without a non-negative term). Not the mean, nor a top-k that becomes a sum in prompt order.
 */
function cannotRaise(strategy: Strategy, similarity: ScoreMatrix, removed: number, prompts: number): boolean {
  if (prompts === 1 || strategy.kind === 'max') return true;
  if (strategy.kind === 'topk') return strategy.k < prompts - 1;
  if (strategy.kind !== 'sum') return false;
  const { rows, cols, data } = similarity;
  for (let i = 0; i < rows; i++) if (!(data[i * cols + removed] >= 0)) return false;
  return true;
}

/**
 * The percentile interval of a leave-one-out accuracy change over the population's resamples (the strategy
 * comparison's, so paired with its intervals): per replicate, the flipped images' signed multiplicities over the
 * labelled images drawn; a replicate without labelled images is left out.
 */
function changeInterval(resamples: ReplicateCounts, labelledPerReplicate: Int32Array, flips: Int8Array, kept?: { readonly memo: AuditMemo; readonly key: string }): Interval | null {
  const moved = kept ? kept.memo.signedSums(kept.key, flips, resamples) : resamples.signedSums(flips);
  const change = new Float64Array(moved.length);
  for (let b = 0; b < moved.length; b++) change[b] = labelledPerReplicate[b] === 0 ? NaN : moved[b] / labelledPerReplicate[b];
  return percentileInterval(change);
}

export interface PromptUsage {
  readonly prompt: string;
  readonly class: string;
  /** Labelled images of the prompt's class. */
  readonly own_class_images: number;
  /** Of those, how many have this prompt as their top-scoring prompt (argmax over all prompts). */
  readonly own_class_top_count: number;
  /** own_class_top_count / own_class_images; null when the class has no images (e.g. a probe class). */
  readonly own_class_top_rate: number | null;
  /** Images of any class whose top-scoring prompt this is. */
  readonly top_count: number;
  /** Per score-level strategy: accuracy without this prompt − accuracy with all prompts; null for a one-prompt spec. */
  readonly accuracy_change: Record<string, number | null>;
  /**
   * Its percentile interval over the audit's resamples of all images (paired with the strategy comparison's); absent
   * without resamples (--bootstrap 0, a one-prompt spec, or more images × resamples than the audit keeps).
   */
  readonly accuracy_change_ci?: Record<string, Interval | null>;
  /** The prompt is its class's only one: leaving it out makes the class impossible to predict. */
  readonly removes_class: boolean;
}

export interface PromptAnalysis {
  /** The score-level strategies analysed (embedding-mean needs the embeddings and is left out). */
  readonly strategies: readonly string[];
  /** Accuracy of each of those strategies with every prompt, recomputed from the score matrix. */
  readonly accuracy_all_prompts: Record<string, number>;
  readonly prompts: readonly PromptUsage[];
}

export interface PromptAnalysisInput {
  readonly similarity: ScoreMatrix;
  readonly promptClass: Int32Array;
  readonly prompts: readonly string[];
  readonly classes: readonly string[];
  readonly truth: Int32Array;
  /** Score-level strategies to rerun without each prompt. */
  readonly strategies: readonly Strategy[];
  /** Kept from earlier analyses of the same images (the prompt lab); the same results without. */
  readonly memo?: AuditMemo;
  /** The whole population's bootstrap resamples, for the accuracy changes' intervals; none: no intervals. */
  readonly resamples?: ReplicateCounts | null;
}

/** Which prompts win images of their own class, and what each prompt adds to each strategy's accuracy. */
export function analysePrompts(input: PromptAnalysisInput): PromptAnalysis {
  const { similarity, promptClass, classes, truth } = input;
  const C = classes.length;
  const strategies = input.strategies.filter((s) => !strategyDefinition(s).needsEmbeddings);
  const accuracyOf = (predicted: Int32Array) => accuracyOfPredictions(truth, predicted);
  const kept = input.memo && { prompts: input.prompts, memo: input.memo };
  const promptsPerClass = promptsByClass(promptClass, C).map((m) => m.length);
  // Strategies that score alike (equivalentStrategy; leaving a prompt out keeps them alike) are analysed once.
  const largestClass = Math.max(0, ...promptsPerClass);
  const analysedAs = strategies.map((s) => strategyName(equivalentStrategy(s, largestClass)));
  const analysed = [...new Map(strategies.map((s, k) => [analysedAs[k], equivalentStrategy(s, largestClass)])).values()];
  const slotOf = analysedAs.map((name) => analysed.findIndex((s) => strategyName(s) === name));
  const scores = analysed.map((s) => (kept ? classScoresFromKept(similarity, promptClass, C, s, kept) : classScoresFromPrompts(similarity, promptClass, C, s)));
  const best = scores.map((classScores) => argmaxRows(classScores, C));
  const baseline = best.map(accuracyOf);
  const top = topPromptCounts(similarity, promptClass, truth);
  const support = new Int32Array(C);
  for (const t of truth) if (t >= 0) support[t] += 1;
  const withoutEach = similarity.cols < 2 ? null : analysed.map((s, k) => accuracyWithoutEachPrompt(similarity, promptClass, C, s, scores[k], best[k], truth, kept));
  const { resamples } = input;
  const labelledPerReplicate = resamples && withoutEach && labelledCounts(resamples, truth, input.memo);
  // A prompt's flips move little between edits: the memo keeps each one's sums, by strategy and prompt text.
  const flipsKey = (k: number, j: number) => `${strategyName(analysed[k])}\u0000${truth.length}\u0000${input.prompts[j]}`;
  const intervals = withoutEach && resamples && labelledPerReplicate
    ? withoutEach.map((left, k) => left.flips.map((flips, j) => changeInterval(resamples, labelledPerReplicate, flips, input.memo && { memo: input.memo, key: flipsKey(k, j) })))
    : null;
  const prompts = input.prompts.map((text, j): PromptUsage => {
    const c = promptClass[j];
    const accuracyChange: Record<string, number | null> = {};
    const accuracyChangeCi: Record<string, Interval | null> = {};
    strategies.forEach((s, k) => {
      accuracyChange[strategyName(s)] = withoutEach === null ? null : withoutEach[slotOf[k]].accuracy[j] - baseline[slotOf[k]];
      if (intervals) accuracyChangeCi[strategyName(s)] = intervals[slotOf[k]][j];
    });
    return {
      prompt: text,
      class: classes[c],
      own_class_images: support[c],
      own_class_top_count: top.own_class[j],
      own_class_top_rate: support[c] === 0 ? null : top.own_class[j] / support[c],
      top_count: top.all[j],
      accuracy_change: accuracyChange,
      ...(intervals ? { accuracy_change_ci: accuracyChangeCi } : {}),
      removes_class: promptsPerClass[c] === 1,
    };
  });
  return {
    strategies: strategies.map(strategyName),
    accuracy_all_prompts: Object.fromEntries(strategies.map((s, k) => [strategyName(s), baseline[slotOf[k]]])),
    prompts,
  };
}

/** Per replicate, the labelled images drawn (the denominator of its accuracy), kept while truth and resamples are the same. */
function labelledCounts(resamples: ReplicateCounts, truth: Int32Array, memo?: AuditMemo): Int32Array {
  const count = () => resamples.signedSums(Int8Array.from(truth, (t) => (t >= 0 ? 1 : 0)));
  return memo ? memo.sameAsLast('labelled per replicate', [truth, resamples], count) : count();
}

/** One row of the strategy comparison table. */
export interface StrategyComparisonRow {
  readonly strategy: string;
  readonly n_labelled: number;
  readonly accuracy: number;
  readonly accuracy_ci: Interval | null;
  readonly balanced_accuracy: number;
  readonly balanced_accuracy_ci: Interval | null;
}

/**
 * Accuracy and balanced accuracy of one strategy, with intervals from tallies over the whole population
 * (a one-group partition).
 */
export function compareStrategy(strategy: string, truth: Int32Array, predicted: Int32Array, classes: readonly string[], population: OutcomeTallies): StrategyComparisonRow {
  if (population.numGroups !== 1) throw new Error(`strategy comparison needs a one-group tally, got ${population.numGroups} groups`);
  const C = classes.length;
  const metrics = classificationMetrics(truth, predicted, classes);
  const accuracy = estimateForGroup(population, 0, (counts, offset) => blockAccuracy(counts, offset, C));
  const balanced = estimateForGroup(population, 0, (counts, offset) => blockBalancedAccuracy(counts, offset, C));
  return {
    strategy,
    n_labelled: metrics.n,
    accuracy: metrics.accuracy,
    accuracy_ci: accuracy.ci,
    balanced_accuracy: metrics.balanced_accuracy,
    balanced_accuracy_ci: balanced.ci,
  };
}
