/**
 * The text rules of SigLIP and SigLIP 2 around their SentencePiece models, as Python transformers applies them, and
 * the padded batch the text graph takes (both models were trained on, and pool the last of, exactly 64 positions).
 *
 * - SigLIP (`SiglipTokenizer`, Unigram; transformers has no fast version): lower-case, cut at the added tokens
 *   (`</s>`, `<unk>`, which eat the whitespace beside them), and per piece remove ASCII punctuation, collapse
 *   whitespace and strip (big_vision's canonicalize_text) and SentencePiece-encode behind an `<unk>` prefix that is
 *   then dropped (transformers' trick to keep the leading "▁"); `</s>` last unless the ids already end with it.
 * - SigLIP 2 (`GemmaTokenizer`, BPE with byte fallback): the text as it is (no lower-casing), cut at the
 *   tokenizer.json added tokens, `<bos>`/`<eos>` as tokenizer_config.json's add_bos_token / add_eos_token say
 *   (SigLIP 2: no `<bos>`, `<eos>` appended).
 *
 * Both truncate to `maxLength` keeping the end token last, and pad with the pad token to exactly `maxLength`.
 */
import type { EncodedBatch } from './clip_tokenizer.js';
import { PY_SPACE_CHARS } from './ftfy.js';
import { padBatch } from './padding.js';
import { SentencePieceBpe } from './sentencepiece_bpe.js';
import { addedTokens, isRecord, SPACE_SYMBOL, type AddedToken, type JsonRecord } from './sentencepiece_common.js';
import { SentencePieceUnigram } from './sentencepiece_unigram.js';
import type { TokenizerFileOptions } from './tokenizer_options.js';

/** SigLIP's and SigLIP 2's text length (tokenizer_config.json `model_max_length`). */
export const SIGLIP_MAX_LENGTH = 64;

