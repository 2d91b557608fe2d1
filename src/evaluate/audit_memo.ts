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

/** Multiplicities of one partition's resamples, and the last tally of each strategy slot to move from. */
interface PartitionDraws {
  readonly groupOf: Int32Array;
  readonly numGroups: number;
  readonly replicates: number;
  /** weights[i · replicates + b]: how often image i is drawn in replicate b (within its group). */
  readonly weights: Uint8Array;
  readonly last: ({ readonly cells: Int32Array; readonly numClasses: number; readonly resampled: Int32Array } | undefined)[];
}

/** Accumulators (one per group and cell) folded into the counters at once, at most this many alive (4 bytes × replicates each). */
const MAX_ACCUMULATORS = 2048;

/**
 * Adds `sign` × each listed image's multiplicities to the counters of its cell, in every replicate. The rows of
 * images of one (group, cell) are summed first, a tight loop over replicates, then folded into the 3C counters.
 */
class CellRows {
  private readonly rows = new Map<number, Int32Array>();
  private readonly cells: number;

  constructor(private readonly draws: PartitionDraws, private readonly C: number, private readonly out: Int32Array) {
    this.cells = (C + 1) * C;
  }

  add(i: number, cell: number, sign: 1 | -1): void {
    const { replicates, weights } = this.draws;
    const key = this.draws.groupOf[i] * this.cells + cell;
    let row = this.rows.get(key);
    if (!row) {
      if (this.rows.size >= MAX_ACCUMULATORS) this.fold();
      this.rows.set(key, (row = new Int32Array(replicates)));
    }
    const base = i * replicates;
    if (sign > 0) for (let b = 0; b < replicates; b++) row[b] += weights[base + b];
    else for (let b = 0; b < replicates; b++) row[b] -= weights[base + b];
  }

  /** Moves the accumulated rows into the counters: predicted, support and hits of the cell's classes. */
  fold(): void {
    const { replicates, numGroups } = this.draws;
    const { C, out } = this;
    const stride = 3 * C;
    for (const [key, row] of this.rows) {
      const g = Math.floor(key / this.cells);
      const cell = key % this.cells;
      const t = Math.floor(cell / C) - 1;
      const p = cell % C;
      for (let b = 0; b < replicates; b++) {
        const m = row[b];
        if (m === 0) continue;
        const offset = (b * numGroups + g) * stride;
        out[offset + p] += m;
        if (t < 0) continue;
        out[offset + C + t] += m;
        if (p === t) out[offset + 2 * C + t] += m;
      }
    }
    this.rows.clear();
  }
}

const sameGroups = (a: Int32Array, b: Int32Array) => a.length === b.length && a.every((g, i) => g === b[i]);

/** Rankings kept at most (4 bytes per image each), and class-score columns (8 bytes per image each); the oldest go first. */
const MAX_RANKINGS = 4096;
const MAX_CLASS_SCORES = 512;

export class AuditMemo {
  private readonly partitions = new Map<string, PartitionDraws | null>();
  private readonly rankings = new Map<string, Int32Array>();
  private readonly rankingBiases = new WeakMap<Partition, Map<string, unknown>>();
  private readonly lastOf = new Map<string, { readonly inputs: readonly unknown[]; readonly value: unknown }>();
  private readonly columns = new Map<string, Float64Array>();
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
    if (known !== undefined && (known === null || known.groupOf === partition.groupOf || sameGroups(known.groupOf, partition.groupOf))) return known;
    if (known) this.bytes -= known.weights.length;
    const n = partition.groupOf.length;
    let draws: PartitionDraws | null = null;
    if (this.bytes + n * replicates <= this.maxBytes) {
      const weights = new Uint8Array(n * replicates);
      let overflow = false;
      forEachStratifiedResample(partition.groups.map((g) => g.members), replicates, seed, (b, _g, drawn) => {
        for (let k = 0; k < drawn.length; k++) {
          const at = drawn[k] * replicates + b;
          if (weights[at] === 255) overflow = true;
          else weights[at] += 1;
        }
      });
      // An image drawn 255 times in one replicate (groups of thousands, vanishingly rare): no memo for it.
      if (!overflow) draws = { groupOf: partition.groupOf, numGroups: partition.groups.length, replicates, weights, last: [] };
    }
    this.partitions.set(key, draws);
    if (draws) this.bytes += draws.weights.length;
    return draws;
  }

  /**
   * The resampled counters ([replicate][group][3C], as OutcomeTallies.resampled) of each strategy's cells
   * ((truth + 1)·C + predicted per image), or null when this partition is not memoised (tally it directly).
   */
  resampled(partition: Partition, cellsOf: readonly Int32Array[], numClasses: number, replicates: number, seed: number): Int32Array[] | null {
    if (replicates === 0) return null;
    const draws = this.draws(partition, replicates, seed);
    if (!draws) return null;
    const size = replicates * draws.numGroups * 3 * numClasses;
    const inPartition = draws.groupOf.reduce((n, g) => n + (g >= 0 ? 1 : 0), 0);
    const done: { cells: Int32Array; numClasses: number; resampled: Int32Array }[] = [];
    return cellsOf.map((cells, s) => {
      // Moving from the tally with the fewest changed images (another strategy's often differs least); from
      // nothing when more than half changed, which adds each image once instead of twice. This slot's last tally
      // first: it usually differs least, so the other candidates' counts stop early.
      let reference: (typeof done)[number] | undefined;
      let fewest = Math.floor(inPartition / 2);
      for (const candidate of [draws.last[s], ...done, ...draws.last.filter((_, other) => other !== s)]) {
        if (!candidate || candidate.numClasses !== numClasses || candidate.cells.length !== cells.length) continue;
        let changed = 0;
        for (let i = 0; i < cells.length && changed < fewest; i++) if (draws.groupOf[i] >= 0 && candidate.cells[i] !== cells[i]) changed++;
        if (changed < fewest) {
          fewest = changed;
          reference = candidate;
        }
      }
      const out = reference ? reference.resampled.slice() : new Int32Array(size);
      const rows = new CellRows(draws, numClasses, out);
      for (let i = 0; i < cells.length; i++) {
        if (draws.groupOf[i] < 0) continue;
        if (!reference) rows.add(i, cells[i], 1);
        else if (reference.cells[i] !== cells[i]) {
          rows.add(i, reference.cells[i], -1);
          rows.add(i, cells[i], 1);
        }
      }
      rows.fold();
      done.push({ cells, numClasses, resampled: out });
      draws.last[s] = { cells, numClasses, resampled: out };
      return out;
    });
  }
}
