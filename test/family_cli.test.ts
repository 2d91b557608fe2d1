/** Every family end to end through the CLI, and `zeroshot inspect` on each fixture. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../bin/zeroshot.js', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const IMAGES = `${ROOT}fixtures/demo-images`;

async function zeroshot(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20 });
}

const FIXTURES = [
  { fixture: 'tiny-clip', family: 'clip', probabilities: false },
  { fixture: 'clip-hub', family: 'clip', probabilities: true },
  { fixture: 'laion-clip', family: 'clip', probabilities: false },
  { fixture: 'mobileclip', family: 'mobileclip', probabilities: false },
  { fixture: 'siglip', family: 'siglip', probabilities: true },
  { fixture: 'siglip2', family: 'siglip2', probabilities: true },
  // The multilingual families with the seed's prompts in Portuguese and Spanish.
  { fixture: 'chinese-clip', family: 'chinese_clip', probabilities: true, spec: 'fairface-race-pt' },
  { fixture: 'jina-clip-v1', family: 'jina_clip_v1', probabilities: false },
  { fixture: 'jina-clip-v2', family: 'jina_clip_v2', probabilities: false, spec: 'fairface-race-pt', extra: ['--dim', '8'] },
  { fixture: 'siglip-multilingual', family: 'siglip', probabilities: true, spec: 'fairface-race-es' },
] as const;

for (const entry of FIXTURES) {
  const { fixture, family, probabilities } = entry;
  const spec = 'spec' in entry ? entry.spec : 'fairface-race';
  test(`${fixture}: zeroshot run (${spec}) writes every output, with the family and its scoring in run.json`, async () => {
    const out = await mkdtemp(join(tmpdir(), `zs-family-${fixture}-`));
    await zeroshot([
      'run', '--model', `${ROOT}fixtures/${fixture}`, '--offline', '--images', IMAGES, '--spec', spec,
      '--labels', `${IMAGES}/labels.csv`, '--label-column', 'race', '--out', out, '--no-cache', '--no-report', '-q', '--bootstrap', '0',
      ...('extra' in entry ? entry.extra : []),
    ]);
    const similarities = JSON.parse(await readFile(join(out, 'similarities.json'), 'utf8'));
    assert.equal(Object.keys(similarities).length, 14);
    assert.equal(Object.keys(similarities['1.jpg']).length, 14);
    if (spec === 'fairface-race-pt') assert.ok('uma foto de um homem branco' in similarities['1.jpg']);
    const record = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    if ('extra' in entry) assert.equal(record.embedding_dim, 8);
    assert.equal(record.model.family, family);
    assert.equal(record.scoring.kind, family.startsWith('siglip') ? 'sigmoid' : 'softmax');
    assert.equal(existsSync(join(out, 'probabilities.json')), probabilities);
    if (probabilities) {
      assert.equal(record.scoring.source, 'onnx/model.onnx');
      const p = JSON.parse(await readFile(join(out, 'probabilities.json'), 'utf8'))['1.jpg'] as Record<string, number>;
      const values = Object.values(p);
      assert.ok(values.every((v) => v >= 0 && v <= 1));
      if (family === 'clip') assert.ok(Math.abs(values.reduce((a, b) => a + b, 0) - 1) < 1e-5, 'softmax over the prompts sums to 1');
    } else {
      assert.equal(record.scoring.logit_scale, null);
      assert.match(record.scoring.formula, /no probabilities/);
    }
  });
}

test('zeroshot inspect prints family, graphs, tokenizer, preprocessing and scoring (text and JSON)', async () => {
  const { stdout } = await zeroshot(['inspect', `${ROOT}fixtures/siglip`]);
  assert.match(stdout, /family +siglip/);
  assert.match(stdout, /graph +text: onnx\/text_model\.onnx +inputs input_ids +→ +outputs last_hidden_state, pooler_output/);
  assert.match(stdout, /padding to exactly 64/);
  assert.match(stdout, /scoring +sigmoid with logit_scale 4\.69.*logit_bias -12\.89/);
  const json = JSON.parse((await zeroshot(['inspect', `${ROOT}fixtures/mobileclip`, '--dtype', 'q8', '--json'])).stdout);
  assert.equal(json.family, 'mobileclip');
  assert.deepEqual(json.preprocessing.output, { height: 256, width: 256 });
  assert.ok(json.warnings.some((w: string) => /quantized vision tower is inaccurate/.test(w)));
  await assert.rejects(zeroshot(['inspect', `${ROOT}fixtures/siglip2-naflex`]), /NaFlex .* not supported yet/);
});
