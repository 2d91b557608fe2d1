import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkResultsFolder,
  contentOutput,
  recoverInterruptedWrites,
  ResultsWriteError,
  updateRecordedFile,
  writeResultsFolder,
  type ResultOutput,
} from '../src/report/results_folder.js';
import { fileLocationProblem, folderProblem } from '../src/report/writable_path.js';
import { cacheStats, checkCache, exportImageEmbeddings, pruneModel } from '../src/encode/cache/cache_admin.js';
import { EmbeddingCacheError } from '../src/encode/cache/embedding_cache.js';
import { openSqliteCache as openEmbeddingCache } from '../src/encode/cache/sqlite_cache.js';
import { scratchFolders } from './helpers/scratch.js';

const { scratch, smallTmpfs } = scratchFolders('results');
const canMount = smallTmpfs('size=64k') !== null;

const KNOWN = new Set(['similarities.json', 'predictions.csv', 'metrics.json', 'errors.jsonl', 'run.json', 'report.html']);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const readRun = (dir: string) => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
/** Siblings of `out` that the writer left behind (staging or previous folders). */
const leftovers = (out: string) => readdirSync(join(out, '..')).filter((name) => /\.(staging|previous)-/.test(name));

const failingOutput = (name: string, code: string, words: string): ResultOutput => ({
  name,
  write: async () => {
    throw Object.assign(new Error(`${code}: ${words}, write`), { code });
  },
});

test('a results folder is replaced as a whole: no file of the previous run remains; run.json lists sizes and hashes', async () => {
  const out = join(scratch(), 'results');
  await writeResultsFolder(out, [contentOutput('similarities.json', () => '{"old": 1}\n'), contentOutput('metrics.json', () => '{}\n')], { run: 'old' }, KNOWN);
  const written = await writeResultsFolder(out, [contentOutput('similarities.json', () => '{"new": 2}\n'), contentOutput('predictions.csv', () => 'image\n')], { run: 'new' }, KNOWN);
  assert.deepEqual(readdirSync(out).sort(), ['predictions.csv', 'run.json', 'similarities.json']);
  assert.deepEqual(written.map((p) => p.split('/').pop()), ['similarities.json', 'predictions.csv', 'run.json']);
  const run = readRun(out);
  assert.equal(run.run, 'new');
  for (const name of ['similarities.json', 'predictions.csv']) {
    const bytes = readFileSync(join(out, name));
    assert.deepEqual(run.files[name], { bytes: bytes.length, sha256: sha256(bytes) });
  }
  assert.deepEqual(run.failed_outputs, []);
  assert.deepEqual(leftovers(out), []);
});

test('--out that is a symbolic link: its target is replaced, the link stays', async () => {
  const root = scratch();
  const target = join(root, 'runs', 'latest');
  await writeResultsFolder(target, [contentOutput('metrics.json', () => '{}\n')], { run: 'old' }, KNOWN);
  symlinkSync(target, join(root, 'results'));
  await writeResultsFolder(join(root, 'results'), [contentOutput('predictions.csv', () => 'image\n')], { run: 'new' }, KNOWN);
  assert.ok(lstatSync(join(root, 'results')).isSymbolicLink());
  assert.deepEqual(readdirSync(target).sort(), ['predictions.csv', 'run.json']);
});

test('outputs written after run.json (the report) read the staged folder, and are listed in the final run.json', async () => {
  const out = join(scratch(), 'results');
  const report: ResultOutput = {
    name: 'report.html',
    afterRecord: true,
    write: async (path) => writeFileSync(path, `<p>${readRun(join(path, '..')).run}</p>`),
  };
  await writeResultsFolder(out, [report, contentOutput('similarities.json', () => '{}\n')], { run: 'r1' }, KNOWN);
  assert.equal(readFileSync(join(out, 'report.html'), 'utf8'), '<p>r1</p>');
  assert.deepEqual(Object.keys(readRun(out).files), ['similarities.json', 'report.html']);
});

