import { cosineScores, l2NormalizeRows, type ScoreMatrix } from './similarity.js';

/**
 * How prompt scores become one class per image.
 * - `sum`: the seed's "Average Sum": sum of the class's prompt scores.
 * - `mean`: the same divided by the class's prompt count.
 * - `topk`: the seed's "Top K": sum of the class's k highest prompt scores (all of them if it has fewer).
 * - `max`: the best single prompt (= topk with k = 1).
 * - `embedding-mean`: OpenAI's prompt ensembling: the mean of the class's normalised prompt embeddings,
 *   renormalised, scored against the image like a prompt.
 */
export type Strategy =
  | { readonly kind: 'sum' }
  | { readonly kind: 'mean' }
  | { readonly kind: 'max' }
  | { readonly kind: 'topk'; readonly k: number }
  | { readonly kind: 'embedding-mean' };

export function strategyName(strategy: Strategy): string {
  return strategy.kind === 'topk' ? `topk:${strategy.k}` : strategy.kind;
}

/**
 * One strategy as every part of zeroshot sees it: the CLI's parser and help, the pipeline's scorer, the audit
 * (which reruns only the score-level ones), the report and compare (which show the help text).
 */
export interface StrategyDefinition {
  readonly kind: Strategy['kind'];
  /** How it is written in --strategies: `sum`, `topk:K`. */
  readonly syntax: string;
  readonly help: string;
  /** Needs the image and text embeddings, not only the similarity matrix. */
  readonly needsEmbeddings: boolean;
  /** The strategy a name stands for, or null when the name is not this strategy's. */
  readonly parse: (name: string) => Strategy | null;
  /** Class scores, rows = images, cols = classes. */
  readonly scores: (inputs: StrategyInputs, strategy: Strategy) => Float64Array;
}

const promptLevel = (inputs: StrategyInputs, strategy: Strategy) => classScoresFromPrompts(inputs.similarity, inputs.promptClass, inputs.numClasses, strategy);
const named = <K extends 'sum' | 'mean' | 'max' | 'embedding-mean'>(kind: K) => (name: string): Strategy | null => (name === kind ? { kind } : null);

export const STRATEGY_REGISTRY: readonly StrategyDefinition[] = [
  { kind: 'sum', syntax: 'sum', needsEmbeddings: false, parse: named('sum'), scores: promptLevel, help: "the seed's Average Sum: the sum of the class's prompt scores" },
  { kind: 'mean', syntax: 'mean', needsEmbeddings: false, parse: named('mean'), scores: promptLevel, help: "the sum divided by the class's prompt count" },
  { kind: 'max', syntax: 'max', needsEmbeddings: false, parse: named('max'), scores: promptLevel, help: "the class's best single prompt" },
  {
    kind: 'topk',
    syntax: 'topk:K',
    needsEmbeddings: false,
    parse: (name) => {
      const match = /^topk:(\d+)$/.exec(name);
      return match && Number(match[1]) >= 1 ? { kind: 'topk', k: Number(match[1]) } : null;
    },
    scores: promptLevel,
    help: "the seed's Top K: the sum of the class's K highest prompt scores (K ≥ 1; all of them if it has fewer)",
  },
  {
    kind: 'embedding-mean',
    syntax: 'embedding-mean',
    needsEmbeddings: true,
    parse: named('embedding-mean'),
    scores: (inputs) => {
      const { imageEmbeddings, textEmbeddings, dim } = inputs;
      if (!imageEmbeddings || !textEmbeddings || !dim) throw new Error('embedding-mean needs the image and text embeddings');
      return classScoresFromEmbeddings(imageEmbeddings, textEmbeddings, dim, inputs.promptClass, inputs.numClasses);
    },
    help: "OpenAI's prompt ensembling: the mean of the class's normalised prompt embeddings, renormalised, scored like a prompt",
  },
];

export function strategyDefinition(strategy: Strategy): StrategyDefinition {
  return STRATEGY_REGISTRY.find((d) => d.kind === strategy.kind)!;
}

