/** What the caller of a tokenizer's `fromJson` may say about the files it read. */
export interface TokenizerFileOptions {
  /** Override tokenizer_config.json's `model_max_length`. */
  readonly maxLength?: number;
  /** File names for errors. */
  readonly tokenizerSource?: string;
  readonly configSource?: string;
}
