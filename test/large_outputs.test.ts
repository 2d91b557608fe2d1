/**
 * Large label sets end to end: the streamed similarity outputs (JSON byte for byte today's, npy read back with the
 * project's reader, Parquet read back with hyparquet), a 1,000-class spec on the tiny fixture, and a similarity
 * output that fails (a full disk) leaving the other files complete.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { runZeroShot, type RunResult } from '../src/pipeline.js';
import { readNpyFloat32 } from '../src/encode/cache/npy.js';
import { auditPredictions } from '../src/evaluate/audit.js';
import { Mulberry32 } from '../src/evaluate/bootstrap.js';
import { writeReport } from '../src/report/html_report.js';
import { readPredictionsFile } from '../src/report/result_files.js';
import { ResultsWriteError } from '../src/report/results_folder.js';
import { writeResults } from '../src/report/results.js';
import { largeOutputNotice, writeScoresJson } from '../src/report/similarity_outputs.js';
import { similaritiesJson } from '../src/report/tables.js';
import type { ScoreMatrix } from '../src/score/similarity.js';
import { CHROMIUM, launchChromium, openReport } from './helpers/chromium.js';
import { scratchFolders } from './helpers/scratch.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/tiny-clip', import.meta.url));
const DEMO_IMAGES = fileURLToPath(new URL('../fixtures/demo-images', import.meta.url));
const IMAGENET = readFileSync(fileURLToPath(new URL('../specs/label_sets/classes/imagenet-1k.txt', import.meta.url)), 'utf8').trim().split('\n');

const { scratch, smallTmpfs } = scratchFolders('large');

/** Today's writer before streaming (commit abe13b1's tables.ts), the reference for byte identity. */
function todaysSimilaritiesJson(imageKeys: readonly string[], prompts: readonly string[], similarity: ScoreMatrix): string {
  const promptKeys = prompts.map((p) => JSON.stringify(p));
  const lines: string[] = [];
  for (let i = 0; i < imageKeys.length; i++) {
    const row = i * similarity.cols;
    const scores = promptKeys.map((key, j) => `    ${key}: ${JSON.stringify(similarity.data[row + j])}`);
    lines.push(`  ${JSON.stringify(imageKeys[i])}: {\n${scores.join(',\n')}\n  }`);
  }
  return lines.length ? `{\n${lines.join(',\n')}\n}\n` : '{}\n';
}

async function* blocksOf(matrix: ScoreMatrix, rows: number) {
  for (let start = 0; start < matrix.rows; start += rows) {
    const end = Math.min(matrix.rows, start + rows);
    yield { start, block: { rows: end - start, cols: matrix.cols, data: matrix.data.subarray(start * matrix.cols, end * matrix.cols) } };
  }
}

test('similarities.json streamed row by row is byte for byte today\'s', async () => {
  const dir = scratch();
  const random = new Mulberry32(7);
  for (const [images, prompts] of [[0, 3], [1, 1], [5, 7], [23, 40]]) {
    const keys = Array.from({ length: images }, (_, i) => (i % 3 === 0 ? `dossier é/${i} "q".jpg` : `img${i}.png`));
    const promptTexts = Array.from({ length: prompts }, (_, j) => (j % 2 ? `a photo of a ${j}\u00e9 \\ "x"` : `p${j}`));
    const matrix = { rows: images, cols: prompts, data: Float32Array.from({ length: images * prompts }, () => (random.next() - 0.5) * 70) };
    const expected = todaysSimilaritiesJson(keys, promptTexts, matrix);
    assert.equal(similaritiesJson(keys, promptTexts, matrix), expected);
    for (const rows of [1, 3, 1000]) {
      const path = join(dir, `s-${images}-${rows}.json`);
      await writeScoresJson(path, keys, promptTexts, blocksOf(matrix, rows));
      assert.equal(readFileSync(path, 'utf8'), expected, `${images} × ${prompts}, ${rows} rows a block`);
    }
  }
  assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.tmp')), [], 'no temporary file left');
});

