// `zeroshot enqueue` and `zeroshot worker`: a plan's shards as jobs on a BullMQ queue in Redis, embedded by as many
// workers as are running, into a shared store (a folder, or PostgreSQL); `zeroshot collect --store` scores them.
import { Option, type Command } from 'commander';
import type { Device } from '../encode/model.js';
import { cudaPreflightProblem, systemCudaEnvironment } from '../encode/cuda_check.js';
import { readPlan } from '../shards/plan.js';
import { DEFAULT_QUEUE, enqueuePlan, startShardWorker, urlLabel, type FailedShard, type ShardJobData, type ShardWorkerEvent } from '../queue/bullmq_queue.js';
import { processorEnvironment, type ProcessorSettings } from '../queue/processor_settings.js';

interface QueueCommandHelpers {
  positiveInt: (flag: string) => (value: string) => number;
  addModelOptions: (command: Command, modelFlag?: boolean) => Command;
}

interface WorkerFlags {
  redis: string;
  store: string;
  queue: string;
  concurrency: number;
  lockDuration: number;
  stalledInterval: number;
  maxStalled: number;
  exitWhenEmpty?: boolean;
  images?: string;
  model?: string;
  modelCache?: string;
  offline?: boolean;
  dtype: string;
  device: Device;
  threads: number;
  preprocessReference?: 'original' | 'transformers';
  batchSize: number;
  workers?: number;
  rehash?: boolean;
  cache?: string | false;
  quiet?: boolean;
}

/** The sandboxed processor, beside this file's folder in the build (dist/queue) as in the sources (src/queue). */
const PROCESSOR = new URL(`../queue/shard_processor${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** `zeroshot worker --exit-when-empty`'s exit code when the queue it leaves empty holds shards that failed for good. */
export const SHARDS_FAILED_EXIT_CODE = 3;

const shardLabel = (job: ShardJobData) => `shard ${job.shard} of plan ${job.plan_id.slice(0, 12)}`;

/** The lines that list the shards failed for good, each with its last error. */
function describeFailedShards(shards: readonly FailedShard[]): string[] {
  return [
    `worker: the queue is empty, but ${shards.length} shard${shards.length === 1 ? '' : 's'} failed for good (\`zeroshot enqueue\` the plan again to retry them):`,
    ...shards.map((s) => `  ${shardLabel(s.job)}, after ${s.attemptsMade} of ${s.attempts} attempts: ${s.reason}`),
  ];
}

/** What happens to a failed shard next. */
function failedNext(event: Extract<ShardWorkerEvent, { kind: 'failed' }>): string {
  if (event.unrecoverable) return 'not retried, since no retry can succeed (fix it, then `zeroshot enqueue` the plan again)';
  if (event.retryInMs === undefined) return 'no attempts left (`zeroshot enqueue` the plan again to retry it)';
  return `retried in ${(event.retryInMs / 1000).toFixed(1)} s`;
}

function describe(event: ShardWorkerEvent): string {
  switch (event.kind) {
    case 'started':
      return `${shardLabel(event.job)}: started (attempt ${event.attempt}/${event.attempts})`;
    case 'progress':
      return `${shardLabel(event.job)}: ${event.progress.done}/${event.progress.total} images`;
    case 'completed':
      return `${shardLabel(event.job)}: ${event.result.outcome === 'skipped' ? 'already in the store, skipped' : `${event.result.images} images embedded`} (${event.seconds.toFixed(1)} s)`;
    case 'failed':
      return `${shardLabel(event.job)}: failed (attempt ${event.attempt}/${event.attempts}): ${event.error}; ${failedNext(event)}`;
    case 'stalled':
      return `job ${event.jobId}: its worker stopped renewing its lock; back in the queue for another worker`;
    case 'lock-lost':
      return `job ${event.jobId}: this worker could not renew its lock; another worker may take it over (the store keeps one copy)`;
    case 'error':
      return `error: ${event.error}`;
  }
}

// From the environment too, so that a password in the URL need not be on the command line (nor in `ps`).
const redisOption = () => new Option('--redis <url>', 'redis://[user:password@]host:port[/db]').env('ZEROSHOT_REDIS').makeOptionMandatory();
const storeLabel = (store: string) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(store) ? urlLabel(store) : store);

