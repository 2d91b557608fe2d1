import { fromPreprocessorConfig, preprocessImageFile } from './clip_image_transform.js';
import type { PreprocessorConfig } from './model.js';

/** Reads one image file and returns its model input: [3, size, size] float32, normalised. */
export type ImagePreprocessor = (path: string) => Promise<Float32Array>;

/** The preprocessing a model's `preprocessor_config.json` asks for, with PIL-exact resampling for CLIP. */
export function createImagePreprocessor(config: PreprocessorConfig): ImagePreprocessor {
  const options = fromPreprocessorConfig(config);
  return (path) => preprocessImageFile(path, options);
}
