import { stringify } from 'csv-stringify/sync';
import type { ScoreMatrix } from '../score/similarity.js';
import { topClassColumn } from './result_files.js';

/** One image of the seed's JSON: `  "<image>": {\n    "<prompt>": score,\n …\n  }`, scores from `data` at `offset`. */
export function similarityRowJson(imageKey: string, promptKeys: readonly string[], data: Float32Array, offset: number): string {
  const scores = promptKeys.map((key, j) => `    ${key}: ${JSON.stringify(data[offset + j])}`);
  return `  ${JSON.stringify(imageKey)}: {\n${scores.join(',\n')}\n  }`;
}

/**
 * The seed's per-image JSON: `{"<image>": {"<prompt>": 100·cos, …}, …}`, prompts in spec order.
 * Each float32 score is printed as the shortest decimal that reads back to the same value.
 * (similarity_outputs.ts writes the same bytes row by row for matrices too large for one string.)
 */
export function similaritiesJson(imageKeys: readonly string[], prompts: readonly string[], similarity: ScoreMatrix): string {
  const promptKeys = prompts.map((p) => JSON.stringify(p));
  const lines = imageKeys.map((key, i) => similarityRowJson(key, promptKeys, similarity.data, i * similarity.cols));
  return lines.length ? `{\n${lines.join(',\n')}\n}\n` : '{}\n';
}

/** Each strategy's N best classes per image (predictions.csv's `top<N>:<strategy>` columns). */
export interface TopClassColumns {
  /** Classes listed per image (N). */
  readonly count: number;
  /** Strategy → images × `stride` class indices, best first. */
  readonly classes: ReadonlyMap<string, Int32Array>;
  readonly stride: number;
}

/**
 * predictions.csv (columns in result_files.ts' PREDICTION_COLUMNS): `image`, one column per strategy with the
 * predicted class, `label` when known, then `group:<column>` per audited column, `sha256` when given, and with
 * `top`, one `top<N>:<strategy>` column per strategy holding the N best classes as a JSON array, best first.
 */
export function predictionsCsv(
  imageKeys: readonly string[],
  classes: readonly string[],
  predictions: ReadonlyMap<string, Int32Array>,
  truth?: Int32Array,
  extra: {
    readonly groups?: readonly { readonly name: string; readonly values: readonly (string | null)[] }[];
    readonly contentHashes?: readonly string[];
    readonly top?: TopClassColumns;
  } = {},
): string {
  const strategies = [...predictions.keys()];
  const groups = extra.groups ?? [];
  const hashes = extra.contentHashes;
  const top = extra.top && extra.top.count > 0 ? extra.top : undefined;
  const header = [
    'image',
    ...strategies,
    ...(truth ? ['label'] : []),
    ...groups.map((g) => `group:${g.name}`),
    ...(hashes ? ['sha256'] : []),
    ...(top ? strategies.map((s) => topClassColumn(top.count, s)) : []),
  ];
  const rows = imageKeys.map((key, i) => {
    const row = [key, ...strategies.map((s) => classes[predictions.get(s)![i]])];
    if (truth) row.push(truth[i] >= 0 ? classes[truth[i]] : '');
    for (const group of groups) row.push(group.values[i] ?? '');
    if (hashes) row.push(hashes[i]);
    if (top) {
      for (const s of strategies) {
        const best = top.classes.get(s)!.subarray(i * top.stride, i * top.stride + Math.min(top.count, top.stride));
        row.push(JSON.stringify(Array.from(best).filter((c) => c >= 0).map((c) => classes[c])));
      }
    }
    return row;
  });
  return stringify([header, ...rows]);
}

/** One JSON object per line. */
export function jsonLines(records: readonly object[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');
}
