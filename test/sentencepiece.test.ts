/**
 * SigLIP's and SigLIP 2's tokenizers against Python's: every prompt of the goldens written by
 * scripts/build_siglip_fixtures.py (python sentencepiece with transformers' SiglipTokenizer / GemmaTokenizer rules).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { SentencePieceBpe } from '../src/encode/text/sentencepiece_bpe.js';
import { SentencePieceNormalizer } from '../src/encode/text/sentencepiece_normalizer.js';
import { SentencePieceUnigram } from '../src/encode/text/sentencepiece_unigram.js';
import { canonicalizeText, pythonLower, SiglipTextTokenizer } from '../src/encode/text/siglip_text.js';

const root = new URL('../', import.meta.url);
const readJson = (rel: string): unknown => JSON.parse(readFileSync(new URL(rel, root), 'utf8'));

interface GoldenPrompt {
  text: string;
  input_ids: number[];
  length: number;
}
interface TokenGoldens {
  tokenizer: string;
  max_length: number;
  pad_id: number;
  eos_id: number;
  rules: Record<string, GoldenPrompt[]>;
}

function tokenizerOf(dir: string): SiglipTextTokenizer {
  return SiglipTextTokenizer.fromJson(readJson(`${dir}/tokenizer.json`), readJson(`${dir}/tokenizer_config.json`), {
    tokenizerSource: `${dir}/tokenizer.json`,
    configSource: `${dir}/tokenizer_config.json`,
  });
}

function assertBatch(tokenizer: SiglipTextTokenizer, prompts: GoldenPrompt[], where: string): void {
  const batch = tokenizer.encodeBatch(prompts.map((p) => p.text));
  assert.equal(batch.batchSize, prompts.length);
  assert.equal(batch.sequenceLength, 64);
  prompts.forEach((p, row) => {
    const ids = Array.from(batch.inputIds.subarray(row * 64, (row + 1) * 64), Number);
    const mask = Array.from(batch.attentionMask.subarray(row * 64, (row + 1) * 64), Number);
    assert.deepEqual(ids, p.input_ids, `${where}: ${JSON.stringify(p.text)}`);
    assert.deepEqual(mask, Array.from({ length: 64 }, (_, i) => (i < p.length ? 1 : 0)), `${where} mask: ${JSON.stringify(p.text)}`);
  });
}

const tokenGoldens = readJson('test/golden/families/sentencepiece_tokens.json') as Record<string, TokenGoldens>;

for (const family of ['siglip', 'siglip2']) {
  describe(`${family} tokenizer = Python`, () => {
    const golden = tokenGoldens[family];
    const tokenizer = tokenizerOf(golden.tokenizer);

    it('pads to 64 with the pad id and ends with the end token', () => {
      assert.equal(tokenizer.maxLength, golden.max_length);
      assert.deepEqual(tokenizer.padding, { to: 64, padId: golden.pad_id });
      assert.equal(tokenizer.eosId, golden.eos_id);
      assert.equal(tokenizer.kind, family === 'siglip' ? 'sentencepiece-unigram' : 'gemma-bpe');
    });

    for (const [rule, prompts] of Object.entries(golden.rules)) {
      it(`rule ${rule}: ${prompts.length} prompts`, () => assertBatch(tokenizer, prompts, `${family}/${rule}`));
    }

    it('the family golden prompts (FairFace + tricky ones)', () => {
      const familyGolden = readJson(`test/golden/families/${family}.json`) as { prompts: GoldenPrompt[] };
      assertBatch(tokenizer, familyGolden.prompts, `${family}.json`);
    });

    it('truncation keeps the end token last', () => {
      const ids = tokenizer.encode('photo '.repeat(200));
      assert.equal(ids.length, 64);
      assert.equal(ids[63], golden.eos_id);
    });
  });
}

describe('SigLIP text rules', () => {
  it('lower-cases like Python (no final sigma)', () => {
    assert.equal(pythonLower('ΟΔΟΣ'), 'οδοσ');
    assert.equal(pythonLower('A Photo'), 'a photo');
  });
  it('canonicalizes like big_vision: ASCII punctuation only, Python whitespace', () => {
    assert.equal(canonicalizeText(' a, (b)!\t\u3000c. '), 'a b c');
    assert.equal(canonicalizeText('¡hola! «x»'), '¡hola «x»');
  });
  it("the fixture's nmt_nfkc charsmap maps spaces and ligatures and drops control characters", () => {
    const json = readJson('fixtures/siglip/tokenizer.json') as { normalizer: { normalizers: { precompiled_charsmap?: string }[] } };
    const normalizer = SentencePieceNormalizer.fromBase64(json.normalizer.normalizers[0].precompiled_charsmap!);
    assert.equal(normalizer.map('ﬁ\u00a0x\u0007'), 'fi x');
    assert.equal(normalizer.normalize('  ﬁ\u00a0\u00a0x\u0007 ', true), '\u2581fi\u2581x');
    assert.equal(new SentencePieceNormalizer().normalize(' a  b ', false), 'a\u2581b');
  });
});

describe('tokenizer.json errors name the file and the entry', () => {
  const siglip = readJson('fixtures/siglip/tokenizer.json') as Record<string, unknown>;
  const gemma = readJson('fixtures/siglip2/tokenizer.json') as Record<string, unknown>;
  it('a BPE file is not a Unigram model', () => {
    assert.throws(() => new SentencePieceUnigram(gemma, 'x/tokenizer.json'), /x\/tokenizer\.json: "model\.type" is "BPE", expected "Unigram"/);
  });
  it('a byte-level BPE (with a pre-tokenizer) is not SentencePiece BPE', () => {
    assert.throws(() => new SentencePieceBpe({ ...gemma, pre_tokenizer: { type: 'ByteLevel' } }, 'y.json'), /y\.json: "pre_tokenizer" is not a SentencePiece BPE/);
  });
  it('a Split-on-space pre-tokenizer (newer Gemma conversions) changes nothing', () => {
    const split = { ...gemma, pre_tokenizer: { type: 'Split', pattern: { String: ' ' }, behavior: 'MergedWithPrevious', invert: false } };
    const text = 'A photo of  a white man';
    assert.deepEqual(new SentencePieceBpe(split).encode(text), new SentencePieceBpe(gemma).encode(text));
  });
  it("a Gemma-sized vocabulary (256k pieces) loads", () => {
    const vocab: Record<string, number> = { ...(gemma.model as { vocab: Record<string, number> }).vocab };
    for (let id = Object.keys(vocab).length; id < 256000; id++) vocab[`piece${id}`] = id;
    const big = new SentencePieceBpe({ ...gemma, model: { ...(gemma.model as object), vocab } });
    assert.equal(big.vocabularySize, 256000);
  });
  it('an unknown model type', () => {
    assert.throws(() => SiglipTextTokenizer.fromJson({ model: { type: 'WordPiece' } }, {}), /"model\.type" "WordPiece" is not a SentencePiece/);
  });
  it('a pad token that is not in the vocabulary', () => {
    assert.throws(() => SiglipTextTokenizer.fromJson(siglip, { pad_token: '<nope>' }, { configSource: 'c.json' }), /c\.json: "pad_token" "<nope>" is not a token/);
  });
});
