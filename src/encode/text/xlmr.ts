/**
 * XLM-RoBERTa's text rules around its SentencePiece Unigram model (jina-clip-v2's text tower), as transformers'
 * XLMRobertaTokenizer applies them: the text as given (no lower-casing) cut at the added tokens (`<s>`, `</s>`,
 * `<pad>`, `<unk>` written in a prompt are those tokens; `<mask>` also eats the whitespace on its left), each piece
 * through SentencePiece with its dummy "▁" prefix, `<s>` first and `</s>` last, truncated to `model_max_length` keeping `</s>`, and batches padded to the longest
 * prompt with `<pad>` (the mask is 1 on real tokens: the model mean-pools over it).
 *
 * Ids are tokenizer.json's, which hold fairseq's order: `<s>` 0, `<pad>` 1, `</s>` 2, `<unk>` 3, then each
 * SentencePiece piece one above its id in the .model file (XLMRobertaTokenizer's `fairseq_offset`), `<mask>` last.
 * A file in SentencePiece's own order (`<unk>` 0, `<s>` 1, `</s>` 2) would shift every id by one, so it is refused.
 */
import type { EncodedBatch } from './clip_tokenizer.js';
import { padBatch } from './padding.js';
import { addedTokens, isRecord, type AddedToken, type JsonRecord } from './sentencepiece_common.js';
import { SentencePieceUnigram } from './sentencepiece_unigram.js';
import { splitOnAddedTokens } from './siglip_text.js';
import type { TokenizerFileOptions } from './tokenizer_options.js';

/** fairseq's special-token ids, which XLM-R's vocabulary starts with. */
const FAIRSEQ_IDS = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 } as const;

/** transformers' "no limit" `model_max_length` is about 1e30; anything this large is no limit at all. */
const NO_LIMIT = 1_000_000;

export class XlmrTokenizer {
  readonly kind = 'xlmr-unigram';
  readonly maxLength: number;
  readonly padding: { readonly to: 'longest'; readonly padId: number };
  /** The text rules, in words (for `inspect` and run.json). */
  readonly rules: string;
  /** `<s>` (XLMRobertaTokenizer's cls_token) and `</s>` (its sep_token). */
  readonly bosId: number;
  readonly eosId: number;
  private readonly unigram: SentencePieceUnigram;
  private readonly addedTokens: readonly AddedToken[];

  private constructor(unigram: SentencePieceUnigram, added: readonly AddedToken[], ids: { bos: number; eos: number; pad: number }, maxLength: number) {
    this.unigram = unigram;
    this.addedTokens = added;
    this.bosId = ids.bos;
    this.eosId = ids.eos;
    this.maxLength = maxLength;
    this.padding = { to: 'longest', padId: ids.pad };
    this.rules = `text as given (no lower-casing) cut at the added tokens, SentencePiece Unigram with a "▁" prefix${unigram.hasCharsmap ? ' (nmt_nfkc)' : ''}, <s> first and </s> last, truncated to ${maxLength} keeping </s>, padded with id ${ids.pad} to the longest prompt`;
  }

  /** From the parsed tokenizer.json and tokenizer_config.json of an XLM-R model. */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown, options: TokenizerFileOptions = {}): XlmrTokenizer {
    const source = options.tokenizerSource ?? 'tokenizer.json';
    const configSource = options.configSource ?? 'tokenizer_config.json';
    const config: JsonRecord = isRecord(tokenizerConfig) ? tokenizerConfig : {};
    const unigram = new SentencePieceUnigram(tokenizerJson, source);
    const { ids: added, tokens } = addedTokens(tokenizerJson);
    for (const [piece, id] of Object.entries(FAIRSEQ_IDS)) {
      if (added.get(piece) !== id) {
        throw new Error(`${source}: the added token ${piece} has id ${added.get(piece) ?? 'none'}, not ${id}: the vocabulary is not in XLM-R's fairseq order (convert the tokenizer with transformers' XLMRobertaTokenizerFast)`);
      }
    }
    if (unigram.unknownId !== FAIRSEQ_IDS['<unk>']) {
      throw new Error(`${source}: "model.unk_id" is ${unigram.unknownId}, not ${FAIRSEQ_IDS['<unk>']} (<unk> in XLM-R's fairseq order)`);
    }
    const tokenId = (key: string, fallback: string): number => {
      const value = config[key];
      const piece = typeof value === 'string' ? value : isRecord(value) && typeof value.content === 'string' ? value.content : fallback;
      const id = added.get(piece);
      if (id === undefined) throw new Error(`${configSource}: "${key}" ${JSON.stringify(piece)} is not an added token of ${source}; fix the token name or the tokenizer files`);
      return id;
    };
    const ids = { bos: tokenId('cls_token', '<s>'), eos: tokenId('sep_token', '</s>'), pad: tokenId('pad_token', '<pad>') };
    const configured = config.model_max_length;
    const maxLength = options.maxLength ?? (typeof configured === 'number' && configured < NO_LIMIT ? configured : undefined);
    if (maxLength === undefined) {
      throw new Error(`${configSource}: "model_max_length" is ${JSON.stringify(configured ?? null)}, not a length the text model takes; set it to the model's context (jina-clip-v2: 8192)`);
    }
    if (!Number.isInteger(maxLength) || maxLength < 3) {
      throw new Error(`${configSource}: "model_max_length" ${maxLength} leaves no room for a token between <s> and </s>`);
    }
    return new XlmrTokenizer(unigram, tokens, ids, maxLength);
  }

  /** Ids of one prompt as the graph is fed them, before padding: `<s>` … `</s>`, truncated to `maxLength`. */
  encode(text: string): number[] {
    const pieces = splitOnAddedTokens(text, this.addedTokens).flatMap((piece) => (typeof piece === 'string' ? this.unigram.encode(piece) : [piece.id]));
    return [this.bosId, ...pieces.slice(0, this.maxLength - 2), this.eosId];
  }

  /** Prompts padded to the longest with the pad id; the mask is 1 on real tokens. */
  encodeBatch(texts: readonly string[]): EncodedBatch {
    return padBatch(texts.map((text) => this.encode(text)), this.padding);
  }
}
