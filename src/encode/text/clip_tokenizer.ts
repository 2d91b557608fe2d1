/**
 * CLIP's byte-level BPE tokenizer, giving the same ids as OpenAI's
 * `clip.tokenize(texts, truncate=True)` (their `SimpleTokenizer`), including
 * its ftfy + HTML-unescape text cleaning, which Hugging Face's fast tokenizer
 * (and so Transformers.js) leaves out.
 */
import { readFile } from 'node:fs/promises';
import { fixText, htmlUnescape, PY_SPACE_CHARS } from './ftfy.js';
import { padBatch } from './padding.js';

export const CLIP_CONTEXT_LENGTH = 77;
const START_TOKEN = '<|startoftext|>';
const END_TOKEN = '<|endoftext|>';
const END_OF_WORD = '</w>';

/** Python's `str.strip()` (its whitespace set differs from JavaScript's `trim`). */
const PY_SPACE_RE = new RegExp(`[${PY_SPACE_CHARS}]`);
function pythonStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && PY_SPACE_RE.test(text[start])) start++;
  while (end > start && PY_SPACE_RE.test(text[end - 1])) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}
/** The `regex` module's `\s` (Unicode White_Space), used to collapse runs. */
const SPACE_RUN_RE = /[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/gu;

/**
 * CLIP's pre-tokenizer. Python applies it with IGNORECASE to lower-cased text;
 * written case-exact here because JavaScript's /i would also let U+0345 count
 * as a letter. The only non-ASCII character that case-folds into these
 * literals is "ſ" (folds to "s"), so it is listed explicitly. U+0345 is in no
 * class in Python (a letter's case variant, yet not a letter), so it is dropped.
 */
const PRE_TOKEN_RE =
  /<\|[sſ]tartoftext\|>|<\|endoftext\|>|'[sſ]|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\p{L}\p{N}\u0345]+/gu;

/**
 * The text normalisation of CLIP's tokenizer: ftfy, HTML unescaping (twice),
 * whitespace collapsing and lower-casing.
 */
export function cleanPromptText(text: string): string {
  let cleaned = pythonStrip(htmlUnescape(htmlUnescape(fixText(text))));
  cleaned = pythonStrip(cleaned.replace(SPACE_RUN_RE, ' '));
  return cleaned.toLowerCase();
}

/** GPT-2's reversible byte -> printable character table that byte-level BPE symbols are written in. */
function byteToSymbolTable(): string[] {
  const table = new Array<string>(256);
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    table[byte] = String.fromCharCode(printable ? byte : next++);
  }
  return table;
}
const BYTE_SYMBOL = byteToSymbolTable();
const utf8 = new TextEncoder();

export interface EncodedBatch {
  /** Row-major [batchSize, sequenceLength] token ids. */
  inputIds: BigInt64Array;
  /** 1 for real tokens, 0 for padding. */
  attentionMask: BigInt64Array;
  batchSize: number;
  sequenceLength: number;
}

export class ClipBpeTokenizer {
  readonly contextLength = CLIP_CONTEXT_LENGTH;
  readonly startTokenId: number;
  readonly endTokenId: number;
  /** Id of each byte's symbol, and of the same symbol ending a word ("</w>"). */
  private readonly byteIds = new Int32Array(256);
  private readonly byteEndIds = new Int32Array(256);
  /** pairKey(left id, right id) -> merge priority (lower merges first). */
  private readonly mergeRank = new Map<number, number>();
  /** merge priority -> id of the merged symbol. */
  private readonly mergedId: number[] = [];
  private readonly idLimit: number;
  /** Pre-token -> its ids; words repeat a lot across prompts. */
  private readonly wordCache = new Map<string, number[]>();

  private constructor(vocab: Map<string, number>, merges: [string, string][]) {
    const idOf = (symbol: string): number => {
      const id = vocab.get(symbol);
      if (id === undefined) throw new Error(`${JSON.stringify(symbol)} is not in the vocabulary`);
      return id;
    };
    this.startTokenId = idOf(START_TOKEN);
    this.endTokenId = idOf(END_TOKEN);
    this.idLimit = Math.max(...vocab.values()) + 1;
    for (let byte = 0; byte < 256; byte++) {
      this.byteIds[byte] = idOf(BYTE_SYMBOL[byte]);
      this.byteEndIds[byte] = idOf(BYTE_SYMBOL[byte] + END_OF_WORD);
    }
    // BPE runs on ids: every merge's parts and result are vocabulary entries, so ids identify symbols.
    merges.forEach(([left, right], rank) => {
      // a repeated merge takes its last rank, as a Python dict built from the list would
      this.mergeRank.set(this.pairKey(idOf(left), idOf(right)), rank);
      this.mergedId[rank] = idOf(left + right);
    });
    // As in CLIP, a pre-token spelling a special token exactly maps to that token.
    this.wordCache.set(START_TOKEN, [this.startTokenId]);
    this.wordCache.set(END_TOKEN, [this.endTokenId]);
  }

