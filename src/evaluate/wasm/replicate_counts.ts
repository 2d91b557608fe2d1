// One partition's bootstrap multiplicities and its strategies' resampled counters in WebAssembly memory, moved by
// images in SIMD (replicate_counts.c): the prompt lab's per-edit tally work, ten times as fast as a JS loop here.
import { align16, KernelInstance } from '../../score/wasm/kernel_instance.js';
import { REPLICATE_COUNTS_WASM_BASE64 } from './replicate_counts_wasm.js';

interface ReplicateCountsKernels {
  move_images(weights: number, replicates: number, counters: number, numClasses: number, moves: number, count: number): void;
  replicates_outermost(counters: number, groups: number, stride: number, replicates: number, out: number): void;
  signed_sums(weights: number, replicates: number, signs: number, from: number, images: number, out: number): void;
}

/**
 * Memory: the multiplicities (images × replicates bytes), a buffer of moves (two per image), the counters in
 * OutcomeTallies' layout for the answer, then one block of counters per slot ([group][3C][replicate], int32).
 */
export class ReplicateCounts {
  readonly replicates: number;
  private readonly instance = new KernelInstance<ReplicateCountsKernels>(REPLICATE_COUNTS_WASM_BASE64);
  private readonly exports = this.instance.kernels;
  private readonly memory = this.instance.memory;
  private readonly weightsAt: number;
  private readonly movesAt: number;
  private readonly outAt: number;
  private size = 0;

  constructor(private readonly images: number, replicates: number) {
    this.replicates = replicates;
    this.weightsAt = this.instance.dataStart;
    this.movesAt = this.weightsAt + align16(images * replicates);
    this.outAt = this.movesAt + images * 2 * 4 * 4;
    this.instance.reserve(this.slotAt(0, 0));
  }

  /** weights[i · replicates + b]: how often image i is drawn in replicate b (a view: take it again after layout()). */
  weights(): Uint8Array {
    return new Uint8Array(this.memory.buffer, this.weightsAt, this.images * this.replicates);
  }

  /** Room for `slots` blocks of `size` counters (a new size leaves the slots' contents meaningless: start them again). */
  layout(size: number, slots: number): void {
    this.instance.reserve(this.slotAt(slots, size));
    this.size = size;
  }

  /** Slot `to` as a copy of slot `from`, or zeros. */
  start(to: number, from: number | null): void {
    const all = new Int32Array(this.memory.buffer);
    const at = this.slotAt(to, this.size) / 4;
    if (from === null) all.fill(0, at, at + this.size);
    else all.copyWithin(at, this.slotAt(from, this.size) / 4, this.slotAt(from, this.size) / 4 + this.size);
  }

  /** Applies `count` moves (image, group, cell, sign) to the counters of `slot`. */
  move(slot: number, moves: Int32Array, count: number, numClasses: number): void {
    new Int32Array(this.memory.buffer, this.movesAt, count * 4).set(moves.subarray(0, count * 4));
    this.exports.move_images(this.weightsAt, this.replicates, this.slotAt(slot, this.size), numClasses, this.movesAt, count);
  }

  /**
   * Per replicate, Σ_i (signs[i] − from[i]) · multiplicity of image i (from absent: zeros), plus `base`: a signed
   * count over a set of images, moved from another set's.
   */
  signedSums(signs: Int8Array, from?: Int8Array, base?: Int32Array): Int32Array {
    const n = this.images;
    new Int8Array(this.memory.buffer, this.movesAt, n).set(signs);
    if (from) new Int8Array(this.memory.buffer, this.movesAt + n, n).set(from);
    this.exports.signed_sums(this.weightsAt, this.replicates, this.movesAt, from ? this.movesAt + n : 0, n, this.outAt);
    const sums = new Int32Array(this.memory.buffer, this.outAt, this.replicates).slice();
    if (base) for (let b = 0; b < sums.length; b++) sums[b] += base[b];
    return sums;
  }

  /** The counters of `slot` in OutcomeTallies.resampled's layout, [replicate][group][3C]. */
  replicatesOutermost(slot: number, groups: number, stride: number): Int32Array {
    this.exports.replicates_outermost(this.slotAt(slot, this.size), groups, stride, this.replicates, this.outAt);
    return new Int32Array(this.memory.buffer, this.outAt, this.size).slice();
  }

  /** The answer's room (`size` counters, or one row of replicates) is followed by the slots. */
  private slotAt(slot: number, size: number): number {
    return this.outAt + align16(Math.max(size, this.replicates) * 4) + align16(size * 4) * slot;
  }
}


