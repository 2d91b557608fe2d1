/**
 * What the SentencePiece tokenizers share: reading a tokenizer.json and the "▁" whitespace symbol.
 */

/** SentencePiece's whitespace symbol (U+2581). */
export const SPACE_SYMBOL = '\u2581';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonRecord = { [key: string]: Json };

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A tokenizer.json problem, naming the file, the entry and what would fix it. */
export function tokenizerError(source: string, entry: string, problem: string): Error {
  return new Error(`${source}: ${entry} ${problem}`);
}

/** The tokenizer.json `model` object, checked to be of `type`. */
export function modelSection(tokenizerJson: unknown, type: 'Unigram' | 'BPE', source: string): JsonRecord {
  const model = isRecord(tokenizerJson) ? tokenizerJson.model : undefined;
  if (!isRecord(model)) throw tokenizerError(source, '"model"', 'is missing: not a Hugging Face tokenizer.json');
  if (model.type !== type) {
    throw tokenizerError(source, '"model.type"', `is ${JSON.stringify(model.type)}, expected "${type}" for this tokenizer`);
  }
  return model;
}

/** A tokenizer.json `added_tokens` entry (or a tokenizer_config.json `added_tokens_decoder` one). */
export interface AddedToken {
  readonly content: string;
  readonly id: number;
  /** The token eats the whitespace on its left / right. */
  readonly lstrip: boolean;
  readonly rstrip: boolean;
}

/** The tokenizer.json `added_tokens`: content -> id, the ids marked special, and the entries. */
export function addedTokens(tokenizerJson: unknown): { ids: Map<string, number>; special: Set<number>; tokens: AddedToken[] } {
  const ids = new Map<string, number>();
  const special = new Set<number>();
  const tokens: AddedToken[] = [];
  const list = isRecord(tokenizerJson) && Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : [];
  for (const entry of list) {
    if (!isRecord(entry) || typeof entry.content !== 'string' || typeof entry.id !== 'number') continue;
    ids.set(entry.content, entry.id);
    if (entry.special === true) special.add(entry.id);
    tokens.push({ content: entry.content, id: entry.id, lstrip: entry.lstrip === true, rstrip: entry.rstrip === true });
  }
  return { ids, special, tokens };
}

/** The base64 `precompiled_charsmap` of a `Precompiled` normalizer (or of one in a `Sequence`), if any. */
export function precompiledCharsmap(normalizer: Json | undefined): string | undefined {
  if (!isRecord(normalizer)) return undefined;
  if (normalizer.type === 'Precompiled') return typeof normalizer.precompiled_charsmap === 'string' ? normalizer.precompiled_charsmap : undefined;
  if (normalizer.type !== 'Sequence' || !Array.isArray(normalizer.normalizers)) return undefined;
  for (const step of normalizer.normalizers) {
    const found = precompiledCharsmap(step);
    if (found !== undefined) return found;
  }
  return undefined;
}
