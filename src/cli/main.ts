import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { stringify as stringifyYaml } from 'yaml';
import { DEFAULT_MODEL, DEVICES, loadTextTokenizer, type Device } from '../encode/model.js';
import { defaultWorkerCount } from '../encode/image/preprocess.js';
import { cacheStats, checkCache, exportImageEmbeddings, pruneFileHashes, pruneModel } from '../encode/cache/cache_admin.js';
import { defaultEmbeddingCachePath } from '../encode/cache/embedding_cache.js';
import { isPostgresUrl, postgresBackend } from '../encode/cache/open_cache.js';
import { builtInSpecNames, loadSpec } from '../input/spec.js';
import { DUPLICATE_LABEL_POLICIES, UNMATCHED_LABEL_POLICIES, type DuplicateLabelPolicy, type UnmatchedLabelPolicy } from '../input/labels.js';
import { NoImageReadError, VERSION, runZeroShot, type RunOptions, type RunResult } from '../pipeline.js';
import { RESULT_FILES, summaryTable, writeResults } from '../report/results.js';
import { parseSimilarityFormat, type SimilarityFormat } from '../report/similarity_outputs.js';
import { checkResultsFolder } from '../report/results_folder.js';
import { REPORT_FILE, reportOutput, writeReport } from '../report/html_report.js';
import { STRATEGY_REGISTRY, strategiesHelpText } from '../score/strategies.js';
import { addComparisonCommands } from './compare_commands.js';
import { addShardCommands } from './shard_commands.js';
import { addQueueCommands } from './queue_commands.js';
import { addServeCommand } from './serve_command.js';
import { progressReporter } from './progress.js';
import { formatInspection, inspectModel } from '../encode/inspect_model.js';

/** The fields of fixtures/demo-clip/training.json that the demo reports. */
interface DemoTraining {
  readonly logit_scale: number;
  readonly split: { readonly train: { readonly count: number } };
  readonly evaluation: { readonly held_out: { readonly images: number; readonly race: { readonly accuracy: number; readonly chance: number }; readonly gender: { readonly accuracy: number } } };
}

/** A commander parser for whole-number flags of at least `min`. */
const integerAtLeast = (min: number, flag: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be a whole number ≥ ${min}`);
  return n;
};
const positiveInt = (flag: string) => integerAtLeast(1, flag);
const wholeNumber = (flag: string) => integerAtLeast(0, flag);

const finiteNumber = (flag: string) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${flag} must be a number`);
  return n;
};
const oneOf = <T extends string>(flag: string, values: readonly T[]) => (value: string): T => {
  if (!(values as readonly string[]).includes(value)) throw new InvalidArgumentError(`${flag} must be one of ${values.join(', ')}`);
  return value as T;
};

const commaList = (value?: string) => value?.split(',').map((s) => s.trim()).filter(Boolean);

export interface RunFlags {
  images: string;
  spec: string;
  labels?: string;
  labelColumn?: string;
  imageColumn?: string;
  labelMap?: string;
  duplicateLabels?: DuplicateLabelPolicy;
  unmatchedLabels?: UnmatchedLabelPolicy;
  out: string;
  model: string;
  modelCache?: string;
  offline?: boolean;
  dtype: string;
  threads: number;
  device: Device;
  workers: number;
  rehash?: boolean;
  batchSize: number;
  strategies?: string;
  groups?: string;
  bootstrap?: number;
  minGroupSize?: number;
  seed?: number;
  cache?: string | false;
  report?: boolean;
  exifRotate?: boolean;
  preprocessReference?: 'original' | 'transformers';
  logitScale?: number;
  logitBias?: number;
  dim?: number;
  maxImagePixels?: number;
  similarities?: SimilarityFormat;
  topKPredictions?: number;
  quiet?: boolean;
}

/** Specs with fewer prompts encode them in a moment: no text progress bar. */
const TEXT_PROGRESS_MIN_PROMPTS = 1000;

