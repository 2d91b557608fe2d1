/**
 * Scoring at ImageNet's size (issue 11): synthetic normalised embeddings for 50,000 images × 80,000 prompts
 * (1,000 classes × 80 templates, width 512, ViT-B/32's) scored with every default strategy by scoreInChunks:
 * wall time, peak RSS, and the GFLOP/s of the similarity product next to ONNX Runtime's rate on the MatMul probe's
 * shape ([1600 × 768] × [768 × 3072], bench/run.ts) through the same kernel. Writes bench/LARGE.md and
 * bench/large.json.
 *
 * `real` runs instead the real thing: the 2,000 FairFace validation images (../shared/data/fairface-val/val) against
 * the built-in imagenet-1k spec with the ViT-B/32-shaped random-weight model that bench/run.ts builds
 * (bench/models/vit-b-32), fp32, no cache: text, image and scoring times, writing, peak RSS and output sizes, into
 * bench/large-real.json; skipped, saying why, when the model or the images are absent. Each mode writes
 * bench/LARGE.md from both JSON files.
 *
 *   node --import tsx bench/large_labels.ts
 *   LARGE_IMAGES=5000 node --import tsx bench/large_labels.ts   # a tenth of the images: quicker
 *   node --import tsx bench/large_labels.ts real                # about 6 minutes here
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runZeroShot } from '../src/pipeline.js';
import { writeReport } from '../src/report/html_report.js';
import { writeResults } from '../src/report/results.js';
import { Mulberry32 } from '../src/evaluate/bootstrap.js';
import { blockRows, scoreInChunks } from '../src/score/chunked.js';
import { l2NormalizeRows } from '../src/score/similarity.js';
import { onnxKernel } from '../src/score/similarity_kernel.js';
import { defaultStrategies, strategyName } from '../src/score/strategies.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const envInt = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
};
const IMAGES = envInt('LARGE_IMAGES', 50_000);
const CLASSES = envInt('LARGE_CLASSES', 1000);
const TEMPLATES = envInt('LARGE_TEMPLATES', 80);
const DIM = envInt('LARGE_DIM', 512);
const THREADS = availableParallelism();
const PROBE = { rows: 1600, k: 768, n: 3072, repeats: 10 };

const round = (x: number, digits: number) => Number(x.toFixed(digits));
const peakRssMb = () => round(process.resourceUsage().maxRSS / 1024, 0);

/** Unit vectors around one direction per class, so scores have the spread of a real label set's. */
function syntheticEmbeddings(rows: number, dim: number, centres: Float32Array, centreOf: (i: number) => number, random: Mulberry32): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    const c = centreOf(i);
    for (let d = 0; d < dim; d++) out[i * dim + d] = centres[c * dim + d] + 0.8 * (random.next() - 0.5);
  }
  return l2NormalizeRows(out, dim);
}

/** The similarity product alone on `blocks` blocks of the run's shape: GFLOP/s of the kernel as scoring uses it. */
async function productGflops(texts: Float32Array, images: Float32Array, dim: number, blocks: number): Promise<number> {
  const product = await onnxKernel(THREADS)(texts, dim);
  const rows = blockRows(texts.length / dim);
  await product.block(images.subarray(0, rows * dim));
  const started = performance.now();
  for (let b = 0; b < blocks; b++) await product.block(images.subarray(b * rows * dim, (b + 1) * rows * dim));
  const seconds = (performance.now() - started) / 1000;
  await product.dispose();
  return round((2 * blocks * rows * (texts.length / dim) * dim) / seconds / 1e9, 1);
}

async function probeGflops(): Promise<{ median: number; best: number }> {
  const random = new Mulberry32(5);
  const product = await onnxKernel(THREADS)(Float32Array.from({ length: PROBE.n * PROBE.k }, () => random.next() - 0.5), PROBE.k);
  const images = Float32Array.from({ length: PROBE.rows * PROBE.k }, () => random.next() - 0.5);
  await product.block(images);
  const seconds: number[] = [];
  for (let r = 0; r < PROBE.repeats; r++) {
    const started = performance.now();
    await product.block(images);
    seconds.push((performance.now() - started) / 1000);
  }
  await product.dispose();
  seconds.sort((a, b) => a - b);
  const gflops = (s: number) => round((2 * PROBE.rows * PROBE.k * PROBE.n) / s / 1e9, 1);
  return { median: gflops(seconds[Math.floor(seconds.length / 2)]), best: gflops(seconds[0]) };
}

