import type { EncodedBatch } from './clip_tokenizer.js';

/** How a batch of id rows becomes a rectangle: to its longest row, or always to a fixed length. */
export interface PaddingRule {
  readonly to: 'longest' | number;
  readonly padId: number;
}

/** Pads `rows` (already truncated) into one batch; the attention mask is 1 on real tokens, 0 on padding. */
export function padBatch(rows: readonly (readonly number[])[], rule: PaddingRule): EncodedBatch {
  const longest = rows.reduce((n, row) => Math.max(n, row.length), 0);
  const sequenceLength = rule.to === 'longest' ? longest : rule.to;
  if (longest > sequenceLength) throw new Error(`a prompt has ${longest} tokens, more than the ${sequenceLength} the model takes`);
  const inputIds = new BigInt64Array(rows.length * sequenceLength).fill(BigInt(rule.padId));
  const attentionMask = new BigInt64Array(rows.length * sequenceLength);
  rows.forEach((row, r) => {
    const offset = r * sequenceLength;
    for (let i = 0; i < row.length; i++) {
      inputIds[offset + i] = BigInt(row[i]);
      attentionMask[offset + i] = 1n;
    }
  });
  return { inputIds, attentionMask, batchSize: rows.length, sequenceLength };
}
