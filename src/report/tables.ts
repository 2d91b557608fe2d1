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

/**
 * predictions.csv (columns in result_files.ts' PREDICTION_COLUMNS): `image`, one column per strategy with the
 * predicted class, `label` when known, then `group:<column>` per audited column and `sha256` when given.
 */
export function predictionsCsv(
  imageKeys: readonly string[],
  classes: readonly string[],
  predictions: ReadonlyMap<string, Int32Array>,
  truth?: Int32Array,
  extra: { readonly groups?: readonly { readonly name: string; readonly values: readonly (string | null)[] }[]; readonly contentHashes?: readonly string[] } = {},
): string {
  const strategies = [...predictions.keys()];
  const groups = extra.groups ?? [];
  const hashes = extra.contentHashes;
  const header = ['image', ...strategies, ...(truth ? ['label'] : []), ...groups.map((g) => `group:${g.name}`), ...(hashes ? ['sha256'] : [])];
  const rows = imageKeys.map((key, i) => {
    const row = [key, ...strategies.map((s) => classes[predictions.get(s)![i]])];
    if (truth) row.push(truth[i] >= 0 ? classes[truth[i]] : '');
    for (const group of groups) row.push(group.values[i] ?? '');
    if (hashes) row.push(hashes[i]);
    return row;
  });
  return stringify([header, ...rows]);
}

/** One JSON object per line. */
export function jsonLines(records: readonly object[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');
}
