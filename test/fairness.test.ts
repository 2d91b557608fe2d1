import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditPredictions, type AuditInput } from '../src/evaluate/audit.js';
import { forEachStratifiedResample, Mulberry32, percentileInterval, quantileOfSorted } from '../src/evaluate/bootstrap.js';
import { auditGroups, intersectPartitions, partitionByAttribute, tallyOutcomes, wholePopulation } from '../src/evaluate/groups.js';
import { auditProbes } from '../src/evaluate/probes.js';
import { drawnCounts } from '../src/evaluate/audit_memo.js';
import { analysePrompts, compareStrategy, predictionsWithoutEachPrompt, topPromptCounts } from '../src/evaluate/prompt_analysis.js';
import { accuracyOfPredictions } from '../src/evaluate/classification.js';
import { auditRankingBias, maxSkewAtK, ndkl } from '../src/evaluate/ranking_bias.js';
import { scoreMatrix } from '../src/score/similarity.js';
import { argmaxRows, classScoresFromPrompts, parseStrategy } from '../src/score/strategies.js';

const close = (actual: number | null, expected: number, tolerance = 1e-12) =>
  assert.ok(actual !== null && Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);

/**
 * Eight images, classes A, B and the probe P.
 *   image  0 1 2 3 | 4 5 6 7
 *   truth  A A B B | A A B B
 *   pred   A B B P | A A A B
 *   gender M M M M | F F F F
 */
const CLASSES = ['A', 'B', 'P'];
const PROBE = [false, false, true];
const TRUTH = Int32Array.from([0, 0, 1, 1, 0, 0, 1, 1]);
const PREDICTED = Int32Array.from([0, 1, 1, 2, 0, 0, 0, 1]);
const GENDER = ['M', 'M', 'M', 'M', 'F', 'F', 'F', 'F'];

function genderAudit(minGroupSize: number, replicates = 0) {
  const partition = partitionByAttribute('gender', GENDER);
  const [tallies] = tallyOutcomes(partition, TRUTH, [PREDICTED], CLASSES.length, replicates, 1);
  return {
    groups: auditGroups({ partition, tallies, truth: TRUTH, predicted: PREDICTED, classes: CLASSES, probe: PROBE, minGroupSize }),
    probes: auditProbes(partition, tallies, CLASSES, PROBE, minGroupSize),
  };
}

