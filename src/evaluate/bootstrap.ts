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

/** The q-quantile of `count` ascending values, `at(rank)` the value of each rank, by linear interpolation between order statistics (NumPy's default). */
function quantileOfRanks(at: (rank: number) => number, count: number, q: number): number {
  if (count === 0) return NaN;
  const position = (count - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, count - 1);
  return at(below) + (position - below) * (at(above) - at(below));
}

/** The q-quantile of ascending values by linear interpolation between order statistics (NumPy's default). */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  return quantileOfRanks((rank) => sorted[rank], sorted.length, q);
}

/** a before b in ascending order as TypedArray sort has it (−0 before +0); NaN never reaches it. */
function before(a: number, b: number): boolean {
  return a < b || (a === b && a === 0 && 1 / a < 1 / b);
}

/**
 * The `m` smallest of values[0..count) ascending into `low`, and the `m` largest descending into `high`: the ends of
 * the sorted values without sorting the middle (an interval reads four order statistics of 1,000 replicates, and the
 * audit asks for hundreds of intervals per edit in the prompt lab). Insertion into the kept ends; equal values are
 * interchangeable, so the ends equal those of the sorted array.
 */
function sortedEnds(values: Float64Array, count: number, m: number, low: Float64Array, high: Float64Array): void {
  let kept = 0;
  for (let i = 0; i < count; i++) {
    const v = values[i];
    if (kept < m) {
      let at = kept++;
      while (at > 0 && before(v, low[at - 1])) low[at] = low[--at];
      low[at] = v;
      at = kept - 1;
      while (at > 0 && before(high[at - 1], v)) high[at] = high[--at];
      high[at] = v;
      continue;
    }
    if (before(v, low[m - 1])) {
      let at = m - 1;
      while (at > 0 && before(v, low[at - 1])) low[at] = low[--at];
      low[at] = v;
    }
    if (before(high[m - 1], v)) {
      let at = m - 1;
      while (at > 0 && before(high[at - 1], v)) high[at] = high[--at];
      high[at] = v;
    }
  }
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
  const lowQ = (1 - level) / 2;
  const highQ = (1 + level) / 2;
  // The order statistics the two quantiles interpolate between lie in the lowest and highest m of the values.
  const m = Math.max(Math.min(Math.floor((count - 1) * lowQ) + 2, count), count - Math.floor((count - 1) * highQ));
  if (2 * m >= count) {
    const sorted = values.subarray(0, count).sort();
    return [quantileOfSorted(sorted, lowQ), quantileOfSorted(sorted, highQ)];
  }
  const low = new Float64Array(m);
  const high = new Float64Array(m);
  sortedEnds(values, count, m, low, high);
  const at = (rank: number) => (rank < m ? low[rank] : high[count - 1 - rank]);
  return [quantileOfRanks(at, count, lowQ), quantileOfRanks(at, count, highQ)];
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
