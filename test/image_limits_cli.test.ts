/** `--max-image-pixels` end to end: PIL's rule of a warning above the limit and a refusal above twice the limit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function zeroshot(limit: string): Promise<{ out: string; stderr: string; code: number }> {
  const out = await mkdtemp(join(tmpdir(), 'zs-limits-'));
  const args = [`${ROOT}bin/zeroshot.js`, 'run', '--model', `${ROOT}fixtures/tiny-clip`, '--offline', '--images', `${ROOT}fixtures/demo-images`,
    '--out', out, '--no-cache', '--no-report', '-q', '--max-image-pixels', limit];
  try {
    const { stderr } = await run(process.execPath, args);
    return { out, stderr, code: 0 };
  } catch (error) {
    const e = error as { stderr: string; code: number };
    return { out, stderr: e.stderr, code: e.code };
  }
}

test('images over --max-image-pixels are kept with a warning in run.json; over twice the limit they are refused', async () => {
  // The demo faces are 224 × 224 = 50,176 pixels.
  const warned = await zeroshot('40000');
  assert.equal(warned.code, 0);
  const record = JSON.parse(await readFile(join(warned.out, 'run.json'), 'utf8'));
  assert.equal(record.counts.embedded, 14);
  assert.equal(record.image_warnings.length, 14);
  assert.match(record.image_warnings[0].warning, /DecompressionBombWarning|exceeds/);
  assert.match(warned.stderr, /warning: .*\.jpg: /);

  const refused = await zeroshot('20000');
  assert.equal(refused.code, 1);
  const errors = (await readFile(join(refused.out, 'errors.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(errors.length, 14);
  assert.match(errors[0].error, /DecompressionBombError|--max-image-pixels/);
  assert.equal((await zeroshot('none')).code, 0);
});
