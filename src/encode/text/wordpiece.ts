/**
 * BERT's WordPiece tokenizer (Chinese-CLIP's text side) from a Hugging Face tokenizer.json with a `BertNormalizer`,
 * a `BertPreTokenizer` and a `WordPiece` model, with the rules Python transformers' BertTokenizer applies:
 *
 * 1. added tokens ([CLS], [MASK], …) are split out first, verbatim and case-sensitively (leftmost, then longest);
 * 2. the rest is lower-cased character by character (PreTrainedTokenizer's do_lower_case step: a final capital
 *    sigma becomes "σ"), control and format characters, NUL and U+FFFD are dropped and whitespace becomes a space
 *    (clean_text), each CJK ideograph is surrounded by spaces (handle_chinese_chars), the text is NFC-normalised and
 *    split on whitespace;
 * 3. each word has its accents stripped (NFD, combining marks dropped; by default whenever it is lower-cased) and
 *    every punctuation character split off as a word of its own;
 * 4. WordPiece: greedy longest match first, pieces after the first prefixed with "##"; a word that cannot be
 *    covered, or is longer than max_input_chars_per_word, is one [UNK];
 * 5. [CLS] … [SEP] (the post-processor's template), cut to `maxLength` keeping [SEP] last.
 *
 * Batches are padded with the pad token to their longest prompt, with the attention mask (BERT attends with it,
 * and pools the [CLS] position, so padding to the longest is exact).
 */
import type { EncodedBatch } from './clip_tokenizer.js';
import { PY_SPACE_CHARS } from './ftfy.js';
import { padBatch } from './padding.js';
import { isRecord, tokenizerError, type JsonRecord } from './sentencepiece_common.js';
import { pythonLower } from './siglip_text.js';
import type { TokenizerFileOptions } from './tokenizer_options.js';

/**
 * The text length when tokenizer_config.json gives none (or transformers' "unset" 1e30): Chinese-CLIP's context
 * length (cn_clip's tokenize default, the length all its models were trained with).
 */
export const WORDPIECE_DEFAULT_MAX_LENGTH = 52;

/** The ideograph blocks BERT's `_is_chinese_char` splits (CJK Unified Ideographs, Extensions A–E, compatibility). */
const CJK_RANGES: readonly (readonly [number, number])[] = [
  [0x4e00, 0x9fff],
  [0x3400, 0x4dbf],
  [0x20000, 0x2a6df],
  [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f],
  [0x2b820, 0x2ceaf],
  [0xf900, 0xfaff],
  [0x2f800, 0x2fa1f],
];