async function runCommand(flags: RunFlags, note?: string, extra: Partial<RunOptions> = {}): Promise<void> {
  const log = (line: string) => !flags.quiet && process.stderr.write(line + '\n');
  if (note) log(note);
  const progress = progressReporter(process.stderr, !!flags.quiet);
  // The text stage gets a bar of its own when it is long enough to wait for (ImageNet's 80,000 prompts).
  const textProgress = progressReporter(process.stderr, !!flags.quiet, 'texts');
  const options: RunOptions = {
    images: flags.images,
    spec: flags.spec,
    labels: flags.labels,
    labelColumn: flags.labelColumn,
    imageColumn: flags.imageColumn,
    labelMap: flags.labelMap,
    duplicateLabels: flags.duplicateLabels,
    unmatchedLabels: flags.unmatchedLabels,
    model: flags.model,
    modelCacheDir: flags.modelCache,
    offline: flags.offline,
    dtype: flags.dtype,
    threads: flags.threads,
    device: flags.device,
    preprocessWorkers: flags.workers,
    rehash: flags.rehash,
    batchSize: flags.batchSize,
    strategies: commaList(flags.strategies),
    groups: commaList(flags.groups),
    cache: flags.cache,
    exifRotate: flags.exifRotate,
    preprocessReference: flags.preprocessReference,
    logitScale: flags.logitScale,
    logitBias: flags.logitBias,
    dim: flags.dim,
    maxImagePixels: flags.maxImagePixels,
    audit: { bootstrap: flags.bootstrap, minGroupSize: flags.minGroupSize, seed: flags.seed },
    topKPredictions: flags.topKPredictions,
    ...extra,
  };
  const writing = { similarities: flags.similarities, onNotice: log };
  // Before the model loads: a results folder that cannot be written fails now, not after every image is embedded.
  await checkResultsFolder(flags.out, new Set([...Object.values(RESULT_FILES), REPORT_FILE]));
  let result: RunResult;
  try {
    result = await runZeroShot(options, {
      onStage: (stage) => {
        if (stage === 'model') log(`loading model ${flags.model}…`);
        if (stage === 'images') textProgress.stop();
      },
      onTextProgress: (p) => p.total >= TEXT_PROGRESS_MIN_PROMPTS && textProgress.update(p),
      onProgress: (p) => progress.update(p),
      onWarning: (message) => process.stderr.write(`zeroshot: warning: ${message}\n`),
    });
  } catch (error) {
    textProgress.stop();
    progress.stop();
    // Nothing could be read: still write what was found and why each image failed.
    if (error instanceof NoImageReadError) log(`wrote ${(await writeResults(error.result, flags.out, writing)).join(', ')}`);
    throw error;
  }
  progress.stop();
  // The report reads the staged files, so the folder is swapped in with it, as one set.
  const files = await writeResults(result, flags.out, { ...writing, outputs: flags.report !== false ? [reportOutput()] : [] });
  process.stdout.write(summaryTable(result) + '\n');
  if (result.failures.length) log(`${result.failures.length} images could not be read: see ${flags.out}/errors.jsonl`);
  log(`wrote ${files.join(', ')}`);
}

/** Flags of how a model is loaded; `--model` itself only where the model is not an argument. */
function addModelOptions(command: Command, modelFlag = true): Command {
  if (modelFlag) command.option('--model <id|folder>', 'Hugging Face model id or local folder', DEFAULT_MODEL);
  return command
    .option('--model-cache <dir>', 'folder for downloaded models (default ~/.cache/zeroshot/models)')
    .option('--offline', 'never touch the network: local folder or cached model only')
    .option('--dtype <dtype>', 'ONNX weights variant: fp32, fp16, q8, …', 'fp32')
    .option('--threads <n>', 'ONNX Runtime threads', positiveInt('--threads'), availableParallelism())
    .addOption(new Option('--device <device>', "where ONNX Runtime runs the model: cpu, or cuda (its CUDA execution provider; an error where it is missing, never the CPU instead)").choices(DEVICES).default('cpu'))
    .option('--preprocess-reference <ref>', "CLIP-architecture models: pixels of the 'original' pipelines (OpenAI, open_clip, MobileCLIP) or of 'transformers' CLIPImageProcessor", oneOf('--preprocess-reference', ['original', 'transformers'] as const), 'original')
    .option('--logit-scale <x>', "the model's learned log-scale, when its files do not hold it (probabilities.json)", finiteNumber('--logit-scale'))
    .option('--logit-bias <x>', "SigLIP's learned bias, when its files do not hold it", finiteNumber('--logit-bias'));
}

