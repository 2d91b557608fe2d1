// The queue end to end through the built CLI (npm run build first), on a real Redis (test/helpers/redis_server.ts)
// and a real PostgreSQL (test/helpers/postgres_server.ts): plan → enqueue → `zeroshot worker` processes → collect
// --store, compared with a single-machine `zeroshot run` on the same 240 images; workers killed (SIGKILL) or frozen
// past their lock (SIGSTOP, SIGCONT) mid-shard; enqueue twice; collect killed while writing, then rerun; the
// database unreachable mid-run; a worker with another model than the plan's (its jobs fail at once), and a store no
// attempt reaches (attempts spent): both list the shards failed for good and exit 3. The stores
// alternate between PostgreSQL and a shared folder (the SIGSTOP test runs on both).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import pg from 'pg';
import sharp from 'sharp';
import { SHARDS_FAILED_EXIT_CODE } from '../src/cli/queue_commands.js';
import { shardJobId, urlLabel } from '../src/queue/bullmq_queue.js';
import { freePort, postgresUnavailable, testPostgres, type TestPostgres } from './helpers/postgres_server.js';
import { startTestRedis, type TestRedis } from './helpers/redis_server.js';

const execFileAsync = promisify(execFile);
const CLI = fileURLToPath(new URL('../bin/zeroshot.js', import.meta.url));
const KILLER = fileURLToPath(new URL('./helpers/kill_on_results_write.ts', import.meta.url));
const MODEL = fileURLToPath(new URL('../fixtures/tiny-clip', import.meta.url));
/** Another model than the plans': a worker given it cannot embed their shards. */
const OTHER_MODEL = fileURLToPath(new URL('../fixtures/demo-clip', import.meta.url));
const IMAGE_COUNT = 240;
const SHARD_SIZE = 40;
const SHARDS = IMAGE_COUNT / SHARD_SIZE;
// One ONNX Runtime thread and batches of 8 everywhere: the shards (40 = 5 batches) then batch the images exactly as
// the single-machine run does, so the similarities are equal to the bit.
const MODEL_FLAGS = ['--threads', '1', '--batch-size', '8', '--no-cache', '--offline'];
/** Fast takeovers: a lock of 2 s, checked every second. */
const WORKER_FLAGS = [...MODEL_FLAGS, '--lock-duration', '2000', '--stalled-interval', '1000', '--exit-when-empty'];
/** The outputs that must be equal; run.json differs in timings and counts of where embeddings came from. */
const COMPARED = ['predictions.csv', 'metrics.json', 'similarities.json'];
const RACES = ['White', 'Black', 'Latino_Hispanic', 'East Asian', 'Southeast Asian', 'Indian', 'Middle Eastern'];

let redis: TestRedis;
let postgres: TestPostgres | undefined;
const noPostgres = postgresUnavailable();
let images: string;
let scoring: string[];
let golden: Record<string, string>;

const zeroshot = (args: string[], preload: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  execFileAsync(process.execPath, [...preload, CLI, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 << 20 });

async function outputs(dir: string): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(COMPARED.map(async (name) => [name, await readFile(join(dir, name), 'utf8')])));
}

/** 240 small noise images (each its own content) with a race and a gender label each. */
async function makeImages(root: string): Promise<{ images: string; labels: string }> {
  const folder = join(root, 'images');
  await mkdir(join(folder, 'sub'), { recursive: true });
  const rows = ['file,race,gender'];
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let n = 0; n < IMAGE_COUNT; n++) {
    const pixels = Buffer.from(Array.from({ length: 40 * 40 * 3 }, () => Math.floor(random() * 256)));
    const name = `${n % 5 === 0 ? 'sub/' : ''}img${String(n).padStart(4, '0')}.png`;
    await sharp(pixels, { raw: { width: 40, height: 40, channels: 3 } }).png().toFile(join(folder, name));
    rows.push(`${name},${RACES[n % RACES.length]},${n % 2 ? 'Female' : 'Male'}`);
  }
  const labels = join(root, 'labels.csv');
  await writeFile(labels, rows.join('\n') + '\n');
  return { images: folder, labels };
}

