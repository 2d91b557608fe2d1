// Static shards end to end through the built CLI (npm run build first): plan → embed each shard in its own process →
// collect, equal to a single-machine run; a shard process SIGKILLed while writing, then rerun; a done shard skipped;
// the Parquet metadata read back; collect with the images gone; two writers of one shard; names that are not UTF-8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { readNpyFloat32 } from '../src/encode/cache/npy.js';
import { ClipModel } from '../src/encode/model.js';
import { makePlan, readPlan, selectShard, shardsFolder } from '../src/shards/plan.js';
import { readShard, shardFiles, writeShard, type ShardMetadata } from '../src/shards/shard_files.js';
import { embedShard, planShards } from '../src/shards/shard_run.js';

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

  // Each shard's Parquet metadata (what clip-retrieval users load with pandas) describes its .npy row by row.
  const folder = shardsFolder(plan);
  for (const shard of manifest.shards) {
    const files = shardFiles(folder, shard.index);
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(files.parquet) });
    const metadata = JSON.parse(await readFile(files.metadata, 'utf8')) as ShardMetadata;
    assert.deepEqual(rows.map((row) => row.key), metadata.keys);
    assert.deepEqual(rows.map((row) => row.sha256), metadata.content_hashes);
    assert.deepEqual(rows.map((row) => row.image_path), metadata.keys.map((key) => join(IMAGES, key)));
    assert.deepEqual(readNpyFloat32(await readFile(files.embeddings), files.embeddings).shape, [rows.length, 32]);
  }

  // collect reads no image: with the folder gone it writes the same results (the report's thumbnails aside).
  const moved = join(dir, 'images-elsewhere');
  const copy = join(dir, 'images');
  await cp(IMAGES, copy, { recursive: true });
  const planOfCopy = join(dir, 'copy-plan.json');
  await zeroshot(['plan', copy, '--shard-size', '7', '--out', planOfCopy, '--model', MODEL, '--offline']);
  for (const shard of ['0/2', '1/2']) await embed(planOfCopy, shard);
  await rename(copy, moved);
  const labels = SCORING.map((arg) => (arg === join(IMAGES, 'labels.csv') ? join(moved, 'labels.csv') : arg));
  await zeroshot(['collect', planOfCopy, ...labels, '--out', join(dir, 'collected-without-images')]);
  assert.deepEqual(await outputs(join(dir, 'collected-without-images')), await singleMachineRun());
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

test('two writers of one shard: both finish, the first commit counts, nothing of the second is left', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zs-shards-two-'));
  const plan = await planIn(dir);
  const both = await Promise.all([embed(plan, '1/3'), embed(plan, '1/3')]);
  assert.equal(both.length, 2);
  const folder = join(dir, 'plan.shards');
  assert.deepEqual((await readdir(folder)).sort(), ['done', 'json', 'npy', 'parquet'].map((ext) => `shard-00001.${ext}`));
  const { metadata, embeddings } = readShard(folder, await readPlan(plan), 1);
  assert.equal(embeddings.length, metadata.keys.length * 32);

  // In one process, deterministically: a second commit of a done shard drops its files.
  const output = { metadata: { ...metadata, image_warnings: [{ image: 'x', warning: 'second writer' }] }, embeddings: new Float32Array(embeddings.length) };
  assert.equal(writeShard(folder, output.metadata, output.embeddings), 'already-done');
  assert.deepEqual(readShard(folder, await readPlan(plan), 1).metadata, metadata);
  assert.deepEqual((await readdir(folder)).sort(), ['done', 'json', 'npy', 'parquet'].map((ext) => `shard-00001.${ext}`));

  // A lock left by a writer that died is broken at once (on this machine, by its pid); so are its temporary files.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  const { lock } = shardFiles(folder, 2);
  const tag = `${dead}-${createHash('sha256').update(hostname()).digest('hex').slice(0, 8)}`; // shard_files.ts's writer name
  writeFileSync(lock, tag);
  writeFileSync(join(folder, `shard-00002.npy.${tag}.tmp`), 'half');
  await embed(plan, '2/3');
  assert.deepEqual((await readdir(folder)).filter((name) => name.startsWith('shard-00002.')).sort(), ['done', 'json', 'npy', 'parquet'].map((ext) => `shard-00002.${ext}`));
});

test('names that are not UTF-8 go through a plan by their bytes: embedded like the others', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zs-shards-latin1-'));
  const images = join(dir, 'images');
  await cp(IMAGES, images, { recursive: true });
  const name = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from('.jpg')]); // Latin-1 "café.jpg"
  writeFileSync(Buffer.concat([Buffer.from(images + '/'), name]), await readFile(join(IMAGES, '1.jpg')));
  const options = { model: MODEL, offline: true };
  const plan = await planShards(images, 100, options);
  assert.deepEqual(plan.raw_names, { 'caf\\xe9.jpg': name.toString('base64') });
  const planPath = join(dir, 'plan.json');
  assert.equal(await embedShard(plan, { ...options, planPath, shard: plan.shards[0], cache: false, preprocessWorkers: 0 }), 'embedded');
  const { metadata, embeddings } = readShard(shardsFolder(planPath), plan, 0);
  assert.deepEqual(metadata.failures, []);
  const row = (key: string) => embeddings.subarray(metadata.keys.indexOf(key) * 32, (metadata.keys.indexOf(key) + 1) * 32);
  assert.deepEqual(row('caf\\xe9.jpg'), row('1.jpg'));
  assert.equal(metadata.content_hashes[metadata.keys.indexOf('caf\\xe9.jpg')], metadata.content_hashes[metadata.keys.indexOf('1.jpg')]);
});

test("the embedding width comes from the vision graph's declared output shape, tower not loaded", async () => {
  for (const [fixture, dim] of [['tiny-clip', 32], ['siglip', 32], ['mobileclip', 16], ['chinese-clip', 16], ['jina-clip-v2', 32]] as const) {
    const model = await ClipModel.load({ model: fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url)), offline: true });
    assert.equal(await model.imageEmbeddingDim(), dim, fixture);
  }
});