/** The demo faces relabelled with ImageNet classes, so a 1,000-class run has truth to score against. */
function imagenetLabels(dir: string): string {
  const rows = readFileSync(join(DEMO_IMAGES, 'labels.csv'), 'utf8').trim().split('\n').slice(1);
  const path = join(dir, 'labels.csv');
  writeFileSync(path, ['file,label', ...rows.map((row, i) => `${row.split(',')[0]},"${IMAGENET[(i * 37) % 1000]}"`)].join('\n') + '\n');
  return path;
}

let result: RunResult;
let workDir: string;
before(async () => {
  workDir = scratch();
  const spec = join(workDir, 'spec.yaml');
  // 1,000 classes from the built-in list × the 7-template ensemble: 7,000 prompts.
  writeFileSync(spec, 'name: imagenet-ensemble\ntemplates: openai-imagenet-ensemble-7\nclasses: imagenet-1k\n');
  result = await runZeroShot(
    { images: DEMO_IMAGES, spec, labels: imagenetLabels(workDir), model: FIXTURE, offline: true, cache: false, threads: 2, logitScale: Math.log(100), topKPredictions: 3 },
    { onWarning: () => {} },
  );
});

test('a 1,000-class spec end to end: acc5, mean per-class recall, sparse confusion, top-3 columns, a small report', async (t) => {
  assert.equal(result.spec.classes.length, 1000);
  assert.equal(result.spec.prompts.length, 7000);
  const out = join(workDir, 'results-json');
  await writeResults(result, out);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  for (const [name, m] of Object.entries<Record<string, unknown>>(metrics.strategies)) {
    assert.equal(typeof m.acc5, 'number', name);
    assert.ok((m.acc5 as number) >= (m.accuracy as number), `${name}: acc5 ≥ acc1`);
    assert.equal(m.mean_per_class_recall, m.balanced_accuracy);
    assert.equal(m.confusion, undefined, 'no dense 1000 × 1000 matrix');
    const cells = m.confusion_cells as [number, number, number][];
    assert.equal(cells.reduce((n, c) => n + c[2], 0), m.n);
    assert.ok(Array.isArray(m.top_confused));
  }
  const csv = readFileSync(join(out, 'predictions.csv'), 'utf8').split('\n');
  const header = csv[0].split(',');
  assert.ok(header.includes('top3:sum') && header.includes('top3:embedding-mean'), header.join(','));
  // The contract's reader gives the same columns back: each row's best three, the first the strategy's prediction.
  const classNames = result.spec.classes.map((c) => c.name);
  const table = (await readPredictionsFile(out, classNames))!;
  const top = table.topClasses.get('sum')!;
  assert.equal(top.length, table.keys.length);
  top.forEach((best, r) => {
    assert.equal(best.length, 3);
    assert.equal(best[0], classNames[table.predicted.get('sum')![r]]);
  });
  // The similarity JSON equals today's writer on the kept matrix.
  assert.equal(readFileSync(join(out, 'similarities.json'), 'utf8'), todaysSimilaritiesJson(result.imageKeys, result.spec.prompts, result.similarity!));
  const report = await writeReport(out);
  t.diagnostic(readdirSync(out).map((name) => `${name} ${statSync(join(out, name)).size} B`).join(', '));
  assert.ok(statSync(report).size < 10 * 1024 ** 2, `report.html is ${statSync(report).size} bytes`);
  if (!existsSync(CHROMIUM)) return t.diagnostic('no Chromium: the page itself is not opened');
  // The page: no heatmap but the most confused pairs, and a per-class table that a search narrows.
  const browser = await launchChromium();
  try {
    const { page, problems } = await openReport(browser, report);
    assert.deepEqual(problems, []);
    assert.match(await page.locator('#heatmap').innerText(), /1,000 classes: the matrix is too large to draw/);
    const rows = await page.locator('#class-table tbody tr').count();
    assert.ok(rows > 0 && rows <= result.imageKeys.length, `${rows} classes with images`);
    const someClass = IMAGENET[(0 * 37) % 1000];
    await page.fill('#class-search', someClass.slice(0, 6));
    const filtered = await page.locator('#class-table tbody tr').allInnerTexts();
    assert.ok(filtered.length >= 1 && filtered.every((row) => row.toLowerCase().includes(someClass.slice(0, 6).toLowerCase())), filtered.join(' | '));
    const pair = page.locator('#heatmap button').first();
    if (await pair.count()) {
      await pair.click();
      assert.ok((await page.locator('#gallery img').count()) >= 1, 'a confused pair opens its gallery');
    }
  } finally {
    await browser.close();
  }
});

