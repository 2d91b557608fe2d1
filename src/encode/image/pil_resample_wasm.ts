/**
 * Binding to the WebAssembly SIMD kernels of src/encode/image/wasm/resample.c: the
 * 8-bit resampling passes (coefficient rows in, so every convolution filter)
 * and the table-driven normalisation. Callers
 * (pil_resample.ts, clip_image_transform.ts) compute the taps and keep their
 * TypeScript implementations as the reference, used where this module is
 * unavailable (`wasmKernels` is null when the runtime lacks WebAssembly SIMD).
 *
 * The module is compiled synchronously at load (it is a few KB), once per
 * thread, so worker threads get their own instance. Each call copies its
 * inputs into the instance's memory, runs, and copies the result out.
 */
import { RESAMPLE_WASM_BASE64 } from './wasm/resample_wasm.js';

interface KernelExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  horizontal_pass(
    src: number, srcStride: number, rows: number, channels: number,
    start: number, weights: number, taps: number, out: number, outWidth: number,
  ): void;
  vertical_pass(
    src: number, srcStride: number, rowSamples: number,
    start: number, weights: number, taps: number, out: number, outRows: number,
  ): void;
  normalize_chw(rgb: number, pixels: number, table: number, out: number): void;
}

/** Taps of one pass: `taps` weights per output sample from source index start[i]. */
export interface KernelTaps {
  start: Int32Array;
  weights: Int32Array;
  taps: number;
}

/** A convolution resize (any Pillow filter) of interleaved 8-bit samples, in the kernels' terms. */
export interface Resample8Job {
  data: Uint8Array;
  width: number;
  channels: number;
  /** Source rows [rowStart, rowEnd) are the only ones read. */
  rowStart: number;
  rowEnd: number;
  /** Horizontal taps (output width = start.length), run over every row read. */
  horizontal: KernelTaps | null;
  /** Vertical taps; start indices count from rowStart. */
  vertical: KernelTaps | null;
  /** First column read by the vertical pass when there is no horizontal pass. */
  colStart: number;
  outWidth: number;
}

/** Channel counts the horizontal kernel handles. */
export const KERNEL_MAX_CHANNELS = 4;

/** What the kernels need `KernelTaps.taps` to be a multiple of. */
export function kernelTapMultiple(pass: 'horizontal' | 'vertical', channels: number): number {
  return pass === 'horizontal' && channels === 1 ? 4 : 2;
}

/** Loads and stores of the kernels run up to 15 bytes past a row. */
const SLACK = 16;
const PAGE = 65536;
/**
 * Jobs needing more memory than this run in a throwaway instance, so that one
 * huge image does not pin its memory for the life of the thread (wasm memory
 * never shrinks).
 */
const KEPT_MEMORY_BYTES = 16 << 20;
/** wasm32 addresses 4 GiB; stay well inside it. */
const MAX_MEMORY_BYTES = 2 ** 31;

function compileKernels(): WebAssembly.Module | null {
  const bytes = Buffer.from(RESAMPLE_WASM_BASE64, 'base64');
  // validate() is false when the runtime lacks SIMD (or WebAssembly at all).
  if (typeof WebAssembly !== 'object' || !WebAssembly.validate(bytes)) return null;
  return new WebAssembly.Module(bytes);
}

const kernelModule = compileKernels();

function instantiate(module: WebAssembly.Module): KernelExports {
  return new WebAssembly.Instance(module).exports as unknown as KernelExports;
}

/** Bump allocator over one call's buffers, 16-byte aligned, each followed by spare bytes. */
class Layout {
  end: number;
  constructor(base: number) {
    this.end = base;
  }
  take(bytes: number, spare = SLACK): number {
    const at = (this.end + 15) & ~15;
    this.end = at + bytes + spare;
    return at;
  }
}

/** The kernels of one thread: a kept instance for ordinary jobs, throwaway ones for huge jobs. */
class WasmKernels {
  private kept: KernelExports;

  constructor(private readonly module: WebAssembly.Module) {
    this.kept = instantiate(module);
  }

