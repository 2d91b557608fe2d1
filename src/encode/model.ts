import { existsSync, statSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { l2NormalizeRows } from '../score/similarity.js';
import { familyOf } from './families/registry.js';
import type { FamilyOptions, GraphPlan, ModelJsonFiles, ResolvedFamily, TextTokenizer, Tower } from './families/family.js';
import { extractedTowerFolder } from './combined_graph.js';
import { outputSize } from './image/clip_image_transform.js';
import { ensureModelFile, localModelFile, readModelJson, type ModelLocation } from './model_files.js';
import { readOnnxGraphInfo } from './onnx_file.js';
import { hubEndpoint, loadOnnxGraph, type Device, type HubSettings, type OnnxGraph, type TensorData } from './transformers_adapter.js';

export { DEVICES, type Device } from './transformers_adapter.js';

export type { TextTokenizer, Tower } from './families/family.js';

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
  /** Where ONNX Runtime runs the towers: `cpu` (default) or `cuda` (its CUDA execution provider; never a silent fall-back). */
  readonly device?: Device;
  readonly revision?: string;
  /** CLIP-architecture models: which Python pipeline's pixels to reproduce (default `original`). */
  readonly preprocessReference?: 'original' | 'transformers';
  /** Rotate images by their EXIF orientation first (off by default, as in PIL and OpenAI's transform). */
  readonly exifRotate?: boolean;
  /** The learned log-scale and bias of the probabilities, when the model files do not hold them. */
  readonly logitScale?: number;
  readonly logitBias?: number;
}

export interface ModelSource extends ModelLocation {
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

function hubSettings(options: ModelOptions): HubSettings {
  return { cacheDir: options.modelCacheDir ?? defaultModelCacheDir(), offline: options.offline ?? false, endpoint: hubEndpoint() };
}

function describeSource(source: ModelSource, hub: HubSettings): string {
  return source.kind === 'folder' ? `folder '${source.path}'` : `'${source.id}'${hub.offline ? ' (offline: only the cache is used)' : ''}`;
}

function loadError(source: ModelSource, hub: HubSettings, error: unknown): Error {
  return new Error(`cannot load model ${describeSource(source, hub)}: ${(error as Error).message}`, { cause: error });
}

/** ONNX file-name suffix per dtype, as Transformers.js names the variants (`onnx/vision_model_quantized.onnx` for q8). */
export const DTYPE_SUFFIX: Readonly<Record<string, string>> = {
  fp32: '', fp16: '_fp16', q8: '_quantized', int8: '_int8', uint8: '_uint8', q4: '_q4', q4f16: '_q4f16', bnb4: '_bnb4',
};

export const dtypeSuffix = (dtype: string): string => DTYPE_SUFFIX[dtype] ?? `_${dtype}`;

/** A model's JSON files, its family and what the family resolved them to: everything but the ONNX graphs. */
export interface ModelDescription {
  readonly source: ModelSource;
  readonly hub: HubSettings;
  readonly files: ModelJsonFiles;
  readonly resolved: ResolvedFamily;
}

/** Reads a model's JSON files (downloading them for a hub id) and resolves its family. */
export async function describeModel(options: ModelOptions = {}): Promise<ModelDescription> {
  const source = resolveModelSource(options);
  const hub = hubSettings(options);
  try {
    const read = (file: string) => readModelJson(source, hub, file);
    const [config, preprocessorConfig, tokenizer, tokenizerConfig] = await Promise.all(
      ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json'].map(read),
    );
    if (!config) throw new Error(source.kind === 'folder' ? 'it has no config.json (is it a model folder?)' : 'the hub has no config.json for it');
    const files: ModelJsonFiles = { config, preprocessorConfig, tokenizer, tokenizerConfig };
    const familyOptions: FamilyOptions = { preprocessReference: options.preprocessReference ?? 'original', exifRotate: options.exifRotate ?? false };
    const resolved = familyOf(files, describeSource(source, hub)).resolve(files, familyOptions, source.dtype);
    return { source, hub, files, resolved };
  } catch (error) {
    throw loadError(source, hub, error);
  }
}

/** Just the tokenizer of a model (hub id or folder): for `zeroshot tokenize`, without loading the ONNX graphs. */
export async function loadTextTokenizer(options: ModelOptions = {}): Promise<TextTokenizer> {
  return (await describeModel(options)).resolved.tokenizer;
}

/** The learned scale and bias that turn cosines into the model's probabilities, and where they came from. */
export interface ScoringValues {
  readonly kind: 'softmax' | 'sigmoid';
  readonly logitScale?: number;
  readonly logitBias?: number;
  /** `onnx/model.onnx`, `options`, or absent when unknown (then no probabilities are written). */
  readonly source?: string;
  /** Why the values are unknown, and what to do, when they are. */
  readonly missing?: string;
}

/**
 * A CLIP-family model: text and vision towers returning L2-normalised embeddings, as its family says.
 * Loading reads only the small JSON files; each tower loads on first use, so a run whose embeddings are all
 * cached never pays for (or downloads) the ONNX weights.
 */
export class ClipModel {
  private readonly towers = new Map<Tower, Promise<OnnxGraph>>();

