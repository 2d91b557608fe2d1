import { existsSync, statSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  AutoImageProcessor,
  AutoTokenizer,
  CLIPTextModelWithProjection,
  CLIPVisionModelWithProjection,
  Tensor,
  env,
  type PreTrainedModel,
  type PreTrainedTokenizer,
} from '@huggingface/transformers';
import { l2NormalizeRows } from '../score/similarity.js';
import { ClipBpeTokenizer, type EncodedBatch } from './text/clip_tokenizer.js';

export const DEFAULT_MODEL = 'Xenova/clip-vit-base-patch32';

export interface ModelOptions {
  /** A Hugging Face model id (downloaded and cached on first use) or a local folder in the same layout. */
  readonly model?: string;
  /** Where downloaded models are cached (default: $ZEROSHOT_MODEL_CACHE, else ~/.cache/zeroshot/models). */
  readonly modelCacheDir?: string;
  /** Never touch the network: use a local folder or what the cache already holds. */
  readonly offline?: boolean;
  /** ONNX weights variant: fp32, fp16, q8, … (Transformers.js's `dtype`). */
  readonly dtype?: string;
  /** ONNX Runtime intra-op threads (default: every core; ORT would otherwise use one here). */
  readonly threads?: number;
  readonly revision?: string;
}

export interface ModelSource {
  /** What the user passed: a hub id or a folder path. */
  readonly id: string;
  readonly kind: 'hub' | 'folder';
  /** Absolute folder for `folder` models. */
  readonly path?: string;
  readonly revision: string;
  readonly dtype: string;
}

/** Folder for downloaded models, outside node_modules so it survives reinstalls. */
export function defaultModelCacheDir(): string {
  if (process.env.ZEROSHOT_MODEL_CACHE) return process.env.ZEROSHOT_MODEL_CACHE;
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'zeroshot', 'models');
}

/** A folder is local when it exists; anything else is treated as a hub id. */
export function resolveModelSource(options: ModelOptions): ModelSource {
  const id = options.model ?? DEFAULT_MODEL;
  const revision = options.revision ?? 'main';
  const dtype = options.dtype ?? 'fp32';
  if (existsSync(id) && statSync(id).isDirectory()) return { id, kind: 'folder', path: resolve(id), revision, dtype };
  if (/^[./~]|^[A-Za-z]:\\/.test(id)) throw new Error(`--model: folder '${id}' does not exist`);
  return { id, kind: 'hub', revision, dtype };
}

/**
 * Points Transformers.js at the right places. Its settings are process-wide, so they are set on every load:
 * HF_ENDPOINT (as in huggingface_hub) selects a mirror, `offline` forbids any download.
 */
function configureHub(options: ModelOptions): void {
  env.cacheDir = options.modelCacheDir ?? defaultModelCacheDir();
  env.useFSCache = true;
  env.allowLocalModels = true;
  env.allowRemoteModels = !options.offline;
  env.remoteHost = (process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/?$/, '/');
}

/** Turns prompts into padded id batches for the text tower. */
export interface TextTokenizer {
  /** `clip-bpe`: ours, identical to OpenAI's `clip.tokenize`; `transformers`: Transformers.js's, for other families. */
  readonly kind: 'clip-bpe' | 'transformers';
  encodeBatch(texts: string[]): EncodedBatch;
}

interface TokenizerJson {
  model?: { type?: string; end_of_word_suffix?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] };
}

/**
 * CLIP's BPE models (tokenizer.json: BPE with the `</w>` word suffix) get our exact tokenizer, built from the
 * same tokenizer.json Transformers.js loaded; anything else keeps Transformers.js's tokenizer.
 */
