/**
 * Scoring in blocks of images, so images × prompts is never in memory at once: for each block, the similarity
 * block (100·cos), then the class scores of every strategy, then each strategy's best classes; only the
 * predictions and the N best classes per image are kept. Every value equals the unchunked computation's
 * (classScoresFromPrompts, classScoresFromEmbeddings, argmaxRows) given the same similarity kernel.
 */
import { probabilities, type ProbabilityScoring } from './probabilities.js';
import type { ScoreMatrix } from './similarity.js';
import { loopKernel, onnxKernel, type SimilarityKernel, type SimilarityProduct } from './similarity_kernel.js';
import { classEmbeddingMeans, equivalentStrategy, keepBest, promptsByClass, strategyDefinition, strategyName, type Strategy } from './strategies.js';

/** Similarity values per block (64 MB of float32): 209 images a block against ImageNet's 80,000 prompts. */
export const BLOCK_VALUES = 1 << 24;
/** Products below this many multiply-adds use today's exact loop; larger ones ONNX Runtime's MatMul. */
export const LOOP_KERNEL_MAX_MACS = 1 << 27;

/** The kernel for a product of `macs` multiply-adds: the exact loop when small, ONNX Runtime otherwise. */
export function kernelFor(macs: number, threads: number): SimilarityKernel {
  return macs <= LOOP_KERNEL_MAX_MACS ? loopKernel : onnxKernel(threads);
}

const blockOf = (rows: number, cols: number, data: Float32Array): ScoreMatrix => ({ rows, cols, data });

/** Images per block: BLOCK_VALUES similarity values, at least one image. */
export function blockRows(cols: number, values = BLOCK_VALUES): number {
  return Math.max(1, Math.min(4096, Math.floor(values / Math.max(1, cols))));
}

export interface ChunkedScoringInputs {
  /** Normalised embeddings, row-major. */
  readonly imageEmbeddings: Float32Array;
  readonly textEmbeddings: Float32Array;
  readonly dim: number;
  readonly promptClass: Int32Array;
  readonly numClasses: number;
}

export interface ChunkedScoringOptions {
  /** Default: kernelFor(images × prompts × dim, threads). */
  readonly kernel?: SimilarityKernel;
  readonly threads?: number;
  /** Images per block (default: blockRows(prompts)). */
  readonly rows?: number;
  /** Best classes kept per image and strategy, best first (default 1). */
  readonly topClasses?: number;
  /** Each similarity block as it is computed (e.g. to keep the whole matrix of a small run). */
  readonly onBlock?: (start: number, block: ScoreMatrix) => void | Promise<void>;
}

export interface ChunkedScores {
  /** Strategy name → predicted class per image (ties go to the class listed first, as argmaxRows). */
  readonly predictions: Map<string, Int32Array>;
  /** Strategy name → images × `topCount` class indices, best first; the first is the prediction. */
  readonly topClasses: Map<string, Int32Array>;
  readonly topCount: number;
}

/** What the score-level strategies of a run need from one row: each class's sum and its K best prompt scores. */
interface PromptLevelPlan {
  readonly members: Int32Array[];
  /** The largest K any top-k (or max, K = 1) strategy asks for. */
  readonly kMax: number;
  readonly strategies: readonly Strategy[];
}

/**
 * Class scores of the score-level strategies for a block, in one pass over it. Sums run in double in prompt order;
 * top-k keeps each class's K best values by insertion (no sort) and sums them best first: the same operations in
 * the same order as classScoresFromPrompts, so the same doubles. A class whose prompts are consecutive columns
 * (templated specs) is read without the index list.
 */