  /** An instance whose memory holds `bytes`, or null if that much cannot be had. */
  private instanceFor(bytes: number): KernelExports | null {
    if (bytes > MAX_MEMORY_BYTES) return null;
    const k = bytes <= KEPT_MEMORY_BYTES ? this.kept : instantiate(this.module);
    const missing = bytes - k.memory.buffer.byteLength;
    if (missing > 0) {
      try {
        k.memory.grow(Math.ceil(missing / PAGE));
      } catch {
        return null; // out of memory: the caller falls back to TypeScript
      }
    }
    return k;
  }

  /**
   * Runs the passes of `job`; returns the output samples (outWidth x rows of
   * the last pass), or null when the job does not fit in wasm memory. The
   * kernels overwrite the weights they get, which are copies in wasm memory.
   */
  resample8(job: Resample8Job): Uint8Array | null {
    const { horizontal: h, vertical: v, channels: ch } = job;
    const rows = job.rowEnd - job.rowStart;
    const srcStride = job.width * ch;
    const rowSamples = job.outWidth * ch;
    const outRows = v ? v.start.length : rows;

    const heapBase = this.kept.__heap_base.value as number;
    const layout = new Layout(heapBase);
    // The vertical pass may read one row past its source (see resample.c).
    const srcAt = layout.take(rows * srcStride, srcStride + SLACK);
    const hStartAt = h ? layout.take(h.start.byteLength) : 0;
    const hWeightsAt = h ? layout.take(h.weights.byteLength) : 0;
    const vStartAt = v ? layout.take(v.start.byteLength) : 0;
    const vWeightsAt = v ? layout.take(v.weights.byteLength) : 0;
    const tempAt = h && v ? layout.take(rows * rowSamples, rowSamples + SLACK) : 0;
    const outAt = layout.take(outRows * rowSamples);

    const k = this.instanceFor(layout.end);
    if (!k) return null;
    const heap = new Uint8Array(k.memory.buffer);
    heap.set(job.data.subarray(job.rowStart * srcStride, job.rowEnd * srcStride), srcAt);
    if (h) {
      new Int32Array(k.memory.buffer, hStartAt, h.start.length).set(h.start);
      new Int32Array(k.memory.buffer, hWeightsAt, h.weights.length).set(h.weights);
      k.horizontal_pass(srcAt, srcStride, rows, ch, hStartAt, hWeightsAt, h.taps, v ? tempAt : outAt, job.outWidth);
    }
    if (v) {
      new Int32Array(k.memory.buffer, vStartAt, v.start.length).set(v.start);
      new Int32Array(k.memory.buffer, vWeightsAt, v.weights.length).set(v.weights);
      const [from, stride] = h ? [tempAt, rowSamples] : [srcAt + job.colStart * ch, srcStride];
      k.vertical_pass(from, stride, rowSamples, vStartAt, vWeightsAt, v.taps, outAt, outRows);
    }
    return heap.slice(outAt, outAt + outRows * rowSamples);
  }

  /**
   * The first `pixels` interleaved RGB pixels -> CHW float32 through a
   * 3 x 256 table, written to `out` (3 x pixels) or a new array; null when
   * the image does not fit in wasm memory.
   */
  normalizeChw(rgb: Uint8Array, pixels: number, table: Float32Array, out?: Float32Array): Float32Array | null {
    const layout = new Layout(this.kept.__heap_base.value as number);
    const rgbAt = layout.take(3 * pixels);
    const tableAt = layout.take(table.byteLength);
    const outAt = layout.take(3 * pixels * 4);
    const k = this.instanceFor(layout.end);
    if (!k) return null;
    new Uint8Array(k.memory.buffer).set(rgb.subarray(0, 3 * pixels), rgbAt);
    new Float32Array(k.memory.buffer, tableAt, table.length).set(table);
    k.normalize_chw(rgbAt, pixels, tableAt, outAt);
    const result = new Float32Array(k.memory.buffer, outAt, 3 * pixels);
    if (!out) return result.slice();
    out.set(result);
    return out;
  }
}

/** This thread's kernels, or null without WebAssembly SIMD. */
export const wasmKernels: WasmKernels | null = kernelModule && new WasmKernels(kernelModule);