function textTokenizerFor(tokenizer: PreTrainedTokenizer): TextTokenizer {
  const json = (tokenizer as unknown as { _tokenizerJSON?: TokenizerJson })._tokenizerJSON;
  const model = json?.model;
  if (model?.type === 'BPE' && model.end_of_word_suffix === '</w>' && model.vocab && model.merges) {
    const merges = model.merges.map((m) => (Array.isArray(m) ? m.join(' ') : m));
    const clip = ClipBpeTokenizer.fromVocabAndMerges(model.vocab, merges);
    return { kind: 'clip-bpe', encodeBatch: (texts) => clip.encodeBatch(texts) };
  }
  return {
    kind: 'transformers',
    encodeBatch(texts) {
      const { input_ids, attention_mask } = tokenizer(texts, { padding: true, truncation: true }) as { input_ids: Tensor; attention_mask: Tensor };
      return {
        inputIds: input_ids.data as BigInt64Array,
        attentionMask: attention_mask.data as BigInt64Array,
        batchSize: input_ids.dims[0],
        sequenceLength: input_ids.dims[1],
      };
    },
  };
}

/** Just the tokenizer of a model (hub id or folder): for `zeroshot tokenize`, without loading the ONNX towers. */
export async function loadTextTokenizer(options: ModelOptions = {}): Promise<TextTokenizer> {
  const source = resolveModelSource(options);
  configureHub(options);
  try {
    const tokenizer = await AutoTokenizer.from_pretrained(source.path ?? source.id, loaderOptions(options, source));
    return textTokenizerFor(tokenizer);
  } catch (error) {
    throw loadError(source, options, error);
  }
}

function loaderOptions(options: ModelOptions, source: ModelSource) {
  return { revision: source.revision, local_files_only: options.offline || source.kind === 'folder' };
}

function loadError(source: ModelSource, options: ModelOptions, error: unknown): Error {
  const where = source.kind === 'folder' ? `folder '${source.path}'` : `'${source.id}'${options.offline ? ' (offline: only the cache is used)' : ''}`;
  return new Error(`cannot load model ${where}: ${(error as Error).message}`, { cause: error });
}

/** Fields of a Hugging Face `preprocessor_config.json` that image preprocessing reads. */
export type PreprocessorConfig = Readonly<Record<string, unknown>>;

/** ONNX file-name suffix per dtype, as Transformers.js names the variants (`onnx/vision_model_quantized.onnx` for q8). */
const DTYPE_SUFFIX: Readonly<Record<string, string>> = {
  fp32: '', fp16: '_fp16', q8: '_quantized', int8: '_int8', uint8: '_uint8', q4: '_q4', q4f16: '_q4f16', bnb4: '_bnb4',
};

export type Tower = 'text' | 'vision';

/**
 * A CLIP-family model: text and vision towers with projections, returning L2-normalised embeddings.
 * Loading reads only the small JSON files; each tower loads on first use, so a run whose embeddings are all
 * cached never pays for (or downloads) the ONNX weights.
 */
export class ClipModel {
  private readonly towers = new Map<Tower, Promise<PreTrainedModel>>();

  private constructor(
    readonly source: ModelSource,
    readonly tokenizer: TextTokenizer,
    readonly preprocessorConfig: PreprocessorConfig,
    readonly threads: number,
    private readonly options: ModelOptions,
  ) {}

  static async load(options: ModelOptions = {}): Promise<ClipModel> {
    const source = resolveModelSource(options);
    configureHub(options);
    const threads = options.threads ?? availableParallelism();
    const common = loaderOptions(options, source);
    try {
      const [tokenizer, processor] = await Promise.all([
        AutoTokenizer.from_pretrained(source.path ?? source.id, common),
        AutoImageProcessor.from_pretrained(source.path ?? source.id, common),
      ]);
      const config = (processor as unknown as { config: PreprocessorConfig }).config;
      return new ClipModel(source, textTokenizerFor(tokenizer), config, threads, options);
    } catch (error) {
      throw loadError(source, options, error);
    }
  }

