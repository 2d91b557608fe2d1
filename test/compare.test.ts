import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import type { Browser } from 'playwright-core';
import sharp from 'sharp';
import { comparisonSummary } from '../src/cli/compare_commands.js';
import { compareResultFolders, COMPARISON_FILES, writeComparison } from '../src/report/compare.js';
import { latexText } from '../src/report/compare_tables.js';
import { buildReport } from '../src/report/html_report.js';
import { readComparisonFile, readRunFile, SCHEMA_VERSIONS, type ComparisonFile } from '../src/report/result_files.js';
import { predictionsCsv } from '../src/report/tables.js';
import { CHROMIUM, launchChromium } from './helpers/chromium.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The CLI from the sources (bin/zeroshot.js runs the built dist/). */
async function zeroshot(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = "import { main } from './src/cli/main.ts'; await main(['node', 'zeroshot', ...process.argv.slice(1)]);";
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const OUTPUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-output');

const CLASSES = ['cat', 'dog', 'robot'];
const PROBE = [false, false, true];

interface FakeRun {
  readonly keys: readonly string[];
  /** Content of each image (its sha256 is the hash column); null: no sha256 column (an older predictions.csv). */
  readonly contents: readonly string[] | null;
  readonly predictions: Record<string, readonly number[]>;
  readonly truth?: readonly number[];
  readonly groups?: Record<string, readonly (string | null)[]>;
  readonly model?: string;
  readonly schemaVersion?: number;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A results folder as zeroshot run writes it, for the files compare reads (run.json, predictions.csv). */
async function writeRun(dir: string, run: FakeRun, imagesRoot: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const predictions = new Map(Object.entries(run.predictions).map(([name, p]) => [name, Int32Array.from(p)]));
  const groups = Object.entries(run.groups ?? {}).map(([name, values]) => ({ name, values }));
  const csv = predictionsCsv(run.keys, CLASSES, predictions, run.truth && Int32Array.from(run.truth), { groups, contentHashes: run.contents?.map(sha) });
  await writeFile(join(dir, 'predictions.csv'), csv);
  const record = {
    schema_version: run.schemaVersion ?? SCHEMA_VERSIONS['run.json'],
    schema_versions: SCHEMA_VERSIONS,
    tool: { name: 'zeroshot', version: '0.1.0' },
    model: { id: run.model ?? 'test/model', kind: 'hub', revision: 'main', dtype: 'fp32', threads: 1 },
    spec: { name: 'pets', source: 'test', classes: CLASSES.map((name, c) => ({ name, prompts: [`a photo of a ${name}`], probe: PROBE[c] })) },
    strategies: Object.keys(run.predictions),
    images_root: imagesRoot,
    label_column: run.truth ? 'label' : null,
    batch_size: 32,
    counts: {},
    timings: {},
  };
  await writeFile(join(dir, 'run.json'), JSON.stringify(record, null, 2));
  return dir;
}

const KEYS = Array.from({ length: 40 }, (_, i) => `img${String(i).padStart(2, '0')}.jpg`);
const TRUTH = KEYS.map((_, i) => i % 2);
const TONE = KEYS.map((_, i) => (i < 20 ? 'dark' : 'light'));
const SIZE = KEYS.map((_, i) => (i % 3 ? 'large' : 'small'));

/** Baseline right on 30 of 40; the other right on 34, with two probe assignments and other errors. */
const BASE_SUM = TRUTH.map((t, i) => (i % 4 === 3 ? 1 - t : t));
const OTHER_SUM = TRUTH.map((t, i) => (i % 10 === 3 ? 1 - t : i === 5 || i === 25 ? 2 : t));

describe('zeroshot compare', () => {
  let root: string;
  let images: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'zs-compare-'));
    images = join(root, 'images');
    await mkdir(images);
    await Promise.all(KEYS.map((key, i) => sharp({ create: { width: 32, height: 32, channels: 3, background: { r: (i * 37) % 256, g: 90, b: 160 } } }).jpeg().toFile(join(images, key))));
  });

  async function standardRuns(): Promise<string[]> {
    const base = await writeRun(join(root, 'base'), { keys: KEYS, contents: KEYS, predictions: { sum: BASE_SUM, max: BASE_SUM }, truth: TRUTH, groups: { tone: TONE, size: SIZE } }, images);
    // The other run has its images under other names (same content), two images more and one fewer.
    const otherKeys = [...KEYS.slice(1).map((k) => `renamed/${k}`), 'extra1.jpg', 'extra2.jpg'];
    const otherContents = [...KEYS.slice(1), 'extra1', 'extra2'];
    const other = await writeRun(
      join(root, 'other'),
      { keys: otherKeys, contents: otherContents, predictions: { sum: [...OTHER_SUM.slice(1), 0, 0], max: [...BASE_SUM.slice(1), 0, 0] }, truth: [...TRUTH.slice(1), 0, 1], groups: { tone: [...TONE.slice(1), 'dark', 'dark'], size: [...SIZE.slice(1), 'small', 'small'] }, model: 'test/other' },
      images,
    );
    return [base, other];
  }

  it('aligns on content hashes, counts shared and left-out images, and computes the paired statistics', async () => {
    const [base, other] = await standardRuns();
    const comparison = await compareResultFolders([base, other], { bootstrap: 200, seed: 3, minGroupSize: 5 });
    assert.equal(comparison.aligned_by, 'sha256');
    assert.equal(comparison.shared_images, 39);
    assert.deepEqual(comparison.runs.map((r) => [r.name, r.shared, r.left_out]), [['base', 39, 1], ['other', 39, 2]]);
    assert.deepEqual(comparison.probe_classes, ['robot']);
    const sum = comparison.comparisons.find((c) => c.run === 'other' && c.strategy === 'sum')!;
    // On images 1..39: baseline wrong on i % 4 = 3 (10 of them: 3, 7, …, 39), other wrong on 3, 13, 23, 33 and the probes 5, 25.
    const right = (pred: number[]) => KEYS.slice(1).filter((_, k) => pred[k + 1] === TRUTH[k + 1]).length;
    assert.equal(sum.accuracy.value, right(OTHER_SUM) / 39);
    assert.ok(Math.abs(sum.accuracy_difference.value! - (right(OTHER_SUM) - right(BASE_SUM)) / 39) < 1e-12);
    // b: baseline right, other wrong = images 5, 13, 25, 33; c: baseline wrong, other right = 7, 11, 15, 19, 27, 31, 35, 39.
    assert.deepEqual([sum.mcnemar.b, sum.mcnemar.c], [4, 8]);
    assert.equal(sum.probe_rate_difference!.value, 2 / 39);
    assert.ok(sum.accuracy_difference.ci![0] <= sum.accuracy_difference.value! && sum.accuracy_difference.value! <= sum.accuracy_difference.ci![1]);
    // Single attributes, then pairs crossed, as the audit does.
    assert.deepEqual(sum.attributes.map((a) => a.attribute), ['tone', 'size', 'tone × size']);
    assert.deepEqual(Object.keys(sum.attributes[2].groups), ['dark × large', 'dark × small', 'light × large', 'light × small']);
    assert.deepEqual(sum.attributes[0].compared_groups, ['dark', 'light']);
    // The changed images are named by the baseline's keys.
    assert.ok(sum.changed.every((c) => KEYS.includes(c.image)));
    assert.equal(sum.changed.length, 12);
    const max = comparison.comparisons.find((c) => c.run === 'other' && c.strategy === 'max')!;
    assert.equal(max.agreement, 1);
    assert.equal(max.kappa, 1);
    assert.deepEqual(max.accuracy_difference.ci, [0, 0]);
    assert.equal(comparison.agreement_matrix.max[0][1], 1);
    assert.match(comparisonSummary(comparison), /39 images shared by all 2 runs \(aligned by sha256\); base: 1 left out, other: 2 left out/);
  });

  it('falls back to keys when a run has no content hashes, and takes --baseline', async () => {
    const a = await writeRun(join(root, 'keys-a'), { keys: KEYS, contents: null, predictions: { sum: BASE_SUM }, truth: TRUTH }, images);
    const b = await writeRun(join(root, 'keys-b'), { keys: KEYS.slice(0, 30), contents: KEYS.slice(0, 30), predictions: { sum: OTHER_SUM.slice(0, 30) }, truth: TRUTH.slice(0, 30) }, images);
    const comparison = await compareResultFolders([a], { baseline: b, bootstrap: 0 });
    assert.equal(comparison.aligned_by, 'key');
    assert.equal(comparison.baseline, 'keys-b');
    assert.equal(comparison.shared_images, 30);
    assert.equal(comparison.comparisons[0].accuracy.ci, null);
  });

  it('refuses runs whose labels disagree, naming the images and the runs', async () => {
    const a = await writeRun(join(root, 'labels-a'), { keys: KEYS, contents: KEYS, predictions: { sum: BASE_SUM }, truth: TRUTH }, images);
    const flipped = TRUTH.map((t, i) => (i === 4 || i === 8 ? 1 - t : t));
    const b = await writeRun(join(root, 'labels-b'), { keys: KEYS, contents: KEYS, predictions: { sum: BASE_SUM }, truth: flipped }, images);
    await assert.rejects(compareResultFolders([a, b]), /labels disagree for 2 shared images \(img04\.jpg: 'cat' in labels-a, 'dog' in labels-b; img08\.jpg: 'cat' in labels-a, 'dog' in labels-b\); compare runs made with the same labels file/);
    const groupsB = await writeRun(join(root, 'groups-b'), { keys: KEYS, contents: KEYS, predictions: { sum: BASE_SUM }, truth: TRUTH, groups: { tone: TONE.map((t, i) => (i === 0 ? 'light' : t)) } }, images);
    const groupsA = await writeRun(join(root, 'groups-a'), { keys: KEYS, contents: KEYS, predictions: { sum: BASE_SUM }, truth: TRUTH, groups: { tone: TONE } }, images);
    await assert.rejects(compareResultFolders([groupsA, groupsB]), /group values disagree for 1 shared images \(img00\.jpg tone: 'dark' in groups-a, 'light' in groups-b\)/);
  });

  it('refuses a results folder of a newer schema version, saying which file and what to do', async () => {
    const a = await writeRun(join(root, 'new-a'), { keys: KEYS, contents: KEYS, predictions: { sum: BASE_SUM }, truth: TRUTH }, images);
    const b = await writeRun(join(root, 'new-b'), { keys: KEYS, contents: KEYS, predictions: { sum: BASE_SUM }, truth: TRUTH, schemaVersion: 7 }, images);
    await assert.rejects(compareResultFolders([a, b]), /new-b\/run\.json has schema version 7 \(run\.json\); this zeroshot reads version 1: upgrade zeroshot to read it/);
    const record = JSON.parse(await readFile(join(a, 'run.json'), 'utf8'));
    await writeFile(join(a, 'run.json'), JSON.stringify({ ...record, schema_versions: { ...record.schema_versions, 'predictions.csv': 2 } }));
    await assert.rejects(readRunFile(a), /new-a\/predictions\.csv has schema version 2 \(predictions\.csv\); this zeroshot reads version 1/);
  });

  it('zeroshot compare: the summary on stdout, the files named on stderr, errors as messages with exit code 1', async () => {
    const [base, other] = await standardRuns();
    const out = join(root, 'cli');
    const result = await zeroshot(['compare', base, other, '--out', out, '--bootstrap', '50', '--min-group-size', '5', '--no-intersections']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^39 images shared by all 2 runs \(aligned by sha256\); base: 1 left out, other: 2 left out\nbaseline: base\n/);
    assert.match(result.stdout, /sum +other +\+10\.26 +\[/);
    assert.match(result.stderr, /wrote .*comparison\.json/);
    const record = await readComparisonFile(join(out, 'comparison.json'));
    assert.equal(record.settings.bootstrap, 50);
    assert.equal(record.settings.intersections, false);
    assert.deepEqual(record.comparisons[0].attributes.map((a) => a.attribute), ['tone', 'size']);
    const alone = await zeroshot(['compare', base, '--out', join(root, 'cli-alone')]);
    assert.equal(alone.code, 1);
    assert.equal(alone.stderr, 'zeroshot: error: compare needs at least two results folders\n');
    const help = await zeroshot(['run', '--help']);
    assert.match(help.stdout, /Strategies:\n  sum +the seed's Average Sum/);
    assert.match(help.stdout, /embedding-mean +OpenAI's prompt ensembling.*\(needs embeddings\)/);
  });

  it('the report reader refuses a newer metrics.json too', async () => {
    const dir = await writeRun(join(root, 'newer-metrics'), { keys: KEYS, contents: KEYS, predictions: { sum: BASE_SUM }, truth: TRUTH }, images);
    await writeFile(join(dir, 'metrics.json'), JSON.stringify({ schema_version: 3, classes: CLASSES, strategies: {} }));
    await assert.rejects(buildReport(dir), /newer-metrics\/metrics\.json has schema version 3 \(metrics\.json\); this zeroshot reads version 1: upgrade zeroshot to read it/);
  });

  it('writes the comparison folder as one set: csv (long form), changed.csv, md, tex, html, comparison.json last', async () => {
    const [base, other] = await standardRuns();
    const out = join(root, 'comparison');
    const { files } = await writeComparison([base, other], out, { bootstrap: 100, minGroupSize: 5 });
    assert.deepEqual(files.map((f) => f.slice(out.length + 1)).sort(), Object.values(COMPARISON_FILES).sort());
    const record = await readComparisonFile(join(out, COMPARISON_FILES.comparison));
    assert.equal(record.schema_version, SCHEMA_VERSIONS['comparison.json']);
    assert.deepEqual(Object.keys(record.files!).sort(), Object.values(COMPARISON_FILES).filter((f) => f !== 'comparison.json').sort());
    assert.deepEqual(record.failed_outputs, []);
    // The changed images are counted in comparison.json and listed in changed.csv.
    const recorded = record.comparisons.find((c) => c.run === 'other' && c.strategy === 'sum')!;
    assert.equal(recorded.changed_images, 12);
    assert.equal('changed' in recorded, false);

    const rows: Record<string, string>[] = parse(await readFile(join(out, COMPARISON_FILES.csv), 'utf8'), { columns: true });
    assert.deepEqual(Object.keys(rows[0]), ['run', 'strategy', 'group', 'metric', 'value', 'low', 'high']);
    const find = (run: string, strategy: string, group: string, metric: string) => rows.find((r) => r.run === run && r.strategy === strategy && r.group === group && r.metric === metric);
    assert.equal(Number(find('other', 'sum', 'all', 'mcnemar_b')!.value), 4);
    assert.ok(find('other', 'sum', 'tone', 'accuracy_gap_difference')!.low !== '');
    assert.ok(find('other', 'sum', 'tone=dark', 'accuracy'));
    const changed: Record<string, string>[] = parse(await readFile(join(out, COMPARISON_FILES.changed), 'utf8'), { columns: true });
    assert.equal(changed.filter((r) => r.run === 'other' && r.strategy === 'sum').length, 12);

    const markdown = await readFile(join(out, COMPARISON_FILES.markdown), 'utf8');
    assert.match(markdown, /\| run \| accuracy \| Δ accuracy \|/);
    assert.match(markdown, /\| other \| 84\.6 \[/);
    const latex = await readFile(join(out, COMPARISON_FILES.latex), 'utf8');
    assert.match(latex, /\\toprule\n/);
    assert.match(latex, /\\midrule\n/);
    assert.match(latex, /\\bottomrule\n/);
    assert.equal(latexText('a_b & 50% Δ −1 #x'), 'a\\_b \\& 50\\% $\\Delta$ $-$1 \\#x');
    // A second comparison into the same folder replaces it; a folder of other files is refused.
    await writeComparison([base, other], out, { bootstrap: 0 });
    const stranger = join(root, 'stranger');
    await mkdir(stranger);
    await writeFile(join(stranger, 'notes.txt'), 'mine');
    await assert.rejects(writeComparison([base, other], stranger), /holds files zeroshot did not write \('notes\.txt'\)/);
  });

  describe('comparison.html in Chromium', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed` }, () => {
    let browser: Browser;
    before(async () => {
      browser = await launchChromium();
    });
    after(async () => browser?.close());

    it('draws the forest plot, gaps, agreement matrix and gallery with no error and no network request', async () => {
      const [base, other] = await standardRuns();
      const out = join(root, 'html');
      await writeComparison([base, other], out, { bootstrap: 100, minGroupSize: 5, galleryCap: 5 });
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('request', (r) => !r.url().startsWith('file:') && !r.url().startsWith('data:') && problems.push(`network: ${r.url()}`));
      await page.goto(pathToFileURL(join(out, COMPARISON_FILES.html)).href);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
      type State = { strategy: string; charts: number; tiles: number };
      const state = await page.evaluate(() => (window as unknown as { __zeroshotComparison: State }).__zeroshotComparison);
      assert.deepEqual(state, { strategy: 'sum', charts: 3, tiles: 5 });
      assert.equal(await page.locator('.tile img').count(), 5, 'thumbnails are embedded');
      assert.match(await page.locator('#gallery h3').first().innerText(), /other: 12 changed \(first 5 shown\)/);
      assert.match(await page.locator('#summary-table').innerText(), /other\t84\.6 \[/);
      // Something is drawn on each chart's canvas.
      for (const id of ['forest-chart', 'gaps-chart', 'agreement-chart']) {
        const painted = await page.evaluate((chartId) => {
          const canvas = document.querySelector(`#${chartId} canvas`) as HTMLCanvasElement | null;
          if (!canvas) return 0;
          const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          let inked = 0;
          for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked += 1;
          return inked;
        }, id);
        assert.ok(painted > 500, `${id}: ${painted} painted pixels`);
      }
      await page.selectOption('#strategy-select', 'max');
      const switched = await page.evaluate(() => (window as unknown as { __zeroshotComparison: State }).__zeroshotComparison);
      assert.deepEqual(switched, { strategy: 'max', charts: 3, tiles: 0 });
      await mkdir(OUTPUT_DIR, { recursive: true });
      await page.selectOption('#strategy-select', 'sum');
      await page.screenshot({ path: join(OUTPUT_DIR, 'comparison.png'), fullPage: true });
      assert.deepEqual(problems, []);
      await page.close();
    });
  });
});

export type { ComparisonFile };
