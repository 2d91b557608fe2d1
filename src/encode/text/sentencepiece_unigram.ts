/**
 * SentencePiece's Unigram model (the SigLIP / T5 kind), read from a Hugging Face tokenizer.json: the same ids as
 * python sentencepiece's `encode` for that model. Viterbi over the vocabulary's log-probabilities, summed in float32
 * as SentencePiece does; a character no piece covers becomes the unknown piece (score: lowest piece score − 10), and
 * a run of unknown characters is one unknown token.
 */
import { addedTokens, isRecord, modelSection, precompiledCharsmap, tokenizerError } from './sentencepiece_common.js';
import { SentencePieceNormalizer } from './sentencepiece_normalizer.js';

/** SentencePiece's penalty for the unknown piece, below the lowest piece score. */
const UNKNOWN_PENALTY = 10;

interface TrieNode {
  next: Map<string, TrieNode>;
  /** Id of the piece ending here, -1 when none. */
  id: number;
}

export interface UnigramEncodeOptions {
  /** Prefix "▁" to non-empty text (SentencePiece's `add_dummy_prefix`; default true). */
  readonly addDummyPrefix?: boolean;
}

export class SentencePieceUnigram {
  readonly unknownId: number;
  readonly vocabularySize: number;
  /** Whether the model normalises with a precompiled charsmap (SigLIP: `nmt_nfkc`), from its Precompiled normalizer. */
  readonly hasCharsmap: boolean;
  private readonly normalizer: SentencePieceNormalizer;
  private readonly scores: Float32Array;
  private readonly unknownScore: number;
  private readonly trie: TrieNode = { next: new Map(), id: -1 };

  /**
   * @param tokenizerJson the parsed tokenizer.json (`model.type` "Unigram", `model.vocab` [[piece, score], …])
   * @param source the file's name, for errors
   */
  constructor(tokenizerJson: unknown, source = 'tokenizer.json') {
    const model = modelSection(tokenizerJson, 'Unigram', source);
    if (!Array.isArray(model.vocab)) throw tokenizerError(source, '"model.vocab"', 'is not a list of [piece, score]');
    if (typeof model.unk_id !== 'number') throw tokenizerError(source, '"model.unk_id"', 'is missing');
    if (model.byte_fallback === true) {
      throw tokenizerError(source, '"model.byte_fallback"', 'is true: Unigram byte fallback is not supported');
    }
    this.unknownId = model.unk_id;
    this.vocabularySize = model.vocab.length;
    const charsmap = precompiledCharsmap(isRecord(tokenizerJson) ? tokenizerJson.normalizer : undefined);
    this.normalizer = charsmap === undefined ? new SentencePieceNormalizer() : SentencePieceNormalizer.fromBase64(charsmap, `${source} "precompiled_charsmap"`);
    this.hasCharsmap = this.normalizer.hasCharsmap;
    // Control pieces (<pad>, </s>, <unk>: special added tokens) never match text in SentencePiece.
    const { special } = addedTokens(tokenizerJson);
    this.scores = new Float32Array(model.vocab.length);
    let lowest = Infinity;
    model.vocab.forEach((entry, id) => {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') {
        throw tokenizerError(source, `"model.vocab"[${id}]`, 'is not a [piece, score] pair');
      }
      const [piece, score] = entry;
      this.scores[id] = score;
      if (special.has(id) || id === this.unknownId || piece === '') return;
      lowest = Math.min(lowest, this.scores[id]);
      this.insert(piece, id);
    });
    this.unknownScore = Math.fround(lowest - UNKNOWN_PENALTY);
  }

  private insert(piece: string, id: number): void {
    let node = this.trie;
    for (const ch of piece) {
      let child = node.next.get(ch);
      if (!child) node.next.set(ch, (child = { next: new Map(), id: -1 }));
      node = child;
    }
    if (node.id === -1) node.id = id;
  }

  /**
   * SentencePiece's normaliser for this model: its charsmap, whitespace runs collapsed, leading and trailing
   * whitespace removed, "▁" prefixed (dummy prefix) and spaces written as "▁".
   */
  normalize(text: string, options: UnigramEncodeOptions = {}): string {
    return this.normalizer.normalize(text, options.addDummyPrefix !== false);
  }

  /** Ids of `text` (no special tokens added). */
  encode(text: string, options: UnigramEncodeOptions = {}): number[] {
    return this.viterbi(Array.from(this.normalize(text, options)));
  }

  /** Best segmentation of the normalised characters; ties keep the earliest-found path, as SentencePiece does. */
  private viterbi(chars: string[]): number[] {
    const n = chars.length;
    const best = new Float32Array(n + 1).fill(-Infinity);
    const pieceId = new Int32Array(n + 1).fill(-1);
    const start = new Int32Array(n + 1).fill(-1);
    best[0] = 0;
    for (let from = 0; from < n; from++) {
      if (best[from] === -Infinity) continue;
      let node: TrieNode | undefined = this.trie;
      let coversOneChar = false;
      for (let to = from; to < n && node; to++) {
        node = node.next.get(chars[to]);
        if (!node || node.id === -1) continue;
        if (to === from) coversOneChar = true;
        const score = Math.fround(best[from] + this.scores[node.id]);
        if (score > best[to + 1]) {
          best[to + 1] = score;
          pieceId[to + 1] = node.id;
          start[to + 1] = from;
        }
      }
      if (!coversOneChar) {
        const score = Math.fround(best[from] + this.unknownScore);
        if (score > best[from + 1]) {
          best[from + 1] = score;
          pieceId[from + 1] = this.unknownId;
          start[from + 1] = from;
        }
      }
    }
    const ids: number[] = [];
    for (let end = n; end > 0; end = start[end]) ids.push(pieceId[end]);
    ids.reverse();
    // A run of unknown characters is one unknown token.
    return ids.filter((id, i) => !(id === this.unknownId && i > 0 && ids[i - 1] === this.unknownId));
  }
}