before(async () => {
  [redis, postgres] = await Promise.all([startTestRedis(), noPostgres ? undefined : testPostgres()]);
  const root = await mkdtemp(join(tmpdir(), 'zs-queue-'));
  const made = await makeImages(root);
  images = made.images;
  scoring = ['--spec', 'fairface-race', '--labels', made.labels, '--label-column', 'race', '--groups', 'gender', ...MODEL_FLAGS, '-q'];
  const out = join(root, 'golden');
  await zeroshot(['run', '--images', images, '--model', MODEL, ...scoring, '--out', out]);
  golden = await outputs(out);
});

after(async () => {
  await Promise.all([redis?.stop(), postgres?.close()]);
});

type StoreKind = 'postgres' | 'folder';
/** A test's own store: a fresh database, or a folder. */
const storeFor = async (kind: StoreKind, dir: string) => (kind === 'postgres' ? postgres!.newDatabase() : join(dir, 'store'));
/** Skips a PostgreSQL test where no server can be had. */
const needs = (kind: StoreKind) => ({ skip: kind === 'postgres' ? noPostgres : undefined });

/** A fresh plan, its queue and store folder, the plan enqueued. */
async function enqueued(label: string, kind: StoreKind, enqueueFlags: string[] = []): Promise<{ dir: string; plan: string; queue: string; store: string; enqueueOutput: string }> {
  const dir = await mkdtemp(join(tmpdir(), `zs-queue-${label}-`));
  const plan = join(dir, 'plan.json');
  await zeroshot(['plan', images, '--shard-size', String(SHARD_SIZE), '--out', plan, '--model', MODEL, '--offline']);
  const queue = redis.queueName(label);
  const { stderr } = await zeroshot(['enqueue', plan, '--redis', redis.url, '--queue', queue, '--backoff', '500', ...enqueueFlags]);
  return { dir, plan, queue, store: await storeFor(kind, dir), enqueueOutput: stderr };
}