test('what a killed writer left is cleaned up: its previous folder comes back if --out is gone, its staging folder goes', async () => {
  const root = scratch();
  const out = join(root, 'results');
  const dead = spawnSync(process.execPath, ['-e', '']).pid!; // exited: its pid names no live process
  // Killed between its two renames: the old results are aside, --out is missing.
  mkdirSync(join(root, `.results.previous-${dead}-1`));
  writeFileSync(join(root, `.results.previous-${dead}-1`, 'metrics.json'), 'old');
  mkdirSync(join(root, `.results.staging-${dead}-2`));
  mkdirSync(join(root, `.results.staging-${process.pid}-3`)); // a live writer's: left alone
  await recoverInterruptedWrites(out);
  assert.equal(readFileSync(join(out, 'metrics.json'), 'utf8'), 'old', 'the previous results are back');
  assert.deepEqual(readdirSync(root).sort(), [`.results.staging-${process.pid}-3`, 'results']);
  mkdirSync(join(root, `.results.previous-${dead}-4`)); // out exists now: a stale previous folder is deleted
  await writeResultsFolder(out, [contentOutput('predictions.csv', () => 'image\n')], { run: 'new' }, KNOWN);
  assert.deepEqual(readdirSync(out).sort(), ['predictions.csv', 'run.json']);
  assert.deepEqual(readdirSync(root).sort(), [`.results.staging-${process.pid}-3`, 'results']);
});

test('a file rebuilt in place (zeroshot report) gets its new size and sha256 in run.json', async () => {
  const out = join(scratch(), 'results');
  await writeResultsFolder(out, [contentOutput('report.html', () => 'first')], { run: 'r' }, KNOWN);
  writeFileSync(join(out, 'report.html'), 'rebuilt, longer');
  await updateRecordedFile(out, 'report.html');
  const run = readRun(out);
  assert.deepEqual(run.files['report.html'], { bytes: 15, sha256: sha256(Buffer.from('rebuilt, longer')) });
  assert.equal(run.run, 'r');
});

