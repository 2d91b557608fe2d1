/**
 * Chinese-CLIP (Xenova/chinese-clip-vit-base-patch16 and siblings): a BERT text tower (WordPiece, [CLS] pooling,
 * projection) and a CLIP ViT, shipped as one combined `onnx/model.onnx` whose towers zeroshot extracts
 * (combined_graph.ts). Text padded to the longest prompt with its attention mask (the BERT tower is bidirectional,
 * the mask makes padding exact); images squashed to 224×224 with transformers' ChineseCLIPImageProcessor rules
 * (RGB first, bicubic, no crop, CLIP mean/std); softmax scoring with the learned logit scale.
 */
import { fromPreprocessorConfig } from '../image/clip_image_transform.js';
import { WordPieceTokenizer } from '../text/wordpiece.js';
import { modelType, requireFile, type ModelFamily } from './family.js';

export const chineseClipFamily: ModelFamily = {
  name: 'chinese_clip',
  examples: ['Xenova/chinese-clip-vit-base-patch16', 'Xenova/chinese-clip-vit-large-patch14'],
  matches: (files) => modelType(files) === 'chinese_clip',
  resolve: (files, options) => ({
    family: 'chinese_clip',
    variant: 'Chinese-CLIP (BERT text tower, combined graph)',
    text: { file: 'text_model', embeddingOutput: 'text_embeds', fromCombined: true },
    vision: { file: 'vision_model', embeddingOutput: 'image_embeds', fromCombined: true },
    tokenizer: WordPieceTokenizer.fromJson(requireFile(files, 'tokenizer', 'Chinese-CLIP'), files.tokenizerConfig),
    preprocess: fromPreprocessorConfig(requireFile(files, 'preprocessorConfig', 'Chinese-CLIP'), { exifRotate: options.exifRotate, reference: 'transformers' }),
    scoring: { kind: 'softmax', scaleInitializer: 'logit_scale' },
    warnings: [],
  }),
};
