/**
 * The text rules of SigLIP and SigLIP 2 around their SentencePiece models, as Python transformers applies them, and
 * the padded batch the text graph takes (both models were trained on, and pool the last of, exactly 64 positions).
 *
 * - SigLIP (`SiglipTokenizer`, Unigram): lower-case, remove ASCII punctuation, collapse whitespace and strip
 *   (big_vision's canonicalize_text), SentencePiece with a "▁" prefix, then `</s>`.
 * - SigLIP 2 (`GemmaTokenizer`, BPE with byte fallback): the text as it is (no lower-casing), `<bos>`/`<eos>` as
 *   tokenizer_config.json's add_bos_token / add_eos_token say (SigLIP 2: no `<bos>`, `<eos>` appended).
 *
 * Both truncate to `maxLength` keeping the end token last, and pad with the pad token to exactly `maxLength`.
 */
import type { EncodedBatch } from './clip_tokenizer.js';
import { PY_SPACE_CHARS } from './ftfy.js';
import { padBatch } from './padding.js';
import { SentencePieceBpe } from './sentencepiece_bpe.js';
import { addedTokens, isRecord, SPACE_SYMBOL, type JsonRecord } from './sentencepiece_common.js';
import { SentencePieceUnigram } from './sentencepiece_unigram.js';

/** SigLIP's and SigLIP 2's text length (tokenizer_config.json `model_max_length`). */
export const SIGLIP_MAX_LENGTH = 64;