const CONTROL = /\p{C}/u; // Python's unicodedata.category(c).startswith("C")
const CLEAN_SPACE = /[ \t\n\r\p{Zs}]/u;
const PUNCTUATION = /[!-/:-@[-`{-~]|\p{P}/u; // ASCII symbols count as punctuation for BERT
const COMBINING_MARK = /\p{Mn}/gu;
const PY_SPACE_RUN = new RegExp(`[${PY_SPACE_CHARS}]+`);

function isCjk(codePoint: number): boolean {
  return CJK_RANGES.some(([lo, hi]) => codePoint >= lo && codePoint <= hi);
}

/** BasicTokenizer._clean_text. */
function cleanText(text: string): string {
  let out = '';
  for (const ch of text) {
    if (ch === '\0' || ch === '\ufffd' || (ch !== '\t' && ch !== '\n' && ch !== '\r' && CONTROL.test(ch))) continue;
    out += CLEAN_SPACE.test(ch) ? ' ' : ch;
  }
  return out;
}

function spaceCjk(text: string): string {
  let out = '';
  for (const ch of text) out += isCjk(ch.codePointAt(0)!) ? ` ${ch} ` : ch;
  return out;
}

function splitPunctuation(word: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const ch of word) {
    if (PUNCTUATION.test(ch)) {
      if (current) out.push(current);
      out.push(ch);
      current = '';
    } else current += ch;
  }
  if (current) out.push(current);
  return out;
}

interface NormalizerSettings {
  readonly cleanText: boolean;
  readonly handleChineseChars: boolean;
  readonly stripAccents: boolean;
  readonly lowercase: boolean;
}

interface AddedTokenMatch {
  readonly content: string;
  readonly id: number;
  readonly lstrip: boolean;
  readonly rstrip: boolean;
}

export class WordPieceTokenizer {
  readonly kind = 'wordpiece';
  readonly maxLength: number;
  readonly padding: { readonly to: 'longest'; readonly padId: number };
  /** The text rules, in words (for `inspect` and run.json). */
  readonly rules: string;
  readonly clsId: number;
  readonly sepId: number;
  readonly unkId: number;

  private constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly added: readonly AddedTokenMatch[],
    private readonly normalizer: NormalizerSettings,
    private readonly unkToken: string,
    private readonly prefix: string,
    private readonly maxInputChars: number,
    ids: { cls: number; sep: number; pad: number },
    maxLength: number,
  ) {
    this.clsId = ids.cls;
    this.sepId = ids.sep;
    this.unkId = vocab.get(unkToken)!;
    this.maxLength = maxLength;
    this.padding = { to: 'longest', padId: ids.pad };
    const n = normalizer;
    const steps = [
      n.lowercase && 'lower-case',
      n.cleanText && 'control characters dropped',
      n.handleChineseChars && 'CJK ideographs split',
      'NFC',
      n.stripAccents && 'accents stripped',
      'punctuation split',
    ].filter(Boolean);
    this.rules = `BERT basic tokenisation (${steps.join(', ')}), WordPiece with "${prefix}" continuations ([UNK] for a word it cannot cover), [CLS] … [SEP] cut to ${maxLength} keeping [SEP], padded with id ${ids.pad} to the longest prompt with the attention mask`;
  }

  /** From the parsed tokenizer.json and tokenizer_config.json (either may come from a hub repo as is). */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown, options: TokenizerFileOptions = {}): WordPieceTokenizer {
    const source = options.tokenizerSource ?? 'tokenizer.json';
    const configSource = options.configSource ?? 'tokenizer_config.json';
    if (!isRecord(tokenizerJson)) throw tokenizerError(source, 'the file', 'is not a JSON object: not a Hugging Face tokenizer.json');
    const config: JsonRecord = isRecord(tokenizerConfig) ? tokenizerConfig : {};

    const model = tokenizerJson.model;
    if (!isRecord(model) || model.type !== 'WordPiece') {
      throw tokenizerError(source, '"model.type"', `is ${JSON.stringify(isRecord(model) ? model.type : undefined)}, expected "WordPiece" (a BERT tokenizer)`);
    }
    if (!isRecord(model.vocab)) throw tokenizerError(source, '"model.vocab"', 'is missing or not an object of token -> id');
    const vocab = new Map<string, number>();
    for (const [token, id] of Object.entries(model.vocab)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw tokenizerError(source, `"model.vocab" entry ${JSON.stringify(token)}`, `has id ${JSON.stringify(id)}, not a non-negative integer`);
      vocab.set(token, id);
    }
    const unkToken = typeof model.unk_token === 'string' ? model.unk_token : '[UNK]';
    if (!vocab.has(unkToken)) throw tokenizerError(source, '"model.unk_token"', `${JSON.stringify(unkToken)} is not in "model.vocab"`);
    const prefix = typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '##';
    const maxInputChars = typeof model.max_input_chars_per_word === 'number' ? model.max_input_chars_per_word : 100;

    const normalizer = tokenizerJson.normalizer;
    if (!isRecord(normalizer) || normalizer.type !== 'BertNormalizer') {
      throw tokenizerError(source, '"normalizer"', `is ${JSON.stringify(isRecord(normalizer) ? normalizer.type : normalizer ?? null)}, expected a "BertNormalizer" (the only one this WordPiece tokenizer implements)`);
    }
    const lowercase = normalizer.lowercase !== false;
    const settings: NormalizerSettings = {
      cleanText: normalizer.clean_text !== false,
      handleChineseChars: normalizer.handle_chinese_chars !== false,
      // null (the usual value) means "strip accents when lower-casing"
      stripAccents: typeof normalizer.strip_accents === 'boolean' ? normalizer.strip_accents : lowercase,
      lowercase,
    };
    const preTokenizer = tokenizerJson.pre_tokenizer;
    if (!isRecord(preTokenizer) || preTokenizer.type !== 'BertPreTokenizer') {
      throw tokenizerError(source, '"pre_tokenizer"', `is ${JSON.stringify(isRecord(preTokenizer) ? preTokenizer.type : preTokenizer ?? null)}, expected a "BertPreTokenizer"`);
    }

    const added = addedTokenMatches(tokenizerJson, source);
    const idOf = (token: string): number | undefined => added.find((t) => t.content === token)?.id ?? vocab.get(token);
    const { cls, sep } = templateIds(tokenizerJson.post_processor, source);
    const padValue = config.pad_token;
    const padToken = typeof padValue === 'string' ? padValue : isRecord(padValue) && typeof padValue.content === 'string' ? padValue.content : '[PAD]';
    const pad = idOf(padToken);
    if (pad === undefined) throw tokenizerError(configSource, '"pad_token"', `${JSON.stringify(padToken)} is not a token of ${source}; fix the token name or the tokenizer files`);

    const configured = config.model_max_length;
    // transformers writes 1e30 for "no limit"; a real limit is a few hundred at most
    const fromConfig = typeof configured === 'number' && configured <= 1e6 ? configured : undefined;
    const maxLength = options.maxLength ?? fromConfig ?? WORDPIECE_DEFAULT_MAX_LENGTH;
    if (!Number.isInteger(maxLength) || maxLength < 2) throw tokenizerError(configSource, '"model_max_length"', `${maxLength} is too small for [CLS] and [SEP]`);
    return new WordPieceTokenizer(vocab, added, settings, unkToken, prefix, maxInputChars, { cls, sep, pad }, maxLength);
  }

  /** The word pieces of one prompt (added tokens as themselves), before [CLS]/[SEP] and the cut. */
  tokens(text: string): string[] {
    const out: string[] = [];
    for (const segment of this.splitAdded(text)) {
      if (typeof segment !== 'string') out.push(segment.content);
      else for (const word of this.basicTokens(segment)) out.push(...this.wordPiece(word));
    }
    return out;
  }

  /** Ids of one prompt as the text graph is fed them, before padding: [CLS] … [SEP], at most `maxLength`. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const segment of this.splitAdded(text)) {
      if (typeof segment !== 'string') ids.push(segment.id);
      else for (const word of this.basicTokens(segment)) for (const piece of this.wordPiece(word)) ids.push(this.vocab.get(piece)!);
    }
    return [this.clsId, ...ids.slice(0, this.maxLength - 2), this.sepId];
  }

  /** Prompts padded to the longest with the pad id; the mask is 1 on real tokens. */
  encodeBatch(texts: readonly string[]): EncodedBatch {
    return padBatch(texts.map((text) => this.encode(text)), this.padding);
  }

  /** The text cut around added tokens (leftmost match, longest first), with their lstrip/rstrip. */
  private splitAdded(text: string): (string | AddedTokenMatch)[] {
    if (this.added.length === 0) return [text];
    const out: (string | AddedTokenMatch)[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      const match = this.added.find((t) => text.startsWith(t.content, i));
      if (!match) {
        i++;
        continue;
      }
      let before = text.slice(start, i);
      if (match.lstrip) before = before.replace(new RegExp(`[${PY_SPACE_CHARS}]+$`), '');
      if (before) out.push(before);
      out.push(match);
      i += match.content.length;
      if (match.rstrip) while (i < text.length && PY_SPACE_RUN.test(text[i])) i++;
      start = i;
    }
    if (start < text.length) out.push(text.slice(start));
    return out;
  }

  /** BasicTokenizer.tokenize on text without added tokens. */
  private basicTokens(text: string): string[] {
    const n = this.normalizer;
    let normalised = n.lowercase ? pythonLower(text) : text;
    if (n.cleanText) normalised = cleanText(normalised);
    if (n.handleChineseChars) normalised = spaceCjk(normalised);
    const words: string[] = [];
    for (let word of normalised.normalize('NFC').split(PY_SPACE_RUN)) {
      if (!word) continue;
      if (n.lowercase) word = pythonLower(word);
      if (n.stripAccents) word = word.normalize('NFD').replace(COMBINING_MARK, '');
      words.push(...splitPunctuation(word));
    }
    return words;
  }

  /** WordpieceTokenizer.tokenize on one word: greedy longest match first. */
  private wordPiece(word: string): string[] {
    const chars = Array.from(word);
    if (chars.length > this.maxInputChars) return [this.unkToken];
    const pieces: string[] = [];
    for (let start = 0; start < chars.length; ) {
      let end = chars.length;
      let piece: string | undefined;
      for (; end > start; end--) {
        const candidate = (start > 0 ? this.prefix : '') + chars.slice(start, end).join('');
        if (this.vocab.has(candidate)) {
          piece = candidate;
          break;
        }
      }
      if (piece === undefined) return [this.unkToken];
      pieces.push(piece);
      start = end;
    }
    return pieces;
  }
}

/** tokenizer.json's `added_tokens`, longest first (so the longest of those starting at one place wins). */
function addedTokenMatches(tokenizerJson: JsonRecord, source: string): AddedTokenMatch[] {
  const list = Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : [];
  const out: AddedTokenMatch[] = [];
  list.forEach((entry, index) => {
    if (!isRecord(entry) || typeof entry.content !== 'string' || typeof entry.id !== 'number' || entry.content === '') {
      throw tokenizerError(source, `"added_tokens"[${index}]`, 'needs a non-empty "content" and a numeric "id"');
    }
    if (entry.normalized === true) {
      throw tokenizerError(source, `"added_tokens"[${index}] (${JSON.stringify(entry.content)})`, 'is matched after normalisation ("normalized": true), which this WordPiece tokenizer does not implement; BERT conversions write "normalized": false');
    }
    out.push({ content: entry.content, id: entry.id, lstrip: entry.lstrip === true, rstrip: entry.rstrip === true });
  });
  return out.sort((a, b) => b.content.length - a.content.length);
}

/** The ids around a single sequence: TemplateProcessing's [CLS] $A [SEP], or the older BertProcessing. */
function templateIds(postProcessor: unknown, source: string): { cls: number; sep: number } {
  if (isRecord(postProcessor) && postProcessor.type === 'BertProcessing') {
    const [cls, sep] = [postProcessor.cls, postProcessor.sep];
    if (Array.isArray(cls) && Array.isArray(sep) && typeof cls[1] === 'number' && typeof sep[1] === 'number') return { cls: cls[1], sep: sep[1] };
  }
  if (isRecord(postProcessor) && postProcessor.type === 'TemplateProcessing' && Array.isArray(postProcessor.single) && isRecord(postProcessor.special_tokens)) {
    const specials = postProcessor.special_tokens;
    const single = postProcessor.single;
    const idOf = (step: unknown): number | undefined => {
      const token = isRecord(step) && isRecord(step.SpecialToken) ? step.SpecialToken.id : undefined;
      const entry = typeof token === 'string' ? specials[token] : undefined;
      return isRecord(entry) && Array.isArray(entry.ids) && entry.ids.length === 1 && typeof entry.ids[0] === 'number' ? entry.ids[0] : undefined;
    };
    const middle = single[1];
    const cls = idOf(single[0]);
    const sep = idOf(single[2]);
    if (single.length === 3 && isRecord(middle) && isRecord(middle.Sequence) && cls !== undefined && sep !== undefined) return { cls, sep };
  }
  throw tokenizerError(source, '"post_processor"', 'is not BERT\'s [CLS] $A [SEP] (a TemplateProcessing with that "single" template, or a BertProcessing)');
}