describe('per-group metrics', () => {
  it('matches the hand computation for each group', () => {
    const { groups } = genderAudit(0).groups;
    assert.deepEqual(Object.keys(groups), ['F', 'M']);
    // F = images 4–7: correct 4, 5, 7 → 3/4. Recall A = 2/2, B = 1/2. Predicted A ×3, B ×1, P ×0.
    // Errors by predicted class: A once (image 6).
    const f = groups.F;
    assert.equal(f.n, 4);
    assert.equal(f.accuracy, 0.75);
    assert.deepEqual(f.recall, { A: 1, B: 0.5 });
    assert.deepEqual(f.prediction_rate, { A: 0.75, B: 0.25, P: 0 });
    assert.deepEqual(f.confusion, [[2, 0, 0], [1, 1, 0], [0, 0, 0]]);
    assert.deepEqual(f.most_frequent_error, { class: 'A', count: 1 });
    // M = images 0–3: correct 0, 2 → 2/4. Recall A = 1/2, B = 1/2. Predicted A, B, B, P.
    // Errors: B once (image 1) and P once (image 3): the tie goes to B, listed first.
    const m = groups.M;
    assert.equal(m.accuracy, 0.5);
    assert.deepEqual(m.recall, { A: 0.5, B: 0.5 });
    assert.deepEqual(m.prediction_rate, { A: 0.25, B: 0.5, P: 0.25 });
    assert.deepEqual(m.confusion, [[1, 1, 0], [0, 1, 1], [0, 0, 0]]);
    assert.deepEqual(m.most_frequent_error, { class: 'B', count: 1 });
    assert.equal(m.too_small, false);
  });

  it('computes the gaps between groups', () => {
    const { gaps } = genderAudit(0).groups;
    assert.deepEqual(gaps.compared_groups, ['F', 'M']);
    // Accuracy 0.75 (F) vs 0.5 (M): gap 0.25, ratio 0.5 / 0.75 = 2/3.
    assert.equal(gaps.accuracy_gap, 0.25);
    close(gaps.accuracy_ratio, 2 / 3);
    // Recall A: 1 vs 0.5 → 0.5; B: 0.5 vs 0.5 → 0. The probe P has no recall.
    assert.deepEqual(gaps.recall_spread, { A: 0.5, B: 0 });
    // Prediction rate A: 0.75 vs 0.25; B: 0.25 vs 0.5; P: 0 vs 0.25.
    assert.deepEqual(gaps.prediction_rate_spread, { A: 0.5, B: 0.25, P: 0.25 });
    assert.equal(gaps.accuracy_gap_ci, null, 'no intervals without resamples');
  });

  it('flags groups below minGroupSize and leaves them out of the gaps', () => {
    const { groups, gaps } = genderAudit(5).groups;
    assert.equal(groups.F.too_small, true);
    assert.equal(groups.M.accuracy, 0.5, 'small groups are still reported');
    assert.deepEqual(gaps.compared_groups, []);
    assert.equal(gaps.accuracy_gap, null);
    assert.equal(gaps.accuracy_ratio, null);
    assert.deepEqual(gaps.recall_spread, { A: null, B: null });
  });

  it('counts unlabelled images in n and prediction rates but not in accuracy', () => {
    const partition = wholePopulation(3);
    const truth = Int32Array.from([0, -1, 1]);
    const predicted = Int32Array.from([0, 2, 0]);
    const [tallies] = tallyOutcomes(partition, truth, [predicted], 3, 0, 1);
    const { all } = auditGroups({ partition, tallies, truth, predicted, classes: CLASSES, probe: PROBE, minGroupSize: 0 }).groups;
    // Labelled: images 0 (correct) and 2 (wrong) → 1/2. Predicted: A, P, A → A 2/3, P 1/3.
    assert.equal(all.n, 3);
    assert.equal(all.n_labelled, 2);
    assert.equal(all.accuracy, 0.5);
    close(all.prediction_rate.A, 2 / 3);
    close(all.prediction_rate.P, 1 / 3);
  });

  it('builds intersections of the values that occur and skips missing values', () => {
    const gender = partitionByAttribute('gender', ['M', 'F', 'M', null, 'F']);
    const age = partitionByAttribute('age', ['10-19', '3-9', '', '3-9', '10-19']);
    // Numeric collation puts 3-9 before 10-19; '' and null mean "unknown".
    assert.deepEqual(age.groups.map((g) => g.name), ['3-9', '10-19']);
    const both = intersectPartitions(gender, age);
    assert.equal(both.name, 'gender × age');
    assert.deepEqual(both.factors, ['gender', 'age']);
    // Images: 0 M×10-19, 1 F×3-9, 2 M×? (out), 3 ?×3-9 (out), 4 F×10-19.
    assert.deepEqual(both.groups.map((g) => [g.name, [...g.members]]), [
      ['F × 3-9', [1]],
      ['F × 10-19', [4]],
      ['M × 10-19', [0]],
    ]);
    assert.deepEqual(both.groups[0].values, ['F', '3-9']);
    assert.deepEqual([...both.groupOf], [2, 0, -1, -1, 1]);
  });
});