interface RunningWorker {
  readonly child: ChildProcess;
  readonly log: () => string;
  /** Resolves with the first log line matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A `zeroshot worker` process; `detached` gives it a process group of its own (with its shard processes). */
function startWorker(queue: string, store: string, detached = false, flags: string[] = []): RunningWorker {
  const child = spawn(process.execPath, [CLI, 'worker', '--redis', redis.url, '--queue', queue, '--store', store, ...WORKER_FLAGS, ...flags], { detached, stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    for (const waiter of [...waiters]) {
      const line = text.split('\n').find((l) => waiter.pattern.test(l));
      if (line) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    log: () => text,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const line = text.split('\n').find((l) => pattern.test(l));
        if (line) return resolve(line);
        const timer = setTimeout(() => reject(new Error(`no worker log line matching ${pattern} in ${timeoutMs} ms:\n${text}`)), timeoutMs);
        waiters.push({ pattern, resolve: (found) => (clearTimeout(timer), resolve(found)) });
      }),
    exited,
  };
}

async function collect(plan: string, store: string, out: string): Promise<Record<string, string>> {
  await zeroshot(['collect', plan, '--store', store, ...scoring, '--out', out]);
  return outputs(out);
}

/** Every image in the store exactly once: the shard files' keys or the database's rows, over all shards. */
async function assertOneRowPerImage(store: string): Promise<void> {
  if (store.startsWith('postgres://')) {
    const client = new pg.Client({ connectionString: store });
    await client.connect();
    try {
      const count = async (sql: string) => Number((await client.query<{ n: string }>(sql)).rows[0].n);
      assert.equal(await count('SELECT count(*) AS n FROM shards'), SHARDS);
      assert.equal(await count('SELECT count(*) AS n FROM image_embeddings'), IMAGE_COUNT);
      const keys = (await client.query<{ keys: string[] }>("SELECT metadata->'keys' AS keys FROM shards")).rows.flatMap((row) => row.keys);
      assert.equal(keys.length, IMAGE_COUNT);
      assert.equal(new Set(keys).size, IMAGE_COUNT, 'an image in two shards');
    } finally {
      await client.end();
    }
    return;
  }
  const files = (await readdir(store)).filter((name) => /^shard-\d+\.json$/.test(name));
  assert.equal(files.length, SHARDS, (await readdir(store)).join(' '));
  const keys = (await Promise.all(files.map(async (name) => (JSON.parse(await readFile(join(store, name), 'utf8')) as { keys: string[] }).keys))).flat();
  assert.equal(keys.length, IMAGE_COUNT);
  assert.equal(new Set(keys).size, IMAGE_COUNT, 'an image stored twice');
}

/** Processes of a process group that are still running (zombies waiting to be reaped excluded). */
async function livingInGroup(pgid: number): Promise<string[]> {
  const { stdout } = await execFileAsync('ps', ['-eo', 'pid=,pgid=,stat=,args=']);
  return stdout.split('\n').filter((line) => {
    const [, group, stat] = line.trim().split(/\s+/);
    return Number(group) === pgid && stat !== undefined && !stat.startsWith('Z');
  });
}

async function jobCounts(queue: string): Promise<Record<string, number>> {
  const handle = new Queue(queue, { connection: { url: redis.url } });
  try {
    return await handle.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
  } finally {
    await handle.close();
  }
}

test('two workers embed the queued shards into PostgreSQL and collect equals a single-machine run; enqueue twice adds no job; collect killed while writing, rerun', needs('postgres'), async () => {
  const { dir, plan, queue, store, enqueueOutput } = await enqueued('two', 'postgres');
  assert.match(enqueueOutput, new RegExp(`${SHARDS} shard jobs added, 0 already queued`));
  const again = await zeroshot(['enqueue', plan, '--redis', redis.url, '--queue', queue]);
  assert.match(again.stderr, new RegExp(`0 shard jobs added, ${SHARDS} already queued or done`));
  assert.deepEqual(await jobCounts(queue), { waiting: SHARDS, active: 0, delayed: 0, prioritized: 0, completed: 0, failed: 0 });

  const workers = [startWorker(queue, store), startWorker(queue, store)];
  const ends = await Promise.all(workers.map((worker) => worker.exited));
  assert.deepEqual(ends, [{ code: 0, signal: null }, { code: 0, signal: null }], workers.map((w) => w.log()).join('\n'));
  const embedded = workers.map((worker) => worker.log().match(/images embedded/g)?.length ?? 0);
  assert.equal(embedded[0] + embedded[1], SHARDS, workers.map((w) => w.log()).join('\n'));
  assert.deepEqual(await jobCounts(queue), { waiting: 0, active: 0, delayed: 0, prioritized: 0, completed: SHARDS, failed: 0 });
  await assertOneRowPerImage(store);
  // Enqueued again once done: still nothing added, the completed jobs are kept.
  assert.match((await zeroshot(['enqueue', plan, '--redis', redis.url, '--queue', queue])).stderr, /0 shard jobs added/);

  assert.deepEqual(await collect(plan, store, join(dir, 'collected')), golden);
  // A collect killed while it writes its results, then run again into the same folder: the same outputs.
  const out = join(dir, 'killed');
  await assert.rejects(
    zeroshot(['collect', plan, '--store', store, ...scoring, '--out', out], ['--import', 'tsx', '--import', KILLER], { ZS_KILL_RESULTS: out }),
    (error: { signal?: string }) => error.signal === 'SIGKILL',
  );
  assert.ok((await readdir(dir)).some((name) => name.startsWith('.killed.staging-')), 'no half-written results left to clean up');
  assert.deepEqual(await collect(plan, store, out), golden);
});

test('a worker SIGKILLed mid-shard: its shard process stops too, another worker takes the shard over, one row per image in PostgreSQL, outputs equal', needs('postgres'), async () => {
  const { dir, plan, queue, store } = await enqueued('kill', 'postgres');
  const victim = startWorker(queue, store, true);
  await victim.waitFor(/shard \d+ of plan \w+: started/);
  process.kill(victim.child.pid!, 'SIGKILL');
  assert.deepEqual(await victim.exited, { code: null, signal: 'SIGKILL' });
  // Its shard process notices that the worker is gone and exits without committing.
  const deadline = Date.now() + 10_000;
  while ((await livingInGroup(victim.child.pid!)).length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(await livingInGroup(victim.child.pid!), []);
  assert.equal(victim.log().match(/images embedded/g), null, victim.log());

  const survivor = startWorker(queue, store);
  assert.deepEqual(await survivor.exited, { code: 0, signal: null }, survivor.log());
  assert.match(survivor.log(), /stopped renewing its lock; back in the queue/);
  assert.equal(survivor.log().match(/images embedded/g)?.length, SHARDS, survivor.log());
  assert.equal((await jobCounts(queue)).completed, SHARDS);
  await assertOneRowPerImage(store);
  assert.deepEqual(await collect(plan, store, join(dir, 'collected')), golden);
});

for (const kind of ['postgres', 'folder'] as const) {
  test(`a worker frozen (SIGSTOP) past its lock mid-shard: another takes the shard over; continued (SIGCONT), it adds no row to the ${kind === 'postgres' ? 'PostgreSQL store' : 'shared folder'}; outputs equal`, needs(kind), async () => {
    const { dir, plan, queue, store } = await enqueued(`stop-${kind}`, kind);
    const frozen = startWorker(queue, store, true);
    await frozen.waitFor(/shard \d+ of plan \w+: started/);
    // The whole process group: the worker and its shard process, as when a machine is paused.
    process.kill(-frozen.child.pid!, 'SIGSTOP');
    const other = startWorker(queue, store);
    assert.deepEqual(await other.exited, { code: 0, signal: null }, other.log());
    assert.match(other.log(), /stopped renewing its lock; back in the queue/);
    assert.equal(other.log().match(/images embedded/g)?.length, SHARDS, other.log());
    await assertOneRowPerImage(store);
    process.kill(-frozen.child.pid!, 'SIGCONT');
    assert.deepEqual(await frozen.exited, { code: 0, signal: null }, frozen.log());
    // Its lock was gone; its shard process went on and committed the shard a second time: no row more.
    assert.match(frozen.log(), /this worker could not renew its lock/);
    assert.equal(frozen.log().match(/images embedded/g), null, frozen.log());
    assert.deepEqual(await jobCounts(queue), { waiting: 0, active: 0, delayed: 0, prioritized: 0, completed: SHARDS, failed: 0 });
    await assertOneRowPerImage(store);
    assert.deepEqual(await collect(plan, store, join(dir, 'collected')), golden);
  });
}

/**
 * The end of a worker that left the queue empty with every shard failed for good: exit code 3, and one line per
 * shard, after a heading, with its attempts and its job's failedReason (which `reason` must match).
 */
async function assertShardsFailedForGood(worker: RunningWorker, attempts: string, reason: RegExp): Promise<void> {
  assert.deepEqual(await worker.exited, { code: SHARDS_FAILED_EXIT_CODE, signal: null }, worker.log());
  const lines = worker.log().split('\n');
  const heading = lines.findIndex((line) => line === `worker: the queue is empty, but ${SHARDS} shards failed for good (\`zeroshot enqueue\` the plan again to retry them):`);
  assert.ok(heading >= 0, worker.log());
  const listed = lines.slice(heading + 1).filter((line) => line.startsWith('  '));
  assert.deepEqual(listed.map((line) => Number(/^ {2}shard (\d+) of plan \w{12}, /.exec(line)?.[1])).sort(), Array.from({ length: SHARDS }, (_, i) => i), worker.log());
  for (const line of listed) {
    assert.ok(line.includes(`, after ${attempts} attempts: `), line);
    assert.match(line, reason);
  }
}

test('a worker whose model is not the plan\'s: each job fails at its first attempt with the reason, not retried; the worker lists them and exits 3', async () => {
  const { queue, store } = await enqueued('wrong-model', 'folder', ['--attempts', '3']);
  const worker = startWorker(queue, store, false, ['--model', OTHER_MODEL]);
  const wrongModel = /plan 'plan \w+ \(queue [^)]+\)' was made with another model than this one .*give the plan's --model/;
  await assertShardsFailedForGood(worker, '1 of 3', wrongModel);
  const failures = worker.log().split('\n').filter((line) => / failed \(/.test(line));
  assert.equal(failures.length, SHARDS, worker.log());
  for (const line of failures) {
    assert.match(line, new RegExp(`failed \\(attempt 1/3\\): ${wrongModel.source}`));
    assert.match(line, /not retried, since no retry can succeed/);
  }
  assert.deepEqual(await jobCounts(queue), { waiting: 0, active: 0, delayed: 0, prioritized: 0, completed: 0, failed: SHARDS });
});

test('a store no attempt can reach: each shard spends its attempts; the worker lists the shards with their errors and exits 3', async () => {
  const { queue } = await enqueued('no-store', 'folder', ['--attempts', '2']);
  const store = `postgres://127.0.0.1:${await freePort()}/zeroshot`;
  const worker = startWorker(queue, store);
  await assertShardsFailedForGood(worker, '2 of 2', /PostgreSQL store postgres:\/\/127\.0\.0\.1:\d+\/zeroshot: cannot connect/);
  assert.equal(worker.log().match(/failed \(attempt 1\/2\): .*; retried in 0\.5 s/g)?.length, SHARDS, worker.log());
  assert.equal(worker.log().match(/failed \(attempt 2\/2\): .*; no attempts left/g)?.length, SHARDS, worker.log());
  assert.deepEqual(await jobCounts(queue), { waiting: 0, active: 0, delayed: 0, prioritized: 0, completed: 0, failed: SHARDS });
});

test('PostgreSQL unreachable mid-run: the job fails with an error naming the store, and its retry succeeds once the database is back', needs('postgres'), async () => {
  const { dir, plan, queue, store } = await enqueued('pg-down', 'postgres', ['--attempts', '6']);
  const worker = startWorker(queue, store);
  await worker.waitFor(/images embedded/);
  await postgres!.stop();
  const failure = await worker.waitFor(/failed \(attempt 1\/6\)/);
  assert.match(failure, /PostgreSQL store postgres:\/\/[^ ]*127\.0\.0\.1:\d+\/zs_test_\w+/);
  assert.match(failure, /retried in 0\.5 s/);
  await postgres!.start();
  assert.deepEqual(await worker.exited, { code: 0, signal: null }, worker.log());
  assert.equal(worker.log().match(/images embedded/g)?.length, SHARDS, worker.log());
  assert.deepEqual(await jobCounts(queue), { waiting: 0, active: 0, delayed: 0, prioritized: 0, completed: SHARDS, failed: 0 });
  await assertOneRowPerImage(store);
  assert.deepEqual(await collect(plan, store, join(dir, 'collected')), golden);
});

test('SIGTERM: the worker takes no new shard, finishes the running one and exits 0; the other shards stay queued', async () => {
  const { queue, store } = await enqueued('term', 'folder');
  const worker = startWorker(queue, store);
  await worker.waitFor(/shard \d+ of plan \w+: started/);
  worker.child.kill('SIGTERM');
  assert.deepEqual(await worker.exited, { code: 0, signal: null }, worker.log());
  assert.match(worker.log(), /SIGTERM: taking no new shard, finishing the running one/);
  assert.equal(worker.log().match(/images embedded/g)?.length, 1, worker.log());
  assert.deepEqual(await jobCounts(queue), { waiting: SHARDS - 1, active: 0, delayed: 0, prioritized: 0, completed: 1, failed: 0 });
});

test('job ids from the plan id and shard; URLs shown without their password; an unreachable Redis said in words; --device cuda without CUDA refused at start', async () => {
  assert.equal(shardJobId('0123456789abcdef0123', 7), '0123456789abcdef-7');
  assert.equal(urlLabel('redis://user:secret@redis.internal:6380/2'), 'redis://user@redis.internal:6380/2');
  assert.equal(urlLabel('redis://:secret@127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  const dir = await mkdtemp(join(tmpdir(), 'zs-queue-down-'));
  const port = await freePort();
  await assert.rejects(zeroshot(['worker', '--redis', `redis://:secret@127.0.0.1:${port}`, '--store', dir]), (error: { stderr: string }) => {
    assert.match(error.stderr, new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port} \\(connect ECONNREFUSED`));
    assert.doesNotMatch(error.stderr, /secret/);
    return true;
  });
  await assert.rejects(zeroshot(['worker', '--redis', 'http://127.0.0.1:1', '--store', dir]), /give a redis:\/\/ or rediss:\/\/ URL/);
  // No CUDA here: refused before taking any shard (and before reaching Redis).
  await assert.rejects(zeroshot(['worker', '--redis', `redis://127.0.0.1:${port}`, '--store', dir, '--device', 'cuda']), /--device cuda: /);
});