/** The strategy a name stands for, or null when no strategy is written so (e.g. a predictions.csv column such as `label`). */
export function strategyOfName(text: string): Strategy | null {
  const name = text.trim();
  for (const definition of STRATEGY_REGISTRY) {
    const strategy = definition.parse(name);
    if (strategy) return strategy;
  }
  return null;
}

export function parseStrategy(text: string): Strategy {
  const strategy = strategyOfName(text);
  if (strategy) return strategy;
  const syntaxes = STRATEGY_REGISTRY.map((d) => d.syntax);
  throw new Error(`unknown strategy '${text}'; use ${syntaxes.slice(0, -1).join(', ')} or ${syntaxes.at(-1)}`);
}

/** The help text of a strategy name (`topk:3` → Top K's), or null for a name that is no strategy. */
export function strategyHelp(name: string): string | null {
  const strategy = strategyOfName(name);
  return strategy && strategyDefinition(strategy).help;
}

/** One line per strategy, for --help. */
export function strategiesHelpText(): string {
  const width = Math.max(...STRATEGY_REGISTRY.map((d) => d.syntax.length));
  return STRATEGY_REGISTRY.map((d) => `  ${d.syntax.padEnd(width)}  ${d.help}${d.needsEmbeddings ? ' (needs embeddings)' : ''}`).join('\n');
}

/** The default set: every strategy, with top-k for K = 2 and 3 where some class has that many prompts. */
export function defaultStrategies(promptsPerClass: ArrayLike<number>): Strategy[] {
  const largest = Math.max(...Array.from(promptsPerClass));
  const strategies: Strategy[] = [{ kind: 'sum' }, { kind: 'mean' }, { kind: 'max' }];
  for (const k of [2, 3]) if (largest >= k) strategies.push({ kind: 'topk', k });
  strategies.push({ kind: 'embedding-mean' });
  return strategies;
}

/**
 * The strategy that gives the same class scores, bit for bit, when no class has more than `largestClass` prompts:
 * top-k (and max, top-1) of a class with at most k prompts sums them all in prompt order, as `sum` does; any other
 * is itself. Scoring and the prompt analysis compute each distinct one once.
 */
export function equivalentStrategy(strategy: Strategy, largestClass: number): Strategy {
  const k = bestScoresSummed(strategy);
  return k !== Infinity && k >= largestClass ? { kind: 'sum' } : strategy;
}

/** How many of a class's best prompt scores a score-level strategy sums: k for top-k, 1 for max, all (∞) otherwise. */
function bestScoresSummed(strategy: Strategy): number {
  return strategy.kind === 'topk' ? strategy.k : strategy.kind === 'max' ? 1 : Infinity;
}

/** Prompt indices of each class, in prompt order. */
export function promptsByClass(promptClass: Int32Array, numClasses: number): Int32Array[] {
  const lists: number[][] = Array.from({ length: numClasses }, () => []);
  promptClass.forEach((c, j) => lists[c].push(j));
  return lists.map((l) => Int32Array.from(l));
}

/**
 * Class scores from prompt scores for the score-level strategies (`sum`, `mean`, `max`, `topk`).
 * Sums run in double precision in the seed's order (prompt order for sum/mean, descending for top-k),
 * as Python does on the floats of the seed's JSON.
 */
export function classScoresFromPrompts(similarity: ScoreMatrix, promptClass: Int32Array, numClasses: number, strategy: Strategy): Float64Array {
  if (strategy.kind === 'embedding-mean') throw new Error('embedding-mean needs embeddings: use classScoresFromEmbeddings');
  if (promptClass.length !== similarity.cols) throw new Error(`${promptClass.length} prompt classes for ${similarity.cols} prompt columns`);
  const members = promptsByClass(promptClass, numClasses);
  const k = bestScoresSummed(strategy);
  const out = new Float64Array(similarity.rows * numClasses);
  const buffer = new Float64Array(Math.max(0, ...members.map((m) => m.length)));
  for (let i = 0; i < similarity.rows; i++) {
    const row = i * similarity.cols;
    for (let c = 0; c < numClasses; c++) {
      const prompts = members[c];
      let total = 0;
      if (k >= prompts.length) {
        for (let p = 0; p < prompts.length; p++) total += similarity.data[row + prompts[p]];
      } else {
        // The k best values, best first, kept by insertion (no sort per row: max is top-1 of every class): the
        // values a descending sort puts first, summed in that order; a NaN sorts first, so it makes the sum NaN.
        let kept = 0;
        let nan = false;
        for (let p = 0; p < prompts.length; p++) {
          const value = similarity.data[row + prompts[p]];
          if (value !== value) nan = true;
          kept = keepBest(buffer, kept, k, value);
        }
        for (let p = 0; p < k; p++) total += buffer[p];
        if (nan && k > 0) total = NaN;
      }
      out[i * numClasses + c] = strategy.kind === 'mean' ? total / prompts.length : total;
    }
  }
  return out;
}

