/**
 * The WordPiece tokenizer (Chinese-CLIP's text side) against the Python reference of BERT's rules: every prompt of
 * test/golden/families/wordpiece_tokens.json and the golden prompts of test/golden/families/chinese-clip.json,
 * written by scripts/build_chinese_clip_fixture.py from fixtures/chinese-clip's tokenizer files.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { WORDPIECE_DEFAULT_MAX_LENGTH, WordPieceTokenizer } from '../src/encode/text/wordpiece.js';

const root = new URL('../', import.meta.url);
const readJson = (rel: string): unknown => JSON.parse(readFileSync(new URL(rel, root), 'utf8'));

interface TokenGoldens {
  tokenizer: string;
  max_length: number;
  pad_id: number;
  cls_id: number;
  sep_id: number;
  rules: Record<string, { text: string; tokens: string[]; input_ids: number[] }[]>;
}

const golden = readJson('test/golden/families/wordpiece_tokens.json') as TokenGoldens;
const dir = golden.tokenizer;
const tokenizerJson = readJson(`${dir}/tokenizer.json`) as Record<string, unknown>;
const tokenizerConfig = readJson(`${dir}/tokenizer_config.json`) as Record<string, unknown>;
const tokenizer = WordPieceTokenizer.fromJson(tokenizerJson, tokenizerConfig, {
  tokenizerSource: `${dir}/tokenizer.json`,
  configSource: `${dir}/tokenizer_config.json`,
});

/** A copy of the fixture's tokenizer.json with `edit` applied, for the error and option cases. */
function editedTokenizerJson(edit: (json: Record<string, unknown>) => void): Record<string, unknown> {
  const copy = structuredClone(tokenizerJson);
  edit(copy);
  return copy;
}

