import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { auditPredictions, type AuditResult, type ImageAttribute } from '../src/evaluate/audit.js';
import { Mulberry32 } from '../src/evaluate/bootstrap.js';
import { classificationMetrics, type ClassificationMetrics } from '../src/evaluate/classification.js';
import { buildReport, REPORT_FILE, writeReport, type MetricsFile, type ReportData } from '../src/report/html_report.js';
import { jsonForScript, scriptForInline } from '../src/report/report_page.js';
import { RESULT_FILES } from '../src/report/results.js';
import { jsonLines, predictionsCsv, similaritiesJson } from '../src/report/tables.js';
import { scoreMatrix, type ScoreMatrix } from '../src/score/similarity.js';
import { argmaxRows, classScoresFromPrompts, parseStrategy } from '../src/score/strategies.js';
import { CHROMIUM, launchChromium, openReport } from './helpers/chromium.js';

const OUTPUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-output');

interface SyntheticClass {
  readonly name: string;
  readonly prompts: readonly string[];
  readonly probe?: boolean;
}

interface SyntheticRun {
  readonly classes: readonly SyntheticClass[];
  readonly numImages: number;
  /** Strategy names; `embedding-mean` is simulated from noisier scores (there are no embeddings here). */
  readonly strategies: readonly string[];
  /** Group attributes as functions of the image index; none for a run without --groups. */
  readonly attributes: readonly { readonly name: string; readonly valueOf: (image: number) => string | null }[];
  /** Distinct JPEG files; the image keys are hard links to them, so 10,954 keys cost 20 encodes. */
  readonly distinctImages: number;
  readonly labelled: boolean;
  /** Images (by index) left without a label in a labelled run. */
  readonly unlabelled?: readonly number[];
  readonly failures?: number;
  readonly bootstrap: number;
  readonly minGroupSize: number;
  readonly seed: number;
}