function promptLevelScores(block: ScoreMatrix, plan: PromptLevelPlan, numClasses: number): Float64Array[] {
  const { members, kMax, strategies } = plan;
  const outs = strategies.map(() => new Float64Array(block.rows * numClasses));
  // Per strategy: how many best values it sums (0: all, as sum; -1: all divided by the count, as mean).
  const take = Int32Array.from(strategies, (s) => (s.kind === 'sum' ? 0 : s.kind === 'mean' ? -1 : s.kind === 'max' ? 1 : (s as { k: number }).k));
  const firstColumn = Int32Array.from(members, (m) => (m.every((j, p) => j === m[0] + p) ? m[0] : -1));
  const best = new Float64Array(Math.max(1, kMax));
  const data = block.data;
  const cols = block.cols;
  for (let i = 0; i < block.rows; i++) {
    const row = i * cols;
    for (let c = 0; c < numClasses; c++) {
      const prompts = members[c];
      const n = prompts.length;
      const keep = kMax < n ? kMax : n;
      const first = firstColumn[c];
      let total = 0;
      let kept = 0;
      let nan = false;
      // The same loop twice, so that neither pays for the other's addressing.
      if (first >= 0) {
        const end = row + first + n;
        for (let q = row + first; q < end; q++) {
          const value = data[q];
          total += value;
          if (value !== value) nan = true;
          kept = keepBest(best, kept, keep, value);
        }
      } else {
        for (let p = 0; p < n; p++) {
          const value = data[row + prompts[p]];
          total += value;
          if (value !== value) nan = true;
          kept = keepBest(best, kept, keep, value);
        }
      }
      const cell = i * numClasses + c;
      for (let s = 0; s < take.length; s++) {
        const k = take[s];
        if (k === 0 || k >= n) outs[s][cell] = total;
        else if (k < 0) outs[s][cell] = total / n;
        // A NaN among the class's scores is in its top-k too (a NaN sorts first, as in classScoresFromPrompts),
        // wherever keepBest left it.
        else if (nan) outs[s][cell] = NaN;
        else {
          let sum = 0;
          for (let p = 0; p < k; p++) sum += best[p];
          outs[s][cell] = sum;
        }
      }
    }
  }
  return outs;
}

/** The `count` best classes of each row, best first; ties keep the class listed first (so the first is argmaxRows'). */
export function topClassesOfRows(scores: Float64Array | Float32Array, cols: number, count: number, out: Int32Array, outOffset = 0): void {
  const rows = scores.length / cols;
  const keep = Math.min(count, cols);
  const values = new Float64Array(keep);
  for (let i = 0; i < rows; i++) {
    const base = (outOffset + i) * count;
    let kept = 0;
    for (let c = 0; c < cols; c++) {
      const value = scores[i * cols + c];
      let at: number;
      if (kept < keep) at = kept++;
      else if (value > values[keep - 1]) at = keep - 1;
      else continue;
      while (at > 0 && value > values[at - 1]) {
        values[at] = values[at - 1];
        out[base + at] = out[base + at - 1];
        at--;
      }
      values[at] = value;
      out[base + at] = c;
    }
    for (let r = keep; r < count; r++) out[base + r] = -1;
  }
}

