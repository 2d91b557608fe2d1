// Runs over a WebDataset tar, with and without labels: the report's and compare's thumbnails of tar members (read in
// place from the tar, equal to the thumbnails of the files they were made from), and the lab over a run without labels: the
// server answers what it can (no metrics; cells of unlabelled images; thumbnails from the tar; save as run equals
// the CLI's folder), and the page opens, scores an edit and shows images with no console error.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseCsv } from 'csv-parse/sync';
import { pack } from 'tar-stream';
import { LabSession } from '../src/lab/lab_session.js';
import { compareResultFolders, comparisonPageData } from '../src/report/compare.js';
import { loadReportData, thumbnailDataUri } from '../src/report/html_report.js';
import { startLabServer, type LabServer } from '../src/server/lab_server.js';
import { THUMBNAIL_SIZE, type CellResponse, type LabSpec, type SaveRunResponse, type ScoreResponse, type SessionResponse } from '../src/server/lab_api.js';
import { resultsFolderDifferences } from './helpers/results_equality.js';
import { launchChromium, recordServedPageProblems } from './helpers/chromium.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../bin/zeroshot.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../fixtures/demo-clip', import.meta.url));
const FACES = fileURLToPath(new URL('../fixtures/demo-images', import.meta.url));

describe('runs over a WebDataset tar: report thumbnails, and the lab without labels', () => {
  let root: string;
  let cache: string;
  let tar: string;
  /** Member name → the face file it was made from. */
  const origin = new Map<string, string>();
  let session: LabSession;
  let server: LabServer;
  const auth = () => ({ authorization: `Bearer ${server.token}` });
  const post = (path: string, body: unknown) => fetch(new URL(path, server.url), { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify(body) });

  const cliRun = (out: string, ...extra: string[]) =>
    run(process.execPath, [CLI, 'run', '--images', tar, '--spec', 'fairface-race', '--model', MODEL, '--offline', '--threads', '1', '--cache', cache,
      '--bootstrap', '20', '--min-group-size', '3', '--out', out, '-q', ...extra], { maxBuffer: 16 << 20 });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'zeroshot-lab-tar-'));
    cache = join(root, 'cache.sqlite');
    tar = join(root, 'faces.tar');
    // The demo's faces as samples: <n>.jpg with its race and gender as .race and .gender members.
    const rows = parseCsv(await readFile(join(FACES, 'labels.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    const packed = pack();
    const written = pipeline(packed, createWriteStream(tar));
    for (const row of rows) {
      const stem = `face${row.file.replace(/\.jpg$/, '').padStart(3, '0')}`;
      origin.set(`faces.tar/${stem}.jpg`, join(FACES, row.file));
      packed.entry({ name: `${stem}.jpg` }, await readFile(join(FACES, row.file)));
      packed.entry({ name: `${stem}.race` }, `${row.race}\n`);
      packed.entry({ name: `${stem}.gender` }, `${row.gender}\n`);
    }
    packed.finalize();
    await written;
  });

  after(async () => {
    await server?.close();
    await session?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('builds the report (and compare\'s page) with thumbnails of the tar members, embedded in either mode', async () => {
    const out = join(root, 'labelled');
    await cliRun(out, '--label-column', 'race', '--groups', 'gender');
    for (const thumbnails of ['embed', 'link'] as const) {
      const data = await loadReportData(out, { thumbnails });
      assert.ok(data.gallery.images.length > 0);
      for (const image of data.gallery.images) {
        assert.equal(image.src, await thumbnailDataUri(origin.get(image.key)!, data.gallery.size), `${thumbnails}: ${image.key}`);
      }
    }
    assert.match(await readFile(join(out, 'report.html'), 'utf8'), /data:image\/jpeg;base64,/);

    // compare's galleries of changed predictions too: a second spec (one prompt per class) against the first.
    await writeFile(join(root, 'men.yaml'), `name: men\nclasses:\n${['White', 'Black', 'Latino_Hispanic', 'East Asian', 'Southeast Asian', 'Indian', 'Middle Eastern']
      .map((race) => `  ${race}: [a photo of a ${race.toLowerCase().replace('_', ' ')} man]`).join('\n')}\n`);
    const men = join(root, 'men');
    await run(process.execPath, [CLI, 'run', '--images', tar, '--spec', join(root, 'men.yaml'), '--model', MODEL, '--offline', '--threads', '1', '--cache', cache,
      '--bootstrap', '20', '--min-group-size', '3', '--label-column', 'race', '--groups', 'gender', '--out', men, '-q'], { maxBuffer: 16 << 20 });
    const comparison = await comparisonPageData(await compareResultFolders([out, men], { bootstrap: 0 }), {});
    assert.ok(comparison.gallery.images.length > 0, 'some prediction changed');
    for (const image of comparison.gallery.images) assert.equal(image.src, await thumbnailDataUri(origin.get(image.key)!, comparison.gallery.size), image.key);
  });

  it('serves a run without labels: no metrics, cells of unlabelled images, thumbnails from the tar, save as run', async () => {
    const saved = join(root, 'unlabelled');
    await cliRun(saved);
    session = await LabSession.open(saved, { cache, offline: true, threads: 1 });
    server = await startLabServer(session);
    const info = (await (await fetch(new URL('/api/session', server.url), { headers: auth() })).json()) as SessionResponse;
    assert.equal(info.metrics, null);
    assert.equal(info.images.labels, null);
    assert.equal(info.images.count, origin.size);

    const edited: LabSpec = { ...info.spec, classes: info.spec.classes.map((c, i) => (i === 0 ? { ...c, prompts: [...c.prompts!, 'a photo of a white person'] } : c)) };
    const response = await post('/api/score', { spec: edited });
    assert.equal(response.status, 200);
    const scored = (await response.json()) as ScoreResponse;
    assert.equal(scored.metrics, null);
    assert.deepEqual(scored.changes, []);
    assert.equal(scored.encoded_prompts, 1);
    const cells = scored.cells.sum;
    assert.ok(cells.every(([truth]) => truth === -1));
    assert.equal(cells.reduce((total, [, , count]) => total + count, 0), origin.size);
    const [truth, predicted, count] = cells[0];
    const cell = (await (await post('/api/cell', { spec_hash: scored.spec_hash, strategy: 'sum', truth, predicted })).json()) as CellResponse;
    assert.equal(cell.images.length, count);

    for (const index of [0, info.images.count - 1]) {
      const thumbnail = await fetch(new URL(`/api/images/${index}/thumbnail`, server.url), { headers: auth() });
      assert.equal(thumbnail.status, 200);
      assert.equal(thumbnail.headers.get('content-type'), 'image/jpeg');
      const expected = (await thumbnailDataUri(origin.get(info.images.keys[index])!, THUMBNAIL_SIZE))!;
      assert.equal(Buffer.from(await thumbnail.arrayBuffer()).toString('base64'), expected.slice(expected.indexOf(',') + 1));
    }

    const yaml = await (await post('/api/spec.yaml', { spec: edited })).text();
    await writeFile(join(root, 'edited.yaml'), yaml);
    const cliOut = join(root, 'cli-edited');
    await run(process.execPath, [CLI, 'run', '--images', tar, '--spec', join(root, 'edited.yaml'), '--model', MODEL, '--offline', '--threads', '1', '--cache', cache,
      '--bootstrap', '20', '--min-group-size', '3', '--out', cliOut, '-q'], { maxBuffer: 16 << 20 });
    const { folder } = (await (await post('/api/save-run', { spec: edited })).json()) as SaveRunResponse;
    assert.deepEqual(await resultsFolderDifferences(join(`${saved}-lab`, folder), cliOut), []);
    assert.ok((await readdir(cliOut)).includes('report.html'));

    // With the embeddings gone from the cache, the lab encodes the members again from the tar: the same scores.
    const warnings: string[] = [];
    const uncached = await LabSession.open(saved, { cache: join(root, 'empty.sqlite'), offline: true, threads: 1, onWarning: (w) => warnings.push(w) });
    try {
      assert.match(warnings.join('\n'), new RegExp(`${origin.size} of ${origin.size} image embeddings are not in the cache`));
      assert.deepEqual((await uncached.score(edited)).cells, scored.cells);
    } finally {
      await uncached.close();
    }
  });

  it('opens the lab page over a run without labels, scores an edit and shows thumbnails, with no console error', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const problems = recordServedPageProblems(page);
      await page.goto(server.url);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
      assert.match(await page.textContent('#summary-tiles') ?? '', /no labels/);
      const before = await page.evaluate(() => document.body.dataset.specHash);
      await page.fill('#class-1-add', 'a photo of a black person');
      await page.press('#class-1-add', 'Enter');
      await page.waitForFunction((previous) => document.body.dataset.state === 'ready' && document.body.dataset.specHash !== previous, before, { timeout: 20_000 });
      await page.click('#confusion-details summary');
      await page.click('#confusion-table .cell-button >> nth=0');
      await page.waitForSelector('#cell-images .lab-thumb');
      await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('#cell-images img')].every((img) => img.complete && img.naturalWidth > 0), null, { timeout: 10_000 });
      await page.click('#cell-images .lab-thumb >> nth=0');
      await page.waitForSelector('#image-scores .image-score-table');
      assert.equal(await page.locator('#image-scores .image-score-table tbody tr').count(), 15);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
});