export function addQueueCommands(program: Command, helpers: QueueCommandHelpers): void {
  const { positiveInt, addModelOptions } = helpers;
  const log = (line: string) => process.stderr.write(`${line}\n`);

  program
    .command('enqueue')
    .description("add one job per shard of a plan to a queue in Redis, for `zeroshot worker`s (enqueueing again adds nothing; failed shards are retried)")
    .argument('<plan>', 'manifest written by `zeroshot plan`')
    .addOption(redisOption())
    .option('--queue <name>', 'queue name, the same for enqueue and its workers', DEFAULT_QUEUE)
    .option('--attempts <n>', 'tries per shard before it fails for good', positiveInt('--attempts'), 3)
    .option('--backoff <ms>', 'delay before the first retry, doubled for each next one', positiveInt('--backoff'), 10_000)
    .action(async (planPath: string, flags: { redis: string; queue: string; attempts: number; backoff: number }) => {
      const plan = await readPlan(planPath);
      const summary = await enqueuePlan(flags.redis, plan, { queueName: flags.queue, attempts: flags.attempts, backoffMs: flags.backoff });
      log(
        `plan ${plan.id.slice(0, 12)}: ${summary.added} shard jobs added, ${summary.present} already queued or done, ${summary.retried} failed ones retried ` +
          `(queue ${summary.queueName} at ${urlLabel(flags.redis)})`,
      );
    });

  addModelOptions(
    program
      .command('worker')
      .description('embed the shards queued by `zeroshot enqueue` into a shared store, one job after another, until stopped (SIGINT/SIGTERM: finishes the running shard)')
      .addOption(redisOption())
      .addOption(new Option('--store <folder|url>', 'where shards go, the same for every worker and collect: a shared folder (one plan per folder) or postgres://…').env('ZEROSHOT_STORE').makeOptionMandatory())
      .option('--queue <name>', 'queue name, as given to enqueue', DEFAULT_QUEUE)
      .option('--concurrency <n>', 'shards embedded at once, each in its own process', positiveInt('--concurrency'), 1)
      .option('--lock-duration <ms>', "a job's lock: another worker takes the shard over when this worker stops renewing it for this long", positiveInt('--lock-duration'), 30_000)
      .option('--stalled-interval <ms>', 'how often to look for shards whose worker stopped', positiveInt('--stalled-interval'), 30_000)
      .option('--max-stalled <n>', 'takeovers of a shard (its worker died or froze) before it fails', positiveInt('--max-stalled'), 2)
      .option('--exit-when-empty', `exit once no job is waiting, running or waiting for a retry; with exit code ${SHARDS_FAILED_EXIT_CODE} when the queue then holds shards that failed for good (listed with their errors)`)
      .option('--images <dir>', "the images folder on this machine (default: each plan's)")
      .option('--model <id|folder>', "model (default: each plan's)")
      .option('--batch-size <n>', 'images per model call', positiveInt('--batch-size'), 32)
      .option('--workers <n>', 'image decoding and preprocessing threads of each shard (default: cores − 1, at least 1)', positiveInt('--workers'))
      .option('--cache <file|url>', 'embedding cache: an SQLite file on this machine, or a shared PostgreSQL store postgres://… (default: $ZEROSHOT_CACHE or ~/.cache/zeroshot/embeddings.sqlite)')
      .option('--no-cache', 'do not read or write the embedding cache')
      .option('--rehash', 'read and hash every image again, even those whose content hash the cache remembers')
      .option('-q, --quiet', 'log only failures and errors'),
    false,
  ).action(async (flags: WorkerFlags) => {
    // Checked here, not by each shard: a worker without CUDA would otherwise fail every shard it takes.
    const cudaProblem = flags.device === 'cuda' ? cudaPreflightProblem(systemCudaEnvironment()) : undefined;
    if (cudaProblem) throw new Error(`--device cuda: ${cudaProblem}`);
    const settings: ProcessorSettings = {
      redis: flags.redis,
      queue: flags.queue,
      store: flags.store,
      images: flags.images,
      model: flags.model,
      embed: {
        modelCacheDir: flags.modelCache,
        offline: flags.offline,
        dtype: flags.dtype,
        device: flags.device,
        threads: flags.threads,
        preprocessReference: flags.preprocessReference,
        batchSize: flags.batchSize,
        preprocessWorkers: flags.workers,
        rehash: flags.rehash,
        cache: flags.cache,
      },
    };
    const lastSaid = new Map<string, number>();
    const worker = await startShardWorker({
      redisUrl: flags.redis,
      queueName: flags.queue,
      concurrency: flags.concurrency,
      lockDurationMs: flags.lockDuration,
      stalledIntervalMs: flags.stalledInterval,
      maxStalledCount: flags.maxStalled,
      exitWhenEmpty: !!flags.exitWhenEmpty,
      processor: PROCESSOR,
      processorEnv: processorEnvironment(settings),
      onEvent: (event) => {
        if (flags.quiet && event.kind !== 'failed' && event.kind !== 'error') return;
        const line = `worker: ${describe(event)}`;
        // While Redis is away every connection reports each reconnection attempt: one line per error per 10 s.
        if (event.kind === 'error' && Date.now() - (lastSaid.get(line) ?? -Infinity) < 10_000) return;
        lastSaid.set(line, Date.now());
        log(line);
      },
    });
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      log(signals === 1 ? `worker: ${signal}: taking no new shard, finishing the running one (${signal} again to stop now)` : `worker: ${signal}: stopping now; the running shard goes back to the queue when its lock expires`);
      void worker.stop(signals > 1);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (!flags.quiet) log(`worker: waiting for shards on queue ${flags.queue} at ${urlLabel(flags.redis)}, into ${storeLabel(flags.store)}`);
    const { completed, failed, failedShards } = await worker.closed;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    log(`worker: stopped; ${completed} shards done, ${failed} attempts failed`);
    if (failedShards.length) {
      describeFailedShards(failedShards).forEach(log);
      process.exitCode = SHARDS_FAILED_EXIT_CODE;
    }
  });
}