describe('harm probes', () => {
  it('reports per-group probe rates and their spread', () => {
    const probes = genderAudit(0).probes!;
    assert.deepEqual(probes.probe_classes, ['P']);
    // M: image 3 is predicted P → 1/4. F: none.
    assert.deepEqual(probes.groups.M.any_probe, { count: 1, rate: 0.25, rate_ci: null });
    assert.deepEqual(probes.groups.M.per_probe.P, { count: 1, rate: 0.25, rate_ci: null });
    assert.equal(probes.groups.F.any_probe.rate, 0);
    assert.equal(probes.any_probe_rate_spread, 0.25);
  });

  it('is null for a spec without probes', () => {
    const partition = partitionByAttribute('gender', GENDER);
    const [tallies] = tallyOutcomes(partition, TRUTH, [PREDICTED], 3, 0, 1);
    assert.equal(auditProbes(partition, tallies, CLASSES, [false, false, false], 0), null);
  });

  it('never counts a probe assignment as correct, and refuses probe labels', () => {
    // Every image predicted as the probe: accuracy 0 although P is "predicted" everywhere.
    const input = tinyAuditInput();
    const allProbe = new Int32Array(TRUTH.length).fill(2);
    const result = auditPredictions({ ...input, predictions: new Map([['probe-everything', allProbe]]) });
    assert.equal(result.comparison[0].accuracy, 0);
    assert.equal(result.strategies['probe-everything'].probes_overall!.any_probe.rate, 1);
    const probeLabel = Int32Array.from(TRUTH);
    probeLabel[0] = 2;
    assert.throws(() => auditPredictions({ ...input, truth: probeLabel }), /probe class 'P'/);
  });
});

describe('bootstrap', () => {
  it('mulberry32 is deterministic per seed and uniform in [0, 1)', () => {
    const a = new Mulberry32(7);
    const b = new Mulberry32(7);
    const c = new Mulberry32(8);
    const first = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(first, Array.from({ length: 5 }, () => b.next()));
    assert.notDeepEqual(first, Array.from({ length: 5 }, () => c.next()));
    const many = Array.from({ length: 10000 }, () => a.next());
    assert.ok(many.every((v) => v >= 0 && v < 1));
    close(many.reduce((s, v) => s + v, 0) / many.length, 0.5, 0.02);
  });

  it('takes percentiles by linear interpolation and skips undefined replicates', () => {
    // Position (n − 1)·q: [1, 2, 3, 4] at q = 0.5 → 1.5 → halfway between 2 and 3.
    assert.equal(quantileOfSorted([1, 2, 3, 4], 0.5), 2.5);
    // 0..100: the 2.5% and 97.5% quantiles sit at positions 2.5 and 97.5.
    const values = Array.from({ length: 101 }, (_, i) => 100 - i);
    const [low, high] = percentileInterval(values)!;
    close(low, 2.5);
    close(high, 97.5);
    assert.deepEqual(percentileInterval([NaN, ...values, NaN]), [low, high]);
    assert.equal(percentileInterval([NaN]), null);
  });

  it('resamples within each stratum, deterministically for a seed', () => {
    const strata = [Int32Array.from([0, 1, 2]), Int32Array.from([10, 11])];
    const record = (seed: number) => {
      const draws: number[][] = [];
      forEachStratifiedResample(strata, 20, seed, (_replicate, s, drawn) => {
        assert.equal(drawn.length, strata[s].length);
        assert.ok([...drawn].every((i) => strata[s].includes(i)), 'a draw never leaves its stratum');
        draws.push([...drawn]);
      });
      return draws;
    };
    assert.deepEqual(record(3), record(3));
    assert.notDeepEqual(record(3), record(4));
  });

  it('gives intervals that contain the estimate and shrink to a point without variation', () => {
    // 2000 images, group g0 correct 70% of the time, g1 90%; binomial SE of 0.7 at n = 1000 is 0.0145.
    const n = 2000;
    const truth = new Int32Array(n);
    const predicted = Int32Array.from({ length: n }, (_, i) => ((i < 1000 ? i % 10 < 7 : i % 10 < 9) ? 0 : 1));
    const group = Array.from({ length: n }, (_, i) => (i < 1000 ? 'g0' : 'g1'));
    const partition = partitionByAttribute('group', group);
    const [tallies] = tallyOutcomes(partition, truth, [predicted], 2, 1000, 42);
    const audit = auditGroups({ partition, tallies, truth, predicted, classes: ['A', 'B'], probe: [false, false], minGroupSize: 30 });
    const [low, high] = audit.groups.g0.accuracy_ci!;
    assert.ok(low < 0.7 && 0.7 < high);
    assert.ok(high - low > 0.045 && high - low < 0.07, `width ${high - low} ≈ 2 × 1.96 × 0.0145`);
    const [gapLow, gapHigh] = audit.gaps.accuracy_gap_ci!;
    assert.ok(gapLow < 0.2 && 0.2 < gapHigh);
    const allRight = tallyOutcomes(partition, truth, [new Int32Array(n)], 2, 200, 42)[0];
    const perfect = auditGroups({ partition, tallies: allRight, truth, predicted: new Int32Array(n), classes: ['A', 'B'], probe: [false, false], minGroupSize: 30 });
    assert.deepEqual(perfect.groups.g0.accuracy_ci, [1, 1]);
    assert.deepEqual(perfect.gaps.accuracy_gap_ci, [0, 0]);
  });

  it('makes the whole audit reproducible for a seed', () => {
    const input = tinyAuditInput({ bootstrap: 200, seed: 9 });
    assert.deepEqual(auditPredictions(input), auditPredictions(input));
    const other = auditPredictions({ ...input, options: { ...input.options, seed: 10 } });
    assert.notDeepEqual(other.strategies, auditPredictions(input).strategies);
  });
});

