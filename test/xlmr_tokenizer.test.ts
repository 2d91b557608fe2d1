/**
 * XLM-RoBERTa's tokenizer (jina-clip-v2) against Python's: every prompt of test/golden/families/jina-clip-v2.json,
 * written by scripts/build_jina_fixtures.py from python sentencepiece with XLMRobertaTokenizer's rules (fairseq
 * ids, <s> … </s>, truncation keeping </s>), on fixtures/jina-clip-v2's tokenizer files.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import type { TextTokenizer } from '../src/encode/families/family.js';
import { XlmrTokenizer } from '../src/encode/text/xlmr.js';

const root = new URL('../', import.meta.url);
const readJson = (rel: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(rel, root), 'utf8')) as Record<string, unknown>;

const DIR = 'fixtures/jina-clip-v2';
const tokenizerJson = readJson(`${DIR}/tokenizer.json`);
const tokenizerConfig = readJson(`${DIR}/tokenizer_config.json`);

interface Golden {
  prompts: string[];
  token_ids: number[][];
  tokenization: { pad_id: number; max_length: number };
  token_rules: Record<string, { text: string; input_ids: number[] }[]>;
}
const golden = readJson('test/golden/families/jina-clip-v2.json') as unknown as Golden;

function tokenizer(options = {}): XlmrTokenizer {
  return XlmrTokenizer.fromJson(tokenizerJson, tokenizerConfig, { tokenizerSource: `${DIR}/tokenizer.json`, configSource: `${DIR}/tokenizer_config.json`, ...options });
}

/** A copy of the parsed tokenizer.json with `edit` applied. */
function edited(edit: (json: { added_tokens: { id: number; content: string }[]; model: { unk_id: number } }) => void): unknown {
  const copy = structuredClone(tokenizerJson) as { added_tokens: { id: number; content: string }[]; model: { unk_id: number } };
  edit(copy);
  return copy;
}

describe('XLM-R tokenizer (jina-clip-v2)', () => {
  const xlmr = tokenizer();

  it('exposes the TextTokenizer fields: kind, padding to the longest with <pad> 1, max length 8192, rules', () => {
    const asSeam: TextTokenizer = xlmr;
    assert.equal(asSeam.kind, 'xlmr-unigram');
    assert.deepEqual(asSeam.padding, { to: 'longest', padId: 1 });
    assert.equal(asSeam.maxLength, golden.tokenization.max_length);
    assert.equal(golden.tokenization.pad_id, 1);
    assert.match(asSeam.rules, /<s> first and <\/s> last/);
    assert.equal(xlmr.bosId, 0);
    assert.equal(xlmr.eosId, 2);
  });

  it('gives Python\'s ids for the golden prompts (English, Portuguese, Spanish, Chinese, tricky, empty)', () => {
    assert.ok(golden.prompts.includes('uma foto de um homem branco') && golden.prompts.includes(''));
    golden.prompts.forEach((prompt, i) => assert.deepEqual(xlmr.encode(prompt), golden.token_ids[i], JSON.stringify(prompt)));
  });

  for (const [rule, rows] of Object.entries(golden.token_rules)) {
    it(`gives Python's ids for every "${rule}" prompt (${rows.length})`, () => {
      for (const row of rows) assert.deepEqual(xlmr.encode(row.text), row.input_ids, JSON.stringify(row.text.slice(0, 80)));
    });
  }

  it('maps characters the vocabulary lacks to <unk> 3, one per run, as the fairseq offset of SentencePiece\'s 0', () => {
    const ids = golden.token_rules.chinese.find((r) => r.text === '中文和English混合')?.input_ids;
    assert.ok(ids?.includes(3), 'the golden has an unknown run');
    assert.deepEqual(xlmr.encode('中文和English混合'), ids);
  });

  it('truncates to 8192 keeping </s> last, and leaves a prompt of exactly 8192 ids alone', () => {
    const [long, fits, over] = golden.token_rules.long;
    for (const row of [long, over]) {
      const ids = xlmr.encode(row.text);
      assert.equal(ids.length, 8192);
      assert.equal(ids[0], 0);
      assert.equal(ids[8191], 2);
    }
    assert.equal(xlmr.encode(fits.text).length, 8192);
    assert.deepEqual(xlmr.encode(fits.text), fits.input_ids);
  });

  it('a smaller maxLength truncates the same way', () => {
    const short = tokenizer({ maxLength: 5 });
    const full = xlmr.encode('uma foto de uma mulher branca');
    assert.deepEqual(short.encode('uma foto de uma mulher branca'), [...full.slice(0, 4), 2]);
    assert.match(short.rules, /truncated to 5/);
  });

  it('pads a batch to its longest prompt with <pad> 1 and a 0 mask', () => {
    const texts = ['uma foto de um homem branco', '', 'una foto de una mujer de oriente medio'];
    const batch = xlmr.encodeBatch(texts);
    const rows = texts.map((t) => xlmr.encode(t));
    const longest = Math.max(...rows.map((r) => r.length));
    assert.equal(batch.batchSize, 3);
    assert.equal(batch.sequenceLength, longest);
    rows.forEach((row, r) => {
      for (let i = 0; i < longest; i++) {
        assert.equal(batch.inputIds[r * longest + i], BigInt(i < row.length ? row[i] : 1));
        assert.equal(batch.attentionMask[r * longest + i], i < row.length ? 1n : 0n);
      }
    });
  });

  it('refuses a vocabulary in SentencePiece\'s own order (every id would be one off)', () => {
    const spmOrder = edited((json) => {
      for (const t of json.added_tokens) if (t.content === '<unk>') t.id = 0;
      json.model.unk_id = 0;
    });
    assert.throws(() => XlmrTokenizer.fromJson(spmOrder, tokenizerConfig, { tokenizerSource: 'x/tokenizer.json' }),
      /x\/tokenizer\.json: the added token <unk> has id 0, not 3: the vocabulary is not in XLM-R's fairseq order/);
  });

  it('refuses a tokenizer_config.json without a usable model_max_length, naming the file and the fix', () => {
    const noLimit = { ...tokenizerConfig, model_max_length: 1e30 };
    assert.throws(() => XlmrTokenizer.fromJson(tokenizerJson, noLimit, { configSource: 'y/tokenizer_config.json' }),
      /y\/tokenizer_config\.json: "model_max_length" is 1e\+30, not a length the text model takes; set it/);
    assert.equal(XlmrTokenizer.fromJson(tokenizerJson, noLimit, { maxLength: 512 }).maxLength, 512);
  });

  it('refuses a BPE or WordPiece tokenizer.json with the file named', () => {
    const wordpiece = readJson('fixtures/jina-clip-v1/tokenizer.json');
    assert.throws(() => XlmrTokenizer.fromJson(wordpiece, tokenizerConfig, { tokenizerSource: 'v1/tokenizer.json' }), /v1\/tokenizer\.json: "model\.type" is "WordPiece", expected "Unigram"/);
  });
});