  private constructor(
    readonly description: ModelDescription,
    readonly threads: number,
    private readonly options: ModelOptions,
  ) {}

  static async load(options: ModelOptions = {}): Promise<ClipModel> {
    return new ClipModel(await describeModel(options), options.threads ?? availableParallelism(), options);
  }

  get source(): ModelSource {
    return this.description.source;
  }

  get family(): ResolvedFamily {
    return this.description.resolved;
  }

  get tokenizer(): TextTokenizer {
    return this.family.tokenizer;
  }

  get device(): Device {
    return this.options.device ?? 'cpu';
  }

  /**
   * The width of the vision tower's embeddings as its graph declares it (the last dimension of its embedding output),
   * read from the ONNX file without loading it; undefined where the graph leaves it symbolic.
   */
  async imageEmbeddingDim(): Promise<number | undefined> {
    const { source, hub } = this.description;
    const file = await ensureModelFile(source, hub, this.graphFile('vision'));
    const shape = file && readOnnxGraphInfo(file).outputShapes[this.plan('vision').embeddingOutput];
    const last = shape?.[shape.length - 1];
    return typeof last === 'number' && last > 0 ? last : undefined;
  }

  /** Height and width of the images the vision tower takes. */
  get imageShape(): { height: number; width: number } {
    return outputSize(this.family.preprocess);
  }

  private plan(tower: Tower): GraphPlan {
    return tower === 'text' ? this.family.text : this.family.vision;
  }

  /** The ONNX file a tower comes from: its own, or the combined graph it is extracted from. */
  private graphFile(tower: Tower): string {
    const plan = this.plan(tower);
    return `onnx/${plan.fromCombined ? 'model' : plan.file}${dtypeSuffix(this.source.dtype)}.onnx`;
  }

  /** Local ONNX files of both towers for this dtype (folder models only): what the model fingerprint hashes. */
  onnxFiles(): string[] | undefined {
    if (!this.source.path) return undefined;
    const graphs = [...new Set((['text', 'vision'] as const).map((tower) => join(this.source.path!, this.graphFile(tower))))];
    // External weights (`model.onnx_data`, `_1`, …) are the model too.
    const data = graphs.flatMap((graph) => Array.from({ length: 16 }, (_, k) => `${graph}_data${k === 0 ? '' : `_${k}`}`).filter((f) => existsSync(f)));
    return [...graphs, ...data];
  }

