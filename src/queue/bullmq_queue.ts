// The queue of shard jobs, on BullMQ + Redis: the only module that imports bullmq or ioredis.
//
// Layout in Redis (BullMQ's prefix `bull`, one queue, `zeroshot` unless --queue says otherwise):
// - the plan, stored once by `enqueue`, gzipped JSON at `bull:<queue>:zeroshot-plan:<plan id>`: a job carries only
//   { plan_id, shard, start, count }, however many images the plan lists; a worker fetches a plan once per process
//   and checks it (format, and an id that matches its content) before using it;
// - one job per shard, id `<first 16 hex digits of the plan id>-<shard>`: BullMQ adds nothing for an id it already
//   holds, so enqueueing a plan twice (or from two machines at once) adds no job twice.
// The worker runs each shard in a sandboxed processor (a child process forked by BullMQ), so ONNX Runtime, which
// blocks the thread that calls it, never delays the lock renewals and stalled checks of the worker's own process.
import { gunzipSync, gzipSync } from 'node:zlib';
import { Queue, UnrecoverableError, Worker, type Job, type SandboxedJob } from 'bullmq';
import { Redis } from 'ioredis';
import { checkPlan, PlanMismatchError, type ShardPlan } from '../shards/plan.js';

export const DEFAULT_QUEUE = 'zeroshot';
const PREFIX = 'bull';
/** Plans, completed and failed jobs are kept this long: long enough to see a run's outcome, not forever. */
const KEEP_COMPLETED_SECONDS = 7 * 24 * 3600;
const KEEP_FAILED_SECONDS = 30 * 24 * 3600;

export interface ShardJobData {
  readonly plan_id: string;
  readonly shard: number;
  readonly start: number;
  readonly count: number;
}

/** What `job.updateProgress` reports for a shard: images embedded (or failed) of the shard's. */
export interface ShardJobProgress {
  readonly done: number;
  readonly total: number;
}

export interface ShardJobResult {
  readonly outcome: 'embedded' | 'skipped';
  readonly images: number;
}

/** The job a sandboxed processor receives. */
export type ShardJob = SandboxedJob<ShardJobData, ShardJobResult>;

/** The URL without its password, for messages and logs. */
export function urlLabel(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

export const shardJobId = (planId: string, shard: number) => `${planId.slice(0, 16)}-${shard}`;
const planKey = (queueName: string, planId: string) => `${PREFIX}:${queueName}:zeroshot-plan:${planId}`;

function checkQueueName(queueName: string): void {
  if (!/^[A-Za-z0-9._-]+$/.test(queueName)) throw new Error(`--queue '${queueName}': use letters, digits, '.', '_' and '-' only`);
}

/**
 * A connection that is up, or an error saying which Redis could not be reached and why. BullMQ needs
 * `maxRetriesPerRequest: null`; once connected, ioredis reconnects by itself (every 0.2–5 s) when Redis goes away.
 */
async function connectRedis(url: string, name: string): Promise<Redis> {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new Error(`--redis '${url}': not a URL; give redis://[user:password@]host:port[/db]`);
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') throw new Error(`--redis ${urlLabel(url)}: give a redis:// or rediss:// URL`);
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null, connectionName: name, retryStrategy: (times) => Math.min(times * 200, 5000) });
  // The socket's own error (ECONNREFUSED, ENOTFOUND, …) says more than the rejection ("Connection is closed").
  // Later ones reach the worker through BullMQ's 'error' event; without a listener ioredis would print each.
  let socketError: unknown;
  redis.on('error', (error: unknown) => (socketError ??= error));
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (error) {
    redis.disconnect();
    throw new Error(`cannot reach Redis at ${urlLabel(url)} (${messageOf(socketError ?? error)}); is redis-server running there, and is --redis right?`);
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message || error.name : String(error));

export interface EnqueueOptions {
  readonly queueName?: string;
  /** Tries per shard, the first included. */
  readonly attempts: number;
  /** Delay before the first retry; each next one waits twice as long. */
  readonly backoffMs: number;
}

export interface EnqueueSummary {
  readonly queueName: string;
  /** Jobs added now. */
  readonly added: number;
  /** Shards whose job was already there (waiting, running, delayed for a retry, or completed). */
  readonly present: number;
  /** Shards whose job had failed every attempt, queued again. */
  readonly retried: number;
}