describe('WordPiece tokenizer = Python (BERT rules)', () => {
  it('has the fixture\'s special ids, length and padding, and the TextTokenizer fields', () => {
    assert.equal(tokenizer.kind, 'wordpiece');
    assert.equal(tokenizer.maxLength, golden.max_length);
    assert.deepEqual(tokenizer.padding, { to: 'longest', padId: golden.pad_id });
    assert.equal(tokenizer.clsId, golden.cls_id);
    assert.equal(tokenizer.sepId, golden.sep_id);
    assert.match(tokenizer.rules, /CJK ideographs split/);
  });

  for (const [rule, prompts] of Object.entries(golden.rules)) {
    it(`${rule}: ${prompts.length} prompts give Python's word pieces and ids`, () => {
      for (const p of prompts) {
        assert.deepEqual(tokenizer.tokens(p.text), p.tokens, `tokens of ${JSON.stringify(p.text)}`);
        assert.deepEqual(tokenizer.encode(p.text), p.input_ids, `ids of ${JSON.stringify(p.text)}`);
      }
    });
  }

  it('the chinese-clip golden prompts tokenise to the golden token_ids', () => {
    const model = readJson('test/golden/families/chinese-clip.json') as { prompts: string[]; token_ids: number[][] };
    model.prompts.forEach((prompt, i) => assert.deepEqual(tokenizer.encode(prompt), model.token_ids[i], JSON.stringify(prompt)));
  });

  it('pads a batch to its longest prompt with [PAD] and marks the padding in the mask', () => {
    const texts = ['一张白人男子的照片', 'a cat', ''];
    const rows = texts.map((t) => tokenizer.encode(t));
    const longest = Math.max(...rows.map((r) => r.length));
    const batch = tokenizer.encodeBatch(texts);
    assert.equal(batch.batchSize, 3);
    assert.equal(batch.sequenceLength, longest);
    rows.forEach((row, r) => {
      const ids = Array.from(batch.inputIds.subarray(r * longest, (r + 1) * longest), Number);
      const mask = Array.from(batch.attentionMask.subarray(r * longest, (r + 1) * longest), Number);
      assert.deepEqual(ids, [...row, ...new Array<number>(longest - row.length).fill(golden.pad_id)]);
      assert.deepEqual(mask, Array.from({ length: longest }, (_, i) => (i < row.length ? 1 : 0)));
    });
    assert.deepEqual(rows[2], [golden.cls_id, golden.sep_id], 'an empty prompt is [CLS] [SEP]');
  });

  it('truncation keeps [CLS] first and [SEP] last', () => {
    const ids = tokenizer.encode('照'.repeat(80));
    assert.equal(ids.length, golden.max_length);
    assert.equal(ids[0], golden.cls_id);
    assert.equal(ids.at(-1), golden.sep_id);
    const short = WordPieceTokenizer.fromJson(tokenizerJson, tokenizerConfig, { maxLength: 5 });
    assert.deepEqual(short.encode('一张白人男子的照片').length, 5);
    assert.equal(short.encode('一张白人男子的照片').at(-1), golden.sep_id);
  });

  it('without model_max_length (or with transformers\' 1e30 "unset") the length is Chinese-CLIP\'s 52', () => {
    const { model_max_length: _, ...rest } = tokenizerConfig;
    assert.equal(WordPieceTokenizer.fromJson(tokenizerJson, rest).maxLength, WORDPIECE_DEFAULT_MAX_LENGTH);
    assert.equal(WordPieceTokenizer.fromJson(tokenizerJson, { ...rest, model_max_length: 1e30 }).maxLength, WORDPIECE_DEFAULT_MAX_LENGTH);
    assert.equal(WordPieceTokenizer.fromJson(tokenizerJson, { ...rest, model_max_length: 64 }).maxLength, 64);
  });

  it('reads the older BertProcessing post-processor as well', () => {
    const older = editedTokenizerJson((json) => {
      json.post_processor = { type: 'BertProcessing', sep: ['[SEP]', golden.sep_id], cls: ['[CLS]', golden.cls_id] };
    });
    const t = WordPieceTokenizer.fromJson(older, tokenizerConfig);
    assert.deepEqual(t.encode('一张照片'), tokenizer.encode('一张照片'));
  });

  it('a cased BertNormalizer keeps case and accents', () => {
    const cased = editedTokenizerJson((json) => {
      json.normalizer = { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false };
    });
    const t = WordPieceTokenizer.fromJson(cased, tokenizerConfig);
    assert.deepEqual(t.tokens('White 白人'), ['[UNK]', '白', '人'], '"W" is not in the lower-case vocabulary');
    assert.deepEqual(t.tokens('café'), ['[UNK]'], 'é is kept, and is not in the vocabulary');
    assert.match(t.rules, /^BERT basic tokenisation \(control characters dropped, CJK ideographs split, NFC, punctuation split\)/);
  });

  it('refuses tokenizer files it cannot follow, naming the file and the entry', () => {
    const source = { tokenizerSource: 'model/tokenizer.json', configSource: 'model/tokenizer_config.json' };
    const cases: [Record<string, unknown>, unknown, RegExp][] = [
      [editedTokenizerJson((j) => ((j.model as Record<string, unknown>).type = 'BPE')), tokenizerConfig, /model\/tokenizer\.json: "model\.type" is "BPE", expected "WordPiece"/],
      [editedTokenizerJson((j) => (j.normalizer = { type: 'NFC' })), tokenizerConfig, /"normalizer" is "NFC", expected a "BertNormalizer"/],
      [editedTokenizerJson((j) => (j.pre_tokenizer = { type: 'Whitespace' })), tokenizerConfig, /"pre_tokenizer" is "Whitespace"/],
      [editedTokenizerJson((j) => (j.post_processor = null)), tokenizerConfig, /"post_processor" is not BERT's \[CLS\] \$A \[SEP\]/],
      [editedTokenizerJson((j) => ((j.model as Record<string, unknown>).unk_token = '<unk>')), tokenizerConfig, /"model\.unk_token" "<unk>" is not in "model\.vocab"/],
      [editedTokenizerJson((j) => ((j.added_tokens as Record<string, unknown>[])[0].normalized = true)), tokenizerConfig, /"added_tokens"\[0\] \("\[PAD\]"\) is matched after normalisation/],
      [tokenizerJson, { ...tokenizerConfig, pad_token: '<pad>' }, /model\/tokenizer_config\.json: "pad_token" "<pad>" is not a token of model\/tokenizer\.json/],
      [tokenizerJson, { ...tokenizerConfig, model_max_length: 1 }, /"model_max_length" 1 is too small/],
    ];
    for (const [json, config, message] of cases) assert.throws(() => WordPieceTokenizer.fromJson(json, config, source), message);
  });
});