  /** Where Transformers.js loads a tower from: the model itself, or the folder its extracted tower is cached in. */
  private async towerLocation(tower: Tower): Promise<{ model: string; localOnly: boolean }> {
    const { source, hub, files } = this.description;
    const plan = this.plan(tower);
    if (!plan.fromCombined) return { model: source.path ?? source.id, localOnly: hub.offline || source.kind === 'folder' };
    const file = this.graphFile(tower);
    const combined = await ensureModelFile(source, hub, file);
    if (!combined) throw new Error(`${file} is missing: a ${this.family.family} model ships its towers in that one combined graph`);
    const folder = await extractedTowerFolder({
      combined,
      output: plan.embeddingOutput,
      towerFile: `${plan.file}${dtypeSuffix(source.dtype)}.onnx`,
      config: files.config ?? {},
      cacheDir: hub.cacheDir,
      // External weights are named by the graph itself, relative to its folder.
      externalFile: async (name) => {
        const path = await ensureModelFile(source, hub, `onnx/${name}`);
        if (!path) throw new Error(`${file} keeps weights in onnx/${name}, which the model does not have`);
        return path;
      },
    });
    return { model: folder, localOnly: true };
  }

  /** Family settings that change embeddings beyond the weights: part of the cache key. */
  fingerprintSettings(): Record<string, unknown> {
    const { family, text, vision, tokenizer } = this.family;
    return { family, text, vision, tokenizer: { kind: tokenizer.kind, padding: tokenizer.padding, maxLength: tokenizer.maxLength } };
  }