/** Stores the plan in Redis and adds one job per shard; jobs already there are left alone, failed ones retried. */
export async function enqueuePlan(redisUrl: string, plan: ShardPlan, options: EnqueueOptions): Promise<EnqueueSummary> {
  const queueName = options.queueName ?? DEFAULT_QUEUE;
  checkQueueName(queueName);
  const connection = await connectRedis(redisUrl, 'zeroshot-enqueue');
  const queue = new Queue<ShardJobData, ShardJobResult>(queueName, { connection, prefix: PREFIX });
  // Connection trouble rejects the calls below; BullMQ would print the event itself without a listener.
  queue.on('error', () => {});
  try {
    await connection.set(planKey(queueName, plan.id), gzipSync(JSON.stringify(plan)), 'EX', KEEP_FAILED_SECONDS);
    const existing = await Promise.all(plan.shards.map((shard) => queue.getJob(shardJobId(plan.id, shard.index))));
    const failed = (await Promise.all(existing.map(async (job) => (job && (await job.getState()) === 'failed' ? job : undefined)))).filter((job) => job !== undefined);
    const missing = plan.shards.filter((_, i) => !existing[i]);
    await queue.addBulk(
      missing.map((shard) => ({
        name: 'shard',
        data: { plan_id: plan.id, shard: shard.index, start: shard.start, count: shard.count },
        opts: {
          jobId: shardJobId(plan.id, shard.index),
          attempts: options.attempts,
          backoff: { type: 'exponential', delay: options.backoffMs },
          removeOnComplete: { age: KEEP_COMPLETED_SECONDS },
          removeOnFail: { age: KEEP_FAILED_SECONDS },
        },
      })),
    );
    for (const job of failed) await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    return { queueName, added: missing.length, present: existing.length - missing.length - failed.length, retried: failed.length };
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** The plan `enqueue` stored for `planId`, checked; for the sandboxed processor. */
export async function fetchPlan(redisUrl: string, queueName: string, planId: string): Promise<ShardPlan> {
  const connection = await connectRedis(redisUrl, 'zeroshot-plan');
  try {
    const stored = await connection.getBuffer(planKey(queueName, planId));
    const label = `redis plan ${planId.slice(0, 12)} in queue ${queueName}`;
    if (!stored) throw new PlanMismatchError(`${label} is not in Redis at ${urlLabel(redisUrl)} (expired after ${KEEP_FAILED_SECONDS / 86400} days, or removed); run \`zeroshot enqueue PLAN\` again`);
    const plan = checkPlan(JSON.parse(gunzipSync(stored).toString('utf8')) as ShardPlan, label);
    if (plan.id !== planId) throw new PlanMismatchError(`${label} holds plan ${plan.id.slice(0, 12)}; run \`zeroshot enqueue PLAN\` again`);
    return plan;
  } finally {
    connection.disconnect();
  }
}

/**
 * A processor's error as BullMQ should take it: one that no retry can cure (PlanMismatchError: the plan, the job and
 * the worker's model disagree) fails the job at once, with its message, instead of spending the job's attempts.
 * BullMQ recognises UnrecoverableError by its name, which survives the trip from the sandboxed child.
 */
export function asJobError(error: unknown): unknown {
  return error instanceof PlanMismatchError ? new UnrecoverableError(error.message) : error;
}

export interface ShardWorkerOptions {
  readonly redisUrl: string;
  readonly queueName?: string;
  readonly concurrency: number;
  /** How long a job's lock lasts without renewal (renewed every half of it). */
  readonly lockDurationMs: number;
  /** How often this worker looks for jobs whose worker stopped renewing their lock. */
  readonly stalledIntervalMs: number;
  /** How many times a job may be taken back from a worker that stopped before it fails. */
  readonly maxStalledCount: number;
  /** Stop once the queue holds no job waiting, running or waiting for a retry. */
  readonly exitWhenEmpty: boolean;
  /** The sandboxed processor module (default export: (job: ShardJob) => Promise<ShardJobResult>). */
  readonly processor: URL;
  /** Environment of the processor's child processes. */
  readonly processorEnv: NodeJS.ProcessEnv;
  readonly onEvent: (event: ShardWorkerEvent) => void;
}

export type ShardWorkerEvent =
  | { readonly kind: 'started'; readonly job: ShardJobData; readonly attempt: number; readonly attempts: number }
  | { readonly kind: 'progress'; readonly job: ShardJobData; readonly progress: ShardJobProgress }
  | { readonly kind: 'completed'; readonly job: ShardJobData; readonly result: ShardJobResult; readonly seconds: number }
  /** retryInMs: absent when the job failed for good (attempts spent, or `unrecoverable`: no retry could succeed). */
  | { readonly kind: 'failed'; readonly job: ShardJobData; readonly attempt: number; readonly attempts: number; readonly error: string; readonly retryInMs?: number; readonly unrecoverable: boolean }
  /** A job whose worker stopped renewing its lock, put back in the queue by this worker's stalled check. */
  | { readonly kind: 'stalled'; readonly jobId: string }
  /** This worker could not renew a lock: another worker may take the job over (its commit is idempotent). */
  | { readonly kind: 'lock-lost'; readonly jobId: string }
  | { readonly kind: 'error'; readonly error: string };

/** A shard whose job failed for good: its attempts spent, or failed by an error no retry can cure. */
export interface FailedShard {
  readonly job: ShardJobData;
  readonly attemptsMade: number;
  readonly attempts: number;
  /** The job's failedReason: the error of its last attempt. */
  readonly reason: string;
}

export interface ShardWorkerOutcome {
  /** Jobs this worker completed, and attempts of it that failed. */
  readonly completed: number;
  readonly failed: number;
  /**
   * With exitWhenEmpty, when the queue was found empty: every shard the queue holds as failed for good (by this
   * worker or another; failed jobs are kept 30 days, and `enqueue` of their plan queues them again). Else empty.
   */
  readonly failedShards: readonly FailedShard[];
}

export interface ShardWorkerHandle {
  /** Resolves when the worker has closed (stop, or an empty queue with exitWhenEmpty). */
  readonly closed: Promise<ShardWorkerOutcome>;
  /** Takes no new job; waits for the running ones, unless `force` (their locks then expire and others take them). */
  stop(force?: boolean): Promise<void>;
}

export async function startShardWorker(options: ShardWorkerOptions): Promise<ShardWorkerHandle> {
  const queueName = options.queueName ?? DEFAULT_QUEUE;
  checkQueueName(queueName);
  const connection = await connectRedis(options.redisUrl, 'zeroshot-worker');
  const queue = new Queue<ShardJobData, ShardJobResult>(queueName, { connection, prefix: PREFIX });
  const worker = new Worker<ShardJobData, ShardJobResult>(queueName, options.processor, {
    connection,
    prefix: PREFIX,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    maxStalledCount: options.maxStalledCount,
    workerForkOptions: { env: options.processorEnv },
  });
  const emit = options.onEvent;
  const started = new Map<string, number>();
  let completed = 0, failed = 0;
  const attemptsOf = (job: Job<ShardJobData>) => job.opts.attempts ?? 1;
  worker.on('active', (job) => {
    started.set(job.id ?? '', Date.now());
    emit({ kind: 'started', job: job.data, attempt: job.attemptsMade + 1, attempts: attemptsOf(job) });
  });
  worker.on('progress', (job, progress) => emit({ kind: 'progress', job: job.data, progress: progress as ShardJobProgress }));
  worker.on('completed', (job, result) => {
    completed++;
    emit({ kind: 'completed', job: job.data, result, seconds: (Date.now() - (started.get(job.id ?? '') ?? Date.now())) / 1000 });
  });
  worker.on('failed', (job, error) => {
    failed++;
    if (!job) return emit({ kind: 'error', error: messageOf(error) });
    const attempts = attemptsOf(job);
    const delay = job.opts.backoff && typeof job.opts.backoff === 'object' ? (job.opts.backoff.delay ?? 0) * 2 ** Math.max(0, job.attemptsMade - 1) : 0;
    const unrecoverable = error.name === 'UnrecoverableError';
    emit({ kind: 'failed', job: job.data, attempt: job.attemptsMade, attempts, error: messageOf(error), retryInMs: job.attemptsMade < attempts && !unrecoverable ? delay : undefined, unrecoverable });
  });
  worker.on('stalled', (jobId) => emit({ kind: 'stalled', jobId }));
  worker.on('lockRenewalFailed', (jobIds) => jobIds.forEach((jobId) => emit({ kind: 'lock-lost', jobId })));
  const onError = (error: Error) => emit({ kind: 'error', error: `${messageOf(error)} (Redis ${urlLabel(options.redisUrl)})` });
  worker.on('error', onError);
  queue.on('error', onError);

  let stopping: Promise<void> | undefined;
  let emptyCheck: NodeJS.Timeout | undefined;
  let failedShards: FailedShard[] = [];
  const stop = (force = false): Promise<void> => {
    clearInterval(emptyCheck);
    if (force) return worker.close(true);
    stopping ??= worker.close();
    return stopping;
  };
  if (options.exitWhenEmpty) {
    let checking = false;
    emptyCheck = setInterval(async () => {
      if (checking) return;
      checking = true;
      try {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
        if (Object.values(counts).every((count) => count === 0)) {
          failedShards = (await queue.getFailed()).filter((job) => job !== undefined).map((job) => ({
            job: job.data,
            attemptsMade: job.attemptsMade,
            attempts: attemptsOf(job),
            reason: job.failedReason || '(no reason recorded)',
          }));
          void stop();
        }
      } catch (error) {
        onError(error as Error);
      } finally {
        checking = false;
      }
    }, Math.min(1000, options.stalledIntervalMs));
  }
  const closed = new Promise<ShardWorkerOutcome>((resolve) => {
    worker.once('closed', async () => {
      clearInterval(emptyCheck);
      await queue.close().catch(() => {});
      connection.disconnect();
      resolve({ completed, failed, failedShards });
    });
  });
  return { closed, stop };
}
