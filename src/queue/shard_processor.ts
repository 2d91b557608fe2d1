// BullMQ's sandboxed processor for `zeroshot worker`: runs in a child process the worker forks, one shard per job,
// with embedShard into the worker's store. The worker's process keeps the job's lock renewed meanwhile; this
// process may block on ONNX Runtime as long as it needs. Its settings come from the worker, as JSON in
// $ZEROSHOT_WORKER (processor_settings.ts). BullMQ keeps this process for the worker's next jobs, and so does it
// the loaded model and its preprocessing threads, for as long as the shards are of the same model.
import { embedShard, loadShardEmbedder, type ShardEmbedder } from '../shards/shard_run.js';
import { PlanMismatchError, type ShardPlan } from '../shards/plan.js';
import { openShardStore, type ShardStore } from '../shards/shard_store.js';
import { asJobError, fetchPlan, type ShardJob, type ShardJobResult } from './bullmq_queue.js';
import { readProcessorSettings } from './processor_settings.js';

// A worker killed with SIGKILL cannot stop its child: the child stops itself when the IPC channel closes, before
// it commits a shard whose job another worker will now take over.
process.on('disconnect', () => process.exit(1));

const settings = readProcessorSettings();
const plans = new Map<string, Promise<ShardPlan>>();
let store: Promise<ShardStore> | undefined;
/** The model of the last shard, by its id (the processor's other model settings are the worker's, fixed). */
let kept: { readonly model: string; readonly embedder: Promise<ShardEmbedder> } | undefined;
/** Progress goes to Redis at most this often (and once at the end). */
const PROGRESS_INTERVAL_MS = 1000;

function embedderFor(model: string): Promise<ShardEmbedder> {
  if (kept?.model !== model) {
    const previous = kept;
    kept = { model, embedder: (async () => {
      await dropEmbedder(previous);
      return loadShardEmbedder({ ...settings.embed, model });
    })() };
  }
  return kept.embedder;
}

async function dropEmbedder(which = kept): Promise<void> {
  if (which === kept) kept = undefined;
  await which?.embedder.then((embedder) => embedder.close(), () => {});
}

export default async function processShard(job: ShardJob): Promise<ShardJobResult> {
  try {
    return await embedJob(job);
  } catch (error) {
    // A model that failed may be in a bad state: the next shard loads it again.
    await dropEmbedder();
    throw asJobError(error);
  }
}

async function embedJob(job: ShardJob): Promise<ShardJobResult> {
  const { plan_id: planId } = job.data;
  let planned = plans.get(planId);
  if (!planned) {
    planned = fetchPlan(settings.redis, settings.queue, planId);
    plans.set(planId, planned);
    planned.catch(() => plans.delete(planId));
  }
  const plan = await planned;
  const shard = plan.shards[job.data.shard];
  if (!shard || shard.start !== job.data.start || shard.count !== job.data.count) {
    throw new PlanMismatchError(`job ${job.id}: shard ${job.data.shard} (images ${job.data.start}+${job.data.count}) is not in plan ${planId.slice(0, 12)}`);
  }
  const opened = (store ??= openShardStore(settings.store, ''));
  opened.catch(() => (store = undefined));
  const model = settings.model ?? plan.model.id;
  let reported = 0;
  const outcome = await embedShard(plan, {
    ...settings.embed,
    model,
    planPath: `plan ${planId.slice(0, 12)} (queue ${settings.queue})`,
    shard,
    images: settings.images,
    store: await opened,
    embedder: () => embedderFor(model),
    onProgress: ({ done, total }) => {
      if (done < total && Date.now() - reported < PROGRESS_INTERVAL_MS) return;
      reported = Date.now();
      void job.updateProgress({ done, total });
    },
    onWarning: (message) => process.stderr.write(`zeroshot: warning: ${message}\n`),
  });
  return { outcome, images: shard.count };
}
