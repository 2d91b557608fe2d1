/**
 * Large label sets: the ONNX Runtime similarity kernel against today's loop (within float32 rounding of the
 * accumulation), and chunked scoring against the unchunked strategies (exactly) on random cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mulberry32 } from '../src/evaluate/bootstrap.js';

const mulberry32 = (seed: number) => {
  const generator = new Mulberry32(seed);
  return () => generator.next();
};
import { blockRows, scoreInChunks, similarityBlocks, topClassesOfRows } from '../src/score/chunked.js';
import { cosineScores, l2NormalizeRows } from '../src/score/similarity.js';
import { loopKernel, onnxKernel, type SimilarityKernel } from '../src/score/similarity_kernel.js';
import { argmaxRows, classScores, classScoresFromPrompts, type Strategy } from '../src/score/strategies.js';

const STRATEGIES: Strategy[] = [{ kind: 'sum' }, { kind: 'mean' }, { kind: 'max' }, { kind: 'topk', k: 2 }, { kind: 'topk', k: 3 }, { kind: 'topk', k: 7 }, { kind: 'embedding-mean' }];

function randomCase(seed: number, images: number, classes: number, maxPrompts: number, dim: number) {
  const random = mulberry32(seed);
  const promptClass = Int32Array.from(Array.from({ length: classes }, (_, c) => Array.from({ length: 1 + Math.floor(random() * maxPrompts) }, () => c)).flat());
  // Scores rounded to a coarse grid in some cases, so ties between prompts and between classes occur.
  const coarse = seed % 2 === 0;
  const value = () => (coarse ? Math.round((random() - 0.5) * 8) / 8 : random() - 0.5);
  const imageEmbeddings = l2NormalizeRows(Float32Array.from({ length: images * dim }, value), dim);
  const textEmbeddings = l2NormalizeRows(Float32Array.from({ length: promptClass.length * dim }, value), dim);
  return { imageEmbeddings, textEmbeddings, dim, promptClass, numClasses: classes };
}

test('the ONNX Runtime kernel equals the loop to float32 rounding of the dot products', async () => {
  for (const [seed, rows, cols, dim] of [[1, 7, 33, 5], [2, 64, 300, 512], [3, 129, 1000, 64], [4, 1, 1, 1]]) {
    const random = mulberry32(seed);
    const images = Float32Array.from({ length: rows * dim }, () => random() * 2 - 1);
    const texts = Float32Array.from({ length: cols * dim }, () => random() * 2 - 1);
    const reference = cosineScores(images, texts, dim).data;
    const product = await onnxKernel(2)(texts, dim);
    const fast = await product.block(images);
    await product.dispose();
    assert.equal(fast.length, reference.length);
    // γ_n·Σ|aₖbₖ| bounds float32 accumulation; the ×100 and the final rounding add a few ulps more.
    const gamma = (dim * 2 ** -24) / (1 - dim * 2 ** -24);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        let absolute = 0;
        for (let k = 0; k < dim; k++) absolute += Math.abs(images[i * dim + k] * texts[j * dim + k]);
        const bound = 100 * gamma * absolute + 3 * 2 ** -24 * Math.abs(reference[i * cols + j]) + 1e-30;
        const diff = Math.abs(fast[i * cols + j] - reference[i * cols + j]);
        assert.ok(diff <= bound, `seed ${seed} [${i}, ${j}]: |Δ| ${diff} > ${bound}`);
      }
    }
  }
});

test('chunked scoring equals the unchunked strategies exactly, whatever the block size', async () => {
  for (const [seed, images, classes, maxPrompts, dim] of [[10, 37, 9, 6, 8], [11, 50, 23, 12, 16], [12, 5, 3, 1, 4], [13, 64, 40, 9, 32]]) {
    const inputs = randomCase(seed, images, classes, maxPrompts, dim);
    const similarity = cosineScores(inputs.imageEmbeddings, inputs.textEmbeddings, dim);
    const whole = { similarity, ...inputs };
    const expected = new Map(STRATEGIES.map((s) => [s, argmaxRows(classScores(whole, s), classes)]));
    for (const rows of [1, 4, 13, images]) {
      const chunked = await scoreInChunks(inputs, STRATEGIES, { kernel: loopKernel, rows, topClasses: 5 });
      for (const strategy of STRATEGIES) {
        const name = strategy.kind === 'topk' ? `topk:${strategy.k}` : strategy.kind;
        assert.deepEqual(chunked.predictions.get(name), expected.get(strategy), `seed ${seed}, ${rows} rows a block, ${name}`);
        const top = new Int32Array(images * 5);
        topClassesOfRows(classScores(whole, strategy), classes, 5, top);
        assert.deepEqual(chunked.topClasses.get(name), top, `top classes, seed ${seed}, ${rows} rows, ${name}`);
      }
    }
    // The same with the ONNX Runtime kernel: block size never changes a value.
    const product = await onnxKernel(2)(inputs.textEmbeddings, dim);
    const fastWhole = { ...whole, similarity: { rows: images, cols: similarity.cols, data: await product.block(inputs.imageEmbeddings) } };
    await product.dispose();
    const fastOne = await scoreInChunks(inputs, STRATEGIES.slice(0, -1), { kernel: onnxKernel(2), rows: images });
    const fastChunked = await scoreInChunks(inputs, STRATEGIES.slice(0, -1), { kernel: onnxKernel(2), rows: 3 });
    for (const strategy of STRATEGIES.slice(0, -1)) {
      const name = strategy.kind === 'topk' ? `topk:${strategy.k}` : strategy.kind;
      assert.deepEqual(fastChunked.predictions.get(name), fastOne.predictions.get(name), `ONNX kernel, seed ${seed}, ${name}`);
      assert.deepEqual(fastOne.predictions.get(name), argmaxRows(classScores(fastWhole, strategy), classes), `ONNX kernel whole, seed ${seed}, ${name}`);
    }
  }
});

test('a NaN prompt score is in its class\'s top-k wherever it comes, in blocks as in the unchunked strategies', async () => {
  const inputs = randomCase(14, 9, 3, 1, 4);
  // Classes of five prompts; the last prompt of class 0 scores NaN for image 2 only (a NaN image embedding would
  // make every prompt NaN): after k better values, where top-k by insertion would leave it out.
  const promptClass = Int32Array.from([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
  const textEmbeddings = randomCase(15, 15, 1, 1, 4).imageEmbeddings;
  const cases = { ...inputs, textEmbeddings, promptClass };
  const similarity = cosineScores(cases.imageEmbeddings, textEmbeddings, 4);
  similarity.data[2 * 15 + 4] = NaN;
  const kernel: SimilarityKernel = async (texts, dim) => ({
    cols: texts.length / dim,
    dim,
    block: async (block) => {
      const start = (block.byteOffset - cases.imageEmbeddings.byteOffset) / 4 / dim;
      return similarity.data.slice(start * 15, (start + block.length / dim) * 15);
    },
    dispose: async () => {},
  });
  const strategies: Strategy[] = [{ kind: 'sum' }, { kind: 'max' }, { kind: 'topk', k: 2 }, { kind: 'topk', k: 3 }];
  const chunked = await scoreInChunks(cases, strategies, { kernel, rows: 4 });
  for (const strategy of strategies) {
    const name = strategy.kind === 'topk' ? `topk:${strategy.k}` : strategy.kind;
    const scores = classScoresFromPrompts(similarity, promptClass, 3, strategy);
    assert.ok(Number.isNaN(scores[2 * 3]), `${name}: class 0 of image 2 is NaN`);
    assert.deepEqual(chunked.predictions.get(name), argmaxRows(scores, 3), name);
  }
});

test('top classes: best first, ties to the class listed first, −1 beyond the class count', () => {
  const out = new Int32Array(2 * 4);
  topClassesOfRows(Float64Array.from([1, 3, 3, 2, 0, 0, 0]).subarray(0, 6), 3, 4, out);
  assert.deepEqual([...out], [1, 2, 0, -1, 0, 1, 2, -1]);
});

test('similarity blocks cover the matrix in order, from the kept matrix or recomputed', async () => {
  const inputs = randomCase(20, 23, 5, 4, 8);
  const similarity = cosineScores(inputs.imageEmbeddings, inputs.textEmbeddings, inputs.dim);
  for (const kept of [similarity, undefined]) {
    const parts: Float32Array[] = [];
    for await (const { start, block } of similarityBlocks({ ...inputs, similarity: kept, threads: 1 }, 5)) {
      assert.equal(start, parts.reduce((n, p) => n + p.length / similarity.cols, 0));
      parts.push(Float32Array.from(block.data));
    }
    assert.deepEqual(Float32Array.from(parts.flatMap((p) => [...p])), similarity.data);
  }
  assert.equal(blockRows(80_000), 209);
});
