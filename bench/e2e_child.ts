/**
 * One cold end-to-end `runZeroShot` in its own process, so that its peak RSS is its own and not the
 * benchmark parent's. bench/run.ts spawns it; it prints one line of JSON with its measurements.
 *
 *   node --import tsx bench/e2e_child.ts --images DIR --labels CSV --model DIR --dtype fp32|q8 --cache FILE
 */
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runZeroShot, type RunOptions, type RunResult } from '../src/pipeline.js';

export interface E2eMeasurement {
  readonly dtype: string;
  readonly images_embedded: number;
  readonly images_failed: number;
  /** The pipeline's own figures (`result.timings`). */
  readonly timings: Record<string, number>;
  /** From the 'images' stage hook to the 'scores' stage hook, measured here. */
  readonly encode_wall_s: number | null;
  /** The whole `runZeroShot` call, model load included. */
  readonly run_wall_s: number;
  /** `process.resourceUsage().maxRSS` after the run, in KB. */
  readonly max_rss_kb: number;
  readonly cache_path: string;
  /** Size of the cache file after the run; null when no file was written. */
  readonly cache_bytes: number | null;
  /** The run's use of the cache (`result.cache`): image and text hits and misses. */
  readonly cache_stats: RunResult['cache'];
}

const { values } = parseArgs({
  options: {
    images: { type: 'string' },
    labels: { type: 'string' },
    'label-column': { type: 'string', default: 'race' },
    spec: { type: 'string', default: 'fairface-race' },
    model: { type: 'string' },
    dtype: { type: 'string', default: 'fp32' },
    cache: { type: 'string' },
    'batch-size': { type: 'string', default: '32' },
  },
});
for (const required of ['images', 'model', 'cache'] as const) {
  if (!values[required]) throw new Error(`e2e_child: --${required} is required`);
}

const stageAt = new Map<string, number>();
const options: RunOptions = {
  images: values.images!,
  spec: values.spec!,
  labels: values.labels,
  labelColumn: values['label-column'],
  model: values.model,
  offline: true,
  dtype: values.dtype,
  batchSize: Number(values['batch-size']),
  cache: values.cache,
};

const started = performance.now();
const result = await runZeroShot(options, { onStage: (stage) => stageAt.set(stage, performance.now()) });
const runWall = (performance.now() - started) / 1000;
const imagesStart = stageAt.get('images');
const scoresStart = stageAt.get('scores');

const measurement: E2eMeasurement = {
  dtype: values.dtype!,
  images_embedded: result.counts.embedded,
  images_failed: result.counts.failed,
  timings: result.timings,
  encode_wall_s: imagesStart !== undefined && scoresStart !== undefined ? (scoresStart - imagesStart) / 1000 : null,
  run_wall_s: runWall,
  max_rss_kb: process.resourceUsage().maxRSS,
  cache_path: values.cache!,
  cache_bytes: existsSync(values.cache!) ? statSync(values.cache!).size : null,
  cache_stats: result.cache,
};
// The parent reads the last line of stdout.
process.stdout.write(`${JSON.stringify(measurement)}\n`);
