// Runs image decoding and the CLIP transform off the main thread, so they overlap ONNX Runtime's inference.
import { parentPort, workerData } from 'node:worker_threads';
import { preprocessImageFile, type ClipPreprocessOptions } from './clip_image_transform.js';

export interface PreprocessRequest {
  readonly id: number;
  /** A file path (read here, off the main thread) or the file's bytes. */
  readonly image: string | Uint8Array;
  /** Where the pixels go: a view of a SharedArrayBuffer, so nothing is copied back. */
  readonly target: Float32Array;
}

export type PreprocessReply = { readonly id: number } | { readonly id: number; readonly error: string };

const options = workerData as ClipPreprocessOptions;

parentPort!.on('message', async ({ id, image, target }: PreprocessRequest) => {
  try {
    await preprocessImageFile(image, options, target);
    parentPort!.postMessage({ id } satisfies PreprocessReply);
  } catch (error) {
    parentPort!.postMessage({ id, error: (error as Error).message ?? String(error) } satisfies PreprocessReply);
  }
});
