// The lab's similarity kernel: scoring's exact loop (cosineScores), with each text embedding's column of scores
// over the session's images kept, so an edit computes only the columns of its new prompts (and changed classes'
// embedding means). Every value is computed per (image, text) pair, so a kept column equals a recomputed one.
import { cosineScores } from '../score/similarity.js';
import type { SimilarityKernel } from '../score/similarity_kernel.js';

/** Columns kept at most, in bytes (4 per image each); the oldest go first. */
const MAX_KEPT_BYTES = 64 * 2 ** 20;
/** New columns computed side by side: independent sums the CPU overlaps (one sum is bound by its adds' latency). */
const COLUMNS_AT_ONCE = 4;

/**
 * The columns 100·image·text of `texts` over every image, COLUMNS_AT_ONCE at a time in one pass over the images.
 * Each sum is cosineScores' own: float32 products added in double in k order, rounded to float32 once, so each
 * value is the same bit for bit; only the order in which the pairs are visited differs.
 */
export function scoreColumns(images: Float32Array, texts: readonly Float32Array[], dim: number, scale = 100): Float32Array[] {
  const rows = images.length / dim;
  const columns: Float32Array[] = texts.map(() => new Float32Array(rows));
  let j = 0;
  for (; j + COLUMNS_AT_ONCE <= texts.length; j += COLUMNS_AT_ONCE) {
    const [t0, t1, t2, t3] = texts.slice(j, j + COLUMNS_AT_ONCE);
    const [c0, c1, c2, c3] = columns.slice(j, j + COLUMNS_AT_ONCE);
    for (let i = 0; i < rows; i++) {
      const offset = i * dim;
      let d0 = 0;
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      for (let k = 0; k < dim; k++) {
        const x = images[offset + k];
        d0 += x * t0[k];
        d1 += x * t1[k];
        d2 += x * t2[k];
        d3 += x * t3[k];
      }
      c0[i] = scale * d0;
      c1[i] = scale * d1;
      c2[i] = scale * d2;
      c3[i] = scale * d3;
    }
  }
  for (; j < texts.length; j++) columns[j] = cosineScores(images, texts[j], dim, scale).data;
  return columns;
}

export function columnKeepingKernel(imageEmbeddings: Float32Array, dim: number): SimilarityKernel {
  const images = imageEmbeddings.length / dim;
  const columns = new Map<string, Float32Array>();
  const keyOf = (text: Float32Array) => Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('base64');
  /** The kept column of each text, the missing ones computed together. */
  const columnsOf = (texts: Float32Array[]): Float32Array[] => {
    const keys = texts.map(keyOf);
    const found = keys.map((key) => columns.get(key));
    const missing = [...new Set(keys.filter((_, j) => !found[j]))];
    const computed = scoreColumns(imageEmbeddings, missing.map((key) => texts[keys.indexOf(key)]), dim);
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
