// zeroshot run --unmatched-labels: label values that name no class of the spec stop the run (error, the default)
// or leave their images out of the metrics and the audit (skip), counted in run.json; the real CLI on the tiny model.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { parse as parseCsv } from 'csv-parse/sync';
import type { RunFile } from '../src/report/result_files.js';

const execute = promisify(execFile);
const CLI = fileURLToPath(new URL('../bin/zeroshot.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/tiny-clip', import.meta.url));
const ROOT = await mkdtemp(join(tmpdir(), 'zs-unmatched-'));
const IMAGES = join(ROOT, 'images');
const LABELS = join(ROOT, 'labels.csv');
const COLUMNS = ['--label-column', 'colour', '--groups', 'shade', '--bootstrap', '50'];
const MODEL_ARGS = ['--model', FIXTURE, '--offline', '--threads', '1', '--cache', join(ROOT, 'cache.sqlite'), '--no-report', '-q'];
// No class 'warm': the CSV's warm images name no class of this spec.
const SPEC = join(ROOT, 'cool.yaml');
const FULL_SPEC = join(ROOT, 'colours.yaml');

after(() => rm(ROOT, { recursive: true, force: true }));

async function zeroshot(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execute(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T;

/** 12 noise images: 4 red (warm), 2 orange (hot), 6 blue or green (cool), with a shade group. */
await mkdir(IMAGES, { recursive: true });
const rows = ['file,colour,shade'];
const blanked = ['file,colour,shade'];
const colours: [string, number, number, number, string, number][] = [['red', 220, 30, 30, 'warm', 4], ['orange', 240, 140, 20, 'hot', 2], ['blue', 20, 40, 230, 'cool', 3], ['green', 30, 200, 40, 'cool', 3]];
for (const [name, r, g, b, colour, count] of colours) {
  for (let k = 0; k < count; k++) {
    const noise = Buffer.from(Array.from({ length: 48 * 48 * 3 }, (_, i) => [r, g, b][i % 3] ^ ((i * 7919 + k * 131) % 61)));
    const file = `${name}-${k}.png`;
    await sharp(noise, { raw: { width: 48, height: 48, channels: 3 } }).toFile(join(IMAGES, file));
    const shade = k % 2 ? 'dark' : 'light';
    rows.push(`${file},${colour},${shade}`);
    blanked.push(`${file},${colour === 'cool' ? colour : ''},${shade}`);
  }
}
await writeFile(LABELS, rows.join('\n') + '\n');
await writeFile(SPEC, 'name: cool-only\nclasses:\n  cool: [a photo of something cool, a photo of something blue]\n  other: [a photo of something else]\n');
await writeFile(FULL_SPEC, 'name: colours\nclasses:\n  warm: [a photo of something warm, a photo of something red]\n  cool: [a photo of something cool, a photo of something blue]\n');

test('by default a label value that names no class stops the run, naming the values and the flag', async () => {
  const out = join(ROOT, 'refused');
  const refused = await zeroshot(['run', '--images', IMAGES, '--labels', LABELS, ...COLUMNS, '--spec', SPEC, '--out', out, ...MODEL_ARGS]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /values that are no class of the spec: 'hot' \(2\), 'warm' \(4\); the classes are: cool, other\..*--unmatched-labels skip/);
  await assert.rejects(readdir(out), { code: 'ENOENT' });
});

test('--unmatched-labels skip: every image scored, the unmatched ones left out of the metrics as unlabelled, counted in run.json', async () => {
  const out = join(ROOT, 'skipped');
  const skipped = await zeroshot(['run', '--images', IMAGES, '--labels', LABELS, ...COLUMNS, '--spec', SPEC, '--unmatched-labels', 'skip', '--out', out, ...MODEL_ARGS]);
  assert.equal(skipped.code, 0, skipped.stderr);
  const warnings = skipped.stderr.split('\n').filter((line) => line.startsWith('zeroshot: warning:'));
  assert.equal(warnings.length, 1, skipped.stderr);
  assert.match(warnings[0], /6 images left out of the metrics and the audit.*'hot' \(2\), 'warm' \(4\)/);

  const run = await readJson<RunFile>(join(out, 'run.json'));
  assert.deepEqual(run.unmatched_labels, { policy: 'skip', left_out: { warm: 4, hot: 2 } });
  assert.equal(run.counts.embedded, 12);
  assert.equal(run.counts.labelled, 6);
  assert.equal(run.counts.unlabelled, 6);
  assert.match(skipped.stdout, /6 labelled \(6 without a label/);

  const predictions: Record<string, string>[] = parseCsv(await readFile(join(out, 'predictions.csv'), 'utf8'), { columns: true });
  assert.equal(predictions.length, 12);
  for (const row of predictions) {
    assert.ok(['cool', 'other'].includes(row.sum), row.sum);
    assert.equal(row.label, /^(red|orange)/.test(row.image) ? '' : 'cool', row.image);
  }
  // The same metrics and audit as a run whose CSV leaves those labels empty.
  const blankedLabels = join(ROOT, 'blanked.csv');
  await writeFile(blankedLabels, blanked.join('\n') + '\n');
  const blankOut = join(ROOT, 'blanked');
  const blank = await zeroshot(['run', '--images', IMAGES, '--labels', blankedLabels, ...COLUMNS, '--spec', SPEC, '--out', blankOut, ...MODEL_ARGS]);
  assert.equal(blank.code, 0, blank.stderr);
  assert.equal(await readFile(join(out, 'metrics.json'), 'utf8'), await readFile(join(blankOut, 'metrics.json'), 'utf8'));
  assert.equal(await readFile(join(out, 'predictions.csv'), 'utf8'), await readFile(join(blankOut, 'predictions.csv'), 'utf8'));
  assert.deepEqual((await readJson<RunFile>(join(blankOut, 'run.json'))).unmatched_labels, { policy: 'error', left_out: {} });
});

test('--label-map before --unmatched-labels: mapped values count as their class; the folder keeps the map as label-map.yaml', async () => {
  const map = join(ROOT, 'map.yaml');
  // 'hot' becomes warm; 'warm' is mapped to a class the spec does not have (skipped under that value).
  await writeFile(map, 'warm: scarlet\nhot: warm\n');
  const out = join(ROOT, 'mapped');
  const mapped = await zeroshot(['run', '--images', IMAGES, '--labels', LABELS, ...COLUMNS, '--spec', FULL_SPEC, '--label-map', map, '--unmatched-labels', 'skip', '--out', out, ...MODEL_ARGS]);
  assert.equal(mapped.code, 0, mapped.stderr);
  const run = await readJson<RunFile>(join(out, 'run.json'));
  assert.deepEqual(run.unmatched_labels, { policy: 'skip', left_out: { warm: 4 } });
  assert.equal(run.counts.labelled, 8);
  assert.ok(run.files?.['label-map.yaml']);
  // In label-value order, as --label-map reads it.
  assert.equal(await readFile(join(out, 'label-map.yaml'), 'utf8'), 'hot: warm\nwarm: scarlet\n');
  const again = await zeroshot(['run', '--images', IMAGES, '--labels', LABELS, ...COLUMNS, '--spec', FULL_SPEC, '--label-map', join(out, 'label-map.yaml'), '--unmatched-labels', 'skip', '--out', join(ROOT, 'again'), ...MODEL_ARGS]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await readFile(join(ROOT, 'again', 'metrics.json'), 'utf8'), await readFile(join(out, 'metrics.json'), 'utf8'));
  assert.ok(!(await readdir(join(ROOT, 'blanked'))).includes('label-map.yaml'));
});

test('--unmatched-labels takes error or skip only', async () => {
  const bad = await zeroshot(['run', '--images', IMAGES, '--labels', LABELS, ...COLUMNS, '--spec', SPEC, '--unmatched-labels', 'drop', ...MODEL_ARGS]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--unmatched-labels.*'drop' is invalid.*error, skip/);
});
