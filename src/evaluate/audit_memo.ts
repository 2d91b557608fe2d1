// What audits of the same images, again and again (the prompt lab re-audits after every edit), can keep between
// them, with results equal to an audit without it:
// - the bootstrap's draws: a partition's resamples depend only on its groups and the seed, so they are drawn once
//   and kept as multiplicities (how often each image is drawn in each replicate); a new set of predictions then
//   moves only the counts of the images whose (truth, prediction) cell changed since the last tally, the same
//   integers tallyOutcomes gets from the draws themselves;
// - each prompt's ranking of the images and its ranking bias per partition, and a class's scores from a set of prompts
//   (the prompt analysis's leave-one-out): a prompt's scores of the same images do not change;
// - the partitions of the same attribute values (the lab passes the saved run's arrays each time).
import { forEachStratifiedResample } from './bootstrap.js';
import type { Partition } from './groups.js';
import { ReplicateCounts } from './wasm/replicate_counts.js';

/** A strategy slot's last tally: the cells it counted (its counters are the slot's block in ReplicateCounts). */
interface KeptTally {
  readonly cells: Int32Array;
  readonly numClasses: number;
}

/** Multiplicities of one partition's resamples, and the last tally of each strategy slot to move from. */
interface PartitionDraws {
  readonly groupOf: Int32Array;
  readonly numGroups: number;
  readonly replicates: number;
  readonly counts: ReplicateCounts;
  readonly last: (KeptTally | undefined)[];
}

/**
 * A partition's stratified resamples (forEachStratifiedResample) as multiplicities, or null when an image is drawn
 * 255 times in one replicate (groups of thousands, vanishingly rare) or they would take more than `maxBytes`.
 */
export function drawnCounts(partition: Partition, replicates: number, seed: number, maxBytes = Infinity): ReplicateCounts | null {
  if (partition.groupOf.length * replicates > maxBytes) return null;
  const counts = new ReplicateCounts(partition.groupOf.length, replicates);
  const weights = counts.weights();
  let overflow = false;
  forEachStratifiedResample(partition.groups.map((g) => g.members), replicates, seed, (b, _g, drawn) => {
    for (let k = 0; k < drawn.length; k++) {
      const at = drawn[k] * replicates + b;
      if (weights[at] === 255) overflow = true;
      else weights[at] += 1;
    }
  });
  return overflow ? null : counts;
}

