// --device and --workers: asking for CUDA where onnxruntime-node has no CUDA provider is an error that names what is
// missing (never a run on the CPU); the preprocessing threads are the number asked for (default cores − 1), and
// run.json records them and the device. The CLI cases run the built CLI (npm run build first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CUDA_LIBRARIES, cudaDiagnosis, cudaPreflightProblem, systemCudaEnvironment, type CudaEnvironment } from '../src/encode/cuda_check.js';
import { createImagePreprocessor, defaultWorkerCount } from '../src/encode/image/preprocess.js';
import { ClipModel } from '../src/encode/model.js';

const execFileAsync = promisify(execFile);
const CLI = fileURLToPath(new URL('../bin/zeroshot.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/tiny-clip', import.meta.url));
const IMAGES = fileURLToPath(new URL('../fixtures/demo-images', import.meta.url));
const hasCudaProvider = cudaPreflightProblem(systemCudaEnvironment()) === undefined;

const zeroshot = async (args: string[]) => {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
};

const linux = (overrides: Partial<CudaEnvironment> = {}): CudaEnvironment => ({
  platform: 'linux',
  arch: 'x64',
  providerFolder: '/ort/bin',
  fileExists: () => true,
  libraryFound: () => true,
  gpus: 1,
  ...overrides,
});

test('the CUDA checks name what is missing: platform, provider files, CUDA libraries, driver, GPU', () => {
  assert.match(cudaPreflightProblem(linux({ platform: 'darwin', arch: 'arm64' }))!, /only on Linux x64, and this is darwin\/arm64/);
  const noProvider = cudaPreflightProblem(linux({ fileExists: (path) => !path.endsWith('providers_cuda.so') }))!;
  assert.match(noProvider, /installed without its CUDA files \(\/ort\/bin\/libonnxruntime_providers_cuda\.so missing\)/);
  assert.match(noProvider, /ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
  assert.equal(cudaPreflightProblem(linux()), undefined);

  assert.deepEqual(cudaDiagnosis(linux()), []);
  const noCudnn = cudaDiagnosis(linux({ libraryFound: (name) => name !== 'libcudnn.so.9' }));
  assert.deepEqual(noCudnn.length, 1);
  assert.match(noCudnn[0], /the loader finds no libcudnn\.so\.9 \(install CUDA 12 and cuDNN 9/);
  assert.match(cudaDiagnosis(linux({ libraryFound: (name) => name !== 'libcuda.so.1' })).join(), /no NVIDIA driver \(libcuda\.so\.1 not found\)/);
  assert.match(cudaDiagnosis(linux({ gpus: 0 })).join(), /lists no GPU/);
  const nothing = cudaDiagnosis(linux({ libraryFound: () => false }));
  assert.match(nothing[0], new RegExp(CUDA_LIBRARIES.join(', ').replaceAll('.', '\\.')));
});

test('--device cuda without the CUDA provider: loading a tower fails, naming the missing files', { skip: hasCudaProvider && 'this onnxruntime-node has its CUDA files' }, async () => {
  const model = await ClipModel.load({ model: FIXTURE, offline: true, device: 'cuda' });
  assert.equal(model.device, 'cuda');
  await assert.rejects(model.loadTower('vision'), /--device cuda: onnxruntime-node was installed without its CUDA files \(.*libonnxruntime_providers_cuda\.so.*missing\); reinstall it/);
  await model.dispose();
});

test('zeroshot run --device cuda fails without writing results; an unknown device is refused', { skip: hasCudaProvider && 'this onnxruntime-node has its CUDA files' }, async () => {
  const out = join(await mkdtemp(join(tmpdir(), 'zs-device-')), 'results');
  const run = await zeroshot(['run', '--images', IMAGES, '--model', FIXTURE, '--offline', '--no-cache', '--device', 'cuda', '--out', out, '-q']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /zeroshot: error: .*--device cuda: onnxruntime-node was installed without its CUDA files/);
  assert.equal(existsSync(join(out, 'run.json')), false);
  const unknown = await zeroshot(['run', '--images', IMAGES, '--model', FIXTURE, '--device', 'tpu', '--out', out]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /--device <device>' argument 'tpu' is invalid\. Allowed choices are cpu, cuda/);
});

test('--workers: the preprocessor runs that many threads (default cores − 1, at least 1); run.json records them and the device', async () => {
  assert.equal(defaultWorkerCount(), Math.max(1, availableParallelism() - 1));
  const { family } = await ClipModel.load({ model: FIXTURE, offline: true });
  for (const workers of [0, 1, 3]) {
    const preprocessor = createImagePreprocessor(family.preprocess, workers);
    assert.equal(preprocessor.workers, workers);
    await preprocessor.close();
  }
  const dir = await mkdtemp(join(tmpdir(), 'zs-workers-'));
  const runJson = async (out: string, extra: string[]) => {
    const run = await zeroshot(['run', '--images', IMAGES, '--model', FIXTURE, '--offline', '--no-cache', '--no-report', '--out', join(dir, out), '-q', ...extra]);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(await readFile(join(dir, out, 'run.json'), 'utf8'));
  };
  const two = await runJson('two', ['--workers', '2']);
  assert.equal(two.preprocess_workers, 2);
  assert.equal(two.model.device, 'cpu');
  assert.equal((await runJson('default', [])).preprocess_workers, defaultWorkerCount());
  const refused = await zeroshot(['run', '--images', IMAGES, '--model', FIXTURE, '--workers', '0', '--out', join(dir, 'zero')]);
  assert.match(refused.stderr, /--workers must be a whole number ≥ 1/);
});