test('a 1,000-class run with --groups: each group\'s confusion matrix written as its non-zero cells, metrics.json small, the report opens', async (t) => {
  const dir = scratch();
  const spec = join(dir, 'spec.yaml');
  writeFileSync(spec, 'name: imagenet-one-template\ntemplates: ["a photo of a {name}."]\nclasses: imagenet-1k\n');
  // The demo faces' labels.csv (age, gender, race) with an ImageNet class as each face's label.
  const [header, ...rows] = readFileSync(join(DEMO_IMAGES, 'labels.csv'), 'utf8').trim().split(/\r?\n/);
  const labels = join(dir, 'labels.csv');
  writeFileSync(labels, [`${header},label`, ...rows.map((row, i) => `${row},"${IMAGENET[(i * 37) % 1000]}"`)].join('\n') + '\n');
  const run = await runZeroShot(
    { images: DEMO_IMAGES, spec, labels, model: FIXTURE, offline: true, cache: false, threads: 2, logitScale: Math.log(100), groups: ['gender', 'race'], audit: { bootstrap: 0 } },
    { onWarning: () => {} },
  );
  const out = join(dir, 'results');
  await writeResults(run, out);
  const metricsPath = join(out, 'metrics.json');
  const metrics = JSON.parse(readFileSync(metricsPath, 'utf8'));
  let groupsSeen = 0;
  for (const [name, strategy] of Object.entries<{ attributes: { attribute: string; groups: Record<string, Record<string, unknown>> }[] }>(metrics.groups.strategies)) {
    for (const attribute of strategy.attributes) {
      for (const [group, g] of Object.entries(attribute.groups)) {
        assert.equal(g.confusion, undefined, `${name} ${attribute.attribute}=${group}: no dense 1000 × 1000 matrix`);
        const cells = g.confusion_cells as [number, number, number][];
        assert.equal(cells.reduce((n, c) => n + c[2], 0), g.n_labelled, `${name} ${attribute.attribute}=${group}`);
        groupsSeen++;
      }
    }
  }
  assert.ok(groupsSeen > 0, 'groups audited');
  const size = statSync(metricsPath).size;
  t.diagnostic(`metrics.json ${size} B for ${groupsSeen} strategy × group sections`);
  // Dense, the 92 group matrices alone were over 800 MB; what remains grows with the classes, not their square
  // (per-class recall and prediction rates per group, their spreads, the ranking bias): about 12 MB here.
  assert.ok(size < 16 * 1024 ** 2, `metrics.json is ${size} bytes`);
  const report = await writeReport(out);
  assert.ok(statSync(report).size < 10 * 1024 ** 2, `report.html is ${statSync(report).size} bytes`);
  if (!existsSync(CHROMIUM)) return t.diagnostic('no Chromium: the page itself is not opened');
  const browser = await launchChromium();
  try {
    const { page, problems } = await openReport(browser, report);
    assert.deepEqual(problems, []);
    assert.ok(await page.locator('#groups-section').isVisible(), 'the audit is shown');
    const chart = await page.locator('#group-chart canvas').first().boundingBox();
    assert.ok(chart && chart.width > 0 && chart.height > 0, 'the accuracy-by-group chart is drawn');
  } finally {
    await browser.close();
  }
});

