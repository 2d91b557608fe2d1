// Static shards end to end through the built CLI (npm run build first): plan → embed each shard in its own process →
// collect, equal to a single-machine run; a shard process SIGKILLed while writing, then rerun; a done shard skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makePlan, readPlan, selectShard } from '../src/shards/plan.js';

const execFileAsync = promisify(execFile);
const CLI = fileURLToPath(new URL('../bin/zeroshot.js', import.meta.url));
const KILLER = fileURLToPath(new URL('./helpers/kill_in_write.ts', import.meta.url));
const MODEL = fileURLToPath(new URL('../fixtures/tiny-clip', import.meta.url));
const IMAGES = fileURLToPath(new URL('../fixtures/demo-images', import.meta.url));
const SCORING = ['--spec', 'fairface-race', '--labels', join(IMAGES, 'labels.csv'), '--label-column', 'race', '--groups', 'gender', '--no-cache', '--offline', '-q'];
/** The outputs that must be equal; run.json differs in timings and counts of where embeddings came from. */
const COMPARED = ['predictions.csv', 'metrics.json', 'similarities.json'];

const zeroshot = (args: string[], env: NodeJS.ProcessEnv = {}, preload: string[] = []) =>
  execFileAsync(process.execPath, [...preload, CLI, ...args], { env: { ...process.env, ...env } });

async function planIn(dir: string): Promise<string> {
  const plan = join(dir, 'plan.json');
  await zeroshot(['plan', IMAGES, '--shard-size', '5', '--out', plan, '--model', MODEL, '--offline']);
  return plan;
}

const embed = (plan: string, shard: string, env: NodeJS.ProcessEnv = {}, preload: string[] = []) =>
  zeroshot(['embed', plan, ...(shard ? ['--shard', shard] : []), '--no-cache', '--offline'], env, preload);

async function outputs(dir: string): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(COMPARED.map(async (name) => [name, await readFile(join(dir, name), 'utf8')])));
}

let golden: Promise<Record<string, string>> | undefined;
/** A single-machine `zeroshot run` on the same images, made once. */
function singleMachineRun(): Promise<Record<string, string>> {
  golden ??= (async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'zs-shards-run-')), 'results');
    await zeroshot(['run', '--images', IMAGES, '--model', MODEL, ...SCORING, '--out', out]);
    return outputs(out);
  })();
  return golden;
}

async function collect(plan: string, dir: string): Promise<Record<string, string>> {
  const out = join(dir, 'collected');
  await zeroshot(['collect', plan, ...SCORING, '--out', out]);
  return outputs(out);
}

test('plan → embed every shard in its own process → collect equals a single-machine run', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zs-shards-'));
  const plan = await planIn(dir);
  const manifest = await readPlan(plan);
  assert.equal(manifest.images.length, 14);
  assert.deepEqual(manifest.shards.map((s) => [s.start, s.count]), [[0, 5], [5, 5], [10, 4]]);
  assert.deepEqual(manifest.images, [...manifest.images].sort());
  // Shard 0 by --shard, 1 as a Slurm array task, 2 as a Kubernetes Indexed Job.
  await embed(plan, '0/3');
  await embed(plan, '', { SLURM_ARRAY_TASK_ID: '1' });
  await embed(plan, '', { JOB_COMPLETION_INDEX: '2' });
  assert.deepEqual(await collect(plan, dir), await singleMachineRun());
});

test('a shard process killed mid-write leaves no partial shard: the rerun redoes it and the result equals the run', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zs-shards-kill-'));
  const plan = await planIn(dir);
  const folder = join(dir, 'plan.shards');
  const killed = (at: string, shard: string) =>
    assert.rejects(embed(plan, shard, { ZS_KILL_AT: at }, ['--import', 'tsx', '--import', KILLER]), (error: { signal?: string }) => error.signal === 'SIGKILL');
  // Inside the embeddings' data (only a temporary file exists), and between the embeddings and the metadata.
  await killed('write', '1/3');
  await killed('rename:1', '2/3');
  const left = await readdir(folder);
  assert.ok(left.some((name) => name.startsWith('shard-00001.') && name.endsWith('.tmp')), left.join(' '));
  assert.ok(left.includes('shard-00002.npy') && !left.includes('shard-00002.done'), left.join(' '));
  await assert.rejects(collect(plan, dir), /shards are not done/);

  for (const shard of ['0/3', '1/3', '2/3']) await embed(plan, shard);
  const files = (await readdir(folder)).sort();
  assert.deepEqual(files, [0, 1, 2].flatMap((k) => ['done', 'json', 'npy', 'parquet'].map((ext) => `shard-0000${k}.${ext}`)));
  assert.deepEqual(await collect(plan, dir), await singleMachineRun());
});

test('a done shard is skipped by a rerun; another plan or a wrong shard count is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zs-shards-skip-'));
  const plan = await planIn(dir);
  await embed(plan, '0/3');
  const npy = join(dir, 'plan.shards', 'shard-00000.npy');
  const before = (await stat(npy)).mtimeMs;
  const { stderr } = await embed(plan, '0/3');
  assert.match(stderr, /already done, skipped/);
  assert.equal((await stat(npy)).mtimeMs, before);
  await assert.rejects(embed(plan, '0/4'), /the plan has 3 shards, not 4/);
  await assert.rejects(embed(plan, '', { SLURM_ARRAY_TASK_ID: '3' }), /shards are numbered 0 to 2/);
  // An edited manifest is not taken for the plan whose shards are on disk.
  const manifest = JSON.parse(await readFile(plan, 'utf8'));
  await writeFile(plan, JSON.stringify({ ...manifest, shard_size: 4 }));
  await assert.rejects(embed(plan, '0/3'), /was edited after it was made/);
});

test('makePlan: sorted keys, contiguous shards, an id that follows the content; selectShard reads the array index', () => {
  const scope = { modelFp: 'm', preprocessFp: 'p' };
  const plan = makePlan(['b.jpg', 'a/c.png', 'a.jpg'], '/data', { id: 'x' }, scope, 2);
  assert.deepEqual(plan.images, ['a.jpg', 'a/c.png', 'b.jpg']);
  assert.deepEqual(plan.shards, [{ index: 0, start: 0, count: 2 }, { index: 1, start: 2, count: 1 }]);
  assert.equal(makePlan(['a.jpg', 'b.jpg', 'a/c.png'], '/data', { id: 'x' }, scope, 2).id, plan.id);
  assert.notEqual(makePlan(['a.jpg', 'b.jpg'], '/data', { id: 'x' }, scope, 2).id, plan.id);
  assert.notEqual(makePlan(['a.jpg', 'b.jpg', 'a/c.png'], '/data', { id: 'x' }, { ...scope, preprocessFp: 'q' }, 2).id, plan.id);
  assert.equal(selectShard(plan, '1/2').index, 1);
  assert.equal(selectShard(plan, undefined, { JOB_COMPLETION_INDEX: '0' }).index, 0);
  assert.throws(() => selectShard(plan, undefined, {}), /SLURM_ARRAY_TASK_ID/);
  assert.throws(() => selectShard(plan, '1-2'), /give K\/N/);
  assert.throws(() => makePlan(['a.jpg'], '/data', { id: 'x' }, scope, 0), /--shard-size 0/);
});
