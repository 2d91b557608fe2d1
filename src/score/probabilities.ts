/**
 * The probabilities a CLIP-family model was trained to give, from its similarities (100·cos):
 * CLIP's softmax over the spec's prompts, p_ij = exp(t·c_ij) / Σ_k exp(t·c_ik), and SigLIP's independent sigmoid,
 * p_ij = 1 / (1 + exp(−(t·c_ij + b))), with c = cos, t = exp(logit_scale) and b = logit_bias.
 */
import type { ScoreMatrix } from './similarity.js';

export interface ProbabilityScoring {
  readonly kind: 'softmax' | 'sigmoid';
  /** The learned log-scale (t = exp(logitScale)). */
  readonly logitScale: number;
  /** SigLIP's learned bias. */
  readonly logitBias?: number;
}

/** The formula in words, for run.json. */
export function probabilityFormula(scoring: ProbabilityScoring): string {
  const t = `exp(${scoring.logitScale})`;
  return scoring.kind === 'softmax'
    ? `p[i][j] = softmax over the prompts j of ${t} * cos[i][j], cos = similarity / 100`
    : `p[i][j] = sigmoid(${t} * cos[i][j] + ${scoring.logitBias}), cos = similarity / 100`;
}

/** Images × prompts probabilities, computed in double and rounded to float32 once. */
export function probabilities(similarity: ScoreMatrix, scoring: ProbabilityScoring): ScoreMatrix {
  const { rows, cols, data } = similarity;
  const t = Math.exp(scoring.logitScale) / 100;
  const out = new Float32Array(rows * cols);
  const logits = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    if (scoring.kind === 'sigmoid') {
      const b = scoring.logitBias ?? 0;
      for (let j = 0; j < cols; j++) out[row + j] = 1 / (1 + Math.exp(-(t * data[row + j] + b)));
      continue;
    }
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, (logits[j] = t * data[row + j]));
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += (logits[j] = Math.exp(logits[j] - max));
    for (let j = 0; j < cols; j++) out[row + j] = logits[j] / sum;
  }
  return { rows, cols, data: out };
}