describe('ranking bias', () => {
  // Groups down the ranking: a a b a b b; overall p_all = (1/2, 1/2).
  const ranked = Int32Array.from([0, 0, 1, 0, 1, 1]);

  it('MaxSkew@k', () => {
    // Top 2 = (a, a): p_top = (1, 0) → ln(1 / 0.5) = ln 2 for a; b is absent (ln 0 = −∞).
    assert.deepEqual(maxSkewAtK(ranked, 2, 2), { value: Math.log(2), group: 0 });
    // Top 3 = (a, a, b): ln((2/3) / (1/2)) = ln(4/3) beats ln((1/3) / (1/2)) = ln(2/3).
    const top3 = maxSkewAtK(ranked, 2, 3);
    close(top3.value, Math.log(4 / 3));
    // At k = N the distributions are equal: skew 0.
    close(maxSkewAtK(ranked, 2, 6).value, 0);
  });

  it('NDKL', () => {
    // i = 1, 2: p = (1, 0), KL = ln 2. i = 3: p = (2/3, 1/3), KL = 2/3·ln(4/3) + 1/3·ln(2/3) ≈ 0.056633.
    // Weights 1/log2(i + 1) = 1, 0.630930, 0.5; Z = 2.130930.
    // NDKL = (ln 2 · (1 + 0.630930) + 0.5 · 0.056633) / 2.130930 ≈ 0.543796.
    const kl3 = (2 / 3) * Math.log(4 / 3) + (1 / 3) * Math.log(2 / 3);
    const w = [1, 1 / Math.log2(3), 0.5];
    close(ndkl(ranked, 2, 3), (Math.log(2) * (w[0] + w[1]) + w[2] * kl3) / (w[0] + w[1] + w[2]));
    close(ndkl(ranked, 2, 3), 0.543796, 1e-6);
    // A ranking that alternates perfectly still starts skewed, but less: i = 1 only contributes.
    assert.ok(ndkl(Int32Array.from([0, 1, 0, 1]), 2, 4) < ndkl(Int32Array.from([0, 0, 1, 1]), 2, 4));
  });

  it('ranks images by each prompt and skips images without a group', () => {
    // One prompt; scores 0.9 (M), 0.1 (F), 0.5 (F), 0.7 (M), 0.8 (unknown gender).
    const similarity = scoreMatrix(5, 1, Float32Array.from([0.9, 0.1, 0.5, 0.7, 0.8]));
    const partition = partitionByAttribute('gender', ['M', 'F', 'F', 'M', null]);
    const [bias] = auditRankingBias(similarity, ['a photo of a doctor'], Int32Array.from([0]), ['doctor'], [partition], 2);
    // Ranking without image 4: 0 (M), 3 (M), 2 (F), 1 (F). Top 2 all M → ln(1 / 0.5).
    assert.equal(bias.n, 4);
    assert.equal(bias.k, 2);
    assert.deepEqual(bias.share, { F: 0.5, M: 0.5 });
    const [prompt] = bias.prompts;
    close(prompt.max_skew, Math.log(2));
    assert.equal(prompt.max_skew_group, 'M');
    assert.deepEqual(prompt.top_k_share, { F: 0, M: 1 });
    close(prompt.ndkl, Math.log(2));
  });
});

