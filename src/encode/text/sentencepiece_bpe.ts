/**
 * SentencePiece's BPE model with byte fallback (the Gemma kind, SigLIP 2's tokenizer), read from a Hugging Face
 * tokenizer.json: the same ids as python sentencepiece's `encode` for that model. The text is normalised by the
 * tokenizer.json normalizer (Gemma: spaces to "▁", nothing else), split into characters, and adjacent symbols are
 * merged by priority (the `merges` list is ordered by the merged piece's SentencePiece score; on equal priority the
 * leftmost pair first). A character missing from the vocabulary becomes its UTF-8 bytes `<0xHH>`.
 */
import { isRecord, modelSection, tokenizerError, type Json, type JsonRecord } from './sentencepiece_common.js';
import { SentencePieceNormalizer } from './sentencepiece_normalizer.js';

const utf8 = new TextEncoder();

/** The normalizer steps a SentencePiece BPE tokenizer.json uses, applied in order. */
type NormalizerStep = (text: string) => string;

function normalizerSteps(normalizer: Json | undefined, source: string): NormalizerStep[] {
  if (normalizer === null || normalizer === undefined) return [];
  if (!isRecord(normalizer)) throw tokenizerError(source, '"normalizer"', 'is not an object');
  switch (normalizer.type) {
    case 'Sequence':
      if (!Array.isArray(normalizer.normalizers)) throw tokenizerError(source, '"normalizer.normalizers"', 'is not a list');
      return normalizer.normalizers.flatMap((step) => normalizerSteps(step, source));
    case 'Replace': {
      const pattern = isRecord(normalizer.pattern) ? normalizer.pattern.String : undefined;
      if (typeof pattern !== 'string' || typeof normalizer.content !== 'string') {
        throw tokenizerError(source, '"normalizer" Replace', 'must replace a plain String (regex patterns are not supported here)');
      }
      const content = normalizer.content;
      return [(text) => text.split(pattern).join(content)];
    }
    case 'Prepend': {
      const prepend = normalizer.prepend;
      if (typeof prepend !== 'string') throw tokenizerError(source, '"normalizer" Prepend', 'has no "prepend" string');
      return [(text) => (text === '' ? text : prepend + text)];
    }
    case 'Precompiled': {
      if (typeof normalizer.precompiled_charsmap !== 'string') throw tokenizerError(source, '"normalizer" Precompiled', 'has no "precompiled_charsmap"');
      const charsmap = SentencePieceNormalizer.fromBase64(normalizer.precompiled_charsmap, `${source} "precompiled_charsmap"`);
      return [(text) => charsmap.map(text)];
    }
    default:
      throw tokenizerError(source, '"normalizer"', `of type ${JSON.stringify(normalizer.type)} is not supported for SentencePiece BPE`);
  }
}

/**
 * Gemma's tokenizer.json has no pre-tokenizer, or (newer conversions) Split on " " merged with the previous piece.
 * The normalizer has already written every space as "▁", so that split never applies: the text is one word.
 */
function isSpaceSplitOrNone(preTokenizer: Json | undefined): boolean {
  if (preTokenizer === null || preTokenizer === undefined) return true;
  return isRecord(preTokenizer) && preTokenizer.type === 'Split' && isRecord(preTokenizer.pattern) && preTokenizer.pattern.String === ' ';
}

export class SentencePieceBpe {
  readonly unknownId: number;
  readonly vocabularySize: number;
  private readonly vocab = new Map<string, number>();
  /** pairKey(left, right) -> merge priority (lower first). */
  private readonly mergeRank = new Map<number, number>();
  /** merge priority -> merged id. */
  private readonly mergedId: number[] = [];
  private readonly byteIds: Int32Array | undefined;
  private readonly normalizer: NormalizerStep[];
  private readonly idLimit: number;