test('npy and Parquet outputs read back; recomputed blocks equal the kept matrix', async () => {
  const kept = result.similarity!;
  const { similarity: _s, probabilities: _p, ...rest } = result;
  const streamed = rest as RunResult; // as a run too large to keep its matrix: the outputs recompute the blocks
  for (const [name, run] of [['kept', result], ['recomputed', streamed]] as const) {
    const npyOut = join(workDir, `results-npy-${name}`);
    await writeResults(run, npyOut, { similarities: 'npy' });
    assert.ok(!readdirSync(npyOut).includes('similarities.json'));
    const npy = readNpyFloat32(readFileSync(join(npyOut, 'similarities.npy')));
    assert.deepEqual(npy.shape, [kept.rows, kept.cols]);
    assert.deepEqual(npy.data, kept.data, `similarities.npy (${name})`);
    const probabilities = readNpyFloat32(readFileSync(join(npyOut, 'probabilities.npy')));
    assert.deepEqual(probabilities.data, result.probabilities!.data, `probabilities.npy (${name})`);
    const index = JSON.parse(readFileSync(join(npyOut, 'similarities_index.json'), 'utf8'));
    assert.deepEqual(index.images, result.imageKeys);
    assert.deepEqual(index.prompts, result.spec.prompts);
    assert.equal(index.prompt_classes[7 * 999], IMAGENET[999]);
  }
  const parquetOut = join(workDir, 'results-parquet');
  await writeResults(streamed, parquetOut, { similarities: 'parquet' });
  const file = await asyncBufferFromFile(join(parquetOut, 'similarities.parquet'));
  const rows = await parquetReadObjects({ file });
  assert.equal(rows.length, kept.rows * kept.cols);
  for (const r of [0, 1, 6999, 7000, rows.length - 1]) {
    const i = Math.floor(r / kept.cols);
    const j = r % kept.cols;
    assert.deepEqual(rows[r], {
      image: result.imageKeys[i],
      prompt: result.spec.prompts[j],
      class: result.spec.classes[result.spec.promptClass[j]].name,
      similarity: kept.data[r],
      probability: result.probabilities!.data[r],
    });
  }
  assert.deepEqual(Float32Array.from(rows, (row) => row.similarity as number), kept.data);
  const none = join(workDir, 'results-none');
  await writeResults(result, none, { similarities: 'none' });
  assert.deepEqual(readdirSync(none).sort(), ['metrics.json', 'predictions.csv', 'run.json']);
});

