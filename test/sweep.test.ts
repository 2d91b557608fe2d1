/** zeroshot sweep end to end on the repo's fixtures, and the sweep file's validation. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { runSweep } from '../src/cli/sweep.js';
import { parseSweepFile, readSweepFile } from '../src/cli/sweep_file.js';
import { readComparisonFile, readRunFile } from '../src/report/result_files.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const BASE_SWEEP = {
  images: `${ROOT}fixtures/demo-images`,
  labels: `${ROOT}fixtures/demo-images/labels.csv`,
  label_column: 'race',
  groups: ['gender'],
  offline: true,
  models: [`${ROOT}fixtures/clip-hub`, `${ROOT}fixtures/siglip`],
  specs: ['fairface-race', 'fairface-race-pt'],
  dtypes: ['fp32', 'q8'],
  strategies: ['sum', 'max'],
  bootstrap: 100,
  min_group_size: 5,
};

describe('sweep file validation', () => {
  const check = (document: unknown, pattern: RegExp) => assert.rejects(parseSweepFile(stringify(document), 'my-sweep.yaml'), pattern);

  it('names the file, the entry and the fix', async () => {
    await check({ ...BASE_SWEEP, out: 'x', models: [] }, /^SweepFileError: my-sweep\.yaml: models: Too small: expected array to have >=1 items; list model ids or folders/);
    await check({ ...BASE_SWEEP, out: 'x', models: [{ model: 'a', dtypes: 'q8' }] }, /my-sweep\.yaml: models\[0\]\.dtypes: .*; list model ids or folders/);
    await check({ ...BASE_SWEEP, out: 'x', bootstrap: -1 }, /my-sweep\.yaml: bootstrap: .*; give a whole number of resamples/);
    await check({ ...BASE_SWEEP, out: 'x', modles: [] }, /my-sweep\.yaml: unknown key 'modles' at the top level; allowed here: images, labels, /);
    await check({ ...BASE_SWEEP }, /my-sweep\.yaml: out: Invalid input: expected string, received undefined; give the folder the sweep writes into/);
    await check({ ...BASE_SWEEP, out: 'x', strategies: ['sum', 'median'] }, /my-sweep\.yaml: strategies\[1\]: unknown strategy 'median'; use sum, mean, max, topk:K or embedding-mean/);
    await check({ ...BASE_SWEEP, out: 'x', specs: ['no-such-spec'] }, /my-sweep\.yaml: specs\[0\]: /);
    await check({ ...BASE_SWEEP, out: 'x', baseline: 'nope' }, /my-sweep\.yaml: baseline: 'nope' is none of the combinations \(clip-hub\.fairface-race\.fp32, /);
    await check({ ...BASE_SWEEP, out: 'x', models: ['a/m', 'b/m'] }, /models\[1\]: the combination m\.fairface-race\.fp32 is listed twice; give the model a different name/);
    await assert.rejects(parseSweepFile('models: [a\n', 'bad.yaml'), /bad\.yaml: not valid YAML/);
    await assert.rejects(readSweepFile('/nonexistent/sweep.yaml'), /\/nonexistent\/sweep\.yaml: cannot read the sweep file \(no such file\)/);
  });

  it('resolves paths against the sweep file, per-model dtypes, names each combination', async () => {
    const plan = await parseSweepFile(stringify({ ...BASE_SWEEP, out: 'out', models: [{ model: `${ROOT}fixtures/clip-hub`, name: 'clip', dtypes: ['fp32'] }, 'org/hub-model'] }), '/data/sweeps/s.yaml');
    assert.equal(plan.out, '/data/sweeps/out');
    assert.deepEqual(plan.combinations.map((c) => c.name), [
      'clip.fairface-race.fp32', 'clip.fairface-race-pt.fp32',
      'hub-model.fairface-race.fp32', 'hub-model.fairface-race.q8', 'hub-model.fairface-race-pt.fp32', 'hub-model.fairface-race-pt.q8',
    ]);
    assert.equal(plan.combinations[2].model, 'org/hub-model');
    assert.equal(plan.combinations[0].dir, '/data/sweeps/out/clip.fairface-race.fp32');
    assert.equal(plan.baseline, plan.combinations[0].dir);
  });
});

describe('zeroshot sweep on the fixtures', () => {
  let dir: string;
  let sweepPath: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zs-sweep-'));
    sweepPath = join(dir, 'sweep.yaml');
    await writeFile(sweepPath, stringify({ ...BASE_SWEEP, out: 'results', cache: 'embeddings.sqlite', baseline: 'clip-hub.fairface-race.fp32' }));
  });

  it('runs models × specs × dtypes into their own folders, then skips the complete ones and compares', async () => {
    const plan = await readSweepFile(sweepPath);
    const lines: string[] = [];
    const first = await runSweep(plan, { onLine: (line) => lines.push(line) });
    assert.equal(first.ran.length, 8);
    assert.match(lines[0], /^\[1\/8\] clip-hub\.fairface-race\.fp32: running \(not run yet\)$/);
    assert.match(lines[7], /^\[8\/8\] siglip\.fairface-race-pt\.q8: running/);
    assert.match(lines[8], /^comparing 8 runs against clip-hub\.fairface-race\.fp32/);

    // One cache: each image encoded once per model and dtype (the two specs share the image embeddings).
    const encoded = await Promise.all(plan.combinations.map(async (c) => (await readRunFile(c.dir)).counts.encoded));
    assert.deepEqual(encoded, [14, 14, 0, 0, 14, 14, 0, 0]);

    const comparison = await readComparisonFile(join(dir, 'results', 'comparison', 'comparison.json'));
    assert.deepEqual(comparison.runs.map((r) => r.name), first.comparison!.runs.map((r) => r.name));
    assert.equal(comparison.runs.length, 8);
    assert.equal(comparison.shared_images, 14);
    assert.equal(comparison.aligned_by, 'sha256');
    assert.equal(comparison.baseline, 'clip-hub.fairface-race.fp32');
    assert.deepEqual([...new Set(comparison.comparisons.map((c) => c.strategy))], ['sum', 'max']);
    assert.deepEqual(comparison.runs.map((r) => `${r.dtype}`), ['fp32', 'q8', 'fp32', 'q8', 'fp32', 'q8', 'fp32', 'q8']);
    // SigLIP's fixture predicts differently from CLIP's: the comparison sees changed images.
    assert.ok(comparison.comparisons.some((c) => c.run.startsWith('siglip') && c.changed_images > 0));
    for (const name of ['comparison.csv', 'comparison.md', 'comparison.tex', 'comparison.html', 'changed.csv']) {
      assert.ok((await stat(join(dir, 'results', 'comparison', name))).size > 0, name);
    }
    const predictions = await readFile(join(plan.combinations[0].dir, 'predictions.csv'), 'utf8');
    assert.match(predictions.split('\n')[0], /^image,sum,max,label,group:gender,sha256$/);

    // Again: every combination is complete and skipped, and says so.
    const again: string[] = [];
    const second = await runSweep(plan, { onLine: (line) => again.push(line) });
    assert.deepEqual(second.ran, []);
    assert.equal(second.skipped.length, 8);
    assert.match(again[2], /^\[3\/8\] clip-hub\.fairface-race-pt\.fp32: complete, skipped \(/);

    // A damaged folder is run again; other settings (here: the bootstrap) make every folder incomplete.
    await writeFile(join(plan.combinations[3].dir, 'predictions.csv'), 'image\n');
    const third = await runSweep(plan, {});
    assert.deepEqual(third.ran, [plan.combinations[3].name]);
    await writeFile(sweepPath, stringify({ ...BASE_SWEEP, out: 'results', cache: 'embeddings.sqlite', bootstrap: 50, models: [`${ROOT}fixtures/clip-hub`], specs: ['fairface-race'], dtypes: ['fp32'] }));
    const reasons: string[] = [];
    const fourth = await runSweep(await readSweepFile(sweepPath), { onLine: (line) => reasons.push(line) });
    assert.deepEqual(fourth.ran, ['clip-hub.fairface-race.fp32']);
    assert.equal(fourth.comparison, null);
    assert.equal(reasons.at(-1), 'one combination: nothing to compare');
    assert.match(reasons[0], /running \(run with other settings\)/);
  });
});
