/**
 * How much two runs' predictions agree, image by image, whatever the labels:
 * - agreement p_o = share of images with the same predicted class;
 * - Cohen's kappa κ = (p_o − p_e) / (1 − p_e), with p_e = Σ_c p_A(c) · p_B(c) the agreement expected by chance
 *   from each run's share of predictions per class. Undefined (null) when p_e = 1: both runs predict one
 *   and the same class for every image.
 */
export interface Agreement {
  readonly n: number;
  readonly agreement: number;
  readonly kappa: number | null;
}

export function predictionAgreement(first: Int32Array, second: Int32Array, numClasses: number): Agreement {
  if (first.length !== second.length) throw new Error(`${first.length} predictions against ${second.length}`);
  const n = first.length;
  if (n === 0) return { n, agreement: NaN, kappa: null };
  const countsA = new Float64Array(numClasses);
  const countsB = new Float64Array(numClasses);
  let same = 0;
  for (let i = 0; i < n; i++) {
    countsA[first[i]] += 1;
    countsB[second[i]] += 1;
    if (first[i] === second[i]) same += 1;
  }
  let expected = 0;
  for (let c = 0; c < numClasses; c++) expected += (countsA[c] / n) * (countsB[c] / n);
  const observed = same / n;
  return { n, agreement: observed, kappa: expected === 1 ? null : (observed - expected) / (1 - expected) };
}
