import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachStratifiedResample, percentileInterval } from '../src/evaluate/bootstrap.js';
import { predictionAgreement } from '../src/evaluate/compare/agreement.js';
import { compareRuns, type ComparisonInput } from '../src/evaluate/compare/compare_runs.js';
import { discordantPairs, mcnemarExact } from '../src/evaluate/compare/mcnemar.js';

const close = (actual: number | null, expected: number, message?: string) => {
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-12, `${message ?? ''} ${actual} ≠ ${expected}`);
};

const closeInterval = (actual: [number, number] | null, expected: [number, number] | null) => {
  assert.ok(actual && expected, `intervals ${JSON.stringify(actual)} and ${JSON.stringify(expected)}`);
  close(actual[0], expected[0], 'low');
  close(actual[1], expected[1], 'high');
};

test("McNemar exact and mid-p on small tables, by hand", () => {
  // b = 1, c = 5: n = 6, P(X ≤ 1) = (1 + 6)/64, P(X = 1) = 6/64 → p = 14/64, mid-p = 8/64.
  const t = mcnemarExact(1, 5);
  close(t.p_value, 14 / 64);
  close(t.mid_p_value, 8 / 64);
  // b = 0, c = 3: P(X ≤ 0) = 1/8 → p = 1/4, mid-p = 1/4 − 1/8.
  close(mcnemarExact(0, 3).p_value, 0.25);
  close(mcnemarExact(0, 3).mid_p_value, 0.125);
  // Symmetric: b = c = 2, n = 4, P(X ≤ 2) = 11/16 → p = min(1, 22/16) = 1; mid-p = 22/16 − 6/16 = 1.
  close(mcnemarExact(2, 2).p_value, 1);
  close(mcnemarExact(2, 2).mid_p_value, 1);
  // Order does not matter; no discordant image → 1.
  assert.deepEqual(mcnemarExact(5, 1).p_value, t.p_value);
  assert.deepEqual(mcnemarExact(0, 0), { b: 0, c: 0, p_value: 1, mid_p_value: 1 });
  // b = 0, c = 10: p = 2/1024.
  close(mcnemarExact(0, 10).p_value, 2 / 1024);
  // Large n stays finite and in [0, 1]: b = 480, c = 520 (z ≈ 1.26, two-sided p ≈ 0.22).
  const large = mcnemarExact(480, 520);
  assert.ok(large.p_value > 0.2 && large.p_value < 0.25, String(large.p_value));
  assert.throws(() => mcnemarExact(-1, 2), /whole numbers/);
});

test('discordant pairs skip unlabelled images', () => {
  const truth = Int32Array.from([0, 1, 1, 0, -1]);
  const base = Int32Array.from([0, 1, 0, 1, 0]); // right, right, wrong, wrong
  const run = Int32Array.from([1, 1, 1, 1, 1]); // wrong, right, right, wrong
  assert.deepEqual(discordantPairs(truth, base, run), { b: 1, c: 1 });
});

test("Cohen's kappa, by hand", () => {
  // A = 0 0 1 1, B = 0 1 1 1: p_o = 3/4, p_e = 1/2·1/4 + 1/2·3/4 = 1/2 → κ = (3/4 − 1/2)/(1/2) = 1/2.
  const k = predictionAgreement(Int32Array.from([0, 0, 1, 1]), Int32Array.from([0, 1, 1, 1]), 2);
  close(k.agreement, 0.75);
  close(k.kappa, 0.5);
  // Perfect agreement: κ = 1; opposite on a balanced 2-class split: p_o = 0, p_e = 1/2 → κ = −1.
  close(predictionAgreement(Int32Array.from([0, 1, 2]), Int32Array.from([0, 1, 2]), 3).kappa, 1);
  close(predictionAgreement(Int32Array.from([0, 1]), Int32Array.from([1, 0]), 2).kappa, -1);
  // Both runs predict one class everywhere: p_e = 1, κ undefined.
  assert.equal(predictionAgreement(Int32Array.from([2, 2]), Int32Array.from([2, 2]), 3).kappa, null);
});

/** Six images, two groups of three; class 2 is a harm probe. */
function smallInput(bootstrap: number): ComparisonInput {
  return {
    classes: ['a', 'b', 'probe'],
    probe: [false, false, true],
    keys: ['1.jpg', '2.jpg', '3.jpg', '4.jpg', '5.jpg', '6.jpg'],
    contentHashes: ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'],
    truth: Int32Array.from([0, 0, 1, 1, 0, 1]),
    attributes: [{ name: 'g', values: ['x', 'x', 'x', 'y', 'y', 'y'] }],
    runs: [
      // baseline: right, wrong, right, right, wrong (probe), right → 4/6
      { name: 'base', predictions: new Map([['sum', Int32Array.from([0, 1, 1, 1, 2, 1])]]) },
      // other:    right, right, right, wrong, right, wrong → 4/6, no probe
      { name: 'other', predictions: new Map([['sum', Int32Array.from([0, 0, 1, 0, 0, 0])]]) },
    ],
    baseline: 0,
    settings: { bootstrap, seed: 11, minGroupSize: 1, intersections: true },
  };
}