  /** Read `vocab.json` and `merges.txt` (Hugging Face layout) from a folder. */
  static async fromFolder(dir: string | URL): Promise<ClipBpeTokenizer> {
    const base = typeof dir === 'string' ? dir.replace(/\/?$/, '/') : new URL(dir.href.replace(/\/?$/, '/'));
    const at = (name: string): string | URL => (typeof base === 'string' ? base + name : new URL(name, base));
    const [vocabText, mergesText] = await Promise.all([readFile(at('vocab.json'), 'utf8'), readFile(at('merges.txt'), 'utf8')]);
    const vocab = JSON.parse(vocabText) as Record<string, number>;
    return ClipBpeTokenizer.fromVocabAndMerges(vocab, mergesText.split(/\r?\n/));
  }

  /**
   * @param merges lines of merges.txt ("left right", in priority order); a leading "#version" line and empty lines are skipped
   */
  static fromVocabAndMerges(vocab: Record<string, number>, merges: string[]): ClipBpeTokenizer {
    const pairs: [string, string][] = [];
    for (const line of merges) {
      if (line === '' || line.startsWith('#version')) continue;
      const parts = line.split(' ');
      if (parts.length !== 2) throw new Error(`bad merge line: ${JSON.stringify(line)}`);
      pairs.push([parts[0], parts[1]]);
    }
    return new ClipBpeTokenizer(new Map(Object.entries(vocab)), pairs);
  }

  /** Token ids with start and end tokens; longer than 77 is cut to 77 with the end token last. */
  encode(text: string): number[] {
    const ids = [this.startTokenId];
    const cleaned = cleanPromptText(text);
    PRE_TOKEN_RE.lastIndex = 0;
    // nothing past the context window is kept, so stop once it is full
    for (let match = PRE_TOKEN_RE.exec(cleaned); match !== null && ids.length < this.contextLength; match = PRE_TOKEN_RE.exec(cleaned)) {
      for (const id of this.wordIds(match[0])) ids.push(id);
    }
    ids.push(this.endTokenId);
    if (ids.length > this.contextLength) {
      ids.length = this.contextLength;
      ids[this.contextLength - 1] = this.endTokenId;
    }
    return ids;
  }

  /**
   * Encode a batch padded to its longest row (not to 77) with the end token and
   * attention mask 0. CLIP's text encoder is causal and pools at the first end
   * token, so rows padded this way embed exactly as with full-length padding.
   */
  encodeBatch(texts: readonly string[]): EncodedBatch {
    return padBatch(texts.map((text) => this.encode(text)), { to: 'longest', padId: this.endTokenId });
  }

  private pairKey(left: number, right: number): number {
    return left * this.idLimit + right;
  }

  private wordIds(word: string): number[] {
    const cached = this.wordCache.get(word);
    if (cached !== undefined) return cached;
    const bytes = utf8.encode(word);
    const symbols = Array.from(bytes, (byte, i) => (i === bytes.length - 1 ? this.byteEndIds[byte] : this.byteIds[byte]));
    const ids = this.bpe(symbols);
    this.wordCache.set(word, ids);
    return ids;
  }

  /** Merge the lowest-ranked adjacent pair, everywhere it occurs, until no known pair remains. */
  private bpe(symbols: number[]): number[] {
    let length = symbols.length;
    while (length > 1) {
      let bestRank = Infinity;
      let left = -1;
      let right = -1;
      for (let i = 0; i < length - 1; i++) {
        const rank = this.mergeRank.get(this.pairKey(symbols[i], symbols[i + 1]));
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          left = symbols[i];
          right = symbols[i + 1];
        }
      }
      if (bestRank === Infinity) break;
      const merged = this.mergedId[bestRank];
      let out = 0;
      for (let i = 0; i < length; out++) {
        if (i < length - 1 && symbols[i] === left && symbols[i + 1] === right) {
          symbols[out] = merged;
          i += 2;
        } else {
          symbols[out] = symbols[i];
          i += 1;
        }
      }
      length = out;
    }
    symbols.length = length;
    return symbols;
  }
}
