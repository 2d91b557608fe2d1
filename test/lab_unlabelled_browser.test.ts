// The prompt lab in Chromium over a run without labels (the demo's faces, no labels CSV): the "Predicted classes"
// view starts at the saved run's predictions.csv, and after an added prompt shows the shares, their change from the
// saved run and the images that changed class, each equal to what /api/score answered, with no console error.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { LabSession } from '../src/lab/lab_session.js';
import { startLabServer, type LabServer } from '../src/server/lab_server.js';
import type { ImageScoresResponse, ScoreResponse } from '../src/server/lab_api.js';
import { launchChromium, recordServedPageProblems } from './helpers/chromium.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../bin/zeroshot.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../fixtures/demo-clip', import.meta.url));
const FACES = fileURLToPath(new URL('../fixtures/demo-images', import.meta.url));
/** Added to White: it moves several of the 14 faces' predictions with every strategy. */
const ADDED_PROMPT = 'a photo of a white person';

/** What the page shows for the strategy on screen: class → count (all images), and strategy → images changed. */
async function shownShares(page: Page): Promise<{ counts: Record<string, number>; differences: Record<string, string>; changed: Record<string, string> }> {
  return page.evaluate(() => {
    const counts: Record<string, number> = {};
    const differences: Record<string, string> = {};
    for (const row of document.querySelectorAll<HTMLElement>('#shares-table tbody tr')) {
      const all = row.querySelector<HTMLElement>('td[data-group=""]')!;
      counts[row.dataset.class!] = Number(all.dataset.count);
      differences[row.dataset.class!] = all.querySelector<HTMLElement>('.delta')?.dataset.difference ?? '';
    }
    const changed: Record<string, string> = {};
    for (const row of document.querySelectorAll<HTMLElement>('#shares-changed tbody tr')) changed[row.dataset.strategy!] = row.dataset.changed!;
    return { counts, differences, changed };
  });
}

describe('prompt lab in Chromium over a run without labels: the predicted classes', () => {
  let root: string;
  let saved: string;
  let session: LabSession;
  let server: LabServer;
  let browser: Browser;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'zeroshot-lab-unlabelled-'));
    saved = join(root, 'saved');
    await run(process.execPath, [CLI, 'run', '--images', FACES, '--spec', 'fairface-race', '--model', MODEL, '--offline', '--threads', '1',
      '--cache', join(root, 'cache.sqlite'), '--out', saved, '-q'], { maxBuffer: 16 << 20 });
    session = await LabSession.open(saved, { cache: join(root, 'cache.sqlite'), offline: true, threads: 1 });
    server = await startLabServer(session);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('shows each class’s share against the saved run, and after an added prompt the API’s new counts and changes', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems = recordServedPageProblems(page);
    const firstScore = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/score');
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
    const first = (await (await firstScore).json()) as ScoreResponse;
    assert.equal(first.metrics, null);
    assert.match(await page.textContent('#summary-tiles') ?? '', /no labels.*Predicted classes/);
    assert.match(await page.textContent('#shares-hint') ?? '', /no labels/);

    // At first: the saved run's own predictions (predictions.csv's sum column), nothing changed.
    const rows = parseCsv(await readFile(join(saved, 'predictions.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    const classes = first.spec.classes;
    const savedCounts = Object.fromEntries(classes.map((c) => [c, rows.filter((r) => r.sum === c).length]));
    const atFirst = await shownShares(page);
    assert.deepEqual(atFirst.counts, savedCounts);
    assert.deepEqual(first.shares.sum.counts, classes.map((c) => savedCounts[c]));
    assert.deepEqual(first.shares.sum.saved, first.shares.sum.counts);
    assert.deepEqual(atFirst.changed, Object.fromEntries(first.spec.strategies.map((s) => [s, '0'])));

    // Add a prompt: the page shows the answer's counts, their differences from the saved run, and the images changed.
    const before = await page.evaluate(() => document.body.dataset.specHash);
    const edited = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/score');
    await page.fill('#class-0-add', ADDED_PROMPT);
    await page.press('#class-0-add', 'Enter');
    const answer = (await (await edited).json()) as ScoreResponse;
    await page.waitForFunction((previous) => document.body.dataset.state === 'ready' && document.body.dataset.specHash !== previous, before, { timeout: 20_000 });
    const after = await shownShares(page);
    const sum = answer.shares.sum;
    assert.deepEqual(after.counts, Object.fromEntries(classes.map((c, k) => [c, sum.counts[k]])));
    assert.notDeepEqual(after.counts, atFirst.counts, 'the added prompt moves the predictions');
    assert.deepEqual(after.differences, Object.fromEntries(classes.map((c, k) => [c, String(sum.counts[k] / sum.images - sum.saved[k]! / sum.images)])));
    assert.deepEqual(after.changed, Object.fromEntries(answer.spec.strategies.map((s) => [s, String(answer.shares[s].changed ?? '')])));
    // A third White prompt brings topk:3, which the saved run did not have: no images "changed" for it.
    assert.equal(answer.shares['topk:3'].changed, null);
    assert.ok(sum.changed! > 0);
    // The changed images are those whose predicted class differs from predictions.csv's.
    const savedSum = new Map(rows.map((r) => [r.image, r.sum]));
    const now = await Promise.all(rows.map(async (_, i) => {
      const response = await fetch(new URL(`/api/images/${i}/scores?spec=${answer.spec_hash}`, server.url), { headers: { authorization: `Bearer ${server.token}` } });
      return (await response.json()) as ImageScoresResponse;
    }));
    assert.equal(now.filter((image) => classes[image.predicted.sum] !== savedSum.get(image.key)).length, sum.changed);

    // Another strategy on screen: its counts.
    await page.selectOption('#strategy-select', 'max');
    assert.deepEqual((await shownShares(page)).counts, Object.fromEntries(classes.map((c, k) => [c, answer.shares.max.counts[k]])));
    assert.deepEqual(problems, []);
    await page.close();
  });
});
