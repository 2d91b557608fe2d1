/**
 * CLIP: OpenAI's models and the LAION / open_clip ones in the Hugging Face layout (Xenova/clip-vit-base-patch32,
 * laion/CLIP-ViT-B-32-laion2B-s34B-b79K and their ONNX conversions). Two towers, `onnx/text_model.onnx` →
 * `text_embeds` and `onnx/vision_model.onnx` → `image_embeds`; CLIP's BPE tokenizer, identical to `clip.tokenize`;
 * text batches padded to their longest prompt (exact: the text encoder is causal and pools at the end token, or at
 * argmax(input_ids) with the legacy config ids, both unaffected by padding after it); softmax scoring with the
 * learned logit scale.
 */
import { fromPreprocessorConfig } from '../image/clip_image_transform.js';
import { ClipBpeTokenizer } from '../text/clip_tokenizer.js';
import { padBatch, type PaddingRule } from '../text/padding.js';
import { modelType, requireFile, subConfig, tokenizerModelType, type FamilyOptions, type ModelFamily, type ModelJsonFiles, type TextTokenizer } from './family.js';

interface BpeModelJson {
  type?: string;
  end_of_word_suffix?: string;
  vocab?: Record<string, number>;
  merges?: (string | [string, string])[];
}

/** Whether tokenizer.json is CLIP's byte-level BPE (words end in `</w>`). */
export function isClipBpe(files: ModelJsonFiles): boolean {
  const model = files.tokenizer?.model as BpeModelJson | undefined;
  return tokenizerModelType(files) === 'BPE' && model?.end_of_word_suffix === '</w>';
}

/** CLIP's exact tokenizer built from tokenizer.json, padding as `padding` says. */
export function clipBpeTokenizer(files: ModelJsonFiles, family: string, padding: PaddingRule): TextTokenizer {
  const model = requireFile(files, 'tokenizer', family).model as BpeModelJson;
  if (!isClipBpe(files) || !model.vocab || !model.merges) {
    throw new Error(`a ${family} model needs CLIP's BPE tokenizer.json (model.type BPE with end_of_word_suffix "</w>"), and this one is ${model?.type ?? 'of no known kind'}`);
  }
  const merges = model.merges.map((m) => (Array.isArray(m) ? m.join(' ') : m));
  const clip = ClipBpeTokenizer.fromVocabAndMerges(model.vocab, merges);
  return {
    kind: 'clip-bpe',
    englishOnly: true,
    padding,
    maxLength: clip.contextLength,
    rules: "OpenAI's clip.tokenize: ftfy, HTML unescaping, whitespace collapsed, lower-cased, byte-level BPE; <|startoftext|> … <|endoftext|>, cut at 77 keeping <|endoftext|>",
    encodeBatch: (texts) => padBatch(texts.map((text) => clip.encode(text)), padding),
  };
}

export const clipFamily: ModelFamily = {
  name: 'clip',
  examples: ['Xenova/clip-vit-base-patch32', 'Xenova/clip-vit-large-patch14', 'laion/CLIP-ViT-B-32-laion2B-s34B-b79K'],
  matches: (files) => modelType(files) === 'clip',
  resolve(files, options: FamilyOptions) {
    const activation = subConfig(files, 'text_config').hidden_act ?? subConfig(files, 'vision_config').hidden_act;
    const variant = activation === 'gelu' ? 'LAION / open_clip CLIP (gelu)' : 'OpenAI CLIP (quick_gelu)';
    return {
      family: 'clip',
      variant,
      text: { file: 'text_model', embeddingOutput: 'text_embeds' },
      vision: { file: 'vision_model', embeddingOutput: 'image_embeds' },
      // clip.tokenize pads with 0; the mask, when the graph takes one, marks the padding too.
      tokenizer: clipBpeTokenizer(files, 'CLIP', { to: 'longest', padId: 0 }),
      preprocess: fromPreprocessorConfig(requireFile(files, 'preprocessorConfig', 'CLIP'), {
        exifRotate: options.exifRotate,
        reference: options.preprocessReference,
      }),
      scoring: { kind: 'softmax', scaleInitializer: 'logit_scale' },
      warnings: [],
    };
  },
};