/** Python's `string.punctuation` (ASCII only). */
const ASCII_PUNCTUATION = /[!-/:-@[-`{-~]/g;
const PY_SPACE_RUN = new RegExp(`[${PY_SPACE_CHARS}]+`, 'g');
const PY_SPACE_EDGES = new RegExp(`^[${PY_SPACE_CHARS}]+|[${PY_SPACE_CHARS}]+$`, 'g');

/** Python's `str.lower()`: per character, so a final capital sigma is "σ" (JavaScript's would give "ς"). */
export function pythonLower(text: string): string {
  let out = '';
  for (const ch of text) out += ch.toLowerCase();
  return out;
}

/** big_vision's canonicalize_text as transformers' SiglipTokenizer has it: punctuation removed, whitespace collapsed, stripped. */
export function canonicalizeText(text: string): string {
  return text.replace(ASCII_PUNCTUATION, '').replace(PY_SPACE_RUN, ' ').replace(PY_SPACE_EDGES, '');
}

export interface SiglipTokenizerOptions {
  /** Override tokenizer_config.json's `model_max_length` (default 64). */
  readonly maxLength?: number;
  /** File names for errors. */
  readonly tokenizerSource?: string;
  readonly configSource?: string;
}

type Kind = 'sentencepiece-unigram' | 'gemma-bpe';

export class SiglipTextTokenizer {
  readonly kind: Kind;
  readonly maxLength: number;
  readonly padding: { readonly to: number; readonly padId: number };
  /** The text rules, in words (for `inspect` and run.json). */
  readonly rules: string;
  readonly eosId: number | undefined;
  readonly bosId: number | undefined;
  private readonly subwords: (text: string) => number[];

  private constructor(kind: Kind, subwords: (text: string) => number[], ids: { pad: number; eos?: number; bos?: number }, maxLength: number, rules: string) {
    this.kind = kind;
    this.subwords = subwords;
    this.eosId = ids.eos;
    this.bosId = ids.bos;
    this.maxLength = maxLength;
    this.padding = { to: maxLength, padId: ids.pad };
    this.rules = rules;
  }

  /**
   * From the parsed tokenizer.json and tokenizer_config.json: a Unigram model gets SiglipTokenizer's rules, a BPE
   * model GemmaTokenizer's.
   */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown, options: SiglipTokenizerOptions = {}): SiglipTextTokenizer {
    const source = options.tokenizerSource ?? 'tokenizer.json';
    const configSource = options.configSource ?? 'tokenizer_config.json';
    const config: JsonRecord = isRecord(tokenizerConfig) ? tokenizerConfig : {};
    const modelType = isRecord(tokenizerJson) && isRecord(tokenizerJson.model) ? tokenizerJson.model.type : undefined;
    const { ids: added } = addedTokens(tokenizerJson);
    const maxLength = options.maxLength ?? (typeof config.model_max_length === 'number' && config.model_max_length <= 4096 ? config.model_max_length : SIGLIP_MAX_LENGTH);
    if (!Number.isInteger(maxLength) || maxLength < 2) throw new Error(`${configSource}: "model_max_length" ${maxLength} is too small for a prompt and its end token`);

    const tokenId = (key: string, fallback: string, lookup: (piece: string) => number | undefined): number => {
      const value = config[key];
      const piece = typeof value === 'string' ? value : isRecord(value) && typeof value.content === 'string' ? value.content : fallback;
      const id = added.get(piece) ?? lookup(piece);
      if (id === undefined) throw new Error(`${configSource}: "${key}" ${JSON.stringify(piece)} is not a token of ${source}; fix the token name or the tokenizer files`);
      return id;
    };

    if (modelType === 'Unigram') {
      const unigram = new SentencePieceUnigram(tokenizerJson, source);
      const pieces = pieceIds(tokenizerJson);
      const lowerCase = config.do_lower_case !== false;
      const eos = tokenId('eos_token', '</s>', (p) => pieces.get(p));
      const pad = tokenId('pad_token', '</s>', (p) => pieces.get(p));
      const subwords = (text: string): number[] => {
        // SiglipTokenizer.tokenize: a "▁" in the text counts as a space; the "▁" prefix it adds is the dummy prefix.
        const plain = text.split(SPACE_SYMBOL).join(' ');
        return unigram.encode(canonicalizeText(lowerCase ? pythonLower(plain) : plain));
      };
      const rules = `${lowerCase ? 'lower-case, ' : ''}ASCII punctuation removed, whitespace collapsed and stripped, SentencePiece Unigram with a "▁" prefix${unigram.hasCharsmap ? ' (its precompiled charsmap)' : ''}, </s> appended, padded with id ${pad} to ${maxLength}`;
      return new SiglipTextTokenizer('sentencepiece-unigram', subwords, { pad, eos }, maxLength, rules);
    }
    if (modelType === 'BPE') {
      const bpe = new SentencePieceBpe(tokenizerJson, source);
      const vocab = isRecord(tokenizerJson) && isRecord(tokenizerJson.model) && isRecord(tokenizerJson.model.vocab) ? tokenizerJson.model.vocab : {};
      const lookup = (p: string): number | undefined => (typeof vocab[p] === 'number' ? (vocab[p] as number) : undefined);
      const addBos = config.add_bos_token !== false; // GemmaTokenizer's defaults: <bos> yes, <eos> no
      const addEos = config.add_eos_token === true;
      const pad = tokenId('pad_token', '<pad>', lookup);
      const eos = addEos ? tokenId('eos_token', '<eos>', lookup) : undefined;
      const bos = addBos ? tokenId('bos_token', '<bos>', lookup) : undefined;
      const rules = `text as given (no lower-casing), SentencePiece BPE with byte fallback${bos !== undefined ? ', <bos> first' : ''}${eos !== undefined ? ', <eos> appended' : ''}, padded with id ${pad} to ${maxLength}`;
      return new SiglipTextTokenizer('gemma-bpe', (text) => bpe.encode(text), { pad, eos, bos }, maxLength, rules);
    }
    throw new Error(`${source}: "model.type" ${JSON.stringify(modelType)} is not a SentencePiece Unigram or BPE model; SigLIP needs its spiece tokenizer.json, SigLIP 2 its Gemma tokenizer.json`);
  }

  /** Ids of one prompt as the graph is fed them, before padding: special tokens added, truncated to `maxLength`. */
  encode(text: string): number[] {
    const head = this.bosId === undefined ? [] : [this.bosId];
    const tail = this.eosId === undefined ? [] : [this.eosId];
    const room = this.maxLength - head.length - tail.length;
    return [...head, ...this.subwords(text).slice(0, room), ...tail];
  }

  /** Prompts padded to exactly `maxLength` with the pad id; the mask is 1 on real tokens. */
  encodeBatch(texts: readonly string[]): EncodedBatch {
    return padBatch(texts.map((text) => this.encode(text)), this.padding);
  }
}

/** piece -> id of a Unigram vocabulary ([[piece, score], …]). */
function pieceIds(tokenizerJson: unknown): Map<string, number> {
  const vocab = isRecord(tokenizerJson) && isRecord(tokenizerJson.model) && Array.isArray(tokenizerJson.model.vocab) ? tokenizerJson.model.vocab : [];
  const ids = new Map<string, number>();
  vocab.forEach((entry, id) => {
    if (Array.isArray(entry) && typeof entry[0] === 'string' && !ids.has(entry[0])) ids.set(entry[0], id);
  });
  return ids;
}