/** A small portrait-like JPEG (head and shoulders on a coloured background), distinct per index. */
async function syntheticPhoto(path: string, index: number): Promise<void> {
  const hue = (index * 47) % 360;
  const skin = ['#f1c7a5', '#d9a47f', '#b47a55', '#8a5a3b', '#5f3b26'][index % 5];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${hue},55%,72%)"/><stop offset="1" stop-color="hsl(${(hue + 40) % 360},50%,45%)"/></linearGradient></defs>
    <rect width="160" height="160" fill="url(#g)"/>
    <ellipse cx="80" cy="170" rx="62" ry="48" fill="hsl(${(hue + 180) % 360},35%,35%)"/>
    <ellipse cx="80" cy="72" rx="34" ry="42" fill="${skin}"/>
    <path d="M46 66 Q80 ${18 + (index % 4) * 6} 114 66 Q106 40 80 34 Q54 40 46 66Z" fill="hsl(${(index * 29) % 360},25%,${18 + (index % 3) * 12}%)"/>
  </svg>`;
  await sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toFile(path);
}

function imageKey(i: number): string {
  return `photos/img${String(i + 1).padStart(5, '0')}.jpg`;
}

/** Scores with a signal: each image's own-class prompts score higher, probe prompts a little (so probes catch a few images), plus noise. */
function syntheticScores(truth: Int32Array, promptClass: Int32Array, probe: readonly boolean[], random: Mulberry32, noise: number): ScoreMatrix {
  const matrix = scoreMatrix(truth.length, promptClass.length);
  for (let i = 0; i < truth.length; i++) {
    for (let j = 0; j < promptClass.length; j++) {
      const gaussian = Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
      const signal = promptClass[j] === truth[i] ? 2.4 : probe[promptClass[j]] ? 0.3 : 0;
      matrix.data[i * promptClass.length + j] = 20 + signal + noise * gaussian;
    }
  }
  return matrix;
}

function predictFor(name: string, similarity: ScoreMatrix, truth: Int32Array, promptClass: Int32Array, probe: readonly boolean[], random: Mulberry32): Int32Array {
  const strategy = parseStrategy(name);
  const numClasses = probe.length;
  if (strategy.kind !== 'embedding-mean') return argmaxRows(classScoresFromPrompts(similarity, promptClass, numClasses, strategy), numClasses);
  const noisier = syntheticScores(truth, promptClass, probe, random, 2.2);
  return argmaxRows(classScoresFromPrompts(noisier, promptClass, numClasses, { kind: 'mean' }), numClasses);
}

/**
 * Writes a results folder the way `zeroshot run --out` lays it out, with the project's own table writers,
 * metrics and audit: similarities.json, predictions.csv, metrics.json (+ groups), run.json, errors.jsonl and
 * an images folder that run.json's images_root points to. Returns metrics.json's content.
 */
async function writeSyntheticResults(dir: string, run: SyntheticRun): Promise<MetricsFile | null> {
  const random = new Mulberry32(run.seed);
  const classes = run.classes.map((c) => c.name);
  const probe = run.classes.map((c) => c.probe ?? false);
  const prompts = run.classes.flatMap((c) => c.prompts);
  const promptClass = Int32Array.from(run.classes.flatMap((c, k) => c.prompts.map(() => k)));
  const trueClasses = classes.flatMap((_, k) => (probe[k] ? [] : [k]));
  const actualTruth = Int32Array.from({ length: run.numImages }, () => trueClasses[random.below(trueClasses.length)]);
  const similarity = syntheticScores(actualTruth, promptClass, probe, random, 1.6);
  const predictions = new Map(run.strategies.map((name) => [name, predictFor(name, similarity, actualTruth, promptClass, probe, random)]));
  const truth = actualTruth.map((t, i) => (run.unlabelled?.includes(i) ? -1 : t));
  const keys = Array.from({ length: run.numImages }, (_, i) => imageKey(i));

  const imagesRoot = join(dir, 'images');
  const sourcesDir = join(dir, 'sources');
  await mkdir(join(imagesRoot, 'photos'), { recursive: true });
  await mkdir(sourcesDir, { recursive: true });
  const sources = await Promise.all(Array.from({ length: run.distinctImages }, async (_, d) => {
    const path = join(sourcesDir, `source${d}.jpg`);
    await syntheticPhoto(path, d);
    return path;
  }));
  await Promise.all(keys.map((key, i) => link(sources[i % sources.length], join(imagesRoot, key))));

  const outDir = join(dir, 'results');
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, RESULT_FILES.similarities), similaritiesJson(keys, prompts, similarity));
  await writeFile(join(outDir, RESULT_FILES.predictions), predictionsCsv(keys, classes, predictions, run.labelled ? truth : undefined));
  const failures = Array.from({ length: run.failures ?? 0 }, (_, f) => ({ image: `broken/file${f}.jpg`, error: 'Input file contains unsupported image format' }));
  if (failures.length) await writeFile(join(outDir, RESULT_FILES.errors), jsonLines(failures));

  let metrics: MetricsFile | null = null;
  if (run.labelled) {
    const strategies: Record<string, ClassificationMetrics> = {};
    for (const [name, predicted] of predictions) strategies[name] = classificationMetrics(truth, predicted, classes);
    let groups: AuditResult | undefined;
    if (run.attributes.length) {
      const attributes: ImageAttribute[] = run.attributes.map((a) => ({ name: a.name, values: keys.map((_, i) => a.valueOf(i)) }));
      groups = auditPredictions({
        classes, probe, truth, predictions, attributes, similarity, promptClass, prompts,
        options: { bootstrap: run.bootstrap, seed: 0, minGroupSize: run.minGroupSize },
      });
    }
    metrics = { classes, strategies, ...(groups ? { groups } : {}) };
    await writeFile(join(outDir, RESULT_FILES.metrics), JSON.stringify(metrics, null, 2) + '\n');
  }
  const labelled = run.labelled ? truth.filter((t) => t >= 0).length : 0;
  const runRecord = {
    tool: { name: 'zeroshot', version: '0.1.0' },
    model: { id: 'openai/clip-vit-base-patch32', kind: 'hub', revision: 'main', dtype: 'fp32', threads: 4 },
    spec: { name: 'synthetic-portraits', source: 'test/report.test.ts', classes: run.classes.map((c) => ({ name: c.name, prompts: c.prompts, probe: c.probe ?? false })) },
    strategies: run.strategies,
    images_root: imagesRoot,
    label_column: run.labelled ? 'label' : null,
    batch_size: 32,
    counts: {
      found: run.numImages + failures.length, ignored_files: 1, embedded: run.numImages, failed: failures.length,
      labelled, unlabelled: run.labelled ? run.numImages - labelled : 0, labels_without_image: 0,
    },
    timings: { load_model_s: 1.204, encode_texts_s: 0.083, encode_images_s: run.numImages / 55, images_per_s: 55, score_s: 0.41, total_s: 1.7 + run.numImages / 55 },
    finished_at: '2025-06-01T12:00:00.000Z',
  };
  await writeFile(join(outDir, RESULT_FILES.run), JSON.stringify(runRecord, null, 2) + '\n');
  return metrics;
}

function reportDataOf(html: string): ReportData {
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(match, 'the report embeds its data in #report-data');
  return JSON.parse(match[1]) as ReportData;
}

const SMALL_RUN: SyntheticRun = {
  classes: [
    { name: 'cat', prompts: ['a photo of a cat', 'a blurry photo of a cat'] },
    { name: 'dog', prompts: ['a photo of a dog', 'a blurry photo of a dog'] },
    { name: 'robot', prompts: ['a photo of a robot', 'a photo of a toy robot'], probe: true },
  ],
  numImages: 64,
  strategies: ['sum', 'max'],
  attributes: [
    { name: 'tone', valueOf: (i) => (i % 2 ? 'light' : 'dark') },
    // "senior" has 5 images: under minGroupSize, so it must be flagged too small.
    { name: 'age', valueOf: (i) => (i < 5 ? 'senior' : i % 3 ? 'adult' : 'young') },
  ],
  distinctImages: 12,
  labelled: true,
  unlabelled: [7],
  failures: 2,
  bootstrap: 200,
  minGroupSize: 10,
  seed: 7,
};

interface EchartsPage {
  echarts: { getInstanceByDom(el: Element): { convertToPixel(finder: object, value: number[]): number[] } | undefined };
  __zeroshotReport: { strategy: string; confusion: number[][] | null };
}

describe('HTML report', () => {
  let root: string;
  let resultsDir: string;
  let metrics: MetricsFile;
  let html: string;
  let data: ReportData;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'zeroshot-report-'));
    metrics = (await writeSyntheticResults(root, SMALL_RUN))!;
    resultsDir = join(root, 'results');
    html = await buildReport(resultsDir);
    data = reportDataOf(html);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('embeds exactly the numbers of metrics.json', () => {
    assert.deepEqual(data.strategies, ['sum', 'max']);
    assert.deepEqual(data.classes, metrics.classes);
    for (const [name, m] of Object.entries(metrics.strategies)) {
      assert.equal(data.metrics![name].accuracy, m.accuracy);
      assert.equal(data.metrics![name].balanced_accuracy, m.balanced_accuracy);
      assert.deepEqual(data.metrics![name].confusion, m.confusion);
    }
    const groups = metrics.groups!;
    assert.deepEqual(data.audit!.comparison, groups.comparison);
    assert.deepEqual(data.audit!.prompts, groups.prompts);
    assert.deepEqual(data.audit!.ranking_bias, groups.ranking_bias);
    let tooSmall = 0;
    for (const [name, strategy] of Object.entries(groups.strategies)) {
      const shown = data.audit!.strategies[name];
      assert.deepEqual(shown.probes_overall, strategy.probes_overall);
      strategy.attributes.forEach((attribute, a) => {
        assert.equal(shown.attributes[a].attribute, attribute.attribute);
        assert.deepEqual(shown.attributes[a].gaps, attribute.gaps);
        assert.deepEqual(shown.attributes[a].probes, attribute.probes);
        for (const [group, g] of Object.entries(attribute.groups)) {
          const s = shown.attributes[a].groups[group];
          assert.equal(s.accuracy, g.accuracy, `${name} / ${attribute.attribute} / ${group}`);
          assert.deepEqual(s.accuracy_ci, g.accuracy_ci);
          assert.equal(s.too_small, g.too_small);
          if (g.too_small) tooSmall += 1;
        }
      });
    }
    assert.ok(tooSmall > 0, 'the fixture has a group flagged too small');
  });

  it('summarises the run from run.json and errors.jsonl', () => {
    assert.equal(data.run.counts.embedded, SMALL_RUN.numImages);
    assert.equal(data.failures.total, 2);
    assert.equal(data.failures.listed[0].image, 'broken/file0.jpg');
    assert.deepEqual(data.probe, [false, false, true]);
    assert.deepEqual(data.promptClass, [0, 0, 1, 1, 2, 2]);
  });

  it('has a capped gallery per non-empty cell whose totals are the confusion counts', async () => {
    const { cap, cells, images } = data.gallery;
    assert.equal(cap, 12);
    for (const strategy of data.strategies) {
      const confusion = metrics.strategies[strategy].confusion!;
      for (const cell of cells[strategy]) {
        assert.ok(cell.total > 0);
        assert.equal(cell.images.length, Math.min(cap, cell.total));
        if (cell.truth >= 0) assert.equal(cell.total, confusion[cell.truth][cell.predicted]);
      }
      const labelled = cells[strategy].filter((c) => c.truth >= 0);
      assert.equal(labelled.length, confusion.flat().filter((n) => n > 0).length, 'one cell per non-zero confusion entry');
      // The unlabelled image is kept in a cell of its own row.
      assert.equal(cells[strategy].filter((c) => c.truth < 0).reduce((n, c) => n + c.total, 0), 1);
    }
    const shown = new Set(data.strategies.flatMap((s) => cells[s].flatMap((c) => c.images)));
    assert.equal(shown.size, images.length, 'every embedded image is shown somewhere, and once in the list');
    assert.equal(new Set(images.map((i) => i.key)).size, images.length);
    const first = images[0];
    assert.match(first.src!, /^data:image\/jpeg;base64,/);
    const thumbnail = await sharp(Buffer.from(first.src!.split(',')[1], 'base64')).metadata();
    assert.deepEqual([thumbnail.width, thumbnail.height, thumbnail.format], [80, 80, 'jpeg']);
  });

  it('lists each gallery image with its three best prompts from similarities.json', async () => {
    const similarities: Record<string, Record<string, number>> = JSON.parse(await readFile(join(resultsDir, RESULT_FILES.similarities), 'utf8'));
    for (const image of data.gallery.images) {
      const expected = Object.entries(similarities[image.key]).sort((a, b) => b[1] - a[1]).slice(0, 3);
      assert.deepEqual(image.top.map(([j, score]) => [data.prompts[j], score]), expected);
    }
  });

  it('is self-contained: ECharts and the data inline, no script can end early', () => {
    assert.equal(html.match(/<\/script/gi)?.length, 3, 'only the three script elements close');
    assert.ok(html.includes('echarts'), 'ECharts is inlined');
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=/, 'no external scripts or stylesheets');
    assert.ok(!jsonForScript({ prompt: '</script><!-- x' }).includes('<'));
    assert.equal(JSON.parse(jsonForScript({ prompt: '</script><!--' })).prompt, '</script><!--');
    assert.equal(scriptForInline('const s = "</script>";'), 'const s = "<\\/script>";');
  });

  it('links thumbnails relative to the report in link mode', async () => {
    const linkedHtml = await buildReport(resultsDir, { thumbnails: 'link', galleryCap: 2 });
    const linked = reportDataOf(linkedHtml);
    assert.equal(linked.gallery.cap, 2);
    for (const image of linked.gallery.images) {
      assert.equal(image.src, `../images/${image.key}`);
      assert.ok(existsSync(resolve(resultsDir, decodeURIComponent(image.src!))));
    }
    if (!existsSync(CHROMIUM)) return;
    // The page's content security policy must still let local image files load.
    const path = join(resultsDir, 'report-linked.html');
    await writeFile(path, linkedHtml);
    const browser = await launchChromium();
    try {
      const { page, problems } = await openReport(browser, path);
      await page.evaluate(() => {
        (document.getElementById('confusion-details') as HTMLDetailsElement).open = true;
      });
      await page.click('#confusion-table button[data-truth="0"][data-predicted="0"]');
      await page.waitForFunction(() => [...document.querySelectorAll('#gallery img')].every((img) => (img as HTMLImageElement).complete));
      const widths = await page.$$eval('#gallery img', (images) => images.map((img) => (img as HTMLImageElement).naturalWidth));
      assert.equal(widths.length, 2);
      assert.ok(widths.every((w) => w > 0), `linked images load: ${widths}`);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });

  it('degrades gracefully without groups, and without labels', async () => {
    const noGroups = await mkdtemp(join(tmpdir(), 'zeroshot-report-nogroups-'));
    const noLabels = await mkdtemp(join(tmpdir(), 'zeroshot-report-nolabels-'));
    try {
      await writeSyntheticResults(noGroups, { ...SMALL_RUN, attributes: [] });
      const withoutGroups = reportDataOf(await buildReport(join(noGroups, 'results')));
      assert.equal(withoutGroups.audit, null);
      assert.ok(withoutGroups.metrics);

      await writeSyntheticResults(noLabels, { ...SMALL_RUN, labelled: false, attributes: [] });
      const withoutLabels = reportDataOf(await buildReport(join(noLabels, 'results')));
      assert.equal(withoutLabels.metrics, null);
      assert.equal(withoutLabels.audit, null);
      for (const strategy of withoutLabels.strategies) {
        const cells = withoutLabels.gallery.cells[strategy];
        assert.ok(cells.every((c) => c.truth === -1));
        assert.equal(cells.reduce((n, c) => n + c.total, 0), SMALL_RUN.numImages);
      }

      if (!existsSync(CHROMIUM)) return;
      // Both degraded pages must still render without errors.
      const paths = [await writeReport(join(noGroups, 'results')), await writeReport(join(noLabels, 'results'))];
      const browser = await launchChromium();
      try {
        for (const path of paths) {
          const { page, problems } = await openReport(browser, path);
          await page.evaluate(() => {
            (document.getElementById('confusion-details') as HTMLDetailsElement).open = true;
          });
          await page.click('#confusion-table button.cell-button');
          await page.waitForSelector('#gallery img');
          assert.deepEqual(problems, [], path);
          await page.close();
        }
      } finally {
        await browser.close();
      }
    } finally {
      await rm(noGroups, { recursive: true, force: true });
      await rm(noLabels, { recursive: true, force: true });
    }
  });

  it('renders in Chromium from file:// with no errors and no network', async (t) => {
    if (!existsSync(CHROMIUM)) {
      // CI installs Chromium (.ci/run), so there a missing browser is a failure, not a skip.
      assert.ok(!process.env.CI, `no Chromium at ${CHROMIUM} in CI`);
      t.skip(`no Chromium at ${CHROMIUM}`);
      return;
    }
    const reportPath = await writeReport(resultsDir);
    assert.equal(reportPath, join(resultsDir, REPORT_FILE));
    const browser = await launchChromium();
    try {
      const { page, problems } = await openReport(browser, reportPath);

      for (const id of ['#summary', '#comparison', '#heatmap', '#strategy-select', '#group-chart', '#gallery', '#prompt-table']) {
        assert.equal(await page.locator(id).count(), 1, `${id} exists`);
      }
      const heatmap = await page.locator('#heatmap canvas').first().boundingBox();
      assert.ok(heatmap && heatmap.width > 100 && heatmap.height > 100, 'the heatmap has a size');
      const groupChart = await page.locator('#group-chart canvas').first().boundingBox();
      assert.ok(groupChart && groupChart.width > 100 && groupChart.height > 100, 'the group chart has a size');
      assert.match(await page.locator('#gaps-table').innerText(), /too small/);
      await page.selectOption('#attribute-select', { label: 'age' });
      assert.match(await page.locator('#probe-table').innerText(), /senior\s+too small for a conclusion/);
      assert.ok((await page.locator('#prompt-table tbody tr').count()) === data.prompts.length);

      // Click the canvas on an off-diagonal cell of the first strategy.
      const state = await page.evaluate(() => (window as unknown as EchartsPage).__zeroshotReport);
      assert.equal(state.strategy, 'sum');
      assert.deepEqual(state.confusion, metrics.strategies.sum.confusion);
      const confusion = state.confusion!;
      const rows = confusion.flatMap((row, t) => (row.some((n) => n > 0) ? [t] : []));
      let target: { truth: number; predicted: number } | undefined;
      for (const truth of rows) for (let p = 0; p < confusion.length; p++) if (p !== truth && confusion[truth][p] > 0 && !target) target = { truth, predicted: p };
      assert.ok(target, 'the fixture has an error cell');
      const pixel = await page.evaluate(([x, y]) => {
        const chart = (window as unknown as EchartsPage).echarts.getInstanceByDom(document.getElementById('heatmap')!)!;
        return chart.convertToPixel({ seriesIndex: 0 }, [x, y]);
      }, [target.predicted, rows.indexOf(target.truth)]);
      // Mouse coordinates are viewport coordinates: bring the chart into view first.
      await page.locator('#heatmap').scrollIntoViewIfNeeded();
      const box = (await page.locator('#heatmap canvas').first().boundingBox())!;
      await page.mouse.click(box.x + pixel[0], box.y + pixel[1]);
      await page.waitForSelector('#gallery img');
      const expectedCount = Math.min(12, confusion[target.truth][target.predicted]);
      assert.equal(await page.locator('#gallery img').count(), expectedCount);
      assert.match(await page.locator('#gallery .cellname').innerText(), new RegExp(`True ${data.classes[target.truth]}.*predicted ${data.classes[target.predicted]}`, 's'));
      const loaded = await page.$$eval('#gallery img', (images) => images.map((img) => ({ src: (img as HTMLImageElement).src.slice(0, 23), width: (img as HTMLImageElement).naturalWidth, done: (img as HTMLImageElement).complete })));
      for (const image of loaded) assert.deepEqual(image, { src: 'data:image/jpeg;base64,', width: 80, done: true });

      // The accessible table opens the same galleries.
      await page.click('#confusion-details summary');
      await page.click('#confusion-table button[data-truth="0"][data-predicted="0"]');
      assert.match(await page.locator('#gallery .cellname').innerText(), /True cat.*predicted cat/s);
      assert.equal(await page.locator('#gallery img').count(), Math.min(12, confusion[0][0]));
      const more = confusion[0][0] - 12;
      if (more > 0) assert.match(await page.locator('#gallery .more').innerText(), new RegExp(`and ${more} more`));

      await page.selectOption('#strategy-select', 'max');
      const switched = await page.evaluate(() => (window as unknown as EchartsPage).__zeroshotReport);
      assert.equal(switched.strategy, 'max');
      assert.deepEqual(switched.confusion, metrics.strategies.max.confusion);
      assert.equal(await page.locator('#gallery img').count(), Math.min(12, metrics.strategies.max.confusion![0][0]), 'the open gallery follows the strategy');

      // Leave an error cell open for the screenshot.
      await page.selectOption('#strategy-select', 'sum');
      await page.click(`#confusion-table button[data-truth="${target.truth}"][data-predicted="${target.predicted}"]`);
      await page.click('#confusion-details summary');
      await page.evaluate(() => window.scrollTo(0, 0));
      await mkdir(OUTPUT_DIR, { recursive: true });
      await page.screenshot({ path: join(OUTPUT_DIR, 'report.png'), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });

  it('stays under 30 MB for 10,954 images', async () => {
    const scaleRoot = await mkdtemp(join(tmpdir(), 'zeroshot-report-scale-'));
    try {
      const races = ['White', 'Black', 'Latino_Hispanic', 'East Asian', 'Southeast Asian', 'Indian', 'Middle Eastern'];
      const ages = ['0-2', '3-9', '10-19', '20-29', '30-39', '40-49', '50-59', '60-69', 'more than 70'];
      await writeSyntheticResults(scaleRoot, {
        classes: races.map((race) => {
          const words = race.toLowerCase().replace('_', ' ');
          const article = /^[aeiou]/.test(words) ? 'an' : 'a';
          return { name: race, prompts: [`a photo of ${article} ${words} man`, `a photo of ${article} ${words} woman`] };
        }),
        numImages: 10_954,
        strategies: ['sum', 'mean', 'max', 'topk:2', 'embedding-mean'],
        attributes: [
          { name: 'gender', valueOf: (i) => (i % 2 ? 'Female' : 'Male') },
          // Ages skewed towards adults, as in FairFace; 0-2 has 28 images, too small for a conclusion.
          { name: 'age', valueOf: (i) => (i % 400 === 3 ? ages[0] : ages[[1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6, 7, 8][(i * 7) % 17]]) },
        ],
        distinctImages: 20,
        labelled: true,
        bootstrap: 50,
        minGroupSize: 30,
        seed: 11,
      });
      const started = performance.now();
      const path = await writeReport(join(scaleRoot, 'results'));
      const buildSeconds = (performance.now() - started) / 1000;
      const { size } = await stat(path);
      console.log(`report for 10,954 images: ${(size / 1e6).toFixed(2)} MB, built in ${buildSeconds.toFixed(1)} s`);
      assert.ok(size < 30e6, `report is ${size} bytes`);

      if (existsSync(CHROMIUM)) {
        const browser = await launchChromium();
        try {
          const { page, problems, readyMs } = await openReport(browser, path);
          console.log(`Chromium reached data-ready in ${readyMs.toFixed(0)} ms`);
          await page.click('#confusion-details summary');
          await page.click('#confusion-table button[data-truth="1"][data-predicted="0"]');
          await page.waitForSelector('#gallery img');
          await page.selectOption('#attribute-select', { label: 'age' });
          await page.evaluate(() => window.scrollTo(0, 0));
          await mkdir(OUTPUT_DIR, { recursive: true });
          await page.screenshot({ path: join(OUTPUT_DIR, 'report-10954.png'), fullPage: true });
          assert.deepEqual(problems, []);
        } finally {
          await browser.close();
        }
      }
    } finally {
      await rm(scaleRoot, { recursive: true, force: true });
    }
  });
});
