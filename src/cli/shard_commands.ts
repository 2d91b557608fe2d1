// `zeroshot plan`, `embed` and `collect`: a run cut into shards for Slurm arrays, Kubernetes Indexed Jobs or GNU
// parallel, with no server.
import type { Command } from 'commander';
import type { RunOptions } from '../pipeline.js';
import { readPlan, selectShard, shardsFolder, writePlan } from '../shards/plan.js';
import { collectListing, embedShard, planShards, shardEmbeddings } from '../shards/shard_run.js';
import type { Device } from '../encode/model.js';
import { defaultWorkerCount } from '../encode/image/preprocess.js';
import { openShardStore } from '../shards/shard_store.js';
import type { RunFlags } from './main.js';
import { progressReporter } from './progress.js';

interface ShardCommandHelpers {
  positiveInt: (flag: string) => (value: string) => number;
  addModelOptions: (command: Command, modelFlag?: boolean) => Command;
  addRunOptions: (command: Command) => Command;
  runCommand: (flags: RunFlags, note?: string, extra?: Partial<RunOptions>) => Promise<void>;
}

interface ModelFlags {
  model?: string;
  modelCache?: string;
  offline?: boolean;
  dtype: string;
  threads: number;
  device: Device;
  preprocessReference?: 'original' | 'transformers';
  logitScale?: number;
  logitBias?: number;
}

const modelOptions = (flags: ModelFlags, planModel?: string) => ({
  model: flags.model ?? planModel,
  modelCacheDir: flags.modelCache,
  offline: flags.offline,
  dtype: flags.dtype,
  threads: flags.threads,
  device: flags.device,
  preprocessReference: flags.preprocessReference,
  logitScale: flags.logitScale,
  logitBias: flags.logitBias,
});

export function addShardCommands(program: Command, helpers: ShardCommandHelpers): void {
  const { positiveInt, addModelOptions, addRunOptions, runCommand } = helpers;
  const log = (quiet: boolean | undefined, line: string) => !quiet && process.stderr.write(line + '\n');

  addModelOptions(
    program
      .command('plan')
      .description('cut a folder of images into shards for `zeroshot embed` on many machines (a manifest: sorted paths, shards, model)')
      .argument('<images>', "folder of images (searched recursively), WebDataset tars ('data/{00000..00099}.tar') or a list of files (.csv, .parquet)")
      .requiredOption('--shard-size <n>', 'images per shard', positiveInt('--shard-size'))
      .requiredOption('--out <plan.json>', 'manifest to write; the shard files go beside it, in PLAN.shards/'),
  ).action(async (images: string, flags: ModelFlags & { shardSize: number; out: string }) => {
    const plan = await planShards(images, flags.shardSize, modelOptions(flags));
    await writePlan(plan, flags.out);
    process.stderr.write(`plan ${plan.id.slice(0, 12)}: ${plan.images.length} images in ${plan.shards.length} shards → ${flags.out} (shard files in ${shardsFolder(flags.out)})\n`);
  });

  addModelOptions(
    program
      .command('embed')
      .description("embed one shard of a plan (a done shard is skipped, a partial one redone)")
      .argument('<plan>', 'manifest written by `zeroshot plan`')
      .option('--shard <K/N>', 'shard K (0-based) of N; default: $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX')
      .option('--images <dir>', "the images folder on this machine, for tars the folder holding them (default: the plan's)")
      .option('--model <id|folder>', "model (default: the plan's)")
      .option('--batch-size <n>', 'images per model call', positiveInt('--batch-size'), 32)
      .option('--workers <n>', 'image decoding and preprocessing threads (default: cores − 1, at least 1)', positiveInt('--workers'), defaultWorkerCount())
      .option('--cache <file|url>', 'embedding cache: an SQLite file, or a shared PostgreSQL store postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (default: $ZEROSHOT_CACHE or ~/.cache/zeroshot/embeddings.sqlite)')
      .option('--no-cache', 'do not read or write the embedding cache')
      .option('--rehash', 'read and hash every image again, even those whose content hash the cache remembers')
      .option('-q, --quiet', 'no progress output'),
    false,
  ).action(async (planPath: string, flags: ModelFlags & { shard?: string; images?: string; batchSize: number; workers: number; rehash?: boolean; cache?: string | false; quiet?: boolean }) => {
    const plan = await readPlan(planPath);
    const shard = selectShard(plan, flags.shard);
    const progress = progressReporter(process.stderr, !!flags.quiet);
    const outcome = await embedShard(plan, {
      ...modelOptions(flags, plan.model.id),
      planPath,
      shard,
      images: flags.images,
      batchSize: flags.batchSize,
      preprocessWorkers: flags.workers,
      rehash: flags.rehash,
      cache: flags.cache,
      onProgress: (p) => progress.update(p),
      onWarning: (message) => process.stderr.write(`zeroshot: warning: ${message}\n`),
    });
    progress.stop();
    log(flags.quiet, `shard ${shard.index}/${plan.shards.length} (${shard.count} images): ${outcome === 'skipped' ? 'already done, skipped' : `embedded into ${shardsFolder(planPath)}`}`);
  });

  addRunOptions(
    addModelOptions(
      program
        .command('collect')
        .description("score a plan's embedded shards and write the results folder, as `zeroshot run` on the same images would")
        .argument('<plan>', 'manifest written by `zeroshot plan`')
        .option('--images <dir>', "where the images are on this machine, for the report's thumbnails (default: the plan's; collect itself reads no image); for tars or a list whose label rows label the run, their --images")
        .option('--model <id|folder>', "model, for the text embeddings (default: the plan's)")
        .option('--spec <name|file>', 'built-in spec or YAML/JSON file', 'fairface-race')
        .option('--store <folder|url>', "where the shards are: the folder or postgres://… given to `zeroshot worker --store` (default: the plan's shard files, PLAN.shards/)"),
      false,
    ),
  ).action(async (planPath: string, flags: Omit<RunFlags, 'images' | 'model'> & { images?: string; model?: string; store?: string }) => {
    const plan = await readPlan(planPath);
    const store = await openShardStore(flags.store, planPath);
    try {
      await runCommand(
        { ...flags, images: flags.images ?? plan.images_root, model: flags.model ?? plan.model.id },
        undefined,
        { listing: await collectListing(plan, flags.images, !flags.labels && (flags.labelColumn !== undefined || !!flags.groups)), imageEmbedder: shardEmbeddings(plan, planPath, store) },
      );
    } finally {
      await store.close();
    }
  });
}