test('comparison point estimates, by hand', () => {
  const result = compareRuns(smallInput(0));
  const [base, other] = result.comparisons;
  assert.equal(base.run, 'base');
  close(base.accuracy_difference.value, 0);
  close(other.accuracy.value, 4 / 6);
  close(other.accuracy_difference.value, 0);
  // Balanced: base recalls a 1/3 (images 1, 2, 5), b 3/3 → 2/3; other a 3/3, b 1/3 → 2/3.
  close(base.balanced_accuracy.value, 2 / 3);
  close(other.balanced_accuracy.value, 2 / 3);
  close(other.balanced_accuracy_difference.value, 0);
  // Discordant: image 2 (other right only), 5 (other right only); 4 and 6 (base right only): b = 2, c = 2.
  assert.equal(other.mcnemar.b, 2);
  assert.equal(other.mcnemar.c, 2);
  // Agreement: images 1, 3 → 2/6.
  close(other.agreement, 2 / 6);
  // Probe rate: base 1/6, other 0.
  close(base.probe_rate!.value, 1 / 6);
  close(other.probe_rate_difference!.value, -1 / 6);
  // Groups: x = images 1–3, y = 4–6. base: x 2/3, y 2/3; other: x 3/3, y 1/3.
  const [attribute] = other.attributes;
  close(attribute.groups.x.accuracy.value, 1);
  close(attribute.groups.y.accuracy_difference.value, 1 / 3 - 2 / 3);
  close(attribute.accuracy_gap.value, 2 / 3);
  close(attribute.accuracy_gap_difference.value, 2 / 3 - 0);
  close(attribute.groups.y.probe_rate_difference!.value, -1 / 3);
  // Equal opportunity (recall spread), a: base x 1/2, y 0 → 1/2; other 1, 1 → 0. b: base 1, 1 → 0; other 1, 0 → 1.
  close(attribute.equal_opportunity.a.value, 0);
  close(attribute.equal_opportunity_difference.a.value, -1 / 2);
  close(attribute.equal_opportunity_difference.b.value, 1);
  assert.equal(attribute.equal_opportunity.probe, undefined, 'a probe class has no recall');
  // Demographic parity (prediction-rate spread), a: base x 1/3, y 0; other x 2/3, y 1 → both 1/3. probe: 1/3 → 0.
  close(attribute.demographic_parity.a.value, 1 / 3);
  close(attribute.demographic_parity_difference.a.value, 0);
  close(attribute.demographic_parity_difference.probe.value, -1 / 3);
  assert.deepEqual(other.changed.map((c) => c.image), ['2.jpg', '4.jpg', '5.jpg', '6.jpg']);
  assert.deepEqual(other.changed[2], { image: '5.jpg', sha256: 'h5', label: 'a', baseline: 'probe', predicted: 'a' });
  assert.deepEqual(result.agreement_matrix.sum, [[1, 2 / 6], [2 / 6, 1]]);
  assert.equal(base.accuracy.ci, null);
});

test('paired bootstrap: both runs on the same resampled images, seeded, percentile interval', () => {
  const input = smallInput(300);
  const result = compareRuns(input);
  const other = result.comparisons[1];
  // The same replicates by hand: one stratum of all six images, the audit's generator and seed.
  const truth = input.truth;
  const [base, run] = input.runs.map((r) => r.predictions.get('sum')!);
  const differences: number[] = [];
  forEachStratifiedResample([Int32Array.from([0, 1, 2, 3, 4, 5])], 300, 11, (_b, _s, drawn) => {
    let right = 0;
    for (const i of drawn) right += (run[i] === truth[i] ? 1 : 0) - (base[i] === truth[i] ? 1 : 0);
    differences.push(right / drawn.length);
  });
  closeInterval(other.accuracy_difference.ci, percentileInterval(differences));
  // Group gaps resample within each group (stratified): the by-hand replicate with strata x and y.
  const gaps: number[] = [];
  let current: number[] = [];
  forEachStratifiedResample([Int32Array.from([0, 1, 2]), Int32Array.from([3, 4, 5])], 300, 11, (_b, s, drawn) => {
    const accuracy = (pred: Int32Array) => drawn.reduce((sum, i) => sum + (pred[i] === truth[i] ? 1 : 0), 0) / drawn.length;
    current.push(accuracy(run), accuracy(base));
    if (s === 1) {
      const [rx, bx, ry, by] = current;
      gaps.push(Math.abs(rx - ry) - Math.abs(bx - by));
      current = [];
    }
  });
  closeInterval(other.attributes[0].accuracy_gap_difference.ci, percentileInterval(gaps));
  // Reproducible with the seed, and the baseline against itself differs by exactly 0.
  assert.deepEqual(compareRuns(input), result);
  assert.deepEqual(result.comparisons[0].accuracy_difference.ci, [0, 0]);
  assert.notDeepEqual(compareRuns({ ...input, settings: { ...input.settings, seed: 12 } }).comparisons[1].accuracy_difference.ci, other.accuracy_difference.ci);
});
