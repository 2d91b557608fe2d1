import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseCsv } from 'csv-parse/sync';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../bin/zeroshot.js', import.meta.url));
const FACES = fileURLToPath(new URL('../fixtures/demo-faces/', import.meta.url));
const TRAINING = fileURLToPath(new URL('../fixtures/demo-clip/training.json', import.meta.url));

test('zeroshot demo: the trained toy model beats chance on the held-out demo faces, audited by gender', async () => {
  const out = await mkdtemp(join(tmpdir(), 'zs-demo-'));
  const cache = join(out, 'embeddings.sqlite'); // never the user's cache
  const { stdout, stderr } = await run(process.execPath, [CLI, 'demo', '--out', join(out, 'results')], { env: { ...process.env, ZEROSHOT_CACHE: cache } });
  assert.match(stderr, /the model is a toy, trained here on \d+ FairFace faces \(fixtures\/demo-clip\), not CLIP/);
  assert.match(stderr, /Its numbers show how the audit reads, not how CLIP behaves/);

  const faces = parseCsv(await readFile(join(FACES, 'labels.csv'), 'utf8'), { columns: true }) as { race: string }[];
  assert.match(stdout, new RegExp(`${faces.length} images embedded`));
  const metrics = JSON.parse(await readFile(join(out, 'results', 'metrics.json'), 'utf8'));
  const classes = metrics.classes as string[];
  const sum = metrics.strategies.sum as { n: number; accuracy: number };
  assert.equal(sum.n, faces.length);
  // The faces are balanced by race, so always answering one class scores exactly 1/7.
  assert.ok(sum.accuracy > 1 / classes.length + 0.05, `sum accuracy ${sum.accuracy} is not above chance ${1 / classes.length}`);

  const attributes = metrics.groups.strategies.sum.attributes as { attribute: string; groups: Record<string, { n: number; too_small: boolean }> }[];
  const gender = attributes.find((a) => a.attribute === 'gender');
  assert.ok(gender, 'no gender audit in metrics.json');
  assert.deepEqual(Object.keys(gender.groups).sort(), ['Female', 'Male']);
  // Both groups are large enough for the audit's default --min-group-size, so the gaps are reported.
  assert.equal(gender.groups.Female.too_small, false);
  assert.equal(gender.groups.Male.too_small, false);

  // The note quotes training.json; the faces there are the ones held out from training.
  const training = JSON.parse(await readFile(TRAINING, 'utf8'));
  assert.match(stderr, new RegExp(`trained here on ${training.split.train.count} FairFace faces`));
  assert.equal(training.split.demo_faces.count, faces.length);
});
