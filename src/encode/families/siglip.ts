/**
 * SigLIP (Xenova/siglip-base-patch16-224 and siblings) and fixed-resolution SigLIP 2
 * (onnx-community/siglip2-base-patch16-224-ONNX and siblings): both `model_type: "siglip"`, told apart by their
 * tokenizer (SigLIP: SentencePiece Unigram; SigLIP 2: Gemma's BPE). Towers `onnx/text_model.onnx` and
 * `onnx/vision_model.onnx`, each returning `pooler_output`; text padded to exactly 64 (the text head pools the last
 * position, so padding to the longest prompt would change the embeddings); images squashed to {height, width} with
 * transformers' SiglipImageProcessor rules; sigmoid scoring with the learned scale and bias.
 */
import { fromPreprocessorConfig } from '../image/clip_image_transform.js';
import { SiglipTextTokenizer } from '../text/siglip_text.js';
import { modelType, requireFile, tokenizerModelType, type ModelFamily, type ModelJsonFiles, type ResolvedFamily, type FamilyOptions } from './family.js';

function resolveSiglip(files: ModelJsonFiles, options: FamilyOptions, family: 'siglip' | 'siglip2', variant: string): ResolvedFamily {
  const name = family === 'siglip' ? 'SigLIP' : 'SigLIP 2';
  return {
    family,
    variant,
    text: { file: 'text_model', embeddingOutput: 'pooler_output' },
    vision: { file: 'vision_model', embeddingOutput: 'pooler_output' },
    tokenizer: SiglipTextTokenizer.fromJson(requireFile(files, 'tokenizer', name), files.tokenizerConfig),
    // One Python reference for SigLIP: transformers' processor (RGB first, squash), so no --preprocess-reference.
    preprocess: fromPreprocessorConfig(requireFile(files, 'preprocessorConfig', name), { exifRotate: options.exifRotate, reference: 'transformers' }),
    scoring: { kind: 'sigmoid', scaleInitializer: 'logit_scale', biasInitializer: 'logit_bias' },
    warnings: [],
  };
}

export const siglipFamily: ModelFamily = {
  name: 'siglip',
  examples: ['Xenova/siglip-base-patch16-224', 'Xenova/siglip-large-patch16-384'],
  matches: (files) => modelType(files) === 'siglip' && tokenizerModelType(files) === 'Unigram',
  resolve: (files, options) => resolveSiglip(files, options, 'siglip', 'SigLIP (SentencePiece Unigram text, lower-cased, no punctuation)'),
};

export const siglip2Family: ModelFamily = {
  name: 'siglip2',
  examples: ['onnx-community/siglip2-base-patch16-224-ONNX', 'onnx-community/siglip2-so400m-patch14-384-ONNX'],
  matches: (files) => modelType(files) === 'siglip' && tokenizerModelType(files) === 'BPE',
  resolve: (files, options) => resolveSiglip(files, options, 'siglip2', 'SigLIP 2, fixed resolution (Gemma tokenizer, text as given)'),
};
