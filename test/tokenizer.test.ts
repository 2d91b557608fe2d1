import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ClipBpeTokenizer, cleanPromptText, CLIP_CONTEXT_LENGTH } from '../src/encode/text/clip_tokenizer.js';
import { fixText, htmlUnescape } from '../src/encode/text/ftfy.js';

const MODEL_DIR = new URL('../fixtures/tiny-clip/', import.meta.url);
const CORPUS = new URL('./golden/tokenizer_corpus.jsonl', import.meta.url);
const START = 49406;
const END = 49407;

interface GoldenRow {
  text: string;
  clean: string;
  ids: number[];
}

const tokenizerPromise = ClipBpeTokenizer.fromFolder(MODEL_DIR);

async function loadCorpus(): Promise<GoldenRow[]> {
  const lines = (await readFile(CORPUS, 'utf8')).split('\n').filter((line) => line !== '');
  return lines.map((line) => JSON.parse(line) as GoldenRow);
}

test('every corpus prompt gets exactly the ids of OpenAI CLIP (scripts/make_tokenizer_goldens.py)', async () => {
  const tokenizer = await tokenizerPromise;
  const corpus = await loadCorpus();
  assert.ok(corpus.length >= 250, `corpus has ${corpus.length} prompts`);
  const mismatches: string[] = [];
  for (const row of corpus) {
    const ids = tokenizer.encode(row.text);
    if (JSON.stringify(ids) !== JSON.stringify(row.ids)) {
      const clean = cleanPromptText(row.text);
      mismatches.push(
        `${JSON.stringify(row.text)}\n    clean want ${JSON.stringify(row.clean)} got ${JSON.stringify(clean)}` +
          `\n    ids want ${JSON.stringify(row.ids)}\n    ids  got ${JSON.stringify(ids)}`,
      );
    }
  }
  assert.equal(mismatches.length, 0, `${mismatches.length} of ${corpus.length} prompts differ:\n${mismatches.join('\n')}`);
});

test('the cleaned text matches the reference for every corpus prompt', async () => {
  const corpus = await loadCorpus();
  const differing = corpus.filter((row) => cleanPromptText(row.text) !== row.clean).map((row) => JSON.stringify(row.text));
  assert.deepEqual(differing, []);
});

test('encode wraps in start/end tokens and handles the empty prompt', async () => {
  const tokenizer = await tokenizerPromise;
  assert.deepEqual(tokenizer.encode(''), [START, END]);
  assert.deepEqual(tokenizer.encode('a photo of a white man'), [START, 320, 1125, 539, 320, 1579, 786, END]);
  assert.equal(tokenizer.startTokenId, START);
  assert.equal(tokenizer.endTokenId, END);
});

test('long prompts are cut to 77 tokens with the end token last', async () => {
  const tokenizer = await tokenizerPromise;
  const long = tokenizer.encode('cat '.repeat(200));
  assert.equal(long.length, CLIP_CONTEXT_LENGTH);
  assert.equal(long[0], START);
  assert.equal(long[76], END);
  assert.equal(long.filter((id) => id === END).length, 1);
  // exactly 75 content tokens fit without cutting; one more is cut
  const fits = tokenizer.encode('cat '.repeat(75));
  assert.equal(fits.length, 77);
  assert.equal(fits[75], fits[1]);
  const cut = tokenizer.encode('cat '.repeat(76));
  assert.equal(cut.length, 77);
  assert.equal(cut[76], END);
  assert.deepEqual(cut.slice(0, 76), fits.slice(0, 76));
});

test('digits are single tokens and contractions split off', async () => {
  const tokenizer = await tokenizerPromise;
  const digits = tokenizer.encode('2024');
  assert.equal(digits.length, 2 + 4);
  assert.deepEqual(tokenizer.encode("IT'S"), tokenizer.encode("it's"));
  assert.deepEqual(tokenizer.encode('it’s'), tokenizer.encode("it's"));
  assert.deepEqual(tokenizer.encode('<|startoftext|>'), [START, START, END]);
});

test('encodeBatch pads to the longest row with the end token and mask 0', async () => {
  const tokenizer = await tokenizerPromise;
  const texts = ['a photo of a cat', '', 'a very very very long photo of a dog'];
  const batch = tokenizer.encodeBatch(texts);
  const rows = texts.map((text) => tokenizer.encode(text));
  const longest = Math.max(...rows.map((row) => row.length));
  assert.equal(batch.batchSize, 3);
  assert.equal(batch.sequenceLength, longest);
  assert.equal(batch.inputIds.length, 3 * longest);
  assert.equal(batch.attentionMask.length, 3 * longest);
  rows.forEach((row, r) => {
    for (let i = 0; i < longest; i++) {
      const at = r * longest + i;
      assert.equal(batch.inputIds[at], BigInt(i < row.length ? row[i] : END));
      assert.equal(batch.attentionMask[at], i < row.length ? 1n : 0n);
    }
  });
  const capped = tokenizer.encodeBatch(['cat '.repeat(300), 'cat']);
  assert.equal(capped.sequenceLength, CLIP_CONTEXT_LENGTH);
  const empty = tokenizer.encodeBatch([]);
  assert.equal(empty.batchSize, 0);
  assert.equal(empty.inputIds.length, 0);
});

