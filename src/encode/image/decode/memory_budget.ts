/**
 * One budget of decoding memory shared by all preprocessing threads, so that N threads decoding large images
 * at once cannot together exhaust the machine: each decode reserves an estimate from the size its header
 * declares before anything is allocated (decodeImage's `beforeDecode`), waits while the budget is spent, and
 * gives it back once its pixels are transformed. An image larger than the whole budget waits until it can run
 * alone. The pixels live outside the JavaScript heap (typed arrays, libvips), which the worker's
 * resourceLimits do not cover, hence this.
 *
 * Layout of the shared Int32Array: [in use, budget, held by slot 0, held by slot 1, …], in KiB. A slot is one
 * thread's; when a thread dies, the owner of the pool reclaims what its slot held.
 */

/** Bytes of decoding memory all threads may hold together. */
export const DECODE_MEMORY_BUDGET_BYTES = 1 << 30;

/**
 * Bytes a decode holds per declared pixel, at most: the samples (up to 4 bytes a pixel, 8 for 16-bit RGBA
 * read as 8-bit) plus one working copy (libvips' output before it is reshaped to PIL's layout).
 */
export const DECODE_BYTES_PER_PIXEL = 8;

const IN_USE = 0;
const BUDGET = 1;
const SLOTS = 2;

type WaitAsync = (a: Int32Array, index: number, value: number) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export class DecodeMemoryBudget {
  private readonly cells: Int32Array;

  /** Shared memory for a budget of `bytes` over `slots` threads. */
  static allocate(slots: number, bytes = DECODE_MEMORY_BUDGET_BYTES): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer((SLOTS + slots) * Int32Array.BYTES_PER_ELEMENT);
    new Int32Array(buffer)[BUDGET] = Math.max(1, Math.floor(bytes / 1024));
    return buffer;
  }

  /** The view of one thread (`slot`) on a budget from `allocate`. */
  constructor(
    buffer: SharedArrayBuffer,
    private readonly slot: number,
  ) {
    this.cells = new Int32Array(buffer);
  }

  /** Waits until the decoding memory for `pixels` fits in the budget and takes it; returns what to release. */
  async acquire(pixels: number): Promise<number> {
    const budget = this.cells[BUDGET];
    const want = Math.max(1, Math.min(budget, Math.ceil((pixels * DECODE_BYTES_PER_PIXEL) / 1024)));
    for (;;) {
      const inUse = Atomics.load(this.cells, IN_USE);
      if (inUse + want <= budget) {
        // The slot is charged first and the total released first: a thread killed between the two steps
        // leaves the budget too generous when reclaimed, never spent for good.
        Atomics.add(this.cells, SLOTS + this.slot, want);
        if (Atomics.compareExchange(this.cells, IN_USE, inUse, inUse + want) === inUse) return want;
        Atomics.sub(this.cells, SLOTS + this.slot, want);
        continue;
      }
      const wait = waitAsync(this.cells, IN_USE, inUse);
      if (wait.async) await wait.value;
    }
  }

  release(held: number): void {
    Atomics.sub(this.cells, IN_USE, held);
    Atomics.sub(this.cells, SLOTS + this.slot, held);
    Atomics.notify(this.cells, IN_USE);
  }

  /** Gives back whatever a dead thread's slot still held. */
  static reclaim(buffer: SharedArrayBuffer, slot: number): void {
    const cells = new Int32Array(buffer);
    Atomics.sub(cells, IN_USE, Atomics.exchange(cells, SLOTS + slot, 0));
    Atomics.notify(cells, IN_USE);
  }

  /** KiB in use now (for tests and diagnostics). */
  static inUse(buffer: SharedArrayBuffer): number {
    return Atomics.load(new Int32Array(buffer), IN_USE);
  }
}