/** Python's `string.punctuation` (ASCII only). */
const ASCII_PUNCTUATION = /[!-/:-@[-`{-~]/g;
const PY_SPACE_RUN = new RegExp(`[${PY_SPACE_CHARS}]+`, 'g');
const PY_SPACE_EDGES = new RegExp(`^[${PY_SPACE_CHARS}]+|[${PY_SPACE_CHARS}]+$`, 'g');
const PY_SPACE_START = new RegExp(`^[${PY_SPACE_CHARS}]+`);
const PY_SPACE_END = new RegExp(`[${PY_SPACE_CHARS}]+$`);

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

/** A piece of text between added tokens, or an added token's id. */
type Piece = string | { readonly id: number };

/**
 * transformers' Trie.split, then the tokens' lstrip/rstrip (Python `str.rstrip()`/`lstrip()` of the neighbours):
 * `text` cut at the added tokens (leftmost match, longest token first).
 */
export function splitOnAddedTokens(text: string, tokens: readonly AddedToken[]): Piece[] {
  // candidates by first UTF-16 unit, longest first (Gemma has thousands of added tokens)
  const byFirst = new Map<string, AddedToken[]>();
  for (const t of [...tokens].sort((a, b) => b.content.length - a.content.length)) {
    if (t.content === '') continue;
    const list = byFirst.get(t.content[0]);
    if (list) list.push(t);
    else byFirst.set(t.content[0], [t]);
  }
  const pieces: Piece[] = [];
  const strip: { left: boolean; right: boolean }[] = [];
  let start = 0;
  for (let i = 0; i < text.length; ) {
    const token = byFirst.get(text[i])?.find((t) => text.startsWith(t.content, i));
    if (!token) {
      i++;
      continue;
    }
    if (i > start) pieces.push(text.slice(start, i));
    pieces.push({ id: token.id });
    strip[pieces.length - 1] = { left: token.lstrip, right: token.rstrip };
    i = start = i + token.content.length;
  }
  if (start < text.length) pieces.push(text.slice(start));
  pieces.forEach((piece, i) => {
    if (typeof piece === 'string') return;
    const before = pieces[i - 1];
    const after = pieces[i + 1];
    if (strip[i].left && typeof before === 'string') pieces[i - 1] = before.replace(PY_SPACE_END, '');
    if (strip[i].right && typeof after === 'string') pieces[i + 1] = after.replace(PY_SPACE_START, '');
  });
  return pieces;
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
  /** SiglipTokenizer's `_add_eos_if_not_present`: no second `</s>` after ids that end with one. */
  private readonly eosIfAbsent: boolean;

  private constructor(
    kind: Kind,
    subwords: (text: string) => number[],
    ids: { pad: number; eos?: number; bos?: number; eosIfAbsent?: boolean },
    maxLength: number,
    rules: string,
  ) {
    this.kind = kind;
    this.eosIfAbsent = ids.eosIfAbsent === true;
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
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown, options: TokenizerFileOptions = {}): SiglipTextTokenizer {
    const source = options.tokenizerSource ?? 'tokenizer.json';
    const configSource = options.configSource ?? 'tokenizer_config.json';
    const config: JsonRecord = isRecord(tokenizerConfig) ? tokenizerConfig : {};
    const modelType = isRecord(tokenizerJson) && isRecord(tokenizerJson.model) ? tokenizerJson.model.type : undefined;
    const { ids: added, tokens } = addedTokens(tokenizerJson);
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
      const unk = tokenContent(config.unk_token) ?? '<unk>';
      const unkLength = unigram.encode(unk, { addDummyPrefix: false }).length;
      const spaceId = pieces.get(SPACE_SYMBOL);
      const specials = slowAddedTokens(config, (p) => added.get(p) ?? pieces.get(p));
      const specialIds = new Set(specials.map((t) => t.id));
      // _tokenize: canonicalize, then encode "<unk>" + text and drop the <unk> pieces
      const tokenizePiece = (piece: string): number[] => {
        const ids = unigram.encode(unk + canonicalizeText(piece), { addDummyPrefix: false });
        return ids.length >= unkLength ? ids.slice(unkLength) : ids;
      };
      const subwords = (text: string): number[] => {
        // SiglipTokenizer.tokenize: "▁" + the text with its own "▁"s as spaces; lower-cased outside the added tokens
        let prefixed = SPACE_SYMBOL + text.split(SPACE_SYMBOL).join(' ');
        if (lowerCase) {
          prefixed = splitOnAddedTokens(prefixed, specials.map((t) => ({ ...t, lstrip: false, rstrip: false })))
            .map((piece) => (typeof piece === 'string' ? pythonLower(piece) : specials.find((t) => t.id === piece.id)!.content))
            .join('');
        }
        const ids = splitOnAddedTokens(prefixed, specials).flatMap((piece) => (typeof piece === 'string' ? (piece === '' ? [] : tokenizePiece(piece)) : [piece.id]));
        return ids.length > 1 && ids[0] === spaceId && specialIds.has(ids[1]) ? ids.slice(1) : ids;
      };
      const rules = `${lowerCase ? 'lower-case, ' : ''}ASCII punctuation removed, whitespace collapsed and stripped, SentencePiece Unigram with a "▁" prefix${unigram.hasCharsmap ? ' (its precompiled charsmap)' : ''}, </s> appended, padded with id ${pad} to ${maxLength}`;
      return new SiglipTextTokenizer('sentencepiece-unigram', subwords, { pad, eos, eosIfAbsent: true }, maxLength, rules);
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
      // the fast tokenizer matches every tokenizer.json added token on the raw text
      const subwords = (text: string): number[] =>
        splitOnAddedTokens(text, tokens).flatMap((piece) => (typeof piece === 'string' ? bpe.encode(piece) : [piece.id]));
      const rules = `text as given (no lower-casing), SentencePiece BPE with byte fallback${bos !== undefined ? ', <bos> first' : ''}${eos !== undefined ? ', <eos> appended' : ''}, padded with id ${pad} to ${maxLength}`;
      return new SiglipTextTokenizer('gemma-bpe', subwords, { pad, eos, bos }, maxLength, rules);
    }
    throw new Error(`${source}: "model.type" ${JSON.stringify(modelType)} is not a SentencePiece Unigram or BPE model; SigLIP needs its spiece tokenizer.json, SigLIP 2 its Gemma tokenizer.json`);
  }

  /** Ids of one prompt as the graph is fed them, before padding: special tokens added, truncated to `maxLength`. */
  encode(text: string): number[] {
    const head = this.bosId === undefined ? [] : [this.bosId];
    const tail = this.eosId === undefined ? [] : [this.eosId];
    const body = this.subwords(text).slice(0, this.maxLength - head.length - tail.length);
    const endsWithEos = this.eosIfAbsent && body.length > 0 && body[body.length - 1] === this.eosId;
    return [...head, ...body, ...(endsWithEos ? [] : tail)];
  }

  /** Prompts padded to exactly `maxLength` with the pad id; the mask is 1 on real tokens. */
  encodeBatch(texts: readonly string[]): EncodedBatch {
    return padBatch(texts.map((text) => this.encode(text)), this.padding);
  }
}

function tokenContent(value: unknown): string | undefined {
  return typeof value === 'string' ? value : isRecord(value) && typeof value.content === 'string' ? value.content : undefined;
}

/**
 * The added tokens of a slow SiglipTokenizer: tokenizer_config.json's `added_tokens_decoder`, and its eos, unk and
 * pad tokens, which SiglipTokenizer adds with lstrip and rstrip.
 */
function slowAddedTokens(config: JsonRecord, idOf: (content: string) => number | undefined): AddedToken[] {
  const found = new Map<string, AddedToken>();
  if (isRecord(config.added_tokens_decoder)) {
    for (const [id, entry] of Object.entries(config.added_tokens_decoder)) {
      if (!isRecord(entry) || typeof entry.content !== 'string' || !Number.isInteger(Number(id))) continue;
      found.set(entry.content, { content: entry.content, id: Number(id), lstrip: entry.lstrip === true, rstrip: entry.rstrip === true });
    }
  }
  for (const key of ['eos_token', 'unk_token', 'pad_token']) {
    const content = tokenContent(config[key]);
    const id = content === undefined ? undefined : idOf(content);
    if (content !== undefined && id !== undefined && !found.has(content)) found.set(content, { content, id, lstrip: true, rstrip: true });
  }
  return [...found.values()];
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
