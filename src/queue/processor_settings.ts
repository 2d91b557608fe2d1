// What `zeroshot worker` hands its sandboxed processors (shard_processor.ts, child processes forked by BullMQ):
// its flags, as JSON in one environment variable, since BullMQ passes a child nothing but its job.
import type { EmbedShardOptions } from '../shards/shard_run.js';

export interface ProcessorSettings {
  readonly redis: string;
  readonly queue: string;
  readonly store: string;
  /** The images folder on this machine (default: each plan's). */
  readonly images?: string;
  /** The model of every plan (default: each plan's own). */
  readonly model?: string;
  readonly embed: Pick<EmbedShardOptions, 'modelCacheDir' | 'offline' | 'dtype' | 'device' | 'threads' | 'preprocessReference' | 'batchSize' | 'preprocessWorkers' | 'rehash' | 'cache'>;
}

const VARIABLE = 'ZEROSHOT_WORKER';

export const processorEnvironment = (settings: ProcessorSettings, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv => ({ ...env, [VARIABLE]: JSON.stringify(settings) });

export function readProcessorSettings(env: NodeJS.ProcessEnv = process.env): ProcessorSettings {
  const text = env[VARIABLE];
  if (!text) throw new Error(`the shard processor runs inside \`zeroshot worker\` (no $${VARIABLE})`);
  return JSON.parse(text) as ProcessorSettings;
}
