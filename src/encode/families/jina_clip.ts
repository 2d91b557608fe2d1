/**
 * jina-clip v1 (jinaai/jina-clip-v1: split towers, a JinaBERT text tower with mean pooling, WordPiece) and v2
 * (jinaai/jina-clip-v2: one combined graph with external weights, an XLM-RoBERTa text tower, Matryoshka
 * embeddings for `--dim`). Both are `model_type: "jina_clip"` with custom code for Python; zeroshot runs their ONNX
 * exports and reads their own preprocessor keys (`size`, `resize_mode`, `interpolation`, `mean`, `std`) as
 * JinaCLIPImageProcessor does: open_clip's inference transform (shortest edge, centre crop, RGB after the crop).
 * Their text graphs compute the padding mask from the pad id, so prompts are padded to the longest with it.
 */
import { fromPreprocessorConfig } from '../image/clip_image_transform.js';
import type { JsonObject } from '../model_files.js';
import { WordPieceTokenizer } from '../text/wordpiece.js';
import { XlmrTokenizer } from '../text/xlmr.js';
import { modelType, requireFile, tokenizerModelType, type FamilyOptions, type ModelFamily, type ModelJsonFiles } from './family.js';

/** PIL codes of the filters open_clip names. */
const INTERPOLATION: Readonly<Record<string, number>> = { bicubic: 3, bilinear: 2, nearest: 0, lanczos: 1, box: 4, hamming: 5 };

/** JinaCLIPImageProcessor's keys, as the equivalent CLIPImageProcessor fields. */
export function jinaPreprocessorConfig(json: JsonObject, source = 'preprocessor_config.json'): JsonObject {
  const size = json.size;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) throw new Error(`${source}: "size" must be a whole number of pixels (jina-clip's image size), not ${JSON.stringify(size)}`);
  const interpolation = json.interpolation ?? 'bicubic';
  const resample = typeof interpolation === 'string' ? INTERPOLATION[interpolation] : undefined;
  if (resample === undefined) throw new Error(`${source}: "interpolation" ${JSON.stringify(interpolation)} is not one of ${Object.keys(INTERPOLATION).join(', ')}`);
  const mode = json.resize_mode ?? 'shortest';
  const common = { resample, image_mean: json.mean, image_std: json.std, do_resize: true, do_rescale: true, do_normalize: true };
  if (mode === 'shortest') return { ...common, size: { shortest_edge: size }, crop_size: { height: size, width: size }, do_center_crop: true };
  if (mode === 'squash') return { ...common, size: { height: size, width: size }, do_center_crop: false };
  throw new Error(`${source}: "resize_mode" ${JSON.stringify(mode)} is not supported (zeroshot reads 'shortest' and 'squash')`);
}

const preprocess = (files: ModelJsonFiles, options: FamilyOptions) =>
  fromPreprocessorConfig(jinaPreprocessorConfig(requireFile(files, 'preprocessorConfig', 'jina-clip')), {
    exifRotate: options.exifRotate,
    reference: options.preprocessReference,
  });

export const jinaClipV1Family: ModelFamily = {
  name: 'jina_clip_v1',
  examples: ['jinaai/jina-clip-v1'],
  matches: (files) => modelType(files) === 'jina_clip' && tokenizerModelType(files) === 'WordPiece',
  resolve: (files, options) => ({
    family: 'jina_clip_v1',
    variant: 'jina-clip v1 (JinaBERT mean-pooled text, split towers)',
    text: { file: 'text_model', embeddingOutput: 'text_embeds' },
    vision: { file: 'vision_model', embeddingOutput: 'image_embeds' },
    tokenizer: WordPieceTokenizer.fromJson(requireFile(files, 'tokenizer', 'jina-clip v1'), files.tokenizerConfig),
    preprocess: preprocess(files, options),
    scoring: { kind: 'softmax', scaleInitializer: 'logit_scale' },
    warnings: [],
  }),
};

export const jinaClipV2Family: ModelFamily = {
  name: 'jina_clip_v2',
  examples: ['jinaai/jina-clip-v2'],
  matches: (files) => modelType(files) === 'jina_clip' && tokenizerModelType(files) === 'Unigram',
  resolve: (files, options) => {
    const dims = files.config?.matryoshka_dimensions;
    return {
      family: 'jina_clip_v2',
      variant: `jina-clip v2 (XLM-RoBERTa text, combined graph${Array.isArray(dims) ? `, Matryoshka dims ${dims.join('/')}` : ''})`,
      text: { file: 'text_model', embeddingOutput: 'text_embeddings', fromCombined: true },
      vision: { file: 'vision_model', embeddingOutput: 'image_embeddings', fromCombined: true },
      tokenizer: XlmrTokenizer.fromJson(requireFile(files, 'tokenizer', 'jina-clip v2'), files.tokenizerConfig),
      preprocess: preprocess(files, options),
      scoring: { kind: 'softmax', scaleInitializer: 'logit_scale' },
      warnings: [],
    };
  },
};