test('fromVocabAndMerges skips the #version header and empty lines and ranks merges by order', async () => {
  const vocab = JSON.parse(await readFile(new URL('vocab.json', MODEL_DIR), 'utf8')) as Record<string, number>;
  const tokenizer = ClipBpeTokenizer.fromVocabAndMerges(vocab, ['#version: 0.2', 'c a', 'ca t</w>', '', 'a t</w>']);
  assert.deepEqual(tokenizer.encode('cat'), [START, vocab['cat</w>'], END]);
  // "a t</w>" ranks after "c a", so "cat" never forms "at</w>"; alone, "at" does
  assert.deepEqual(tokenizer.encode('at'), [START, vocab['at</w>'], END]);
  assert.deepEqual(tokenizer.encode('tac'), [START, vocab['t'], vocab['a'], vocab['c</w>'], END]);
  assert.throws(() => ClipBpeTokenizer.fromVocabAndMerges({ a: 0 }, []), /not in the vocabulary/);
});

test('fixText: mojibake, entities, ligatures, width, quotes, controls', () => {
  const cases: [string, string][] = [
    ['cafÃ©', 'café'],
    ['donâ€™t', "don't"],
    ['Ã¼ber', 'über'],
    ['cafÃƒÂ©', 'café'],
    ['voilÃ le travail', 'voilà le travail'],
    ['â€œlossyâ€\ufffd', '"lossy\ufffd'],
    ['РїСЂРёРІРµС‚', 'привет'],
    ['ðŸ˜€', '😀'],
    ['sÃ³ isso', 'só isso'],
    ['\x93quoted\x94', '"quoted"'],
    ['fish &amp; chips', 'fish & chips'],
    ['P&EACUTE;REZ', 'PÉREZ'],
    ['&ntilde; &Ntilde; &NTILDE; &nTILDE;', 'ñ Ñ Ñ &nTILDE;'],
    ['<b>&amp;</b>', '<b>&amp;</b>'],
    ['&copy 2024', '&copy 2024'],
    ['ﬂuﬃeﬆ', 'fluffiest'],
    ['ＬＯＵＤ　ＮＯＩＳＥＳ', 'LOUD NOISES'],
    ['Ｕﾀｰﾝ', 'Uターン'],
    ['“here’s a test”', '"here\'s a test"'],
    ['a\r\nb\u2028c', 'a\nb\nc'],
    ['\x1b[36;44mblue\x1b[0m', 'blue'],
    ['nul\x00 bell\x07 bom\ufeff', 'nul bell bom'],
    ['cafe\u0301', 'café'],
    ['lone \ud83d surrogate', 'lone \ufffd surrogate'],
    ['Ã la mode', 'à la mode'],
    ['résumé', 'résumé'],
    ['ÃÂ', 'ÃÂ'],
    ['✔ No problems', '✔ No problems'],
    ['âœ” No problems', '✔ No problems'],
  ];
  for (const [input, expected] of cases) assert.equal(fixText(input), expected, JSON.stringify(input));
});

test('htmlUnescape follows Python html.unescape', () => {
  assert.equal(htmlUnescape('&amp;amp;'), '&amp;');
  assert.equal(htmlUnescape('&copy 2024'), '© 2024');
  assert.equal(htmlUnescape('&notit;'), '¬it;');
  assert.equal(htmlUnescape('&#150;'), '–');
  assert.equal(htmlUnescape('&#0;&#xD800;&#x110000;'), '\ufffd\ufffd\ufffd');
  assert.equal(htmlUnescape('&#1;&#x7f;&#xFFFF;'), '');
  assert.equal(htmlUnescape('&unknown; &'), '&unknown; &');
});

test('cleanPromptText collapses Python whitespace, keeps U+FEFF from late entities, lower-cases', () => {
  assert.equal(cleanPromptText('  A\tPhoto\n\nOF\u00a0a\u3000Cat  '), 'a photo of a cat');
  // ftfy removes a BOM, but skips entities in text with "<"; html.unescape then yields one, which Python's strip keeps
  assert.equal(cleanPromptText('&#65279;x'), 'x');
  assert.equal(cleanPromptText('a cat <&#65279;'), 'a cat <\ufeff');
  assert.equal(cleanPromptText('ΟΔΟΣ'), 'οδος');
});
