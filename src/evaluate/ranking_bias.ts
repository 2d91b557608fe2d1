import type { ScoreMatrix } from '../score/similarity.js';
import type { AuditMemo } from './audit_memo.js';
import type { Partition } from './groups.js';

/** The default ranking depth of MaxSkew@k and NDKL (Berg et al. 2022 evaluate at 1000). */
export const DEFAULT_RANKING_DEPTH = 1000;

/** Images ordered by one prompt's score, highest first; equal scores keep image order. */
export function rankByPrompt(similarity: ScoreMatrix, prompt: number, images: Int32Array): Int32Array {
  const { data, cols } = similarity;
  return Int32Array.from(images).sort((a, b) => data[b * cols + prompt] - data[a * cols + prompt] || a - b);
}

/** Share of each group among the given group ids (ids in [0, numGroups)). */
export function groupShares(groupIds: ArrayLike<number>, numGroups: number): Float64Array {
  const shares = new Float64Array(numGroups);
  for (let i = 0; i < groupIds.length; i++) shares[groupIds[i]] += 1;
  for (let g = 0; g < numGroups; g++) shares[g] /= groupIds.length;
  return shares;
}

/**
 * MaxSkew@k = max over groups a of ln(p_topk(a) / p_all(a)), where `ranked[i]` is the group of the
 * image at rank i. A group absent from the top k has skew ln 0 = −∞ and so never attains the maximum;
 * because both distributions sum to 1, some group has p_topk(a) ≥ p_all(a), so the maximum is finite and ≥ 0.
 */
export function maxSkewAtK(ranked: Int32Array, numGroups: number, k: number): { value: number; group: number } {
  if (k < 1 || k > ranked.length) throw new Error(`MaxSkew@k needs 1 ≤ k ≤ ${ranked.length}, got ${k}`);
  const overall = groupShares(ranked, numGroups);
  const top = groupShares(ranked.subarray(0, k), numGroups);
  let best = { value: -Infinity, group: -1 };
  for (let g = 0; g < numGroups; g++) {
    if (top[g] === 0) continue;
    const skew = Math.log(top[g] / overall[g]);
    if (skew > best.value) best = { value: skew, group: g };
  }
  return best;
}

/**
 * NDKL over the first `depth` ranks: (1/Z) Σ_{i=1..depth} KL(p_top_i ‖ p_all) / log2(i + 1),
 * Z = Σ_{i=1..depth} 1 / log2(i + 1), KL(p ‖ q) = Σ_a p(a) ln(p(a) / q(a)) with 0 · ln 0 = 0.
 * Prefix counts are updated one rank at a time, so the whole curve costs O(depth · groups).
 */
export function ndkl(ranked: Int32Array, numGroups: number, depth: number): number {
  if (depth < 1 || depth > ranked.length) throw new Error(`NDKL needs 1 ≤ depth ≤ ${ranked.length}, got ${depth}`);
  const overall = groupShares(ranked, numGroups);
  const prefixCounts = new Float64Array(numGroups);
  let weighted = 0;
  let normaliser = 0;
  for (let i = 1; i <= depth; i++) {
    prefixCounts[ranked[i - 1]] += 1;
    let divergence = 0;
    for (let g = 0; g < numGroups; g++) {
      if (prefixCounts[g] === 0) continue;
      const p = prefixCounts[g] / i;
      divergence += p * Math.log(p / overall[g]);
    }
    const discount = 1 / Math.log2(i + 1);
    weighted += discount * divergence;
    normaliser += discount;
  }
  return weighted / normaliser;
}

export interface PromptRankingBias {
  readonly prompt: string;
  readonly class: string;
  readonly max_skew: number | null;
  /** The group most over-represented in the top k. */
  readonly max_skew_group: string | null;
  readonly ndkl: number | null;
  /** Share of each group among the k highest-scoring images. */
  readonly top_k_share: Record<string, number>;
}

export interface RankingBiasAudit {
  readonly attribute: string;
  readonly factors: readonly string[];
  /** Images ranked: those with a value for the attribute. */
  readonly n: number;
  /** Ranking depth used for both MaxSkew@k and NDKL: min(rankingK, n). */
  readonly k: number;
  /** Share of each group among all ranked images (p_all). */
  readonly share: Record<string, number>;
  readonly prompts: readonly PromptRankingBias[];
}

/** Group ids down one ranking, skipping images without a group. */
function groupsInRankOrder(ranking: Int32Array, groupOf: Int32Array): Int32Array {
  // Plain loops (not filter and Int32Array.from with callbacks): this runs once per prompt and partition.
  let count = 0;
  for (let r = 0; r < ranking.length; r++) if (groupOf[ranking[r]] >= 0) count++;
  const out = new Int32Array(count);
  for (let r = 0, k = 0; r < ranking.length; r++) {
    const g = groupOf[ranking[r]];
    if (g >= 0) out[k++] = g;
  }
  return out;
}

/**
 * MaxSkew@k and NDKL of every prompt's image ranking, for each partition's groups. Each prompt's ranking
 * is sorted once and shared by the partitions; images without a value for the partition are left out.
 */
export function auditRankingBias(
  similarity: ScoreMatrix,
  prompts: readonly string[],
  promptClass: Int32Array,
  classes: readonly string[],
  partitions: readonly Partition[],
  rankingK: number = DEFAULT_RANKING_DEPTH,
  /** Rankings kept from earlier audits of the same images (the prompt lab). */
  memo?: AuditMemo,
): RankingBiasAudit[] {
  const everyImage = Int32Array.from({ length: similarity.rows }, (_, i) => i);
  const rank = (j: number) => rankByPrompt(similarity, j, everyImage);
  const rankings = prompts.map((prompt, j) => (memo ? memo.ranking(prompt, similarity.rows, () => rank(j)) : rank(j)));
  return partitions.map((partition): RankingBiasAudit => {
    const numGroups = partition.groups.length;
    const n = partition.groups.reduce((total, group) => total + group.members.length, 0);
    const k = Math.min(rankingK, n);
    const byName = (values: Float64Array) => Object.fromEntries(partition.groups.map((group, g) => [group.name, values[g]]));
    const measure = (j: number): Omit<PromptRankingBias, 'prompt' | 'class'> => {
      if (k === 0) return { max_skew: null, max_skew_group: null, ndkl: null, top_k_share: {} };
      const ranked = groupsInRankOrder(rankings[j], partition.groupOf);
      const skew = maxSkewAtK(ranked, numGroups, k);
      return { max_skew: skew.value, max_skew_group: partition.groups[skew.group].name, ndkl: ndkl(ranked, numGroups, k), top_k_share: byName(groupShares(ranked.subarray(0, k), numGroups)) };
    };
    const perPrompt = prompts.map((text, j): PromptRankingBias => ({
      prompt: text,
      class: classes[promptClass[j]],
      ...(memo ? memo.rankingBias(partition, `${similarity.rows}\u0000${k}\u0000${text}`, () => measure(j)) : measure(j)),
    }));
    const share = n === 0 ? {} : byName(Float64Array.from(partition.groups, (group) => group.members.length / n));
    return { attribute: partition.name, factors: partition.factors, n, k, share, prompts: perPrompt };
  });
}
