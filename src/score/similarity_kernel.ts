/**
 * The similarity product `100 · images @ texts.T` for large runs. Images × prompts × dimension multiply-adds
 * (50,000 × 80,000 × 512 ≈ 2·10¹² for ImageNet's label set) are GEMM work, so they run in ONNX Runtime's MatMul
 * (MLAS: AVX2/FMA, every intra-op thread) through the project's adapter, which loads a one-node graph written here.
 * ONNX Runtime was chosen over a WebAssembly SIMD kernel because WebAssembly runs on one thread with 128-bit
 * vectors and no FMA, a fraction of the machine's fp32 GEMM rate that the MatMul probe in bench/run.ts measures.
 * The float32 dot products differ from `cosineScores` (which sums in double) by at most float32 rounding of the
 * accumulation: |Δ| ≤ γ_dim · 100 · Σ|aₖbₖ|, γ_n = n·2⁻²⁴ / (1 − n·2⁻²⁴) (test/similarity_kernel.test.ts).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cosineScores } from './similarity.js';
import { loadOnnxGraph, type OnnxGraph } from '../encode/transformers_adapter.js';
import { encodeVarint } from '../encode/onnx_file.js';

/** 100·cos of image rows against a fixed set of text embeddings, one block of images at a time. */
export interface SimilarityProduct {
  /** Texts (columns of every block). */
  readonly cols: number;
  readonly dim: number;
  /** `images` holds whole rows of `dim` values; returns rows × cols, row-major. */
  block(images: Float32Array): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** Prepares the product against `texts` (row-major [cols × dim]). */
export type SimilarityKernel = (texts: Float32Array, dim: number) => Promise<SimilarityProduct>;

const columnsOf = (texts: Float32Array, dim: number): number => {
  if (!Number.isInteger(dim) || dim < 1 || texts.length % dim) throw new Error(`text embeddings of ${texts.length} values are not rows of ${dim}`);
  return texts.length / dim;
};

/** Today's loop (`cosineScores`: double accumulation, one rounding): the reference, and what tests compare to. */
export const loopKernel: SimilarityKernel = async (texts, dim) => ({
  cols: columnsOf(texts, dim),
  dim,
  block: async (images) => cosineScores(images, texts, dim).data,
  dispose: async () => {},
});

// ---- a one-MatMul ONNX model, written as protobuf (onnx.proto3 field numbers) ----

const lengthField = (field: number, ...payload: Uint8Array[]): Buffer => {
  const body = Buffer.concat(payload);
  return Buffer.concat([encodeVarint((field << 3) | 2), encodeVarint(body.length), body]);
};
const stringField = (field: number, text: string): Buffer => lengthField(field, Buffer.from(text, 'utf8'));
const intField = (field: number, value: number): Buffer => Buffer.concat([encodeVarint(field << 3), encodeVarint(value)]);

/** ValueInfoProto of a float tensor of symbolic or fixed dimensions. */
const floatValue = (name: string, dims: readonly (string | number)[]): Buffer => {
  const shape = dims.map((d) => lengthField(1, typeof d === 'string' ? stringField(2, d) : intField(1, d))); // TensorShapeProto.dim
  const tensorType = Buffer.concat([intField(1, 1), lengthField(2, ...shape)]); // elem_type FLOAT, shape
  return Buffer.concat([stringField(1, name), lengthField(2, lengthField(1, tensorType))]);
};

/** TensorProto of a float32 constant (dims, data_type FLOAT, name, little-endian raw_data). */
const floatConstant = (name: string, dims: readonly number[], values: Float32Array): Buffer => {
  const raw = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  if (!new Uint8Array(new Uint16Array([1]).buffer)[0]) raw.swap32();
  return Buffer.concat([...dims.map((d) => intField(1, d)), intField(2, 1), stringField(8, name), lengthField(9, raw)]);
};
const nodeProto = (inputs: readonly string[], output: string, name: string, op: string): Buffer =>
  Buffer.concat([...inputs.map((i) => stringField(1, i)), stringField(2, output), stringField(3, name), stringField(4, op)]);

/**
 * `y[rows, cols] = (a[rows, dim] @ t) · 100` with `t` the constant [dim × cols]: the ×100 rounds once more in
 * float32, as the loop's `scale * dot` does. ONNX IR 8, opset 17.
 */
export function matmulModelBytes(t: Float32Array, dim: number, cols: number): Buffer {
  const graph = Buffer.concat([
    lengthField(1, nodeProto(['a', 't'], 'dot', 'similarity', 'MatMul')),
    lengthField(1, nodeProto(['dot', 'scale'], 'y', 'times_100', 'Mul')),
    stringField(2, 'zeroshot_similarity'),
    lengthField(5, floatConstant('t', [dim, cols], t)),
    lengthField(5, floatConstant('scale', [], Float32Array.of(100))),
    lengthField(11, floatValue('a', ['rows', dim])),
    lengthField(12, floatValue('y', ['rows', cols])),
  ]);
  const opset = Buffer.concat([stringField(1, ''), intField(2, 17)]);
  return Buffer.concat([intField(1, 8), stringField(2, 'zeroshot'), lengthField(7, graph), lengthField(8, opset)]);
}

/** [cols × dim] → [dim × cols]. */
function transpose(rows: Float32Array, cols: number, dim: number): Float32Array {
  const out = new Float32Array(rows.length);
  for (let j = 0; j < cols; j++) for (let d = 0; d < dim; d++) out[d * cols + j] = rows[j * dim + d];
  return out;
}

/**
 * ONNX Runtime's MatMul on `threads` intra-op threads, the texts a constant of the graph (fed once, not with
 * every block). The graph is written to a temporary model folder (the adapter loads model folders), removed
 * once the session holds it.
 */
export function onnxKernel(threads: number): SimilarityKernel {
  return async (texts, dim) => {
    const cols = columnsOf(texts, dim);
    // ONNX Runtime refuses a dimension of 0: an empty product needs no graph.
    if (cols === 0) return loopKernel(texts, dim);
    const folder = await mkdtemp(join(tmpdir(), 'zeroshot-similarity-'));
    let graph: OnnxGraph;
    try {
      await mkdir(join(folder, 'onnx'));
      await writeFile(join(folder, 'config.json'), JSON.stringify({ model_type: 'clip' }));
      await writeFile(join(folder, 'onnx', 'similarity.onnx'), matmulModelBytes(transpose(texts, cols, dim), dim, cols));
      graph = await loadOnnxGraph(
        { model: folder, revision: 'main', file: 'similarity', dtype: 'fp32', threads, localOnly: true },
        { cacheDir: folder, offline: true, endpoint: 'http://localhost/' },
      );
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
    return {
      cols,
      dim,
      async block(images) {
        const rows = images.length / dim;
        if (rows === 0) return new Float32Array(0);
        const { y } = await graph.run({ a: { type: 'float32', data: images, dims: [rows, dim] } }, ['y']);
        return y.data;
      },
      dispose: () => graph.dispose(),
    };
  };
}