/** Scores every strategy in blocks of images; see the module comment. */
export async function scoreInChunks(inputs: ChunkedScoringInputs, strategies: readonly Strategy[], options: ChunkedScoringOptions = {}): Promise<ChunkedScores> {
  const { imageEmbeddings, textEmbeddings, dim, promptClass, numClasses } = inputs;
  const images = imageEmbeddings.length / dim;
  const prompts = textEmbeddings.length / dim;
  if (promptClass.length !== prompts) throw new Error(`${promptClass.length} prompt classes for ${prompts} prompts`);
  const topCount = Math.max(1, options.topClasses ?? 1);
  const kernel = options.kernel ?? kernelFor(images * prompts * dim, options.threads ?? 1);
  const members = promptsByClass(promptClass, numClasses);
  // Strategies that score alike on these prompts (top-3 of two-prompt classes is their sum) are scored once, as
  // the equivalent strategy, and share its best classes.
  const largestClass = Math.max(0, ...members.map((m) => m.length));
  const scoredAs = new Map(strategies.map((s) => [strategyName(s), equivalentStrategy(s, largestClass)]));
  const scored = [...new Map([...scoredAs.values()].map((s) => [strategyName(s), s])).values()];
  const promptLevel = scored.filter((s) => !strategyDefinition(s).needsEmbeddings);
  const needsPrompts = promptLevel.length > 0 || options.onBlock !== undefined;
  const plan: PromptLevelPlan = {
    members,
    kMax: Math.max(0, ...promptLevel.map((s) => (s.kind === 'topk' ? s.k : s.kind === 'max' ? 1 : 0))),
    strategies: promptLevel,
  };
  const topOfScored = new Map(scored.map((s) => [strategyName(s), new Int32Array(images * topCount)]));
  const rowsPerBlock = options.rows ?? blockRows(prompts);

  const products: SimilarityProduct[] = [];
  try {
    const promptProduct = needsPrompts ? await kernel(textEmbeddings, dim) : null;
    if (promptProduct) products.push(promptProduct);
    const classProduct = strategies.some((s) => s.kind === 'embedding-mean')
      ? await kernel(classEmbeddingMeans(textEmbeddings, dim, promptClass, numClasses), dim)
      : null;
    if (classProduct) products.push(classProduct);
    // The next block's products run in ONNX Runtime's threads while this thread scores the current one.
    const launch = (start: number) => {
      const end = Math.min(images, start + rowsPerBlock);
      const imageBlock = imageEmbeddings.subarray(start * dim, end * dim);
      return { start, rows: end - start, prompt: promptProduct?.block(imageBlock), classes: classProduct?.block(imageBlock) };
    };
    let pending = images > 0 ? launch(0) : null;
    while (pending) {
      const { start, rows, prompt, classes } = pending;
      const promptScores = prompt && (await prompt);
      const classScores = classes && (await classes);
      pending = start + rows < images ? launch(start + rows) : null;
      const scores = new Map<string, Float64Array | Float32Array>();
      if (promptScores) {
        const block = blockOf(rows, prompts, promptScores);
        await options.onBlock?.(start, block);
        promptLevelScores(block, plan, numClasses).forEach((values, s) => scores.set(strategyName(promptLevel[s]), values));
      }
      if (classScores) scores.set('embedding-mean', classScores);
      for (const [name, top] of topOfScored) topClassesOfRows(scores.get(name)!, numClasses, topCount, top, start);
    }
  } finally {
    for (const product of products) await product.dispose();
  }
  const topClasses = new Map([...scoredAs].map(([name, as]) => [name, topOfScored.get(strategyName(as))!]));
  const predictions = new Map([...topClasses].map(([name, top]) => {
    const predicted = new Int32Array(images);
    for (let i = 0; i < images; i++) predicted[i] = top[i * topCount];
    return [name, predicted];
  }));
  return { predictions, topClasses, topCount };
}

/** What similarityBlocks recomputes from: a run's embeddings (or its kept matrix) and how probabilities are made. */
export interface SimilaritySource {
  readonly imageEmbeddings: Float32Array;
  readonly textEmbeddings: Float32Array;
  readonly dim: number;
  /** The whole matrix, when the run kept it (small runs): sliced rather than recomputed. */
  readonly similarity?: ScoreMatrix;
  readonly threads: number;
}

/**
 * The similarity matrix block by block, for writing it out: slices of the kept matrix, or recomputed from the
 * embeddings with the same kernel choice as scoreInChunks (so the same values).
 */
export async function* similarityBlocks(source: SimilaritySource, rows?: number): AsyncGenerator<{ start: number; block: ScoreMatrix }> {
  const { imageEmbeddings, textEmbeddings, dim } = source;
  const images = imageEmbeddings.length / dim;
  const prompts = textEmbeddings.length / dim;
  const step = rows ?? blockRows(prompts);
  if (source.similarity) {
    const { data, cols } = source.similarity;
    for (let start = 0; start < images; start += step) {
      const end = Math.min(images, start + step);
      yield { start, block: blockOf(end - start, cols, data.subarray(start * cols, end * cols)) };
    }
    return;
  }
  const product = await kernelFor(images * prompts * dim, source.threads)(textEmbeddings, dim);
  try {
    for (let start = 0; start < images; start += step) {
      const end = Math.min(images, start + step);
      yield { start, block: blockOf(end - start, prompts, await product.block(imageEmbeddings.subarray(start * dim, end * dim))) };
    }
  } finally {
    await product.dispose();
  }
}

/** Probabilities block by block (each row's softmax or sigmoid only needs that row). */
export async function* probabilityBlocks(source: SimilaritySource, scoring: ProbabilityScoring, rows?: number): AsyncGenerator<{ start: number; block: ScoreMatrix }> {
  for await (const { start, block } of similarityBlocks(source, rows)) yield { start, block: probabilities(block, scoring) };
}
