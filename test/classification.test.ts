import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationMetrics, confusionMatrix } from '../src/evaluate/classification.js';

test('metrics against a hand-computed confusion matrix', () => {
  // truth:     A A A B B C  (and one unlabelled image, -1)
  // predicted: A A B B C C  (A)
  // confusion rows = truth, cols = predicted:
  //   A: [2, 1, 0]   B: [0, 1, 1]   C: [0, 0, 1]
  const truth = Int32Array.from([0, 0, 0, 1, 1, 2, -1]);
  const predicted = Int32Array.from([0, 0, 1, 1, 2, 2, 0]);
  const m = classificationMetrics(truth, predicted, ['A', 'B', 'C']);
  assert.deepEqual(m.confusion, [[2, 1, 0], [0, 1, 1], [0, 0, 1]]);
  assert.equal(m.n, 6);
  assert.equal(m.accuracy, 4 / 6);
  // recalls: A 2/3, B 1/2, C 1/1 → balanced = (2/3 + 1/2 + 1)/3
  assert.ok(Math.abs(m.balanced_accuracy - (2 / 3 + 1 / 2 + 1) / 3) < 1e-12);
  // precisions: A 2/2, B 1/2, C 1/2; F1 for B: 2·.5·.5/(1) = .5; for A: 2·1·(2/3)/(5/3) = .8
  assert.deepEqual(m.per_class.A, { precision: 1, recall: 2 / 3, f1: 0.8, support: 3 });
  assert.deepEqual(m.per_class.B, { precision: 0.5, recall: 0.5, f1: 0.5, support: 2 });
  assert.equal(m.per_class.C.precision, 0.5);
  assert.deepEqual(m.classes, ['A', 'B', 'C']);
});

test('absent classes: zero precision/recall, left out of balanced accuracy', () => {
  // Class C never occurs in the labels and is never predicted; class B is predicted but never true.
  const m = classificationMetrics(Int32Array.from([0, 0]), Int32Array.from([0, 1]), ['A', 'B', 'C']);
  assert.equal(m.balanced_accuracy, 0.5); // only A counts: recall 1/2
  assert.deepEqual(m.per_class.C, { precision: 0, recall: 0, f1: 0, support: 0 });
  assert.deepEqual(m.per_class.B, { precision: 0, recall: 0, f1: 0, support: 0 });
});

test('no labelled images gives zeros, not NaN', () => {
  const m = classificationMetrics(Int32Array.from([-1]), Int32Array.from([0]), ['A']);
  assert.deepEqual([m.n, m.accuracy, m.balanced_accuracy], [0, 0, 0]);
});

test('confusion matrix rejects mismatched lengths', () => {
  assert.throws(() => confusionMatrix(Int32Array.from([0]), Int32Array.from([0, 1]), 2), /1 labels for 2 predictions/);
});
