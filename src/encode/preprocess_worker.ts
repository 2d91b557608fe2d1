// Runs image decoding and the CLIP transform off the main thread, so they overlap ONNX Runtime's inference.
import { parentPort, workerData } from 'node:worker_threads';
import { preprocessImageFile, type ClipPreprocessOptions } from './clip_image_transform.js';

export interface PreprocessRequest {
  readonly id: number;
  /** A file path (read here, off the main thread) or the file's bytes. */
  readonly image: string | Uint8Array;
}

export type PreprocessReply = { readonly id: number; readonly pixels: Float32Array } | { readonly id: number; readonly error: string };

const options = workerData as ClipPreprocessOptions;

parentPort!.on('message', async ({ id, image }: PreprocessRequest) => {
  try {
    const pixels = await preprocessImageFile(image, options);
    parentPort!.postMessage({ id, pixels } satisfies PreprocessReply, [pixels.buffer as ArrayBuffer]);
  } catch (error) {
    parentPort!.postMessage({ id, error: (error as Error).message ?? String(error) } satisfies PreprocessReply);
  }
});
