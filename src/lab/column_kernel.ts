// The lab's similarity kernel: scoring's exact loop (cosineScores, here in WebAssembly SIMD: ImageColumns), with each
// text embedding's column of scores over the session's images kept, so an edit computes only the columns of its new
// prompts (and changed classes' embedding means). Every value is computed per (image, text) pair, so a kept column
// equals a recomputed one.
import { cosineScores } from '../score/similarity.js';
import { ImageColumns } from '../score/wasm/image_columns.js';
import type { SimilarityKernel } from '../score/similarity_kernel.js';

/** Columns kept at most, in bytes (4 per image each); the oldest go first. */
const MAX_KEPT_BYTES = 64 * 2 ** 20;

export function columnKeepingKernel(imageEmbeddings: Float32Array, dim: number): SimilarityKernel {
  const images = imageEmbeddings.length / dim;
  const columns = new Map<string, Float32Array>();
  // Packed on first use: a session whose products go to ONNX Runtime never needs the copy.
  let packed: ImageColumns | undefined;
  const keyOf = (text: Float32Array) => Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('base64');
  /** The kept column of each text, the missing ones computed together. */
  const columnsOf = (texts: Float32Array[]): Float32Array[] => {
    const keys = texts.map(keyOf);
    const found = keys.map((key) => columns.get(key));
    const missing = [...new Set(keys.filter((_, j) => !found[j]))];
    packed ??= new ImageColumns(imageEmbeddings, dim);
    const computed = packed.columns(missing.map((key) => texts[keys.indexOf(key)]));
    const fresh = new Map(missing.map((key, m) => [key, computed[m]]));
    for (const [key, column] of fresh) {
      if ((columns.size + 1) * images * 4 > MAX_KEPT_BYTES && columns.size) columns.delete(columns.keys().next().value!);
      columns.set(key, column);
    }
    return keys.map((key, j) => found[j] ?? fresh.get(key)!);
  };
  return async (texts, textDim) => {
    if (textDim !== dim) throw new Error(`text embeddings of ${textDim} dimensions against images of ${dim}`);
    const cols = texts.length / dim;
    const kept = columnsOf(Array.from({ length: cols }, (_, j) => texts.subarray(j * dim, (j + 1) * dim)));
    return {
      cols,
      dim,
      // A block is a run of the session's image rows: where it starts is where its view starts.
      block: async (block) => {
        const start = (block.byteOffset - imageEmbeddings.byteOffset) / 4 / dim;
        const rows = block.length / dim;
        if (block.buffer !== imageEmbeddings.buffer || !Number.isInteger(start) || start < 0 || start + rows > images) {
          return cosineScores(block, texts, dim).data;
        }
        const out = new Float32Array(rows * cols);
        for (let j = 0; j < cols; j++) {
          const column = kept[j];
          for (let r = 0; r < rows; r++) out[r * cols + j] = column[start + r];
        }
        return out;
      },
      dispose: async () => {},
    };
  };
}
