import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { clipTransform, type ClipPreprocessOptions } from './clip_image_transform.js';
import { checkMaxImagePixels, decodeImage } from './decode/index.js';
import { DecodeMemoryBudget } from './decode/memory_budget.js';
import type { PreprocessReply, PreprocessRequest, PreprocessWorkerData } from './preprocess_worker.js';
import { pathOrBytes, type ImageBytesSource } from '../../input/file_range.js';

/**
 * Turns one image (a file path, the file's bytes, or a range of a file such as a tar member) into its model input:
 * [3, size, size] float32, normalised.
 */
export interface ImagePreprocessor {
  /** The resolved settings: part of the embedding cache key. */
  readonly options: ClipPreprocessOptions;
  /** Worker threads it preprocesses on (0: the calling thread); run.json's preprocess_workers. */
  readonly workers: number;
  /** Memory for `length` floats that every preprocessing thread can write to (shared when there are workers). */
  allocate(length: number): Float32Array;
  /** Preprocesses one image into `target` ([3, size, size], a view of memory from `allocate`). */
  runInto(image: ImageBytesSource, target: Float32Array): Promise<PreprocessResult>;
  close(): Promise<void>;
}

/** What the decoders may cost: PIL's pixel limit (the CLI's --max-image-pixels). */
export interface DecodeLimits {
  /** PIL's MAX_IMAGE_PIXELS: a warning above it, DecompressionBombError above twice it (default 89,478,485). */
  readonly maxImagePixels?: number;
}

/** What preprocessing one image reported besides its pixels. */
export interface PreprocessResult {
  /** PIL-style warnings (DecompressionBombWarning): the image was used, the run should record them. */
  readonly warnings: readonly string[];
}

/** JavaScript heap of one preprocessing thread; pixels are outside it, under the shared decoding-memory budget. */
export const WORKER_HEAP_LIMIT_MB = 256;

/** Decode (holding the image's share of `memory` from its declared size on) and transform into `target`. */
export async function preprocessWithinBudget(
  image: ImageBytesSource,
  transform: ClipPreprocessOptions,
  limits: DecodeLimits,
  memory: DecodeMemoryBudget,
  target: Float32Array,
): Promise<PreprocessResult> {
  const warnings: string[] = [];
  let held = 0;
  try {
    const decoded = await decodeImage(await pathOrBytes(image), {
      exifRotate: transform.exifRotate,
      maxImagePixels: limits.maxImagePixels,
      onWarning: (message) => warnings.push(message),
      beforeDecode: async ({ width, height }) => void (held = await memory.acquire(width * height)),
    });
    clipTransform(decoded, transform, target);
    return { warnings };
  } finally {
    if (held) memory.release(held);
  }
}