  /** Local ONNX files of both towers for this dtype (folder models only): what the model fingerprint hashes. */
  onnxFiles(): string[] | undefined {
    if (!this.source.path) return undefined;
    const suffix = DTYPE_SUFFIX[this.source.dtype] ?? `_${this.source.dtype}`;
    return ['text_model', 'vision_model'].map((name) => join(this.source.path!, 'onnx', `${name}${suffix}.onnx`));
  }

  /** Loads both towers now (e.g. to fail early on a broken model). */
  async loadTowers(): Promise<void> {
    await Promise.all([this.loadTower('text'), this.loadTower('vision')]);
  }

  /** Starts loading one tower now, e.g. while the first images are being decoded, instead of on first use. */
  async loadTower(kind: Tower): Promise<void> {
    await this.tower(kind);
  }

  /** Frees a tower's ONNX session (e.g. the text tower once the prompts are encoded); it reloads if used again. */
  async releaseTower(kind: Tower): Promise<void> {
    const loading = this.towers.get(kind);
    this.towers.delete(kind);
    if (loading) await (await loading).dispose();
  }

  private tower(kind: Tower): Promise<PreTrainedModel> {
    let loading = this.towers.get(kind);
    if (!loading) {
      configureHub(this.options);
      const Model = kind === 'text' ? CLIPTextModelWithProjection : CLIPVisionModelWithProjection;
      loading = Model.from_pretrained(this.source.path ?? this.source.id, {
        ...loaderOptions(this.options, this.source),
        dtype: this.source.dtype as 'fp32',
        device: 'cpu',
        session_options: { intraOpNumThreads: this.threads, interOpNumThreads: 1 },
      }).catch((error: unknown) => {
        throw loadError(this.source, this.options, error);
      });
      this.towers.set(kind, loading);
    }
    return loading;
  }

  /** Side length of the square image the vision tower takes. */
  get imageSize(): number {
    const crop = this.preprocessorConfig.crop_size as { height?: number } | number | undefined;
    if (typeof crop === 'number') return crop;
    return crop?.height ?? 224;
  }

  /**
   * Normalised text embeddings, one row per prompt. Each batch is padded to its longest prompt, not to 77:
   * CLIP's causal mask makes that exact, and it is several times cheaper.
   */
  async encodeTexts(prompts: readonly string[], batchSize = 64): Promise<{ embeddings: Float32Array; dim: number }> {
    const chunks: Float32Array[] = [];
    let dim = 0;
    for (let start = 0; start < prompts.length; start += batchSize) {
      const batch = prompts.slice(start, start + batchSize);
      const ids = this.tokenizer.encodeBatch(batch);
      const shape = [ids.batchSize, ids.sequenceLength];
      const output = (await (await this.tower('text'))({
        input_ids: new Tensor('int64', ids.inputIds, shape),
        attention_mask: new Tensor('int64', ids.attentionMask, shape),
      })) as { text_embeds: Tensor };
      dim = output.text_embeds.dims[1];
      chunks.push(Float32Array.from(output.text_embeds.data as Float32Array));
    }
    return { embeddings: l2NormalizeRows(concat(chunks), dim), dim };
  }

  /** Normalised image embeddings for `count` preprocessed images laid out as [count, 3, size, size]. */
  async encodeImages(pixels: Float32Array, count: number): Promise<{ embeddings: Float32Array; dim: number }> {
    const size = this.imageSize;
    const pixelValues = new Tensor('float32', pixels, [count, 3, size, size]);
    const output = (await (await this.tower('vision'))({ pixel_values: pixelValues })) as { image_embeds: Tensor };
    const dim = output.image_embeds.dims[1];
    return { embeddings: l2NormalizeRows(Float32Array.from(output.image_embeds.data as Float32Array), dim), dim };
  }

  async dispose(): Promise<void> {
    const loaded = await Promise.allSettled(this.towers.values());
    await Promise.all(loaded.map((tower) => (tower.status === 'fulfilled' ? tower.value.dispose() : undefined)));
    this.towers.clear();
  }
}

function concat(chunks: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