  /**
   * The logit scale (and bias) of the family's probabilities: from the options, else from the initializers of the
   * combined graph when it is on disk (a folder, or already in the cache; it is never downloaded for this).
   */
  scoringValues(): ScoringValues {
    const plan = this.family.scoring;
    const fromOptions = this.options.logitScale !== undefined;
    if (fromOptions) {
      if (plan.biasInitializer && this.options.logitBias === undefined) throw new Error(`--logit-bias is needed with --logit-scale for a ${this.family.family} model`);
      return { kind: plan.kind, logitScale: this.options.logitScale, logitBias: plan.biasInitializer ? this.options.logitBias : undefined, source: 'options' };
    }
    const names = [plan.scaleInitializer, ...(plan.biasInitializer ? [plan.biasInitializer] : [])];
    const files = [...new Set([`onnx/model${dtypeSuffix(this.source.dtype)}.onnx`, 'onnx/model.onnx'])];
    const present = files.filter((file) => existsSync(localModelFile(this.source, this.description.hub, file)));
    for (const file of present) {
      const { scalars } = readOnnxGraphInfo(localModelFile(this.source, this.description.hub, file), names);
      if (names.every((name) => scalars[name] !== undefined)) {
        return { kind: plan.kind, logitScale: scalars[plan.scaleInitializer], logitBias: plan.biasInitializer ? scalars[plan.biasInitializer] : undefined, source: file };
      }
    }
    const where = present.length
      ? `${present.join(' and ')} hold${present.length === 1 ? 's' : ''} no initializer ${names.join(' / ')}`
      : `onnx/model.onnx, where ${names.join(' and ')} live, is not on disk${this.source.kind === 'hub' ? ' (it is not downloaded for this)' : ''}`;
    return { kind: plan.kind, missing: `no probabilities: ${where}; give --logit-scale${plan.biasInitializer ? ' and --logit-bias' : ''}` };
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

  private tower(kind: Tower): Promise<OnnxGraph> {
    let loading = this.towers.get(kind);
    if (!loading) {
      const plan = this.plan(kind);
      const { source, hub } = this.description;
      loading = this.towerLocation(kind)
        .then(({ model, localOnly }) =>
          loadOnnxGraph({ model, revision: source.revision, file: plan.file, dtype: source.dtype, threads: this.threads, device: this.device, localOnly }, hub),
        )
        .then((graph) => {
          if (!graph.outputNames.includes(plan.embeddingOutput)) {
            throw new Error(`${this.graphFile(kind)} has no output '${plan.embeddingOutput}' (it has ${graph.outputNames.join(', ')}), which a ${this.family.family} model's ${kind} tower must return`);
          }
          return graph;
        })
        .catch((error: unknown) => {
          throw loadError(source, hub, error);
        });
      this.towers.set(kind, loading);
    }
    return loading;
  }

  /** Feeds exactly the inputs the graph declares, from those we have; an input we cannot provide is an error. */
  private async run(kind: Tower, available: Record<string, TensorData>): Promise<{ data: Float32Array; dims: number[] }> {
    const graph = await this.tower(kind);
    const plan = this.plan(kind);
    const missing = graph.inputNames.filter((name) => !(name in available));
    if (missing.length) {
      throw new Error(`${this.graphFile(kind)} takes inputs ${graph.inputNames.join(', ')}; zeroshot cannot provide ${missing.join(', ')} for a ${this.family.family} model`);
    }
    const feeds = Object.fromEntries(graph.inputNames.map((name) => [name, available[name]]));
    return (await graph.run(feeds, [plan.embeddingOutput]))[plan.embeddingOutput];
  }

  /**
   * Normalised text embeddings, one row per prompt, in batches padded as the family's tokenizer says (CLIP: to
   * the longest prompt of the batch, exact thanks to its causal mask and several times cheaper than 77).
   */
  async encodeTexts(prompts: readonly string[], batchSize = 64, onProgress?: (done: number) => void): Promise<{ embeddings: Float32Array; dim: number }> {
    const chunks: Float32Array[] = [];
    let dim = 0;
    // Padded to the longest of the batch: batches of prompts of about one length pad least (80 templates × 1,000
    // classes vary from 5 to 20 tokens), so prompts go in token-length order and their rows back in prompt order.
    const order = this.tokenizer.padding.to === 'longest' ? tokenLengthOrder(prompts, this.tokenizer) : prompts.map((_, j) => j);
    for (let start = 0; start < prompts.length; start += batchSize) {
      const ids = this.tokenizer.encodeBatch(order.slice(start, start + batchSize).map((j) => prompts[j]));
      const dims = [ids.batchSize, ids.sequenceLength];
      const output = await this.run('text', {
        input_ids: { type: 'int64', data: ids.inputIds, dims },
        attention_mask: { type: 'int64', data: ids.attentionMask, dims },
        // BERT-style towers (Chinese-CLIP) may declare segment ids: one segment.
        token_type_ids: { type: 'int64', data: new BigInt64Array(ids.inputIds.length), dims },
      });
      dim = output.dims[1];
      chunks.push(output.data);
      onProgress?.(Math.min(prompts.length, start + batchSize));
    }
    const sorted = concat(chunks);
    const embeddings = new Float32Array(sorted.length);
    order.forEach((j, row) => embeddings.set(sorted.subarray(row * dim, (row + 1) * dim), j * dim));
    return { embeddings: l2NormalizeRows(embeddings, dim), dim };
  }

  /** Normalised image embeddings for `count` preprocessed images laid out as [count, 3, height, width]. */
  async encodeImages(pixels: Float32Array, count: number): Promise<{ embeddings: Float32Array; dim: number }> {
    const { height, width } = this.imageShape;
    const output = await this.run('vision', { pixel_values: { type: 'float32', data: pixels, dims: [count, 3, height, width] } });
    const dim = output.dims[1];
    return { embeddings: l2NormalizeRows(output.data, dim), dim };
  }

  async dispose(): Promise<void> {
    const loaded = await Promise.allSettled(this.towers.values());
    await Promise.all(loaded.map((tower) => (tower.status === 'fulfilled' ? tower.value.dispose() : undefined)));
    this.towers.clear();
  }
}

/** Prompt indices by token count (a stable sort: prompts of one length keep their order). */
function tokenLengthOrder(prompts: readonly string[], tokenizer: TextTokenizer): number[] {
  const lengths = prompts.map((p) => tokenizer.encodeBatch([p]).sequenceLength);
  return prompts.map((_, j) => j).sort((a, b) => lengths[a] - lengths[b] || a - b);
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