/** The same integers in the same order. */
export function sameValues(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Rankings kept at most (4 bytes per image each), and class-score columns (8 bytes per image each); the oldest go first. */
const MAX_RANKINGS = 4096;
const MAX_CLASS_SCORES = 512;
/** Leave-one-out flip sums kept at most (a byte per image and 4 per replicate each): one per strategy and prompt. */
const MAX_FLIP_SUMS = 512;

export class AuditMemo {
  private readonly partitions = new Map<string, PartitionDraws | null>();
  private readonly rankings = new Map<string, Int32Array>();
  private readonly rankingBiases = new WeakMap<Partition, Map<string, unknown>>();
  private readonly lastOf = new Map<string, { readonly inputs: readonly unknown[]; readonly value: unknown }>();
  private readonly columns = new Map<string, Float64Array>();
  private readonly signed = new Map<string, { readonly signs: Int8Array; readonly sums: Int32Array; readonly resamples: ReplicateCounts }>();
  private bytes = 0;

  /** `maxBytes`: multiplicities kept at most (one byte per image and replicate and partition). */
  constructor(private readonly maxBytes = 256 * 2 ** 20) {}

  /** Images in descending order of `prompt`'s scores (rankByPrompt), over `rows` images: kept by prompt text. */
  ranking(prompt: string, rows: number, rank: () => Int32Array): Int32Array {
    const key = `${rows}\u0000${prompt}`;
    let ranking = this.rankings.get(key);
    if (!ranking) {
      if (this.rankings.size >= MAX_RANKINGS) this.rankings.delete(this.rankings.keys().next().value!);
      this.rankings.set(key, (ranking = rank()));
    }
    return ranking;
  }

  /** What `make` made last under `key`, while every one of `inputs` is the same (===) as then. */
  sameAsLast<T>(key: string, inputs: readonly unknown[], make: () => T): T {
    const last = this.lastOf.get(key);
    if (last && last.inputs.length === inputs.length && last.inputs.every((input, k) => input === inputs[k])) return last.value as T;
    const value = make();
    this.lastOf.set(key, { inputs, value });
    return value;
  }

  /** A prompt's ranking bias over one partition (of the memo's partitions), kept by `key` (prompt text, depth). */
  rankingBias<T>(partition: Partition, key: string, measure: () => T): T {
    let kept = this.rankingBiases.get(partition);
    if (!kept) this.rankingBiases.set(partition, (kept = new Map()));
    let bias = kept.get(key) as T | undefined;
    if (bias === undefined) {
      if (kept.size >= MAX_RANKINGS) kept.delete(kept.keys().next().value!);
      kept.set(key, (bias = measure()));
    }
    return bias;
  }

  /**
   * signedSums of `signs` over `resamples`, moved from the last signs kept under `key` (a prompt's leave-one-out
   * flips change by a few images per edit), the same integers as from zeros.
   */
  signedSums(key: string, signs: Int8Array, resamples: ReplicateCounts): Int32Array {
    const last = this.signed.get(key);
    const usable = last && last.resamples === resamples && last.signs.length === signs.length;
    const sums = usable ? resamples.signedSums(signs, last.signs, last.sums) : resamples.signedSums(signs);
    if (!last && this.signed.size >= MAX_FLIP_SUMS) this.signed.delete(this.signed.keys().next().value!);
    this.signed.set(key, { signs, sums, resamples });
    return sums;
  }

  /** One class's scores per image from a set of prompts by a strategy (the prompt analysis), kept by `key`. */
  classScores(key: string, score: () => Float64Array): Float64Array {
    let scores = this.columns.get(key);
    if (!scores) {
      if (this.columns.size >= MAX_CLASS_SCORES) this.columns.delete(this.columns.keys().next().value!);
      this.columns.set(key, (scores = score()));
    }
    return scores;
  }

  private draws(partition: Partition, replicates: number, seed: number): PartitionDraws | null {
    const key = `${partition.name}\u0000${replicates}\u0000${seed}`;
    const known = this.partitions.get(key);
    if (known !== undefined && (known === null || known.groupOf === partition.groupOf || sameValues(known.groupOf, partition.groupOf))) return known;
    if (known) this.bytes -= known.groupOf.length * known.replicates;
    const n = partition.groupOf.length;
    let draws: PartitionDraws | null = null;
    if (this.bytes + n * replicates <= this.maxBytes) {
      const counts = drawnCounts(partition, replicates, seed);
      if (counts) draws = { groupOf: partition.groupOf, numGroups: partition.groups.length, replicates, counts, last: [] };
    }
    this.partitions.set(key, draws);
    if (draws) this.bytes += n * replicates;
    return draws;
  }

  /** The partition's resamples as multiplicities (drawnCounts), kept; null when not memoised. */
  counts(partition: Partition, replicates: number, seed: number): ReplicateCounts | null {
    return replicates === 0 ? null : (this.draws(partition, replicates, seed)?.counts ?? null);
  }

  /**
   * The resampled counters ([replicate][group][3C], as OutcomeTallies.resampled) of each strategy's cells
   * ((truth + 1)·C + predicted per image), or null when this partition is not memoised (tally it directly).
   */
  resampled(partition: Partition, cellsOf: readonly Int32Array[], numClasses: number, replicates: number, seed: number): Int32Array[] | null {
    if (replicates === 0) return null;
    const draws = this.draws(partition, replicates, seed);
    if (!draws) return null;
    const stride = 3 * numClasses;
    draws.counts.layout(replicates * draws.numGroups * stride, Math.max(cellsOf.length, draws.last.length));
    const inPartition = draws.groupOf.reduce((n, g) => n + (g >= 0 ? 1 : 0), 0);
    const moves = new Int32Array(8 * draws.groupOf.length);
    return cellsOf.map((cells, s) => {
      // Moving from the tally with the fewest changed images: this slot's last one (usually), or another strategy's
      // of this call (often close); from nothing when more than half changed, which adds each image once instead
      // of twice. Its own first, so the other candidates' counts stop early.
      let reference = -1;
      let fewest = Math.floor(inPartition / 2);
      for (const slot of [s, ...Array.from({ length: s }, (_, earlier) => earlier)]) {
        const candidate = draws.last[slot];
        if (!candidate || candidate.numClasses !== numClasses || candidate.cells.length !== cells.length) continue;
        let changed = 0;
        for (let i = 0; i < cells.length && changed < fewest; i++) if (draws.groupOf[i] >= 0 && candidate.cells[i] !== cells[i]) changed++;
        if (changed < fewest) {
          fewest = changed;
          reference = slot;
        }
      }
      const from = reference >= 0 ? draws.last[reference]!.cells : null;
      let count = 0;
      const push = (i: number, cell: number, sign: number) => {
        moves[4 * count] = i;
        moves[4 * count + 1] = draws.groupOf[i];
        moves[4 * count + 2] = cell;
        moves[4 * count + 3] = sign;
        count++;
      };
      for (let i = 0; i < cells.length; i++) {
        if (draws.groupOf[i] < 0) continue;
        if (!from) push(i, cells[i], 1);
        else if (from[i] !== cells[i]) {
          push(i, from[i], -1);
          push(i, cells[i], 1);
        }
      }
      // Slot s starts as the reference's counters (before the reference's slot is itself moved: slots go in order,
      // and a later slot's reference may be this one, which then holds this strategy's tally).
      if (reference !== s) draws.counts.start(s, reference >= 0 ? reference : null);
      draws.counts.move(s, moves, count, numClasses);
      draws.last[s] = { cells, numClasses };
      return draws.counts.replicatesOutermost(s, draws.numGroups, stride);
    });
  }
}