describe('prompt analysis', () => {
  /**
   * Classes A (prompts a1, a2) and B (prompt b1); three images.
   *            a1  a2  b1   truth
   *   image 0  30  10  20   A
   *   image 1  10  25  20   B
   *   image 2  22  22  21   B
   * With all prompts: sum  A = 40, 35, 44 vs B = 20, 20, 21 → A A A   → 1/3
   *                   max  A = 30, 25, 22                 → A A A   → 1/3
   *                   mean A = 20, 17.5, 22               → A B A   → 2/3 (image 0 ties: A, listed first)
   * Without a1 (A = a2): A = 10, 25, 22 → B A A → 0 for every strategy.
   * Without a2 (A = a1): A = 30, 10, 22 → A B A → 2/3 for every strategy.
   * Without b1: B cannot be predicted → A A A → 1/3.
   */
  const similarity = scoreMatrix(3, 3, Float32Array.from([30, 10, 20, 10, 25, 20, 22, 22, 21]));
  const promptClass = Int32Array.from([0, 0, 1]);
  const truth = Int32Array.from([0, 1, 1]);
  const strategies = ['sum', 'max', 'mean', 'embedding-mean'].map(parseStrategy);
  const analysis = analysePrompts({ similarity, promptClass, prompts: ['a1', 'a2', 'b1'], classes: ['A', 'B'], truth, strategies });

  it('recomputes predictions without a prompt', () => {
    const sum = predictionsWithoutEachPrompt(similarity, promptClass, 2, parseStrategy('sum')).map((p) => [...p]);
    assert.deepEqual(sum, [[1, 0, 0], [0, 1, 0], [0, 0, 0]]);
    const mean = predictionsWithoutEachPrompt(similarity, promptClass, 2, parseStrategy('mean')).map((p) => [...p]);
    assert.deepEqual(mean, [[1, 0, 0], [0, 1, 0], [0, 0, 0]]);
  });

  it('agrees with rescoring the whole matrix without the column', () => {
    // Classes with 3, 1 and 2 prompts; random scores; every score-level strategy.
    const random = new Mulberry32(5);
    const classOfPrompt = Int32Array.from([0, 1, 0, 2, 0, 2]);
    const rows = 40;
    const scores = scoreMatrix(rows, 6, Float32Array.from({ length: rows * 6 }, () => 20 + 10 * random.next()));
    for (const name of ['sum', 'mean', 'max', 'topk:2']) {
      const strategy = parseStrategy(name);
      predictionsWithoutEachPrompt(scores, classOfPrompt, 3, strategy).forEach((predicted, removed) => {
        const kept = [0, 1, 2, 3, 4, 5].filter((j) => j !== removed);
        const data = Float32Array.from({ length: rows * 5 }, (_, x) => scores.data[Math.floor(x / 5) * 6 + kept[x % 5]]);
        const classScores = classScoresFromPrompts(scoreMatrix(rows, 5, data), Int32Array.from(kept, (j) => classOfPrompt[j]), 3, strategy);
        // Prompt 1 is class 1's only prompt: without it class 1 must never win.
        if (removed === 1) for (let i = 0; i < rows; i++) classScores[i * 3 + 1] = -Infinity;
        assert.deepEqual([...predicted], [...argmaxRows(classScores, 3)], `${name} without prompt ${removed}`);
      });
    }
  });

  it('reports the accuracy change of leaving each prompt out', () => {
    assert.deepEqual(analysis.strategies, ['sum', 'max', 'mean'], 'embedding-mean needs embeddings');
    close(analysis.accuracy_all_prompts.sum, 1 / 3);
    close(analysis.accuracy_all_prompts.mean, 2 / 3);
    const [a1, a2, b1] = analysis.prompts;
    close(a1.accuracy_change.sum, -1 / 3);
    close(a1.accuracy_change.max, -1 / 3);
    close(a1.accuracy_change.mean, -2 / 3);
    close(a2.accuracy_change.sum, 1 / 3);
    close(a2.accuracy_change.mean, 0);
    close(b1.accuracy_change.sum, 0);
    close(b1.accuracy_change.mean, -1 / 3);
    assert.deepEqual([a1.removes_class, a2.removes_class, b1.removes_class], [false, false, true]);
  });

  it('gives each accuracy change the interval of its value over the population resamples, as counting them does', () => {
    const random = new Mulberry32(17);
    // Classes of 4, 2 and 1 prompts; scores all positive (a removal never raises a sum) or either sign.
    const classOfPrompt = Int32Array.from([0, 1, 0, 2, 0, 0, 1]);
    const rows = 60;
    const labels = Int32Array.from({ length: rows }, () => Math.floor(random.next() * 4) - 1);
    const population = wholePopulation(rows);
    const replicates = 200;
    const prompts = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
    const names = ['sum', 'max', 'mean', 'topk:2', 'topk:3'];
    for (const offset of [20, -5]) {
      const scores = scoreMatrix(rows, 7, Float32Array.from({ length: rows * 7 }, () => offset + 10 * random.next()));
      const withIntervals = analysePrompts({ similarity: scores, promptClass: classOfPrompt, prompts, classes: ['A', 'B', 'C'], truth: labels, strategies: names.map(parseStrategy), resamples: drawnCounts(population, replicates, 4) });
      for (const name of names) {
        const strategy = parseStrategy(name);
        const all = argmaxRows(classScoresFromPrompts(scores, classOfPrompt, 3, strategy), 3);
        const without = predictionsWithoutEachPrompt(scores, classOfPrompt, 3, strategy);
        const changes: number[][] = without.map(() => []);
        forEachStratifiedResample([population.groups[0].members], replicates, 4, (_b, _g, drawn) => {
          let labelled = 0;
          const moved = without.map(() => 0);
          for (const i of drawn) {
            if (labels[i] < 0) continue;
            labelled++;
            without.forEach((predicted, j) => (moved[j] += Number(predicted[i] === labels[i]) - Number(all[i] === labels[i])));
          }
          moved.forEach((m, j) => changes[j].push(labelled === 0 ? NaN : m / labelled));
        });
        const accuracy = (predicted: Int32Array) => accuracyOfPredictions(labels, predicted);
        withIntervals.prompts.forEach((p, j) => {
          assert.equal(p.accuracy_change[name], accuracy(without[j]) - accuracy(all), `${name}, ${p.prompt}, offset ${offset}`);
          assert.deepEqual(p.accuracy_change_ci?.[name], percentileInterval(changes[j]), `${name}, ${p.prompt}, offset ${offset}`);
        });
      }
    }
    const scores = scoreMatrix(rows, 7, Float32Array.from({ length: rows * 7 }, () => random.next()));
    assert.equal(analysePrompts({ similarity: scores, promptClass: classOfPrompt, prompts, classes: ['A', 'B', 'C'], truth: labels, strategies: [parseStrategy('sum')] }).prompts[0].accuracy_change_ci, undefined);
  });

  it('counts how often each prompt is the top prompt', () => {
    // Top prompts: image 0 → a1 (own class A), image 1 → a2 (B's image), image 2 → a1 (tie with a2; B's image).
    const top = topPromptCounts(similarity, promptClass, truth);
    assert.deepEqual([...top.all], [2, 1, 0]);
    assert.deepEqual([...top.own_class], [1, 0, 0]);
    const [a1, a2, b1] = analysis.prompts;
    assert.deepEqual([a1.own_class_images, a1.own_class_top_count, a1.own_class_top_rate, a1.top_count], [1, 1, 1, 2]);
    assert.equal(a2.own_class_top_rate, 0);
    assert.deepEqual([b1.own_class_images, b1.own_class_top_rate], [2, 0]);
  });

  it('compares strategies by accuracy and balanced accuracy', () => {
    // sum predicts A A A: accuracy 1/3; recall A = 1, B = 0 → balanced 1/2.
    const predicted = Int32Array.from([0, 0, 0]);
    const [population] = tallyOutcomes(wholePopulation(3), truth, [predicted], 2, 100, 1);
    const row = compareStrategy('sum', truth, predicted, ['A', 'B'], population);
    close(row.accuracy, 1 / 3);
    assert.equal(row.balanced_accuracy, 0.5);
    assert.equal(row.n_labelled, 3);
    const [low, high] = row.accuracy_ci!;
    assert.ok(low <= 1 / 3 && 1 / 3 <= high);
  });
});

