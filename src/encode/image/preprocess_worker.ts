// Runs image decoding and the CLIP transform off the main thread, so they overlap ONNX Runtime's inference.
import { parentPort, workerData } from 'node:worker_threads';
import { preprocessWithinBudget, type DecodeLimits, type PreprocessResult } from './preprocess.js';
import type { ClipPreprocessOptions } from './clip_image_transform.js';
import { DecodeMemoryBudget } from './decode/memory_budget.js';
import type { ImageBytesSource } from '../../input/file_range.js';

export interface PreprocessWorkerData {
  readonly transform: ClipPreprocessOptions;
  readonly limits: DecodeLimits;
  /** The decoding-memory budget all threads share, and this thread's slot in it. */
  readonly budget: SharedArrayBuffer;
  readonly slot: number;
}

export interface PreprocessRequest {
  readonly id: number;
  /** A file path or a range of a file (read here, off the main thread), or the file's bytes. */
  readonly image: ImageBytesSource;
  /** Where the pixels go: a view of a SharedArrayBuffer, so nothing is copied back. */
  readonly target: Float32Array;
}

/** `ready` once the thread has loaded; then one reply per request. */
export type PreprocessReply = { readonly ready: true } | ({ readonly id: number } & (PreprocessResult | { readonly error: string }));

const { transform, limits, budget, slot } = workerData as PreprocessWorkerData;
const memory = new DecodeMemoryBudget(budget, slot);

/**
 * Test-only: ZEROSHOT_TEST_EXHAUST_HEAP=<name> makes this thread fill its JavaScript heap when asked for a file
 * whose path ends with <name>, so that tests can watch a real V8 out-of-memory kill a preprocessing thread.
 */
const exhaustHeapOn = process.env.ZEROSHOT_TEST_EXHAUST_HEAP;

parentPort!.on('message', async ({ id, image, target }: PreprocessRequest) => {
  try {
    if (exhaustHeapOn && typeof image === 'string' && image.endsWith(exhaustHeapOn)) {
      const hog: number[][] = [];
      for (;;) hog.push(Array.from({ length: 1024 }, (_, i) => i + hog.length));
    }
    const result = await preprocessWithinBudget(image, transform, limits, memory, target);
    parentPort!.postMessage({ id, ...result } satisfies PreprocessReply);
  } catch (error) {
    parentPort!.postMessage({ id, error: (error as Error).message ?? String(error) } satisfies PreprocessReply);
  }
});
parentPort!.postMessage({ ready: true } satisfies PreprocessReply);
