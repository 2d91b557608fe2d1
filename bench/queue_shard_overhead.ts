// What a queue worker spends per shard besides embedding: 12 shards of 8 images each (tiny-clip fixture, one ONNX
// thread, no cache), one worker, one shard at a time; prints each job's time from start to finish, in ms (BullMQ's
// processedOn and finishedOn), in the order they ran.
// node --import tsx bench/queue_shard_overhead.ts   (needs the build: npm run build)
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import sharp from 'sharp';
import { startTestRedis } from '../test/helpers/redis_server.js';

const CLI = fileURLToPath(new URL('../bin/zeroshot.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../fixtures/tiny-clip', import.meta.url));
const SHARDS = 12, SHARD_SIZE = 8;
const run = (args: string[]) => promisify(execFile)(process.execPath, [CLI, ...args]);

const redis = await startTestRedis();
try {
  const dir = await mkdtemp(join(tmpdir(), 'zs-bench-queue-'));
  const images = join(dir, 'images');
  await mkdir(images);
  for (let n = 0; n < SHARDS * SHARD_SIZE; n++) {
    const pixels = Buffer.alloc(40 * 40 * 3, (n * 37) % 256);
    pixels[n] = 255 - pixels[n];
    await sharp(pixels, { raw: { width: 40, height: 40, channels: 3 } }).png().toFile(join(images, `img${String(n).padStart(4, '0')}.png`));
  }
  const plan = join(dir, 'plan.json');
  await run(['plan', images, '--shard-size', String(SHARD_SIZE), '--out', plan, '--model', MODEL, '--offline']);
  const queue = redis.queueName('bench');
  await run(['enqueue', plan, '--redis', redis.url, '--queue', queue]);
  const flags = ['--threads', '1', '--batch-size', '8', '--workers', '1', '--no-cache', '--offline', '--exit-when-empty'];
  const worker = spawn(process.execPath, [CLI, 'worker', '--redis', redis.url, '--queue', queue, '--store', join(dir, 'store'), ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  worker.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  await new Promise((resolve) => worker.once('exit', resolve));
  const handle = new Queue(queue, { connection: { url: redis.url } });
  const jobs = (await handle.getJobs(['completed'])).sort((a, b) => a.processedOn! - b.processedOn!);
  await handle.close();
  if (jobs.length !== SHARDS) throw new Error(`expected ${SHARDS} completed shards:\n${log}`);
  const ms = jobs.map((job) => job.finishedOn! - job.processedOn!);
  const rest = ms.slice(1).sort((a, b) => a - b);
  console.log(`per shard (ms): ${ms.join(' ')}; first ${ms[0]}, median of the others ${rest[Math.floor(rest.length / 2)]}`);
} finally {
  await redis.stop();
}