/**
 * Top-k by insertion: `best[0..kept)` holds the largest values seen so far, best first, at most `keep` of them;
 * `value` goes in at its place if it belongs there (a NaN only fills a free slot, never displaces). Returns the new
 * count. Scoring calls it per prompt score, so it stays this small (V8 inlines it).
 */
export function keepBest(best: Float64Array, kept: number, keep: number, value: number): number {
  let at: number;
  if (kept < keep) at = kept++;
  else if (keep > 0 && value > best[keep - 1]) at = keep - 1;
  else return kept;
  while (at > 0 && value > best[at - 1]) {
    best[at] = best[at - 1];
    at--;
  }
  best[at] = value;
  return kept;
}

/** OpenAI-style class embeddings: mean of each class's L2-normalised prompt embeddings, renormalised. */
export function classEmbeddingMeans(textEmbeddings: Float32Array, dim: number, promptClass: Int32Array, numClasses: number): Float32Array {
  const out = new Float32Array(numClasses * dim);
  const counts = new Float64Array(numClasses);
  const normalised = l2NormalizeRows(Float32Array.from(textEmbeddings), dim);
  promptClass.forEach((c, j) => {
    counts[c] += 1;
    for (let d = 0; d < dim; d++) out[c * dim + d] += normalised[j * dim + d];
  });
  for (let c = 0; c < numClasses; c++) for (let d = 0; d < dim; d++) out[c * dim + d] /= counts[c];
  return l2NormalizeRows(out, dim);
}

/** `embedding-mean` class scores: 100·cos between each image and each class's mean prompt embedding. */
export function classScoresFromEmbeddings(imageEmbeddings: Float32Array, textEmbeddings: Float32Array, dim: number, promptClass: Int32Array, numClasses: number): Float64Array {
  const classEmbeddings = classEmbeddingMeans(textEmbeddings, dim, promptClass, numClasses);
  return Float64Array.from(cosineScores(imageEmbeddings, classEmbeddings, dim).data);
}

/** Index of the largest value in each row; ties go to the earliest column (the class listed first). */
export function argmaxRows(scores: Float64Array | Float32Array, cols: number): Int32Array {
  const rows = scores.length / cols;
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (scores[i * cols + c] > scores[i * cols + best]) best = c;
    out[i] = best;
  }
  return out;
}

/** Inputs every strategy may need: the similarity matrix and, for embedding-mean, the normalised embeddings. */
export interface StrategyInputs {
  readonly similarity: ScoreMatrix;
  readonly promptClass: Int32Array;
  readonly numClasses: number;
  readonly imageEmbeddings?: Float32Array;
  readonly textEmbeddings?: Float32Array;
  readonly dim?: number;
}

/** Class scores (rows = images, cols = classes) for any strategy. */
export function classScores(inputs: StrategyInputs, strategy: Strategy): Float64Array {
  return strategyDefinition(strategy).scores(inputs, strategy);
}

/** Predicted class index per image for each strategy, keyed by strategy name. */
export function predictAll(inputs: StrategyInputs, strategies: readonly Strategy[]): Map<string, Int32Array> {
  return new Map(strategies.map((s) => [strategyName(s), argmaxRows(classScores(inputs, s), inputs.numClasses)]));
}