  /**
   * @param tokenizerJson the parsed tokenizer.json (`model.type` "BPE", `model.vocab` {piece: id}, `model.merges`)
   * @param source the file's name, for errors
   */
  constructor(tokenizerJson: unknown, source = 'tokenizer.json') {
    const model = modelSection(tokenizerJson, 'BPE', source);
    const root = tokenizerJson as JsonRecord;
    if (!isSpaceSplitOrNone(root.pre_tokenizer)) {
      throw tokenizerError(source, '"pre_tokenizer"', 'is not a SentencePiece BPE (Gemma) one (none, or Split on " "): this is another kind of BPE');
    }
    if (!isRecord(model.vocab)) throw tokenizerError(source, '"model.vocab"', 'is not a {piece: id} object');
    for (const [piece, id] of Object.entries(model.vocab)) {
      if (typeof id !== 'number') throw tokenizerError(source, `"model.vocab"[${JSON.stringify(piece)}]`, 'is not an id');
      this.vocab.set(piece, id);
    }
    this.vocabularySize = this.vocab.size;
    // a loop, not Math.max(...ids): Gemma's 256k ids would overflow the call stack
    let largest = -1;
    for (const id of this.vocab.values()) largest = Math.max(largest, id);
    this.idLimit = largest + 1;
    const unk = typeof model.unk_token === 'string' ? this.vocab.get(model.unk_token) : undefined;
    if (unk === undefined) throw tokenizerError(source, '"model.unk_token"', 'is missing or not in the vocabulary');
    this.unknownId = unk;
    this.normalizer = normalizerSteps(root.normalizer, source);
    if (model.byte_fallback === true) {
      this.byteIds = new Int32Array(256);
      for (let b = 0; b < 256; b++) {
        const piece = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
        const id = this.vocab.get(piece);
        if (id === undefined) throw tokenizerError(source, '"model.vocab"', `has byte_fallback but no ${piece} piece`);
        this.byteIds[b] = id;
      }
    }
    if (!Array.isArray(model.merges)) throw tokenizerError(source, '"model.merges"', 'is not a list');
    model.merges.forEach((merge, rank) => {
      // "left right" (older files) or ["left", "right"]; a string with another space is ambiguous, so refused below
      const parts = typeof merge === 'string' ? merge.split(' ') : Array.isArray(merge) ? merge : [];
      const [left, right] = parts.length === 2 ? parts : [];
      const l = typeof left === 'string' ? this.vocab.get(left) : undefined;
      const r = typeof right === 'string' ? this.vocab.get(right) : undefined;
      const m = typeof left === 'string' && typeof right === 'string' ? this.vocab.get(left + right) : undefined;
      if (l === undefined || r === undefined || m === undefined) {
        throw tokenizerError(source, `"model.merges"[${rank}]`, `(${JSON.stringify(merge)}) has a part or result outside the vocabulary`);
      }
      const key = this.pairKey(l, r);
      if (!this.mergeRank.has(key)) this.mergeRank.set(key, rank);
      this.mergedId[rank] = m;
    });
  }

  private pairKey(left: number, right: number): number {
    return left * this.idLimit + right;
  }

  /** The tokenizer.json normalizer applied to `text`. */
  normalize(text: string): string {
    return this.normalizer.reduce((t, step) => step(t), text);
  }

  /** Ids of `text` (no special tokens added). */
  encode(text: string): number[] {
    const symbols: number[] = [];
    for (const ch of this.normalize(text)) {
      const id = this.vocab.get(ch);
      if (id !== undefined) symbols.push(id);
      else if (this.byteIds) for (const b of utf8.encode(ch)) symbols.push(this.byteIds[b]);
      else if (symbols[symbols.length - 1] !== this.unknownId) symbols.push(this.unknownId);
    }
    for (;;) {
      let bestRank = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.mergeRank.get(this.pairKey(symbols[i], symbols[i + 1]));
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          at = i;
        }
      }
      if (at < 0) return symbols;
      symbols.splice(at, 2, this.mergedId[bestRank]);
    }
  }
}