function addRunOptions(command: Command): Command {
  return command
    .option('--labels <csv>', 'labels CSV (e.g. FairFace fairface_label_val.csv)')
    .option('--label-column <column>', 'column holding the class (default: label): of the labels CSV, else of the tar samples (cls: their .cls members) or of the --images list')
    .option('--image-column <column>', 'column holding image paths, in the labels CSV and an --images list (default: path, file, image, …)')
    .option('--label-map <file>', 'YAML/JSON map from label values to class names')
    .addOption(
      new Option('--duplicate-labels <policy>', 'several label rows for one image that disagree: keep the first, the last, or stop')
        .choices(DUPLICATE_LABEL_POLICIES)
        .default('error'),
    )
    .addOption(
      new Option('--unmatched-labels <policy>', 'label values that name no class of the spec (after --label-map): stop, or skip (those images are scored but left out of the metrics and the audit; run.json counts them)')
        .choices(UNMATCHED_LABEL_POLICIES)
        .default('error'),
    )
    .option('--out <dir>', 'results folder', 'results')
    .option('--batch-size <n>', 'images per model call', positiveInt('--batch-size'), 32)
    .option('--workers <n>', 'image decoding and preprocessing threads (default: cores − 1, at least 1)', positiveInt('--workers'), defaultWorkerCount())
    .option('--rehash', 'read and hash every image again, even those whose content hash the cache remembers by path, size, times and inode')
    .option('--cache <file|url>', 'embedding cache: an SQLite file, or a shared PostgreSQL store postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (default: $ZEROSHOT_CACHE or ~/.cache/zeroshot/embeddings.sqlite)')
    .option('--no-cache', 'do not read or write the embedding cache')
    .option('--no-report', 'skip report.html')
    .option('--dim <n>', 'keep the first N coordinates of every embedding, renormalised (Matryoshka models, e.g. jina-clip v2)', positiveInt('--dim'))
    .option('--max-image-pixels <n|none>', "PIL's MAX_IMAGE_PIXELS: larger images are kept with a warning, twice as large are refused as decompression bombs (default 89478485)", (value: string) => (value === 'none' ? Infinity : positiveInt('--max-image-pixels')(value)))
    .option('--exif-rotate', 'apply EXIF orientation before preprocessing (the Python reference does not)')
    .option('--similarities <format>', "images × prompts output: json (similarities.json), npy (float32 .npy + similarities_index.json), parquet (one row per image × prompt) or none", parseSimilarityFormat, 'json')
    .option('--top-k-predictions <n>', "predictions.csv lists each strategy's N best classes per image (top<N>:<strategy> columns; 0: none)", wholeNumber('--top-k-predictions'), 0)
    .option('--strategies <list>', `comma-separated: ${STRATEGY_REGISTRY.map((d) => d.syntax).join(', ')} (default: all; listed below)`)
    .option('--groups <columns>', 'label columns to audit by, comma-separated (e.g. gender,age): of the labels CSV, the tar samples or the list')
    .option('--bootstrap <n>', 'bootstrap resamples for the confidence intervals (0: none)', wholeNumber('--bootstrap'), 1000)
    .option('--min-group-size <n>', 'groups smaller than this are flagged too small for a conclusion', wholeNumber('--min-group-size'), 30)
    .option('--seed <n>', 'seed of the bootstrap', wholeNumber('--seed'), 0)
    .option('-q, --quiet', 'no progress output');
}

