/**
 * The model families zeroshot runs, in the order they are tried. Adding one is a module beside this one and a
 * line here.
 */
import { chineseClipFamily } from './chinese_clip.js';
import { clipFamily } from './clip.js';
import { jinaClipV1Family, jinaClipV2Family } from './jina_clip.js';
import { mobileclipFamily } from './mobileclip.js';
import { siglip2Family, siglipFamily } from './siglip.js';
import { UnsupportedModelError, modelType, type ModelFamily, type ModelJsonFiles } from './family.js';

// MobileCLIP before CLIP: both say model_type "clip"; MobileCLIP's config has nothing else.
export const MODEL_FAMILIES: readonly ModelFamily[] = [mobileclipFamily, clipFamily, siglipFamily, siglip2Family, chineseClipFamily, jinaClipV1Family, jinaClipV2Family];

/** Families zeroshot recognises but cannot run yet, with what to tell the user. */
const NOT_SUPPORTED: Readonly<Record<string, string>> = {
  siglip2: 'SigLIP 2 NaFlex models (model_type "siglip2", variable-resolution patch inputs) are not supported yet; the fixed-resolution SigLIP 2 conversions (e.g. onnx-community/siglip2-base-patch16-224-ONNX, model_type "siglip") are',
};

const supportedList = () => MODEL_FAMILIES.map((f) => `${f.name} (e.g. ${f.examples[0]})`).join(', ');

/** The family of a model, or an error naming what was found, what zeroshot supports and where to read more. */
export function familyOf(files: ModelJsonFiles, where: string): ModelFamily {
  const type = modelType(files);
  const notYet = type === undefined ? undefined : NOT_SUPPORTED[type];
  if (notYet) throw new UnsupportedModelError(`${where}: ${notYet}`);
  const family = MODEL_FAMILIES.find((f) => f.matches(files));
  if (family) return family;
  const config = files.config;
  const found = config
    ? `config.json has model_type ${JSON.stringify(config.model_type ?? null)}, architectures ${JSON.stringify(config.architectures ?? null)}` +
      (config.auto_map ? ' and custom code (auto_map), which zeroshot cannot run' : '')
    : 'it has no config.json';
  throw new UnsupportedModelError(
    `${where} is not a model family zeroshot runs: ${found}. Supported: ${supportedList()}. ` +
      'See "Model families" in the README for the layouts and how to convert a model.',
  );
}
