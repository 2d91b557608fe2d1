import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSpec, parseSpec } from '../src/input/spec.js';
import { scoreMatrix, cosineScores, l2NormalizeRows } from '../src/score/similarity.js';
import {
  argmaxRows,
  classEmbeddingMeans,
  classScores,
  classScoresFromPrompts,
  defaultStrategies,
  parseStrategy,
  predictAll,
  strategyName,
} from '../src/score/strategies.js';

// The seed's worked example: the 14 scores of "image.jpg", in the seed's prompt order.
const SEED_SCORES = [
  20.84195327758789, 13.337924003601074, 16.401159286499023, 9.255730628967285, 22.144479751586914, 14.342647552490234,
  24.513031005859375, 16.19273567199707, 26.074390411376953, 17.766008377075195, 17.086769104003906, 8.459698677062988,
  18.602418899536133, 10.164729118347168,
];

test('seed example: Average Sum and Top-1 both pick Southeast Asian', async () => {
  const spec = await loadSpec('fairface-race');
  const similarity = scoreMatrix(1, 14, Float32Array.from(SEED_SCORES));
  const classes = spec.classes.map((c) => c.name);
  const sums = classScoresFromPrompts(similarity, spec.promptClass, classes.length, { kind: 'sum' });
  // Hand sums: East Asian 24.513+16.193 = 40.706, Southeast Asian 26.074+17.766 = 43.840 (largest).
  assert.ok(Math.abs(sums[classes.indexOf('Southeast Asian')] - 43.840398788452148) < 1e-9);
  assert.ok(Math.abs(sums[classes.indexOf('East Asian')] - 40.70576667785645) < 1e-9);
  for (const strategy of ['sum', 'max', 'topk:1', 'topk:2', 'mean']) {
    const predicted = argmaxRows(classScoresFromPrompts(similarity, spec.promptClass, classes.length, parseStrategy(strategy)), classes.length);
    assert.equal(classes[predicted[0]], 'Southeast Asian', strategy);
  }
});

test('ties go to the class listed first', () => {
  const promptClass = Int32Array.from([0, 1, 2]);
  const similarity = scoreMatrix(2, 3, Float32Array.from([5, 7, 7, 3, 3, 3]));
  const predicted = argmaxRows(classScoresFromPrompts(similarity, promptClass, 3, { kind: 'sum' }), 3);
  assert.deepEqual(Array.from(predicted), [1, 0]);
});

test('unequal prompt counts: sum favours the larger class, mean does not', () => {
  // Class A has prompts scoring 10, 10, 10 (sum 30, mean 10); class B has one prompt scoring 20 (sum 20, mean 20).
  const promptClass = Int32Array.from([0, 0, 0, 1]);
  const similarity = scoreMatrix(1, 4, Float32Array.from([10, 10, 10, 20]));
  const scores = (s: string) => Array.from(classScoresFromPrompts(similarity, promptClass, 2, parseStrategy(s)));
  assert.deepEqual(scores('sum'), [30, 20]);
  assert.deepEqual(scores('mean'), [10, 20]);
  assert.deepEqual(scores('max'), [10, 20]);
  assert.deepEqual(scores('topk:2'), [20, 20]); // tie → class A (first)
  assert.equal(argmaxRows(Float64Array.from(scores('topk:2')), 2)[0], 0);
});

test('top-k with K larger than a class sums all of its prompts', () => {
  // Class 0: 1, 4, 2 → top-2 = 4+2 = 6, top-5 = 7; class 1: 5 → top-2 = top-5 = 5.
  const promptClass = Int32Array.from([0, 0, 0, 1]);
  const similarity = scoreMatrix(1, 4, Float32Array.from([1, 4, 2, 5]));
  assert.deepEqual(Array.from(classScoresFromPrompts(similarity, promptClass, 2, { kind: 'topk', k: 2 })), [6, 5]);
  assert.deepEqual(Array.from(classScoresFromPrompts(similarity, promptClass, 2, { kind: 'topk', k: 5 })), [7, 5]);
  assert.deepEqual(Array.from(classScoresFromPrompts(similarity, promptClass, 2, { kind: 'max' })), [4, 5]);
});

test('embedding-mean averages normalised prompt embeddings, renormalises, and scores 100·cos', () => {
  // Prompts of class 0: (1,0) and (0,2) → normalised (1,0),(0,1) → mean (.5,.5) → (1/√2, 1/√2). Class 1: (0,-1).
  const text = Float32Array.from([1, 0, 0, 2, 0, -1]);
  const promptClass = Int32Array.from([0, 0, 1]);
  const classEmbeddings = classEmbeddingMeans(text, 2, promptClass, 2);
  assert.ok(Math.abs(classEmbeddings[0] - Math.SQRT1_2) < 1e-7 && Math.abs(classEmbeddings[1] - Math.SQRT1_2) < 1e-7);
  const image = l2NormalizeRows(Float32Array.from([1, 0]), 2);
  const scores = classScores(
    { similarity: cosineScores(image, l2NormalizeRows(Float32Array.from(text), 2), 2), promptClass, numClasses: 2, imageEmbeddings: image, textEmbeddings: text, dim: 2 },
    { kind: 'embedding-mean' },
  );
  assert.ok(Math.abs(scores[0] - 100 * Math.SQRT1_2) < 1e-4);
  assert.ok(Math.abs(scores[1] - 0) < 1e-6);
});

test('cosine scores are 100 × the dot product of normalised rows', () => {
  const images = l2NormalizeRows(Float32Array.from([3, 4]), 2);
  const texts = l2NormalizeRows(Float32Array.from([1, 0, 0, 1]), 2);
  const m = cosineScores(images, texts, 2);
  assert.deepEqual([m.rows, m.cols], [1, 2]);
  assert.ok(Math.abs(m.data[0] - 60) < 1e-5 && Math.abs(m.data[1] - 80) < 1e-5);
  assert.deepEqual(Array.from(l2NormalizeRows(new Float32Array(2), 2)), [0, 0]);
});

test('strategy names parse and default sets follow the prompt counts', () => {
  assert.equal(strategyName(parseStrategy('topk:3')), 'topk:3');
  assert.throws(() => parseStrategy('topk:0'), /unknown strategy 'topk:0'/);
  assert.throws(() => parseStrategy('median'), /use sum, mean, max, topk:K/);
  assert.deepEqual(defaultStrategies([2, 2]).map(strategyName), ['sum', 'mean', 'max', 'topk:2', 'embedding-mean']);
  assert.deepEqual(defaultStrategies([1, 3]).map(strategyName), ['sum', 'mean', 'max', 'topk:2', 'topk:3', 'embedding-mean']);
  assert.deepEqual(defaultStrategies([1, 1]).map(strategyName), ['sum', 'mean', 'max', 'embedding-mean']);
});

test('predictAll keys predictions by strategy name', () => {
  const spec = parseSpec('classes: {a: [x, y], b: [z]}', 't.yaml');
  const similarity = scoreMatrix(1, 3, Float32Array.from([1, 1, 1.5]));
  const predictions = predictAll({ similarity, promptClass: spec.promptClass, numClasses: 2 }, [{ kind: 'sum' }, { kind: 'max' }]);
  assert.deepEqual([...predictions.keys()], ['sum', 'max']);
  assert.deepEqual([predictions.get('sum')![0], predictions.get('max')![0]], [0, 1]);
});
