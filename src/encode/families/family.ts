/**
 * The seam for model families. Each family (one module in this folder) says how it is recognised from a model's
 * JSON files and what a run needs from it: which ONNX graphs, the embedding output of each, the tokenizer and its
 * padding, the image preprocessing, and how a similarity becomes a probability.
 */
import type { ClipPreprocessOptions } from '../image/clip_image_transform.js';
import type { JsonObject } from '../model_files.js';
import type { EncodedBatch } from '../text/clip_tokenizer.js';

export type Tower = 'text' | 'vision';

/** The JSON files a family is recognised and configured from (absent files are undefined). */
export interface ModelJsonFiles {
  readonly config?: JsonObject;
  readonly preprocessorConfig?: JsonObject;
  readonly tokenizer?: JsonObject;
  readonly tokenizerConfig?: JsonObject;
}

/** Turns prompts into the padded id batches the text graph takes. */
export interface TextTokenizer {
  /** e.g. `clip-bpe`, `sentencepiece-unigram`, `gemma-bpe`. */
  readonly kind: string;
  /** How batches are padded: to the longest prompt of the batch, or always to a fixed length. */
  readonly padding: { readonly to: 'longest' | number; readonly padId: number };
  /** Longest id sequence the text graph is fed (special tokens included); longer prompts are truncated. */
  readonly maxLength: number;
  /** Text rules applied before subword encoding, in words (for `inspect` and the README). */
  readonly rules: string;
  /** Trained on English text only (CLIP's BPE): prompts in other scripts get a warning. */
  readonly englishOnly?: boolean;
  encodeBatch(texts: readonly string[]): EncodedBatch;
}

/** One ONNX graph of the model and the output that holds the embedding. */
export interface GraphPlan {
  /** Base name under `onnx/`, e.g. `text_model`; the dtype adds its suffix. */
  readonly file: string;
  readonly embeddingOutput: string;
  /** The model ships only the combined `onnx/model.onnx`: the tower is extracted from it (see combined_graph.ts). */
  readonly fromCombined?: boolean;
}

/**
 * How 100·cos (what similarities.json holds for every family) relates to the probabilities the model was trained
 * to give: `softmax` over the spec's prompts of exp(logit_scale)·cos (CLIP), or an independent
 * `sigmoid`(exp(logit_scale)·cos + logit_bias) per prompt (SigLIP).
 */
export interface ScoringPlan {
  readonly kind: 'softmax' | 'sigmoid';
  /** Initializers of the combined graph (`onnx/model.onnx`) holding the learned values. */
  readonly scaleInitializer: string;
  readonly biasInitializer?: string;
}

export interface FamilyOptions {
  /** CLIP-architecture families: the original pipelines (default) or transformers' CLIPImageProcessor. */
  readonly preprocessReference: 'original' | 'transformers';
  readonly exifRotate: boolean;
}

/** What a run does with a model, resolved from its files: every field is plain data except the tokenizer. */
export interface ResolvedFamily {
  /** Family name, e.g. `clip`, `siglip`. */
  readonly family: string;
  /** Finer description of what was recognised, e.g. `OpenAI CLIP (quick_gelu)`. */
  readonly variant: string;
  readonly text: GraphPlan;
  readonly vision: GraphPlan;
  readonly tokenizer: TextTokenizer;
  readonly preprocess: ClipPreprocessOptions;
  readonly scoring: ScoringPlan;
  /** Things the user should know (e.g. an inaccurate quantized tower), printed by `run` and `inspect`. */
  readonly warnings: readonly string[];
}

export interface ModelFamily {
  readonly name: string;
  /** Hub ids this family loads, for errors and the README. */
  readonly examples: readonly string[];
  /** Whether these files are this family's (checked in registry order; the first match wins). */
  matches(files: ModelJsonFiles): boolean;
  resolve(files: ModelJsonFiles, options: FamilyOptions, dtype: string): ResolvedFamily;
}

/** A model zeroshot recognises but does not run (yet): the message says what was found and what to do. */
export class UnsupportedModelError extends Error {}

/** A required JSON file, or an error naming it and the family that needs it. */
export function requireFile(files: ModelJsonFiles, key: keyof ModelJsonFiles, family: string): JsonObject {
  const file = files[key];
  const names: Record<keyof ModelJsonFiles, string> = {
    config: 'config.json',
    preprocessorConfig: 'preprocessor_config.json',
    tokenizer: 'tokenizer.json',
    tokenizerConfig: 'tokenizer_config.json',
  };
  if (!file) throw new Error(`a ${family} model needs ${names[key]}, and this one has none`);
  return file;
}

/** `config.json`'s `model_type`. */
export function modelType(files: ModelJsonFiles): string | undefined {
  const type = files.config?.model_type;
  return typeof type === 'string' ? type : undefined;
}

/** tokenizer.json's `model.type` (BPE, Unigram, WordPiece). */
export function tokenizerModelType(files: ModelJsonFiles): string | undefined {
  const model = files.tokenizer?.model as { type?: unknown } | undefined;
  return typeof model?.type === 'string' ? model.type : undefined;
}

/** A sub-config (`text_config`, `vision_config`) of config.json, empty when absent. */
export function subConfig(files: ModelJsonFiles, key: 'text_config' | 'vision_config'): JsonObject {
  const value = files.config?.[key];
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
}