export function buildProgram(): Command {
  const program = new Command('zeroshot')
    .description('Zero-shot image classification with CLIP models: prompt ensembles, strategies, metrics.')
    .version(VERSION)
    .showHelpAfterError();

  addRunOptions(
    addModelOptions(
      program
        .command('run')
        .description('classify a folder of images with a spec of classes and prompts, and evaluate against labels')
        .requiredOption('--images <dir|tars|list>', "folder of images (searched recursively), WebDataset tars ('data/{00000..00099}.tar', 'a.tar,b.tar', 'data/*.tar') or a list of files (.csv, .tsv, .parquet)")
        .option('--spec <name|file>', `built-in spec (${builtInSpecNames().join(', ')}) or YAML/JSON file`, 'fairface-race'),
    ),
  )
    .addHelpText('after', `\nStrategies:\n${strategiesHelpText()}`)
    .action((flags: RunFlags) => runCommand(flags));

  addComparisonCommands(program, { positiveInt, wholeNumber });
  addShardCommands(program, { positiveInt, addModelOptions, addRunOptions, runCommand });
  addQueueCommands(program, { positiveInt, addModelOptions });
  addServeCommand(program, { wholeNumber, addModelOptions, addRunOptions, runCommand });

  const fixture = (path: string) => fileURLToPath(new URL(`../../fixtures/${path}`, import.meta.url));
  program
    .command('demo')
    .description('the whole pipeline and the audit on a toy CLIP trained on FairFace faces and 70 held-out faces; needs no network')
    .option('--out <dir>', 'results folder', 'results-demo')
    .option('-q, --quiet', 'no progress output')
    .action((flags: { out: string; quiet?: boolean }) => {
      // What scripts/train_demo_clip.py recorded: the note states it, and the learned scale gives probabilities.
      const training = JSON.parse(readFileSync(fixture('demo-clip/training.json'), 'utf8')) as DemoTraining;
      const heldOut = training.evaluation.held_out;
      const percent = (x: number) => `${(100 * x).toFixed(0)} %`;
      return runCommand(
        {
          images: fixture('demo-faces'),
          spec: 'fairface-race',
          labels: fixture('demo-faces/labels.csv'),
          labelColumn: 'race',
          groups: 'gender',
          out: flags.out,
          model: fixture('demo-clip'),
          offline: true,
          dtype: 'fp32',
          threads: availableParallelism(),
          device: 'cpu',
          workers: defaultWorkerCount(),
          batchSize: 32,
          logitScale: training.logit_scale,
          quiet: flags.quiet,
        },
        `demo: the model is a toy, trained here on ${training.split.train.count} FairFace faces (fixtures/demo-clip), not CLIP; ` +
          `on ${heldOut.images} held-out faces it gets race ${percent(heldOut.race.accuracy)} (chance ${percent(heldOut.race.chance)}), ` +
          `gender ${percent(heldOut.gender.accuracy)}. Its numbers show how the audit reads, not how CLIP behaves. ` +
          `For real results: zeroshot run --model ${DEFAULT_MODEL} --images DIR --labels CSV --label-column race --groups gender`,
      );
    });

  program
    .command('report')
    .description('rebuild report.html from a results folder, without running the model')
    .argument('<results>', 'a results folder written by `zeroshot run`')
    .option('--thumbnails <mode>', "'embed' small thumbnails in the file, or 'link' to the images", 'embed')
    .option('--gallery-cap <n>', 'images shown per confusion cell', positiveInt('--gallery-cap'), 12)
    .action(async (results: string, flags: { thumbnails: string; galleryCap: number }) => {
      if (flags.thumbnails !== 'embed' && flags.thumbnails !== 'link') throw new Error(`--thumbnails must be 'embed' or 'link'`);
      const path = await writeReport(results, { thumbnails: flags.thumbnails, galleryCap: flags.galleryCap });
      process.stdout.write(`wrote ${path}\n`);
    });

  const cacheCommand = program.command('cache').description('inspect and manage the embedding cache');
  const cacheFile = (flags: { cache?: string }) => flags.cache ?? defaultEmbeddingCachePath();
  cacheCommand
    .command('stats')
    .description('size, embeddings per model and preprocessing, and remembered file hashes')
    .option('--cache <file|url>', 'cache file or postgres:// store (default: $ZEROSHOT_CACHE or ~/.cache/zeroshot/embeddings.sqlite)')
    .option('--json', 'print JSON')
    .action(async (flags: { cache?: string; json?: boolean }) => {
      const location = cacheFile(flags);
      const store = isPostgresUrl(location) ? await (await postgresBackend()).postgresCacheStats(location) : undefined;
      const stats = store ?? cacheStats(location);
      if (flags.json) return void process.stdout.write(JSON.stringify(stats, null, 2) + '\n');
      const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
      const lines = [`${stats.path}: ${mb(stats.file_bytes + stats.wal_bytes)}`];
      for (const m of stats.models) {
        const label = m.label ? `${m.label.id}${m.label.dtype ? ` (${m.label.dtype})` : ''}` : '(unlabelled)';
        lines.push(`  ${m.model_fp.slice(0, 12)}  ${label}: ${m.images} images (${mb(m.image_bytes)}), ${m.texts} prompts`);
      }
      lines.push(`  remembered file hashes: ${stats.file_hashes} (\`cache prune --file-hashes\` removes the stale ones)`);
      if (store) lines.push(`  committed shards: ${store.shards} of ${store.plans} plan(s)`);
      process.stdout.write(lines.join('\n') + '\n');
    });
  cacheCommand
    .command('check')
    .description("run SQLite's integrity check on the cache file, or check a postgres:// store's schema and that its rows agree (read-only); exit code 1 when it is damaged")
    .option('--cache <file|url>', 'cache file or postgres:// store (default: $ZEROSHOT_CACHE or ~/.cache/zeroshot/embeddings.sqlite)')
    .action(async (flags: { cache?: string }) => {
      const location = cacheFile(flags);
      const postgres = isPostgresUrl(location);
      const check = postgres ? await (await postgresBackend()).checkPostgresStore(location) : checkCache(location);
      if (check.ok) return void process.stdout.write(`${check.path}: ok\n`);
      process.stdout.write(`${check.path}: damaged\n${check.problems.map((p) => `  ${p}`).join('\n')}\n`);
      if (!postgres) process.stdout.write(`Move it aside (its next run starts a new cache) or run with --no-cache.\n`);
      process.exitCode = 1;
    });
  cacheCommand
    .command('prune')
    .description("remove one model's embeddings, or (--file-hashes) the remembered file hashes no run can use any more")
    .argument('[model]', 'model id, or fingerprint (prefix of 8+ characters) as shown by `cache stats`')
    .option('--cache <file|url>', 'cache file or postgres:// store (default: $ZEROSHOT_CACHE or ~/.cache/zeroshot/embeddings.sqlite)')
    .option('--vacuum', 'shrink the cache file afterwards')
    .option('--file-hashes', "remove remembered file hashes: in a cache file those whose file is gone or changed; in a postgres:// store, shared by machines with files of their own, those unused for --older-than days")
    .option('--older-than <days>', 'with --file-hashes on a postgres:// store: days since a run last used a hash (default 30)', Number)
    .action(async (model: string | undefined, flags: { cache?: string; vacuum?: boolean; fileHashes?: boolean; olderThan?: number }) => {
      const location = cacheFile(flags);
      if (flags.fileHashes) {
        if (model !== undefined) throw new Error('zeroshot cache prune: give a model or --file-hashes, not both');
        const postgres = isPostgresUrl(location);
        if (!postgres && flags.olderThan !== undefined) throw new Error('--older-than is for a postgres:// store; a cache file is pruned by checking each file');
        const result = postgres ? await (await postgresBackend()).prunePostgresFileHashes(location, flags.olderThan ?? 30) : pruneFileHashes(location);
        return void process.stdout.write(`removed ${result.removed} of ${result.entries} remembered file hashes from ${result.path}\n`);
      }
      if (model === undefined) throw new Error('zeroshot cache prune: give a model (as shown by `zeroshot cache stats`), or --file-hashes');
      if (isPostgresUrl(location)) {
        if (flags.vacuum) throw new Error('--vacuum is for a cache file; PostgreSQL reuses the space by itself (VACUUM FULL, which locks the tables, gives it back)');
        const result = await (await postgresBackend()).prunePostgresModel(location, model);
        return void process.stdout.write(`removed ${result.images} image and ${result.texts} text embeddings of ${result.model_fp.slice(0, 12)}, and its ${result.shards} committed shards\n`);
      }
      const result = pruneModel(location, model, { vacuum: flags.vacuum });
      process.stdout.write(`removed ${result.images} image and ${result.texts} text embeddings of ${result.model_fp.slice(0, 12)}\n`);
    });
  cacheCommand
    .command('export')
    .description("write a model's image embeddings as embeddings.npy (float32 N×D) with index.csv/index.json (paths)")
    .argument('<model>', 'model id or fingerprint prefix')
    .requiredOption('--out <dir>', 'output folder')
    .option('--cache <file|url>', 'cache file or postgres:// store (default: $ZEROSHOT_CACHE or ~/.cache/zeroshot/embeddings.sqlite)')
    .option('--preprocess <fingerprint>', 'preprocessing fingerprint, when the model has several')
    .action(async (model: string, flags: { cache?: string; out: string; preprocess?: string }) => {
      const location = cacheFile(flags);
      const options = { preprocessFp: flags.preprocess };
      const result = isPostgresUrl(location)
        ? await (await postgresBackend()).exportPostgresImageEmbeddings(location, model, flags.out, options)
        : exportImageEmbeddings(location, model, flags.out, options);
      process.stdout.write(`wrote ${result.rows} × ${result.dim} embeddings to ${flags.out}\n`);
    });

  program
    .command('specs')
    .description('list the built-in specs, or print one resolved (classes and their prompts)')
    .argument('[spec]', 'built-in name or file')
    .action(async (name?: string) => {
      if (!name) return void process.stdout.write(builtInSpecNames().join('\n') + '\n');
      const spec = await loadSpec(name);
      process.stdout.write(stringifyYaml({ name: spec.name, classes: Object.fromEntries(spec.classes.map((c) => [c.name, c.prompts])) }));
    });

  addModelOptions(
    program
      .command('inspect')
      .description('what a run would do with a model, without encoding anything: family, files, graphs, tokenizer, preprocessing, scoring')
      .argument('<model>', 'Hugging Face model id or local folder')
      .option('--json', 'print JSON'),
    false,
  ).action(async (model: string, flags: RunFlags & { json?: boolean }) => {
    const inspection = await inspectModel({
      model,
      modelCacheDir: flags.modelCache,
      offline: flags.offline,
      dtype: flags.dtype,
      preprocessReference: flags.preprocessReference,
      logitScale: flags.logitScale,
      logitBias: flags.logitBias,
    });
    process.stdout.write((flags.json ? JSON.stringify(inspection, null, 2) : formatInspection(inspection)) + '\n');
  });

  program
    .command('tokenize')
    .description("token ids of prompts, one JSON string per input line → {\"text\", \"ids\"} per output line (to diff against Python's clip.tokenize)")
    .requiredOption('--jsonl <file>', "input: one JSON string per line ('-' for stdin)")
    .option('--model <id|folder>', 'Hugging Face model id or local folder', DEFAULT_MODEL)
    .option('--model-cache <dir>', 'folder for downloaded models')
    .option('--offline', 'never touch the network')
    .action(async (flags: { jsonl: string; model: string; modelCache?: string; offline?: boolean }) => {
      const text = flags.jsonl === '-' ? readFileSync(0, 'utf8') : await readFile(flags.jsonl, 'utf8');
      const prompts = text.split('\n').filter((line) => line.trim() !== '').map((line, i) => {
        const value: unknown = JSON.parse(line);
        if (typeof value !== 'string') throw new Error(`${flags.jsonl}:${i + 1}: expected a JSON string, got ${line.slice(0, 40)}`);
        return value;
      });
      const tokenizer = await loadTextTokenizer({ model: flags.model, modelCacheDir: flags.modelCache, offline: flags.offline });
      for (const prompt of prompts) {
        const batch = tokenizer.encodeBatch([prompt]);
        process.stdout.write(JSON.stringify({ text: prompt, ids: Array.from(batch.inputIds, Number) }) + '\n');
      }
    });

  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    process.stderr.write(`zeroshot: error: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
