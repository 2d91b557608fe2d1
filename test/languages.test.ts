/** Auditing across languages: the seed's prompts per language, and English-only models meeting other scripts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadSpec } from '../src/input/spec.js';
import { nonLatinLetterShare, scriptWarning } from '../src/encode/text/scripts.js';
import { runZeroShot } from '../src/pipeline.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('fairface-race-pt and -es are the seed spec in Portuguese and Spanish: same classes, 14 prompts, NFC text', async () => {
  const english = await loadSpec('fairface-race');
  for (const name of ['fairface-race-pt', 'fairface-race-es']) {
    const spec = await loadSpec(name);
    assert.deepEqual(spec.classes.map((c) => c.name), english.classes.map((c) => c.name), name);
    assert.equal(spec.prompts.length, 14);
    assert.equal(new Set(spec.prompts).size, 14);
    for (const prompt of spec.prompts) assert.equal(prompt, prompt.normalize('NFC'));
  }
  const pt = await loadSpec('fairface-race-pt');
  assert.deepEqual(pt.classes[0].prompts, ['uma foto de um homem branco', 'uma foto de uma mulher branca']);
});

test('an English-only tokenizer with mostly non-Latin prompts gets a warning; Latin-script languages do not', async () => {
  assert.equal(nonLatinLetterShare(['uma foto de um homem do oriente médio']), 0);
  assert.ok(nonLatinLetterShare(['一张白人男子的照片', 'a photo']) > 0.5);
  assert.match(scriptWarning(['一张白人男子的照片'], 'clip-bpe', true)!, /not Latin script.*trained on English/);
  assert.equal(scriptWarning(['一张白人男子的照片'], 'wordpiece', false), undefined);
  assert.equal(scriptWarning((await loadSpec('fairface-race-pt')).prompts, 'clip-bpe', true), undefined);

  const warnings: string[] = [];
  await runZeroShot(
    {
      images: `${ROOT}fixtures/demo-images`,
      spec: `${ROOT}test/golden/specs/fairface-race-zh.yaml`,
      model: `${ROOT}fixtures/tiny-clip`,
      offline: true,
      cache: false,
      threads: 1,
    },
    { onWarning: (message) => warnings.push(message) },
  );
  assert.ok(warnings.some((w) => /not Latin script/.test(w)), warnings.join('\n'));
});