function tinyAuditInput(options: AuditInput['options'] = { bootstrap: 0 }): AuditInput {
  // Scores for prompts "a" (A), "b" (B), "p" (P), chosen so argmax over classes gives PREDICTED.
  const scores = Array.from(PREDICTED).flatMap((p) => [0, 1, 2].map((c) => (c === p ? 30 : 20)));
  return {
    classes: CLASSES,
    probe: PROBE,
    truth: TRUTH,
    predictions: new Map([['max', PREDICTED]]),
    attributes: [
      { name: 'gender', values: GENDER },
      { name: 'age', values: ['young', 'old', 'young', 'old', 'young', 'old', null, 'old'] },
    ],
    similarity: scoreMatrix(8, 3, Float32Array.from(scores)),
    promptClass: Int32Array.from([0, 1, 2]),
    prompts: ['a', 'b', 'p'],
    options: { minGroupSize: 0, ...options },
  };
}

describe('auditPredictions', () => {
  it('without a similarity matrix (label sets too large for it) keeps the group metrics and says why the prompt parts are missing', () => {
    const full = auditPredictions(tinyAuditInput({ bootstrap: 20, seed: 3 }));
    const { similarity: _, ...input } = tinyAuditInput({ bootstrap: 20, seed: 3 });
    const result = auditPredictions({ ...input, similarityOmitted: '80000 prompts is more than 10000' });
    assert.deepEqual(result.strategies, full.strategies);
    assert.deepEqual(result.comparison, full.comparison);
    assert.equal(result.prompts, null);
    assert.equal(result.prompts_omitted, '80000 prompts is more than 10000');
    assert.deepEqual(result.ranking_bias, []);
  });

  it('assembles every part into a JSON-ready result', () => {
    const result = auditPredictions(tinyAuditInput({ bootstrap: 50, seed: 1, rankingK: 4 }));
    assert.deepEqual(result.settings, { bootstrap: 50, seed: 1, confidence: 0.95, min_group_size: 0, ranking_k: 4, intersections: true });
    assert.deepEqual(result.probe_classes, ['P']);
    const { attributes, probes_overall } = result.strategies.max;
    assert.deepEqual(attributes.map((a) => a.attribute), ['gender', 'age', 'gender × age']);
    assert.equal(attributes[0].groups.F.accuracy, 0.75);
    assert.equal(attributes[0].probes!.groups.M.any_probe.rate, 0.25);
    // Overall: image 3 of 8 is predicted P.
    assert.equal(probes_overall!.any_probe.rate, 1 / 8);
    // Accuracy 5/8 over all labelled images; the leave-one-out rerun of `max` agrees.
    assert.equal(result.comparison[0].accuracy, 5 / 8);
    assert.equal(result.prompts!.accuracy_all_prompts.max, 5 / 8);
    assert.deepEqual(result.ranking_bias.map((r) => [r.attribute, r.k]), [['gender', 4], ['age', 4], ['gender × age', 4]]);
    // Image 6 has no age: the age groups and the intersection cover 7 images.
    assert.equal(result.ranking_bias[1].n, 7);
    const json = JSON.parse(JSON.stringify(result));
    assert.deepEqual(json, result, 'no NaN, undefined or typed arrays in the result');
  });

  it('rejects inputs of mismatched sizes', () => {
    const input = tinyAuditInput();
    assert.throws(() => auditPredictions({ ...input, predictions: new Map([['max', new Int32Array(3)]]) }), /3 predictions for 8 images/);
    assert.throws(() => auditPredictions({ ...input, attributes: [{ name: 'gender', values: ['M'] }] }), /attribute gender/);
  });
});
