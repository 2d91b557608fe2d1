// What onnxruntime-node needs for its CUDA execution provider, so that `--device cuda` on a machine without it is an
// error naming what is missing rather than ONNX Runtime's bare "Failed to load shared library", and never a run on
// the CPU instead.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';

/** onnxruntime-node's CUDA provider files, which its install script downloads only when asked (`.npmrc` skips them). */
export const CUDA_PROVIDER_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'] as const;
/** What the provider links to: CUDA 12 and cuDNN 9 (ONNX Runtime's CUDA execution provider requirements). */
export const CUDA_LIBRARIES = ['libcudart.so.12', 'libcublas.so.12', 'libcublasLt.so.12', 'libcufft.so.11', 'libcurand.so.10', 'libcudnn.so.9'] as const;
/** The NVIDIA driver's library, without which no CUDA program runs. */
export const CUDA_DRIVER_LIBRARY = 'libcuda.so.1';

export const CUDA_INSTALL_HINT =
  'reinstall it with them: `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` (README, "GPU machines"), or run with --device cpu';

/** What the checks look at, gathered by systemCudaEnvironment (tests give their own). */
export interface CudaEnvironment {
  readonly platform: string;
  readonly arch: string;
  /** onnxruntime-node's folder of native libraries. */
  readonly providerFolder: string;
  readonly fileExists: (path: string) => boolean;
  /** Whether the dynamic loader would find a library of this name. */
  readonly libraryFound: (name: string) => boolean;
  /** NVIDIA GPUs the driver lists (/proc/driver/nvidia/gpus), or undefined when that cannot be read. */
  readonly gpus: number | undefined;
}

/** Why the CUDA provider cannot even be tried (platform, provider files), or undefined. */
export function cudaPreflightProblem(env: CudaEnvironment): string | undefined {
  if (env.platform !== 'linux' || env.arch !== 'x64') {
    return `onnxruntime-node has a CUDA execution provider only on Linux x64, and this is ${env.platform}/${env.arch}; run with --device cpu`;
  }
  const missing = CUDA_PROVIDER_FILES.filter((file) => !env.fileExists(join(env.providerFolder, file)));
  if (missing.length) {
    return `onnxruntime-node was installed without its CUDA files (${missing.map((file) => join(env.providerFolder, file)).join(', ')} missing); ${CUDA_INSTALL_HINT}`;
  }
  return undefined;
}

/** After ONNX Runtime failed to start the provider: which of its needs this machine lacks (libraries, driver, GPU). */
export function cudaDiagnosis(env: CudaEnvironment): string[] {
  const problems: string[] = [];
  const libraries = CUDA_LIBRARIES.filter((name) => !env.libraryFound(name));
  if (libraries.length) problems.push(`the loader finds no ${libraries.join(', ')} (install CUDA 12 and cuDNN 9, or add their lib folders to LD_LIBRARY_PATH)`);
  if (!env.libraryFound(CUDA_DRIVER_LIBRARY)) problems.push(`no NVIDIA driver (${CUDA_DRIVER_LIBRARY} not found)`);
  else if (env.gpus === 0) problems.push('the NVIDIA driver lists no GPU (/proc/driver/nvidia/gpus is empty)');
  return problems;
}

/** Folders the dynamic loader searches besides its cache. */
const SYSTEM_LIBRARY_FOLDERS = ['/lib', '/usr/lib', '/lib64', '/usr/lib64', '/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu'];

export function systemCudaEnvironment(): CudaEnvironment {
  const providerFolder = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
  const folders = [...(process.env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean), providerFolder, ...SYSTEM_LIBRARY_FOLDERS];
  let loaderCache: Buffer | undefined;
  const inLoaderCache = (name: string) => {
    try {
      loaderCache ??= readFileSync('/etc/ld.so.cache');
    } catch {
      return false;
    }
    // The cache's string table holds each library's name.
    return loaderCache.includes(`${name}\0`);
  };
  let gpus: number | undefined;
  try {
    gpus = readdirSync('/proc/driver/nvidia/gpus').length;
  } catch {
    gpus = undefined;
  }
  return {
    platform: process.platform,
    arch: process.arch,
    providerFolder,
    fileExists: existsSync,
    libraryFound: (name) => folders.some((folder) => existsSync(join(folder, name))) || inLoaderCache(name),
    gpus,
  };
}
