/**
 * McNemar's exact test on paired per-image correctness. Of the images exactly one of two classifiers gets right,
 * b are right only for the first and c only for the second; under "equally accurate" each of those n = b + c
 * discordant images is b-or-c with probability 1/2, so min(b, c) ~ Binomial(n, 1/2).
 * - exact p = min(1, 2 · P(X ≤ min(b, c)))
 * - mid-p   = exact p − P(X = min(b, c)), i.e. 2 · [P(X ≤ k) − P(X = k) / 2], capped at 1 (less conservative;
 *   Fagerland, Lydersen & Laake 2013 recommend it).
 * Both are 1 when there is no discordant image.
 */
export interface McNemarTest {
  readonly b: number;
  readonly c: number;
  readonly p_value: number;
  readonly mid_p_value: number;
}

/** ln C(n, k) for k = 0..n, built incrementally (exact enough for n up to millions, no lgamma needed). */
function logBinomials(n: number): Float64Array {
  const out = new Float64Array(n + 1);
  for (let k = 1; k <= n; k++) out[k] = out[k - 1] + Math.log(n - k + 1) - Math.log(k);
  return out;
}

export function mcnemarExact(b: number, c: number): McNemarTest {
  if (!Number.isInteger(b) || !Number.isInteger(c) || b < 0 || c < 0) throw new Error(`McNemar counts must be whole numbers ≥ 0, got b = ${b}, c = ${c}`);
  const n = b + c;
  if (n === 0) return { b, c, p_value: 1, mid_p_value: 1 };
  const k = Math.min(b, c);
  const logC = logBinomials(n);
  const logHalfPowN = -n * Math.LN2;
  let tail = 0;
  for (let i = 0; i <= k; i++) tail += Math.exp(logC[i] + logHalfPowN);
  const atK = Math.exp(logC[k] + logHalfPowN);
  return { b, c, p_value: Math.min(1, 2 * tail), mid_p_value: Math.min(1, 2 * tail - atK) };
}

/** The discordant counts of two runs' per-image correctness (images without a label, truth −1, are left out). */
export function discordantPairs(truth: Int32Array, baseline: Int32Array, other: Int32Array): { b: number; c: number } {
  let b = 0;
  let c = 0;
  for (let i = 0; i < truth.length; i++) {
    if (truth[i] < 0) continue;
    const first = baseline[i] === truth[i];
    const second = other[i] === truth[i];
    if (first && !second) b += 1;
    else if (second && !first) c += 1;
  }
  return { b, c };
}
