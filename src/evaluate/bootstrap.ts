/** The confidence level of every interval the audit reports. */
export const CONFIDENCE_LEVEL = 0.95;

/** A closed interval [low, high]; a plain tuple so it serialises to a JSON array. */
export type Interval = [number, number];

/**
 * mulberry32 (Tommy Ettinger's 32-bit generator): one uint32 of state, uniform floats in [0, 1).
 * Chosen for speed and reproducibility across platforms; it is not a cryptographic generator.
 * A class rather than a closure because V8 inlines its method in the resampling loop.
 */
export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform integer in [0, n), for n < 2³¹. */
  below(n: number): number {
    return (this.next() * n) | 0;
  }
}

/** The q-quantile of ascending values by linear interpolation between order statistics (NumPy's default). */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}

/**
 * Percentile-method interval: the (1−level)/2 and (1+level)/2 quantiles of the replicate values.
 * NaN marks a replicate where the statistic is undefined (e.g. a resample with no image of a class);
 * those are left out. Null when no replicate defines the statistic.
 */
export function percentileInterval(replicates: ArrayLike<number>, level = CONFIDENCE_LEVEL): Interval | null {
  // One plain pass, no callback per value: an audit asks this of every statistic, group and strategy.
  const values = new Float64Array(replicates.length);
  let count = 0;
  for (let b = 0; b < replicates.length; b++) {
    const v = replicates[b];
    if (!Number.isNaN(v)) values[count++] = v;
  }
  if (count === 0) return null;
  const defined = values.subarray(0, count).sort();
  return [quantileOfSorted(defined, (1 - level) / 2), quantileOfSorted(defined, (1 + level) / 2)];
}

/**
 * Stratified bootstrap resampling: for each replicate and each stratum, draws as many members as the
 * stratum has, uniformly with replacement, and hands them to `visit` (a buffer reused between calls).
 * The draws depend only on the stratum sizes and the seed, so one pass can feed several statistics
 * (e.g. every strategy's predictions), which are then paired: computed on the same resampled images.
 */
export function forEachStratifiedResample(
  strata: readonly Int32Array[],
  replicates: number,
  seed: number,
  visit: (replicate: number, stratum: number, drawn: Int32Array) => void,
): void {
  const random = new Mulberry32(seed);
  const buffer = new Int32Array(strata.reduce((largest, members) => Math.max(largest, members.length), 0));
  for (let b = 0; b < replicates; b++) {
    for (let s = 0; s < strata.length; s++) {
      const members = strata[s];
      const size = members.length;
      const drawn = buffer.subarray(0, size);
      for (let k = 0; k < size; k++) drawn[k] = members[random.below(size)];
      visit(b, s, drawn);
    }
  }
}
