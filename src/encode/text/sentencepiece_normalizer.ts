/**
 * SentencePiece's normaliser, exactly: the model's precompiled charsmap (a double-array trie over UTF-8 bytes mapping
 * the longest matching prefix to its normalised string; `nmt_nfkc` for SigLIP), then SentencePiece's whitespace
 * rules (leading spaces dropped, runs collapsed, the dummy "▁" prefix, spaces written "▁", trailing ones dropped).
 *
 * Charsmap layout (sentencepiece normalizer.cc, DecodePrecompiledCharsMap): uint32 LE trie size in bytes, the
 * darts-clone trie (uint32 LE units), then NUL-terminated normalised strings that the trie's values point into.
 */
import { SPACE_SYMBOL } from './sentencepiece_common.js';

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();
const SPACE = 0x20;
const REPLACEMENT = utf8Encoder.encode('\ufffd');

export class SentencePieceNormalizer {
  private readonly units: Uint32Array;
  private readonly normalized: Uint8Array;

  /**
   * @param charsmap the raw charsmap bytes (tokenizer.json stores them base64 in a `Precompiled` normalizer);
   *   empty for a model without one (identity: only the whitespace rules apply)
   */
  constructor(charsmap: Uint8Array = new Uint8Array(4), source = 'precompiled_charsmap') {
    if (charsmap.length < 4) throw new Error(`${source}: the precompiled charsmap is truncated`);
    const view = new DataView(charsmap.buffer, charsmap.byteOffset, charsmap.byteLength);
    const trieSize = view.getUint32(0, true);
    if (trieSize % 4 !== 0 || 4 + trieSize > charsmap.length) throw new Error(`${source}: the precompiled charsmap's trie size ${trieSize} does not fit the data`);
    this.units = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + 4 * i, true);
    this.normalized = charsmap.subarray(4 + trieSize);
  }

  static fromBase64(base64: string, source?: string): SentencePieceNormalizer {
    return new SentencePieceNormalizer(new Uint8Array(Buffer.from(base64, 'base64')), source);
  }

  /** Whether the model has a charsmap (else characters pass unchanged). */
  get hasCharsmap(): boolean {
    return this.units.length > 0;
  }

  /** The charsmap alone, rule by rule (what a tokenizer.json `Precompiled` normalizer step does). */
  map(text: string): string {
    const input = utf8Encoder.encode(text);
    const out: number[] = [];
    for (let at = 0; at < input.length; ) {
      const [piece, consumed] = this.prefix(input, at);
      for (const b of piece) out.push(b);
      at += consumed;
    }
    return utf8Decoder.decode(Uint8Array.from(out));
  }

  /**
   * The longest rule matching `bytes` at `at`: [normalised bytes, input bytes consumed]; without a rule, one UTF-8
   * character unchanged (a malformed byte becomes U+FFFD).
   */
  private prefix(bytes: Uint8Array, at: number): [Uint8Array, number] {
    const units = this.units;
    let longest = 0;
    let value = 0;
    if (units.length > 0) {
      let node = offsetOf(units[0]);
      for (let i = at; i < bytes.length; i++) {
        node ^= bytes[i];
        const unit = units[node];
        if (unit === undefined || labelOf(unit) !== bytes[i]) break;
        node ^= offsetOf(unit);
        if ((unit >>> 8) & 1) {
          longest = i + 1 - at;
          value = units[node] & 0x7fffffff;
        }
      }
    }
    if (longest > 0) {
      let end = value;
      while (end < this.normalized.length && this.normalized[end] !== 0) end++;
      return [this.normalized.subarray(value, end), longest];
    }
    const length = utf8CharLength(bytes, at);
    return length === 0 ? [REPLACEMENT, 1] : [bytes.subarray(at, at + length), length];
  }

  /** SentencePiece's Normalize (remove_extra_whitespaces and escape_whitespaces on, as in SigLIP's spiece.model). */
  normalize(text: string, addDummyPrefix: boolean): string {
    const input = utf8Encoder.encode(text);
    let at = 0;
    // Leading characters that normalise to exactly one space are dropped.
    while (at < input.length) {
      const [piece, consumed] = this.prefix(input, at);
      if (piece.length !== 1 || piece[0] !== SPACE) break;
      at += consumed;
    }
    if (at >= input.length) return '';
    const out: number[] = addDummyPrefix ? [SPACE] : [];
    let previousSpace = true;
    while (at < input.length) {
      const [piece, consumed] = this.prefix(input, at);
      let start = 0;
      if (previousSpace) while (start < piece.length && piece[start] === SPACE) start++;
      if (start < piece.length) {
        for (let i = start; i < piece.length; i++) out.push(piece[i]);
        previousSpace = piece[piece.length - 1] === SPACE;
      }
      at += consumed;
    }
    let end = out.length;
    while (end > 0 && out[end - 1] === SPACE) end--;
    return utf8Decoder.decode(Uint8Array.from(out.slice(0, end))).split(' ').join(SPACE_SYMBOL);
  }
}

/** darts-clone unit fields. */
function offsetOf(unit: number): number {
  return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
}
function labelOf(unit: number): number {
  return unit & ((1 << 31) | 0xff);
}

/** Length of the valid UTF-8 character at `at`, 0 when malformed. */
function utf8CharLength(bytes: Uint8Array, at: number): number {
  const b = bytes[at];
  const n = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
  if (n === 0 || at + n > bytes.length) return 0;
  for (let i = 1; i < n; i++) if ((bytes[at + i] & 0xc0) !== 0x80) return 0;
  return n;
}
