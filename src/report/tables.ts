import { stringify } from 'csv-stringify/sync';
import type { ScoreMatrix } from '../score/similarity.js';

/**
 * The seed's per-image JSON: `{"<image>": {"<prompt>": 100·cos, …}, …}`, prompts in spec order.
 * Each float32 score is printed as the shortest decimal that reads back to the same value.
 */
export function similaritiesJson(imageKeys: readonly string[], prompts: readonly string[], similarity: ScoreMatrix): string {
  const promptKeys = prompts.map((p) => JSON.stringify(p));
  const lines: string[] = [];
  for (let i = 0; i < imageKeys.length; i++) {
    const row = i * similarity.cols;
    const scores = promptKeys.map((key, j) => `    ${key}: ${JSON.stringify(similarity.data[row + j])}`);
    lines.push(`  ${JSON.stringify(imageKeys[i])}: {\n${scores.join(',\n')}\n  }`);
  }
  return lines.length ? `{\n${lines.join(',\n')}\n}\n` : '{}\n';
}

/** predictions.csv: `image`, one column per strategy with the predicted class, and `label` when known. */
export function predictionsCsv(
  imageKeys: readonly string[],
  classes: readonly string[],
  predictions: ReadonlyMap<string, Int32Array>,
  truth?: Int32Array,
): string {
  const strategies = [...predictions.keys()];
  const header = ['image', ...strategies, ...(truth ? ['label'] : [])];
  const rows = imageKeys.map((key, i) => {
    const row = [key, ...strategies.map((s) => classes[predictions.get(s)![i]])];
    if (truth) row.push(truth[i] >= 0 ? classes[truth[i]] : '');
    return row;
  });
  return stringify([header, ...rows]);
}

/** One JSON object per line. */
export function jsonLines(records: readonly object[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');
}
