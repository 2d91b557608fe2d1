// The lab's similarity kernel: scoring's exact loop (cosineScores), with each text embedding's column of scores
// over the session's images kept, so an edit computes only the columns of its new prompts (and changed classes'
// embedding means). Every value is computed per (image, text) pair, so a kept column equals a recomputed one.
import { cosineScores } from '../score/similarity.js';
import type { SimilarityKernel } from '../score/similarity_kernel.js';

/** Columns kept at most, in bytes (4 per image each); the oldest go first. */
const MAX_KEPT_BYTES = 64 * 2 ** 20;
/** Image rows summed side by side: independent sums the CPU overlaps (one sum is bound by its adds' latency). */
const ROWS_AT_ONCE = 4;

/**
 * The column 100·image·text of each of `texts` over every image, ROWS_AT_ONCE images at a time. Each sum is
 * cosineScores' own: float32 products added in double in k order, rounded to float32 once, so each value is the
 * same bit for bit; only the order in which the pairs are visited differs.
 */
export function scoreColumns(images: Float32Array, texts: readonly Float32Array[], dim: number, scale = 100): Float32Array[] {
  const rows = images.length / dim;
  const whole = rows - (rows % ROWS_AT_ONCE);
  return texts.map((text) => {
    const column = new Float32Array(rows);
    for (let i = 0; i < whole; i += ROWS_AT_ONCE) {
      const o0 = i * dim;
      const o1 = o0 + dim;
      const o2 = o1 + dim;
      const o3 = o2 + dim;
      let d0 = 0;
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      for (let k = 0; k < dim; k++) {
        const t = text[k];
        d0 += images[o0 + k] * t;
        d1 += images[o1 + k] * t;
        d2 += images[o2 + k] * t;
        d3 += images[o3 + k] * t;
      }
      column[i] = scale * d0;
      column[i + 1] = scale * d1;
      column[i + 2] = scale * d2;
      column[i + 3] = scale * d3;
    }
    if (whole < rows) column.set(cosineScores(images.subarray(whole * dim), text, dim, scale).data, whole);
    return column;
  });
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