interface Job {
  readonly id: number;
  readonly image: ImageBytesSource;
  readonly target: Float32Array;
  readonly resolve: (result: PreprocessResult) => void;
  readonly reject: (error: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly slot: number;
  readonly jobs: Map<number, Job>;
  error?: Error;
  /** Loaded: a thread that dies before this could not start, and no image is to blame. */
  ready?: boolean;
  retired?: boolean;
}

/**
 * Preprocessing with the resolved `options` (a model family's, see `ClipModel.family.preprocess`) on `workers`
 * worker threads (0: on the calling thread). Decoding and resampling are CPU work; on their own threads they run
 * while ONNX Runtime encodes the previous batch.
 *
 * No image can end the run. A thread that dies (V8 out of memory under its heap limit, an uncaught error) is
 * replaced. If it was working on one image, that image is rejected with a message saying the decoder thread
 * died on it; if on several, each is retried alone on a quarantine thread, so only the one that kills a thread
 * by itself fails. Memory: each thread's JavaScript heap is capped (WORKER_HEAP_LIMIT_MB) and the decoded pixels
 * of all threads together are bounded by one shared budget (decode/memory_budget.ts).
 */
export function createImagePreprocessor(options: ClipPreprocessOptions, workers = defaultWorkerCount(), limits: DecodeLimits = {}): ImagePreprocessor {
  checkMaxImagePixels(limits.maxImagePixels);
  if (workers === 0) {
    const memory = new DecodeMemoryBudget(DecodeMemoryBudget.allocate(1), 0);
    return {
      options,
      workers: 0,
      allocate: (length) => new Float32Array(length),
      runInto: (image, target) => preprocessWithinBudget(image, options, limits, memory, target),
      close: async () => {},
    };
  }

  const budget = DecodeMemoryBudget.allocate(workers + 1);
  const quarantineSlot = workers;
  let closed = false;
  let broken: Error | undefined;
  let nextId = 0;
  const suspects: Job[] = [];
  let quarantine: Thread | null = null;

  const spawn = (slot: number): Thread => {
    const data: PreprocessWorkerData = { transform: options, limits, budget, slot };
    const thread: Thread = { worker: startWorker(data), slot, jobs: new Map() };
    thread.worker.on('message', (reply: PreprocessReply) => {
      if ('ready' in reply) return void (thread.ready = true);
      const job = thread.jobs.get(reply.id);
      if (!job) return;
      thread.jobs.delete(reply.id);
      if ('error' in reply) job.reject(new Error(reply.error));
      else job.resolve({ warnings: reply.warnings });
      if (thread === quarantine) runNextSuspect();
    });
    thread.worker.on('error', (error) => (thread.error = error));
    thread.worker.on('exit', (code) => {
      if (thread.retired || closed || broken) return;
      if (thread.ready) died(thread, code);
      else cannotStart(thread, code);
    });
    return thread;
  };
  const send = (thread: Thread, job: Job) => {
    thread.jobs.set(job.id, job);
    thread.worker.postMessage({ id: job.id, image: job.image, target: job.target } satisfies PreprocessRequest);
  };
  const threads = Array.from({ length: workers }, (_, slot) => spawn(slot));

  const died = (thread: Thread, code: number) => {
    DecodeMemoryBudget.reclaim(budget, thread.slot);
    if (thread === quarantine) quarantine = null;
    else threads[thread.slot] = spawn(thread.slot);
    const jobs = [...thread.jobs.values()];
    if (jobs.length === 1) {
      const reason = thread.error?.message ?? `exit code ${code}`;
      jobs[0].reject(new Error(`the image decoder thread died on this image (${reason}); the image is skipped and the thread replaced`));
    } else {
      suspects.push(...jobs);
    }
    runNextSuspect();
  };
  const cannotStart = (thread: Thread, code: number) => {
    broken = new Error(`an image preprocessing thread could not start (${thread.error?.message ?? `exit code ${code}`})`);
    const all = quarantine ? [...threads, quarantine] : threads;
    for (const job of [...suspects, ...all.flatMap((t) => [...t.jobs.values()])]) job.reject(broken);
    suspects.length = 0;
    for (const t of all) if (t !== thread) void t.worker.terminate();
  };
  const runNextSuspect = () => {
    if (closed || broken || (quarantine && quarantine.jobs.size > 0)) return;
    const job = suspects.shift();
    if (job) {
      quarantine ??= spawn(quarantineSlot);
      send(quarantine, job);
    } else if (quarantine) {
      quarantine.retired = true;
      void quarantine.worker.terminate();
      quarantine = null;
    }
  };

  return {
    options,
    workers,
    // Workers write the pixels straight into shared memory: no per-image buffers to allocate, transfer and collect.
    allocate: (length) => new Float32Array(new SharedArrayBuffer(length * Float32Array.BYTES_PER_ELEMENT)),
    runInto(image, target) {
      if (closed) return Promise.reject(new Error('runInto: the preprocessor is closed'));
      if (broken) return Promise.reject(broken);
      if (!(target.buffer instanceof SharedArrayBuffer)) return Promise.reject(new Error('runInto: target must come from allocate()'));
      const id = nextId++;
      // Round-robin is enough: images of one folder cost about the same.
      return new Promise((resolve, reject) => send(threads[id % threads.length], { id, image, target, resolve, reject }));
    },
    async close() {
      closed = true;
      const all = quarantine ? [...threads, quarantine] : threads;
      for (const job of [...suspects, ...all.flatMap((t) => [...t.jobs.values()])]) job.reject(new Error('the preprocessor was closed'));
      await Promise.all(all.map((t) => t.worker.terminate()));
    },
  };
}

/**
 * Built code runs the compiled worker. Run from source under tsx (tests, benchmarks), the worker is .ts too,
 * and Node 20 does not pass tsx's loader on to workers, so the worker registers it first.
 */
function startWorker(workerData: PreprocessWorkerData): Worker {
  const resourceLimits = { maxOldGenerationSizeMb: WORKER_HEAP_LIMIT_MB };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./preprocess_worker.js', import.meta.url), { workerData, resourceLimits });
  const source = new URL('./preprocess_worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits });
}

/** One preprocessing thread per spare core, at least one (`--workers`' default). */
export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism() - 1);
}
