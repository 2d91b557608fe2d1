/**
 * The one module that talks to `@huggingface/transformers`. zeroshot uses it for what it does well: finding,
 * downloading and caching a model's ONNX files (hub id or local folder, dtype variants, external data, offline
 * mode, mirrors) and running them in ONNX Runtime. Tokenizers, configs and image preprocessing are zeroshot's
 * own, read from the model's JSON files (see model_files.ts), so nothing here reads the library's private fields.
 */
import { CLIPVisionModelWithProjection, Tensor, env, type PreTrainedModel } from '@huggingface/transformers';
import { cudaDiagnosis, cudaPreflightProblem, systemCudaEnvironment } from './cuda_check.js';

/** Where ONNX Runtime runs a graph: its CPU provider, or its CUDA execution provider. */
export const DEVICES = ['cpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];

/** Where models come from: the settings Transformers.js keeps process-wide. */
export interface HubSettings {
  /** Folder for downloaded files. */
  readonly cacheDir: string;
  /** Never download. */
  readonly offline: boolean;
  /** Base URL of the hub (HF_ENDPOINT), ending in '/'. */
  readonly endpoint: string;
}

export function hubEndpoint(): string {
  return (process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/?$/, '/');
}

/** Transformers.js's settings are process-wide, so they are set before every load. */
export function configureHub(hub: HubSettings): void {
  env.cacheDir = hub.cacheDir;
  env.useFSCache = true;
  env.allowLocalModels = true;
  env.allowRemoteModels = !hub.offline;
  env.remoteHost = hub.endpoint;
}

export type TensorType = 'int64' | 'float32';

/** A tensor crossing the adapter: the library's own Tensor class stays inside this module. */
export interface TensorData {
  readonly type: TensorType;
  readonly data: BigInt64Array | Float32Array;
  readonly dims: readonly number[];
}

/** One ONNX graph of a model (a tower, or a combined graph), loaded in ONNX Runtime. */
export interface OnnxGraph {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the graph on `feeds` (exactly the graph's inputs) and returns the requested outputs as float32. */
  run(feeds: Readonly<Record<string, TensorData>>, outputs: readonly string[]): Promise<Record<string, { data: Float32Array; dims: number[] }>>;
  dispose(): Promise<void>;
}

export interface GraphLocation {
  /** Hub id or absolute folder. */
  readonly model: string;
  readonly revision: string;
  /** File name under `onnx/` without dtype suffix and extension, e.g. `text_model`. */
  readonly file: string;
  readonly dtype: string;
  readonly threads: number;
  /** Default cpu. */
  readonly device?: Device;
  /** Local folder or offline: never download. */
  readonly localOnly: boolean;
}

/**
 * Loads `onnx/<file><dtype suffix>.onnx` (downloading it into the cache when needed). The model class only
 * chooses the session layout: an encoder-only graph of the given file name, whatever the family.
 */
export async function loadOnnxGraph(location: GraphLocation, hub: HubSettings): Promise<OnnxGraph> {
  configureHub(hub);
  const cuda = location.device === 'cuda';
  const problem = cuda ? cudaPreflightProblem(systemCudaEnvironment()) : undefined;
  if (problem) throw new Error(`--device cuda: ${problem}`);
  let model: PreTrainedModel;
  try {
    model = await CLIPVisionModelWithProjection.from_pretrained(location.model, {
      revision: location.revision,
      local_files_only: location.localOnly,
      model_file_name: location.file,
      dtype: location.dtype as 'fp32',
      // One provider only: ONNX Runtime fails when it cannot start it, rather than running on the CPU instead.
      device: location.device ?? 'cpu',
      session_options: { intraOpNumThreads: location.threads, interOpNumThreads: 1 },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!cuda || !/cuda|provider|shared library/i.test(message)) throw error;
    const missing = cudaDiagnosis(systemCudaEnvironment());
    throw new Error(`--device cuda: ONNX Runtime could not start its CUDA execution provider (${message})${missing.length ? `: ${missing.join('; ')}` : '; its log above says why'}`, { cause: error });
  }
  const session = (model.sessions as Record<string, { inputNames: string[]; outputNames: string[] }>).model;
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds, outputs) {
      const tensors = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new Tensor(t.type, t.data, [...t.dims])]));
      const result = (await model(tensors)) as Record<string, Tensor>;
      // A float32 output is onnxruntime-node's own copy of the native buffer: it is handed over, not copied again
      // (a similarity block of 16 M values would cost 60–80 ms a copy).
      const float32 = (data: unknown) => (data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>));
      return Object.fromEntries(outputs.map((name) => [name, { data: float32(result[name].data), dims: [...result[name].dims] }]));
    },
    async dispose() {
      await model.dispose();
    },
  };
}