test('one failing output is named with the reason; the others are written and the folder is this run\'s', async () => {
  const out = join(scratch(), 'results');
  await writeResultsFolder(out, [contentOutput('metrics.json', () => '{"old": true}\n')], { run: 'old' }, KNOWN);
  const attempt = writeResultsFolder(
    out,
    [failingOutput('similarities.json', 'ENOSPC', 'no space left on device'), contentOutput('predictions.csv', () => 'image\n')],
    { run: 'new' },
    KNOWN,
  );
  await assert.rejects(attempt, (error: unknown) => {
    assert.ok(error instanceof ResultsWriteError);
    assert.match(error.message, /^no space left on device writing similarities\.json\. '.*results' holds this run's other files; run\.json lists them/);
    return true;
  });
  assert.deepEqual(readdirSync(out).sort(), ['predictions.csv', 'run.json']);
  const run = readRun(out);
  assert.equal(run.run, 'new');
  assert.deepEqual(run.failed_outputs, [{ file: 'similarities.json', error: 'no space left on device writing similarities.json' }]);
  assert.deepEqual(leftovers(out), []);
});

test('a full disk (64 KB tmpfs): the big file fails by name, the folder never mixes two runs', { skip: !canMount && 'cannot mount a tmpfs here' }, async () => {
  const disk = smallTmpfs('size=64k')!;
  const out = join(disk, 'results');
  await writeResultsFolder(out, [contentOutput('metrics.json', () => 'old metrics\n'), contentOutput('report.html', () => 'old report\n')], { run: 'old' }, KNOWN);
  const big = 'x'.repeat(200_000);
  await assert.rejects(
    writeResultsFolder(out, [contentOutput('similarities.json', () => big), contentOutput('predictions.csv', () => 'image\n')], { run: 'new' }, KNOWN),
    /no space left on device writing similarities\.json/,
  );
  assert.deepEqual(readdirSync(out).sort(), ['predictions.csv', 'run.json'], 'the previous metrics.json and report.html are gone with their run');
  assert.equal(readRun(out).run, 'new');
  // So full that not even run.json fits: the previous results stay as they were.
  try {
    writeFileSync(join(disk, 'filler'), Buffer.alloc(64 * 1024));
  } catch {
    // ENOSPC once the disk is full: the filler holds what fitted
  }
  const before = readFileSync(join(out, 'run.json'));
  await assert.rejects(
    writeResultsFolder(out, [contentOutput('similarities.json', () => big)], { run: 'newer', padding: 'y'.repeat(20_000) }, KNOWN),
    /no space left on device writing run\.json; also failed: no space left on device writing similarities\.json\. The results in '.*' are unchanged/,
  );
  assert.deepEqual(readFileSync(join(out, 'run.json')), before);
  assert.deepEqual(leftovers(out), []);
});

test('the writer itself never replaces a file or a folder holding other files', async () => {
  const root = scratch();
  writeFileSync(join(root, 'a-file'), 'x');
  await assert.rejects(writeResultsFolder(join(root, 'a-file'), [], {}, KNOWN), /is a file, not a folder/);
  mkdirSync(join(root, 'home'));
  writeFileSync(join(root, 'home', 'thesis.tex'), 'years of work');
  await assert.rejects(writeResultsFolder(join(root, 'home'), [contentOutput('metrics.json', () => '{}')], {}, KNOWN), /holds files zeroshot did not write \('thesis\.tex'\)/);
  assert.equal(readFileSync(join(root, 'home', 'thesis.tex'), 'utf8'), 'years of work');
});

test('--out checks before any work: a file, a folder of other files, /proc, a read-only file system', async () => {
  const root = scratch();
  writeFileSync(join(root, 'a-file'), 'x');
  await assert.rejects(checkResultsFolder(join(root, 'a-file'), KNOWN), /--out '.*a-file': '.*a-file' is a file, not a folder; give a folder/);
  await assert.rejects(checkResultsFolder(join(root, 'a-file', 'results'), KNOWN), /is a file, (not a folder|so no folder can be made inside it)/);
  mkdirSync(join(root, 'mine'));
  writeFileSync(join(root, 'mine', 'notes.txt'), 'keep me');
  writeFileSync(join(root, 'mine', 'run.json'), '{}');
  await assert.rejects(checkResultsFolder(join(root, 'mine'), KNOWN), /holds files zeroshot did not write \('notes\.txt'\), and a results folder is replaced as a whole/);
  const started = performance.now();
  await assert.rejects(checkResultsFolder('/proc/zeroshot/results', KNOWN), /'\/proc' is on proc, a virtual file system that cannot hold files/);
  await assert.rejects(checkResultsFolder('/sys/kernel/zeroshot', KNOWN), /on sysfs, a virtual file system/);
  assert.ok(performance.now() - started < 1000, 'fails fast');
  await checkResultsFolder(join(root, 'new', 'deeper'), KNOWN); // missing folders are fine
  mkdirSync(join(root, 'previous'));
  for (const name of KNOWN) writeFileSync(join(root, 'previous', name), '');
  writeFileSync(join(root, 'previous', 'report.html.123.456.tmp'), '');
  await checkResultsFolder(join(root, 'previous'), KNOWN);
});

test('--out on a read-only file system is rejected in words', { skip: !canMount && 'cannot mount a tmpfs here' }, async () => {
  const readOnly = smallTmpfs('ro,size=64k')!;
  await assert.rejects(checkResultsFolder(join(readOnly, 'results'), KNOWN), /'.*' is not writable \(read-only file system\)/);
  assert.match(folderProblem(join(readOnly, 'x')) ?? '', /read-only file system/);
});

test('cache locations that cannot work: an error when asked for, a warning for the default, before anything is created', { skip: !canMount && 'cannot mount a tmpfs here' }, () => {
  const readOnly = smallTmpfs('ro,size=64k')!;
  const folder = scratch();
  const cases: [string, RegExp][] = [
    ['/proc/zeroshot/embeddings.sqlite', /'\/proc' is on proc, a virtual file system/],
    [folder, /is a folder, not a file/],
    [join(readOnly, 'embeddings.sqlite'), /is not writable \(read-only file system\)/],
  ];
  for (const [path, problem] of cases) {
    const started = performance.now();
    assert.throws(() => openEmbeddingCache(path, { required: true }), (error: unknown) => {
      assert.ok(error instanceof EmbeddingCacheError);
      assert.match(error.message, /embedding cache '.*' cannot be used: /);
      assert.match(error.message, problem);
      assert.match(error.message, /give another --cache FILE, or --no-cache/);
      return true;
    });
    assert.ok(performance.now() - started < 1000, `${path}: fails fast`);
    const warnings: string[] = [];
    assert.equal(openEmbeddingCache(path, { onWarning: (m) => warnings.push(m) }), null);
    assert.match(warnings[0], problem);
  }
  assert.equal(fileLocationProblem(join(folder, 'new', 'cache.sqlite')), null);
});

/** A cache with many rows whose middle pages are then overwritten: SQLite's "database disk image is malformed". */
function damagedCache(): string {
  const path = join(scratch(), 'damaged.sqlite');
  const cache = openEmbeddingCache(path)!;
  const scope = { modelFp: 'm'.repeat(64), preprocessFp: 'p'.repeat(64) };
  const entries = Array.from({ length: 400 }, (_, i) => ({ contentHash: String(i).padStart(64, '0'), embedding: new Float32Array(512).fill(i) }));
  cache.putImageEmbeddings(scope, entries);
  cache.close();
  const bytes = readFileSync(path);
  bytes.fill(0xa5, 3 * 32768, bytes.length - 32768); // keep page 1 (the schema) and the last page
  writeFileSync(path, bytes);
  return path;
}

test('a damaged cache: reading it warns naming the file and the ways out, and the run goes on without it', () => {
  const path = damagedCache();
  const warnings: string[] = [];
  const cache = openEmbeddingCache(path, { onWarning: (m) => warnings.push(m) });
  assert.ok(cache, 'its first page is intact, so it opens');
  const scope = { modelFp: 'm'.repeat(64), preprocessFp: 'p'.repeat(64) };
  const hashes = Array.from({ length: 400 }, (_, i) => String(i).padStart(64, '0'));
  assert.equal(cache.getImageEmbeddings(scope, hashes).length, 400);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /embedding cache '.*damaged\.sqlite' is damaged \(database disk image is malformed\)/);
  assert.match(warnings[0], /zeroshot cache check --cache/);
  assert.match(warnings[0], /move the file aside/);
  assert.match(warnings[0], /--no-cache/);
  assert.deepEqual(cache.getImageEmbeddings(scope, hashes.slice(0, 2)), [undefined, undefined], 'turned off: nothing more is read');
  cache.close();
});

test('checkCache runs the integrity check: ok for a sound cache, the damage listed for a broken one', () => {
  const sound = join(scratch(), 'sound.sqlite');
  openEmbeddingCache(sound)!.close();
  assert.deepEqual(checkCache(sound), { path: sound, ok: true, problems: [] });
  const damaged = checkCache(damagedCache());
  assert.equal(damaged.ok, false);
  assert.ok(damaged.problems.length > 0);
  assert.ok(damaged.problems.some((p) => /page|malformed|corrupt|btree|Tree/i.test(p)), damaged.problems.join('\n'));
  assert.throws(() => checkCache(join(scratch(), 'none.sqlite')), /no embedding cache at/);
});

test('cache stats, prune and export on a damaged cache name the file and the ways out', () => {
  const path = damagedCache();
  const damage = /embedding cache '.*damaged\.sqlite' is damaged \(database disk image is malformed\)\. Ways out: `zeroshot cache check/;
  assert.throws(() => cacheStats(path), damage);
  assert.throws(() => exportImageEmbeddings(path, 'm'.repeat(64), join(scratch(), 'export')), damage);
  assert.throws(() => pruneModel(path, 'm'.repeat(64)), damage);
});
