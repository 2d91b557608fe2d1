// "Equal to what `zeroshot run` writes": the equality of two results folders that the lab's save-as-run is held to
// (test/lab_server.test.ts, test/lab_browser.test.ts). Defined precisely:
// - the same file names;
// - every file byte-identical, except run.json and report.html;
// - run.json equal once these fields, which say when and how fast the run went rather than what it is, are
//   dropped: `finished_at`, `timings`, the cache's session counters (`cache.image_hits`, `image_misses`,
//   `text_hits`, `text_misses`, `writes_disabled`), how the content hashes were obtained (`counts.hashes_read`,
//   `counts.hashes_remembered`: read from the files, or remembered by the cache from their unchanged stamps),
//   `spec.source` (the lab's spec has no file: 'lab'), and `files["report.html"]` (the report embeds run.json, so
//   its bytes follow the fields above);
// - report.html byte-identical outside its embedded data, and its data equal once its `run` is normalised the same way.
import { readdir, readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';

const CACHE_SESSION_FIELDS = ['image_hits', 'image_misses', 'text_hits', 'text_misses', 'writes_disabled'];
const HASHING_COUNTS = ['hashes_read', 'hashes_remembered'];

/** run.json (or the report's copy of it) without the fields that may differ between equal folders. */
export function normalisedRunRecord(record: Record<string, unknown>): Record<string, unknown> {
  const { finished_at: _finished, timings: _timings, ...rest } = record;
  const spec = rest.spec as Record<string, unknown> | undefined;
  const cache = rest.cache as Record<string, unknown> | null | undefined;
  const files = rest.files as Record<string, unknown> | undefined;
  const counts = rest.counts as Record<string, unknown> | undefined;
  return {
    ...rest,
    ...(counts ? { counts: Object.fromEntries(Object.entries(counts).filter(([key]) => !HASHING_COUNTS.includes(key))) } : {}),
    ...(spec ? { spec: { ...spec, source: '(any)' } } : {}),
    ...(cache ? { cache: Object.fromEntries(Object.entries(cache).filter(([key]) => !CACHE_SESSION_FIELDS.includes(key))) } : {}),
    ...(files ? { files: Object.fromEntries(Object.entries(files).filter(([name]) => name !== 'report.html')) } : {}),
  };
}

const DATA_SCRIPT = /(<script type="application\/json" id="[^"]*">)([\s\S]*?)(<\/script>)/;

/** The report's page with its data taken out, and the data with its run record normalised. */
function splitReport(html: string): { page: string; data: unknown } {
  const match = DATA_SCRIPT.exec(html);
  if (!match) return { page: html, data: null };
  const data = JSON.parse(match[2]) as Record<string, unknown>;
  return {
    page: html.slice(0, match.index) + match[1] + match[3] + html.slice(match.index + match[0].length),
    data: { ...data, run: normalisedRunRecord(data.run as Record<string, unknown>) },
  };
}

/** Where two results folders differ, by the definition above; empty when they are equal. */
export async function resultsFolderDifferences(a: string, b: string): Promise<string[]> {
  const [filesA, filesB] = [(await readdir(a)).sort(), (await readdir(b)).sort()];
  if (!isDeepStrictEqual(filesA, filesB)) return [`file sets differ: ${filesA.join(', ')} vs ${filesB.join(', ')}`];
  const differences: string[] = [];
  for (const name of filesA) {
    const [bytesA, bytesB] = await Promise.all([readFile(join(a, name)), readFile(join(b, name))]);
    if (name === 'run.json') {
      const [runA, runB] = [bytesA, bytesB].map((bytes) => normalisedRunRecord(JSON.parse(bytes.toString('utf8'))));
      for (const key of new Set([...Object.keys(runA), ...Object.keys(runB)])) {
        if (!isDeepStrictEqual(runA[key], runB[key])) differences.push(`run.json '${key}': ${JSON.stringify(runA[key])} vs ${JSON.stringify(runB[key])}`);
      }
    } else if (name === 'report.html') {
      const [reportA, reportB] = [bytesA, bytesB].map((bytes) => splitReport(bytes.toString('utf8')));
      if (reportA.page !== reportB.page) differences.push('report.html: the page around its data differs');
      if (!isDeepStrictEqual(reportA.data, reportB.data)) differences.push('report.html: its data differs');
    } else if (!bytesA.equals(bytesB)) {
      differences.push(`${name}: the bytes differ`);
    }
  }
  return differences;
}