const REAL = {
  model: join(REPO, 'bench', 'models', 'vit-b-32'),
  images: resolve(REPO, '..', 'shared', 'data', 'fairface-val', 'val'),
  spec: 'imagenet-1k',
  dtype: 'fp32',
  similarities: 'npy',
} as const;

interface RealRun {
  date: string; command: string; load_average_before: number[]; model: string; dtype: string; spec: string;
  images: number; prompts: number; classes: number; similarities: string;
  timings: { load_model_s: number; encode_texts_s: number; prompts_per_s: number; encode_images_s: number; images_per_s: number; score_s: number; write_results_s: number; write_report_s: number; total_s: number };
  peak_rss_mb: number; outputs: Record<string, number>;
}

/** The real run (see the header); null, with the reason printed, when the model or the images are absent. */
async function realRun(): Promise<RealRun | null> {
  if (!existsSync(join(REAL.model, 'onnx', 'text_model.onnx'))) {
    console.error(`skipped: no ${REAL.model} (npm run bench builds it, or /usr/bin/python3 scripts/build_clip_fixture.py --preset vit-b-32 --out ${REAL.model})`);
    return null;
  }
  if (!existsSync(REAL.images)) {
    console.error(`skipped: no ${REAL.images} (the FairFace validation images)`);
    return null;
  }
  const load = loadavg().map((x) => round(x, 2));
  const out = mkdtempSync(join(tmpdir(), 'zs-large-real-'));
  try {
    let nextReport = 0;
    const onTextProgress = ({ done, total }: { done: number; total: number }) => {
      if (done < nextReport) return;
      console.error(`texts ${done}/${total}`);
      nextReport = done + 10_000;
    };
    const started = performance.now();
    const result = await runZeroShot(
      { images: REAL.images, spec: REAL.spec, model: REAL.model, dtype: REAL.dtype, offline: true, cache: false, threads: THREADS },
      { onTextProgress, onWarning: (message) => console.error(`warning: ${message}`) },
    );
    const written = performance.now();
    await writeResults(result, out, { similarities: REAL.similarities });
    const reported = performance.now();
    await writeReport(out);
    const finished = performance.now();
    const t = result.timings;
    return {
      date: new Date().toISOString(),
      command: 'node --import tsx bench/large_labels.ts real',
      load_average_before: load,
      model: 'bench/models/vit-b-32 (ViT-B/32-shaped CLIP, random weights)',
      dtype: REAL.dtype,
      spec: REAL.spec,
      images: result.imageKeys.length,
      prompts: result.spec.prompts.length,
      classes: result.spec.classes.length,
      similarities: REAL.similarities,
      timings: {
        load_model_s: t.load_model_s,
        encode_texts_s: t.encode_texts_s,
        prompts_per_s: round(result.spec.prompts.length / t.encode_texts_s, 1),
        encode_images_s: t.encode_images_s,
        images_per_s: t.images_per_s,
        score_s: t.score_s,
        write_results_s: round((reported - written) / 1000, 1),
        write_report_s: round((finished - reported) / 1000, 1),
        total_s: round((finished - started) / 1000, 1),
      },
      peak_rss_mb: peakRssMb(),
      outputs: Object.fromEntries(readdirSync(out).sort().map((name) => [name, statSync(join(out, name)).size])),
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const readJson = <T>(path: string): T | null => (existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : null);
const SYNTHETIC_JSON = join(REPO, 'bench', 'large.json');
const REAL_JSON = join(REPO, 'bench', 'large-real.json');

async function main(): Promise<void> {
  if (process.argv[2] === 'real') {
    const real = await realRun();
    if (!real) return;
    console.error(JSON.stringify(real, null, 2));
    writeFileSync(REAL_JSON, JSON.stringify(real, null, 2) + '\n');
    const synthetic = readJson<Synthetic>(SYNTHETIC_JSON);
    writeFileSync(join(REPO, 'bench', 'LARGE.md'), (synthetic ? markdown(synthetic) : '# Scoring ImageNet-sized label sets (issue 11)\n') + realMarkdown(real));
    return;
  }
  const load = loadavg().map((x) => round(x, 2));
  const probeBefore = await probeGflops();
  console.error(`probe before: ${JSON.stringify(probeBefore)}`);
  const random = new Mulberry32(11);
  const centres = l2NormalizeRows(Float32Array.from({ length: CLASSES * DIM }, () => random.next() - 0.5), DIM);
  const prompts = CLASSES * TEMPLATES;
  const promptClass = Int32Array.from({ length: prompts }, (_, j) => Math.floor(j / TEMPLATES));
  const textEmbeddings = syntheticEmbeddings(prompts, DIM, centres, (j) => promptClass[j], random);
  const truth = Int32Array.from({ length: IMAGES }, () => random.below(CLASSES));
  const imageEmbeddings = syntheticEmbeddings(IMAGES, DIM, centres, (i) => truth[i], random);
  const rssAfterData = peakRssMb();
  const strategies = defaultStrategies(Int32Array.from({ length: CLASSES }, () => TEMPLATES));
  console.error(`scoring ${IMAGES} images × ${prompts} prompts (${CLASSES} classes × ${TEMPLATES}), dim ${DIM}, strategies ${strategies.map(strategyName).join(', ')}`);

  const productRate = await productGflops(textEmbeddings, imageEmbeddings, DIM, Math.min(8, Math.floor(IMAGES / blockRows(prompts))));
  console.error(`similarity product alone: ${productRate} GFLOP/s`);
  const started = performance.now();
  const scored = await scoreInChunks({ imageEmbeddings, textEmbeddings, dim: DIM, promptClass, numClasses: CLASSES }, strategies, {
    kernel: onnxKernel(THREADS),
    topClasses: 5,
  });
  const scoringSeconds = (performance.now() - started) / 1000;
  const rssPeak = peakRssMb();
  const probeAfter = await probeGflops();
  console.error(`probe after: ${JSON.stringify(probeAfter)}`);

  const accuracy = Object.fromEntries(
    [...scored.predictions].map(([name, predicted]) => [name, round(predicted.reduce((n, p, i) => n + (p === truth[i] ? 1 : 0), 0) / IMAGES, 4)]),
  );
  const flops = 2 * IMAGES * (prompts + CLASSES) * DIM;
  const probeMedian = Math.max(probeBefore.median, probeAfter.median);
  const results = {
    date: new Date().toISOString(),
    command: 'node --import tsx bench/large_labels.ts' + (IMAGES !== 50_000 ? ` (LARGE_IMAGES=${IMAGES})` : ''),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: THREADS, ram_gib: round(totalmem() / 1024 ** 3, 1), node: process.version, load_average_before: load },
    shape: { images: IMAGES, prompts, classes: CLASSES, templates: TEMPLATES, dim: DIM },
    strategies: strategies.map(strategyName),
    scoring_seconds: round(scoringSeconds, 1),
    /** The product alone, 8 blocks of the run's shape, just before scoring. */
    similarity_product_gflops: productRate,
    /** Multiply-adds of the whole scoring (prompts and class embeddings) ÷ its wall time: the product and the strategies overlap. */
    scoring_gflops_overall: round(flops / scoringSeconds / 1e9, 1),
    probe_gflops: { before: probeBefore, after: probeAfter },
    product_share_of_probe_median: round(productRate / probeMedian, 2),
    peak_rss_mb: rssPeak,
    rss_after_synthetic_data_mb: rssAfterData,
    synthetic_accuracy: accuracy,
  };
  console.error(JSON.stringify(results, null, 2));
  const suffix = IMAGES === 50_000 ? '' : `-${IMAGES}`;
  writeFileSync(join(REPO, 'bench', `large${suffix}.json`), JSON.stringify(results, null, 2) + '\n');
  const real = suffix ? null : readJson<RealRun>(REAL_JSON);
  writeFileSync(join(REPO, 'bench', `LARGE${suffix}.md`), markdown(results) + (real ? realMarkdown(real) : ''));
}

type Synthetic = {
  date: string; command: string; machine: { cpu: string; cores: number; ram_gib: number; node: string; load_average_before: number[] };
  shape: { images: number; prompts: number; classes: number; templates: number; dim: number }; strategies: string[];
  scoring_seconds: number; similarity_product_gflops: number; scoring_gflops_overall: number;
  probe_gflops: { before: { median: number; best: number }; after: { median: number; best: number } }; product_share_of_probe_median: number;
  peak_rss_mb: number; rss_after_synthetic_data_mb: number; synthetic_accuracy: Record<string, number>;
};

function realMarkdown(r: RealRun): string {
  const t = r.timings;
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 1e6 ? 2 : 1)} MB`;
  return `
## A real run: ${r.images.toLocaleString('en')} FairFace images × ${r.spec} (${r.classes.toLocaleString('en')} classes, ${r.prompts.toLocaleString('en')} prompts)

\`${r.command}\`, ${r.date}; load average before: ${r.load_average_before.join(', ')}. Model: ${r.model}, ${r.dtype}, no cache,
\`--similarities ${r.similarities}\`, no labels (so no metrics.json); the results folder and report.html written as \`zeroshot run\` writes them.

| stage | time | |
| --- | ---: | --- |
| loading the model | ${t.load_model_s} s | |
| text encoding, ${r.prompts.toLocaleString('en')} prompts | ${t.encode_texts_s} s | ${t.prompts_per_s} prompts/s |
| image encoding, ${r.images.toLocaleString('en')} images | ${t.encode_images_s} s | ${t.images_per_s} images/s |
| scoring, every default strategy | ${t.score_s} s | |
| writing the results folder | ${t.write_results_s} s | |
| writing report.html | ${t.write_report_s} s | |
| whole | ${t.total_s} s | |
| peak RSS (process) | ${r.peak_rss_mb} MB | |

Outputs: ${Object.entries(r.outputs).map(([name, bytes]) => `\`${name}\` ${mb(bytes)}`).join(', ')}.
`;
}

function markdown(r: Synthetic): string {
  const s = r.shape;
  const goal = (ok: boolean) => (ok ? 'met' : '**not met**');
  return `# Scoring ImageNet-sized label sets (issue 11)

