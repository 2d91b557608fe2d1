import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { preprocessImageFile, type ClipPreprocessOptions } from './clip_image_transform.js';
import type { PreprocessReply, PreprocessRequest } from './preprocess_worker.js';

/** Turns one image (a file path or the file's bytes) into its model input: [3, size, size] float32, normalised. */
export interface ImagePreprocessor {
  /** The resolved settings: part of the embedding cache key. */
  readonly options: ClipPreprocessOptions;
  /** Memory for `length` floats that every preprocessing thread can write to (shared when there are workers). */
  allocate(length: number): Float32Array;
  /** Preprocesses one image into `target` ([3, size, size], a view of memory from `allocate`). */
  runInto(image: string | Uint8Array, target: Float32Array): Promise<void>;
  close(): Promise<void>;
}

/**
 * Preprocessing with the resolved `options` (a model family's, see `ClipModel.family.preprocess`) on `workers`
 * worker threads (0: on the calling thread). Decoding and resampling are CPU work; on their own threads they run
 * while ONNX Runtime encodes the previous batch.
 */
export function createImagePreprocessor(options: ClipPreprocessOptions, workers = defaultWorkerCount()): ImagePreprocessor {
  if (workers === 0) {
    return {
      options,
      allocate: (length) => new Float32Array(length),
      runInto: async (image, target) => void (await preprocessImageFile(image, options, target)),
      close: async () => {},
    };
  }

  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  const threads = Array.from({ length: workers }, () => {
    const worker = startWorker(options);
    worker.on('message', (reply: PreprocessReply) => {
      const request = pending.get(reply.id)!;
      pending.delete(reply.id);
      if ('error' in reply) request.reject(new Error(reply.error));
      else request.resolve();
    });
    worker.on('error', (error) => {
      failure = new Error(`image preprocessing thread failed: ${error.message}`);
      for (const request of pending.values()) request.reject(failure);
      pending.clear();
    });
    return worker;
  });
  return {
    options,
    // Workers write the pixels straight into shared memory: no per-image buffers to allocate, transfer and collect.
    allocate: (length) => new Float32Array(new SharedArrayBuffer(length * Float32Array.BYTES_PER_ELEMENT)),
    runInto(image, target) {
      if (failure) return Promise.reject(failure);
      if (!(target.buffer instanceof SharedArrayBuffer)) return Promise.reject(new Error('runInto: target must come from allocate()'));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        // Round-robin is enough: images of one folder cost about the same.
        threads[id % threads.length].postMessage({ id, image, target } satisfies PreprocessRequest);
      });
    },
    async close() {
      await Promise.all(threads.map((t) => t.terminate()));
    },
  };
}

/**
 * Built code runs the compiled worker. Run from source under tsx (tests, benchmarks), the worker is .ts too,
 * and Node 20 does not pass tsx's loader on to workers, so the worker registers it first.
 */
function startWorker(options: ClipPreprocessOptions): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./preprocess_worker.js', import.meta.url), { workerData: options });
  const source = new URL('./preprocess_worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: options });
}

/** One preprocessing thread per spare core, at least one. */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}
