/**
 * MobileCLIP (Xenova/mobileclip_s0, _s1, _s2, _b, _blt): CLIP's tower file names and BPE tokenizer, but a text
 * encoder without attention mask that was run on full 77-token rows, so prompts are padded to exactly 77 with id
 * 0; images resized on the shortest edge with bilinear filtering, centre-cropped, divided by 255 and not
 * normalised. Its config.json holds only `model_type: "clip"` (no text or vision config), which is how it is told
 * apart from OpenAI and LAION CLIPs.
 */
import { fromPreprocessorConfig } from '../image/clip_image_transform.js';
import { clipBpeTokenizer, isClipBpe } from './clip.js';
import { modelType, requireFile, type ModelFamily } from './family.js';

export const mobileclipFamily: ModelFamily = {
  name: 'mobileclip',
  examples: ['Xenova/mobileclip_s0', 'Xenova/mobileclip_s2', 'Xenova/mobileclip_b'],
  matches: (files) =>
    modelType(files) === 'clip' && files.config?.text_config === undefined && files.config?.vision_config === undefined && isClipBpe(files),
  resolve(files, options, dtype) {
    const warnings =
      dtype === 'fp32' || dtype === 'fp16'
        ? []
        : [`MobileCLIP's model card warns that its quantized vision tower is inaccurate: dtype ${dtype} may give embeddings far from fp32's`];
    return {
      family: 'mobileclip',
      variant: 'MobileCLIP (CLIP tower layout, unmasked text encoder)',
      text: { file: 'text_model', embeddingOutput: 'text_embeds' },
      vision: { file: 'vision_model', embeddingOutput: 'image_embeds' },
      tokenizer: clipBpeTokenizer(files, 'MobileCLIP', { to: 77, padId: 0 }),
      preprocess: fromPreprocessorConfig(requireFile(files, 'preprocessorConfig', 'MobileCLIP'), {
        exifRotate: options.exifRotate,
        reference: options.preprocessReference,
      }),
      scoring: { kind: 'softmax', scaleInitializer: 'logit_scale' },
      warnings,
    };
  },
};
