// One instance of a WebAssembly kernel module built by scripts/build_wasm.sh (memory exported, data from
// __heap_base): its exports, where data may start, and memory grown on demand. Each module compiles once.
const PAGE_BYTES = 1 << 16;

/** What every module of scripts/build_wasm.sh exports beside its kernels. */
interface KernelModuleExports {
  readonly memory: WebAssembly.Memory;
  /** Where the data may start: after the module's 64 KiB stack. */
  readonly __heap_base: WebAssembly.Global;
}

const compiled = new Map<string, WebAssembly.Module>();

export class KernelInstance<Kernels> {
  readonly kernels: Kernels;
  readonly memory: WebAssembly.Memory;
  /** The first 16-byte-aligned byte after the module's stack. */
  readonly dataStart: number;

  /** `base64`: the module (NAME_WASM_BASE64 of its generated NAME_wasm.ts). */
  constructor(base64: string) {
    let module = compiled.get(base64);
    if (!module) compiled.set(base64, (module = new WebAssembly.Module(Buffer.from(base64, 'base64'))));
    const exports = new WebAssembly.Instance(module, {}).exports as unknown as Kernels & KernelModuleExports;
    this.kernels = exports;
    this.memory = exports.memory;
    this.dataStart = align16(exports.__heap_base.value as number);
  }

  /** Grows the memory to at least `bytes`. */
  reserve(bytes: number): void {
    if (bytes > this.memory.buffer.byteLength) this.memory.grow(Math.ceil((bytes - this.memory.buffer.byteLength) / PAGE_BYTES));
  }
}

/** `bytes` rounded up to a multiple of 16 (a SIMD vector). */
export const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;