\`${r.command}\`, ${r.date}. Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.ram_gib} GiB, Node ${r.machine.node};
load average before: ${r.machine.load_average_before.join(', ')} (the machine is shared: other jobs ran alongside).

Synthetic normalised embeddings: **${s.images.toLocaleString('en')} images × ${s.prompts.toLocaleString('en')} prompts** (${s.classes} classes × ${s.templates} templates), width ${s.dim}
(ViT-B/32's), scored by \`scoreInChunks\` with every default strategy (${r.strategies.join(', ')}) and each image's
5 best classes per strategy, in blocks of images (the similarity matrix, ${(s.images * s.prompts * 4 / 1024 ** 3).toFixed(1)} GB as float32, is never whole).

| measure | value | goal |
| --- | ---: | --- |
| scoring, every strategy (wall) | ${r.scoring_seconds} s | < 120 s: ${goal(r.scoring_seconds < 120)} |
| whole scoring, its FLOPs ÷ wall time (the product of the next block overlaps the strategies of this one) | ${r.scoring_gflops_overall} GFLOP/s | |
| similarity product alone (ONNX Runtime MatMul through the adapter, 8 blocks of the run's shape) | ${r.similarity_product_gflops} GFLOP/s | ≥ half the probe's: ${goal(r.product_share_of_probe_median >= 0.5)} (${r.product_share_of_probe_median} of the better median) |
| MatMul probe [1600 × 768] × [768 × 3072], same kernel, median / best of 10, before | ${r.probe_gflops.before.median} / ${r.probe_gflops.before.best} GFLOP/s | |
| the same after | ${r.probe_gflops.after.median} / ${r.probe_gflops.after.best} GFLOP/s | |
| peak RSS (process, embeddings included) | ${r.peak_rss_mb} MB | < 2048 MB: ${goal(r.peak_rss_mb < 2048)} |
| RSS once the synthetic embeddings exist | ${r.rss_after_synthetic_data_mb} MB | |

Accuracy on the synthetic data (a sanity check, not a result): ${Object.entries(r.synthetic_accuracy).map(([k, v]) => `${k} ${v}`).join(', ')}.
`;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
