/**
 * What the SentencePiece tokenizers share: reading a tokenizer.json, SentencePiece's `nmt_nfkc` normalisation, and
 * the "▁" whitespace symbol.
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

/** content -> id of the tokenizer.json `added_tokens`, and the ids marked special. */
export function addedTokens(tokenizerJson: unknown): { ids: Map<string, number>; special: Set<number> } {
  const ids = new Map<string, number>();
  const special = new Set<number>();
  const list = isRecord(tokenizerJson) && Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : [];
  for (const entry of list) {
    if (!isRecord(entry) || typeof entry.content !== 'string' || typeof entry.id !== 'number') continue;
    ids.set(entry.content, entry.id);
    if (entry.special === true) special.add(entry.id);
  }
  return { ids, special };
}

/** Whether a normalizer (or any step of a `Sequence`) is SentencePiece's precompiled charsmap. */
export function usesPrecompiledCharsmap(normalizer: Json | undefined): boolean {
  if (!isRecord(normalizer)) return false;
  if (normalizer.type === 'Precompiled') return true;
  return normalizer.type === 'Sequence' && Array.isArray(normalizer.normalizers) && normalizer.normalizers.some(usesPrecompiledCharsmap);
}

/** Control characters `nmt_nfkc` deletes. */
const NMT_DELETED = /[\x01-\x08\x0b\x0e-\x1f\x7f\x8f\x9f]/g;
/** Characters `nmt_nfkc` maps to a space (other whitespace, zero-width spaces, the BOM, "▁" itself, U+FFFD). */
const NMT_SPACES = /[\t\n\f\r\xa0\u1680\u2000-\u200f\u2028\u2029\u202f\u205f\u2581\u3000\ufeff\ufffd]/g;

/**
 * SentencePiece's default normalisation `nmt_nfkc`: NFKC plus the NMT rules (control characters deleted, spaces and
 * zero-width characters to U+0020). The precompiled charsmap in a model is a compiled form of these rules.
 */
export function nmtNfkc(text: string): string {
  return text.replace(NMT_DELETED, '').replace(NMT_SPACES, ' ').normalize('NFKC');
}
