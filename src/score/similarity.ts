/** A dense row-major matrix of float32 scores: one row per image, one column per prompt (or class). */
export interface ScoreMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

export function scoreMatrix(rows: number, cols: number, data = new Float32Array(rows * cols)): ScoreMatrix {
  if (data.length !== rows * cols) throw new Error(`score matrix data has ${data.length} values, expected ${rows}×${cols}`);
  return { rows, cols, data };
}

/** Scales each row of a row-major [rows × dim] matrix to unit L2 norm, in place. */
export function l2NormalizeRows(data: Float32Array, dim: number): Float32Array {
  for (let offset = 0; offset < data.length; offset += dim) {
    let sumSquares = 0;
    for (let j = 0; j < dim; j++) sumSquares += data[offset + j] * data[offset + j];
    // A zero vector stays zero rather than becoming NaN.
    const scale = sumSquares > 0 ? 1 / Math.sqrt(sumSquares) : 0;
    for (let j = 0; j < dim; j++) data[offset + j] *= scale;
  }
  return data;
}

/**
 * The first `keep` of `dim` coordinates of each row, L2-normalised again: a Matryoshka-trained model's embedding at
 * a smaller size. Returns `data` itself when nothing is cut.
 */
export function truncateRows(data: Float32Array, dim: number, keep: number): Float32Array {
  if (keep === dim) return data;
  const rows = data.length / dim;
  const out = new Float32Array(rows * keep);
  for (let i = 0; i < rows; i++) out.set(data.subarray(i * dim, i * dim + keep), i * keep);
  return l2NormalizeRows(out, keep);
}

/**
 * CLIP logits: `100 · image @ text.T` for L2-normalised embeddings, i.e. 100 × cosine similarity.
 * Dot products accumulate in double and are rounded to float32 once, so the result is the
 * correctly rounded float32 of the exact value (torch's float32 matmul may differ in the last bit).
 */
export function cosineScores(images: Float32Array, texts: Float32Array, dim: number, scale = 100): ScoreMatrix {
  const rows = images.length / dim;
  const cols = texts.length / dim;
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const imageOffset = i * dim;
    for (let j = 0; j < cols; j++) {
      const textOffset = j * dim;
      let dot = 0;
      for (let k = 0; k < dim; k++) dot += images[imageOffset + k] * texts[textOffset + k];
      out[i * cols + j] = scale * dot;
    }
  }
  return { rows, cols, data: out };
}