test('a large similarity output is announced with its size', async () => {
  const notice = largeOutputNotice('json', 3000, result.spec.prompts, true);
  assert.match(notice ?? '', /3000 images × 7000 prompts as json: about [\d.]+ (GB|MB) \(npy about [\d.]+ (GB|MB), parquet about/);
  assert.equal(largeOutputNotice('json', 14, result.spec.prompts, true), null);
});

test('a similarity output that cannot be written (full disk) leaves the other files complete, and says so', async (t) => {
  const dir = smallTmpfs('size=5m');
  if (!dir) {
    t.skip('cannot mount a small tmpfs here');
    return;
  }
  const out = join(dir, 'results');
  // similarities.json and probabilities.json of 14 images × 7,000 prompts are 5.5 MB each: they cannot fit in 5 MB;
  // predictions.csv, metrics.json (4 MB without the bootstrap's intervals, 6.8 MB with them) and run.json do, once
  // each failed file's temporary file is removed.
  const audit = auditPredictions({
    classes: result.spec.classes.map((c) => c.name),
    probe: result.spec.classes.map((c) => c.probe),
    truth: result.truth!,
    predictions: result.predictions,
    attributes: [],
    similarity: result.similarity,
    promptClass: result.spec.promptClass,
    prompts: result.spec.prompts,
    options: { bootstrap: 0 },
  });
  await assert.rejects(writeResults({ ...result, audit }, out), (error: unknown) => {
    assert.ok(error instanceof ResultsWriteError);
    assert.deepEqual(error.failed.map((f) => f.file).sort(), ['probabilities.json', 'similarities.json']);
    assert.match(error.message, /similarities\.json/);
    return true;
  });
  const files = readdirSync(out).sort();
  assert.deepEqual(files, ['metrics.json', 'predictions.csv', 'run.json']);
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
  assert.deepEqual(Object.keys(run.files).sort(), ['metrics.json', 'predictions.csv']);
  assert.equal(readFileSync(join(out, 'predictions.csv'), 'utf8').trim().split('\n').length, result.imageKeys.length + 1);
});

test('classes from a text file beside the spec, one a line', async () => {
  const dir = scratch();
  mkdirSync(join(dir, 'lists'));
  writeFileSync(join(dir, 'lists', 'pets.txt'), '# my classes\ncat\n\ndog\n');
  writeFileSync(join(dir, 'spec.yaml'), 'templates: ["a photo of {article} {name}"]\nclasses: lists/pets.txt\n');
  const { loadSpec } = await import('../src/input/spec.js');
  const spec = await loadSpec(join(dir, 'spec.yaml'));
  assert.deepEqual(spec.prompts, ['a photo of a cat', 'a photo of a dog']);
  // The file's order, also for names an object would sort first.
  writeFileSync(join(dir, 'lists', 'numbered.txt'), 'zebra\n2\napple\n10\n');
  writeFileSync(join(dir, 'numbered.yaml'), 'templates: ["{name}"]\nclasses: lists/numbered.txt\n');
  assert.deepEqual((await loadSpec(join(dir, 'numbered.yaml'))).classes.map((c) => c.name), ['zebra', '2', 'apple', '10']);
  writeFileSync(join(dir, 'lists', 'twice.txt'), 'cat\ndog\ncat\n');
  writeFileSync(join(dir, 'bad.yaml'), 'templates: openai-imagenet-80\nclasses: lists/twice.txt\n');
  await assert.rejects(loadSpec(join(dir, 'bad.yaml')), /'cat' is on lines 1 and 3 of .*twice\.txt/);
  writeFileSync(join(dir, 'unknown.yaml'), 'templates: no-such-set\nclasses: [cat]\n');
  await assert.rejects(loadSpec(join(dir, 'unknown.yaml')), /templates 'no-such-set' is neither a built-in template set \(openai-cifar-18, openai-imagenet-80, openai-imagenet-ensemble-7\)/);
});

test('identical files within a run are encoded once (same content hash), each keeping its own row', async () => {
  const dir = scratch();
  const images = join(dir, 'images');
  mkdirSync(join(images, 'copies'), { recursive: true });
  for (const name of ['1.jpg', '2.jpg', '3.jpg']) writeFileSync(join(images, name), readFileSync(join(DEMO_IMAGES, name)));
  writeFileSync(join(images, 'copies', 'a.jpg'), readFileSync(join(DEMO_IMAGES, '1.jpg')));
  writeFileSync(join(images, 'copies', 'b.jpg'), readFileSync(join(DEMO_IMAGES, '1.jpg')));
  writeFileSync(join(images, 'copies', 'c.jpg'), readFileSync(join(DEMO_IMAGES, '2.jpg')));
  const run = await runZeroShot({ images, spec: 'fairface-race', model: FIXTURE, offline: true, cache: false, threads: 2 }, { onWarning: () => {} });
  assert.deepEqual([run.counts.embedded, run.counts.encoded, run.counts.shared_content], [6, 3, 3]);
  const row = (key: string) => Array.from(run.imageEmbeddings.subarray(run.imageKeys.indexOf(key) * run.dim, (run.imageKeys.indexOf(key) + 1) * run.dim));
  assert.deepEqual(row('copies/a.jpg'), row('1.jpg'));
  assert.deepEqual(row('copies/b.jpg'), row('1.jpg'));
  assert.deepEqual(row('copies/c.jpg'), row('2.jpg'));
  assert.notDeepEqual(row('3.jpg'), row('1.jpg'));
});
