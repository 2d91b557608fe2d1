// The prompt lab in Chromium (playwright-core) against a real `zeroshot serve` on a results folder of a CLI run with
// the demo's toy model: each edit's numbers equal a CLI run of the spec the lab downloads, undo brings the numbers
// back, save as run writes the CLI’s folder (test/helpers/results_equality.ts), a page without the token is refused, and
// the pages log no error (no console error or warning, no failed request but the refusals the test provokes).
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import type { MetricsFile } from '../src/report/result_files.js';
import { History } from '../src/web/lab/history.js';
import { LatestRequest } from '../src/web/lab/latest.js';
import { renamedLabelMap } from '../src/web/lab/spec_edit.js';
import { resultsFolderDifferences } from './helpers/results_equality.js';
import { launchChromium, recordServedPageProblems } from './helpers/chromium.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../bin/zeroshot.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../fixtures/demo-clip', import.meta.url));
const IMAGES = fileURLToPath(new URL('../fixtures/demo-images', import.meta.url));

/** The saved run's spec: FairFace's 7 classes, 2 prompts each, and a harm probe. */
const SAVED_SPEC = `name: lab-test
classes:
  White: [a photo of a white man, a photo of a white woman]
  Black: [a photo of a black man, a photo of a black woman]
  Latino_Hispanic: [a photo of a latino hispanic man, a photo of a latino hispanic woman]
  East Asian: [a photo of an east asian man, a photo of an east asian woman]
  Southeast Asian: [a photo of a southeast asian man, a photo of a southeast asian woman]
  Indian: [a photo of an indian man, a photo of an indian woman]
  Middle Eastern: [a photo of a middle eastern man, a photo of a middle eastern woman]
  animal: {prompts: [a photo of an animal], probe: true}
`;
/** The prompt the test adds to White: it moves sum's accuracy on these 14 faces (21.4% → 14.3%). */
const ADDED_PROMPT = 'a photo of a white person';

interface LabWindow {
  __zeroshotLab?: { readonly specHash: string; readonly strategy: string | null; readonly metrics: MetricsFile | null };
}

describe('prompt lab in Chromium', () => {
  let root: string;
  let cache: string;
  let saved: string;
  let server: ChildProcess;
  let url: string;
  let browser: Browser;

  /** `zeroshot run` with the saved run's settings and the lab's --unmatched-labels skip; `spec` a file, `out` the results folder. */
  const cliRun = async (spec: string, out: string) => {
    await run(process.execPath, [CLI, 'run', '--images', IMAGES, '--labels', join(IMAGES, 'labels.csv'), '--label-column', 'race',
      '--groups', 'gender', '--bootstrap', '50', '--min-group-size', '5', '--model', MODEL, '--offline', '--threads', '1',
      '--cache', cache, '--spec', spec, '--unmatched-labels', 'skip', '--out', out, '-q'], { maxBuffer: 16 << 20 });
    return JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as MetricsFile;
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'zeroshot-lab-browser-'));
    cache = join(root, 'cache.sqlite');
    saved = join(root, 'saved');
    await writeFile(join(root, 'saved.yaml'), SAVED_SPEC);
    await cliRun(join(root, 'saved.yaml'), saved);
    server = spawn(process.execPath, [CLI, 'serve', saved, '--cache', cache, '--offline', '--threads', '1', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    server.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    url = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      server.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const found = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/.exec(stdout);
        if (found) resolve(found[1]);
      });
      server.once('exit', (code) => reject(new Error(`zeroshot serve exited (${code}): ${stderr}`)));
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGINT');
      await exited;
    }
    await rm(root, { recursive: true, force: true });
  });

  /** The numbers the page shows once the score after an action is drawn (the spec hash changes, the state is ready). */
  async function scoredAfter(page: Page, action: () => Promise<void>): Promise<{ specHash: string; metrics: MetricsFile }> {
    const before = await page.evaluate(() => document.body.dataset.specHash ?? '');
    await action();
    await page.waitForFunction((previous) => document.body.dataset.state === 'error' || (document.body.dataset.state === 'ready' && document.body.dataset.specHash !== previous),
      before, { timeout: 20_000 });
    if (await page.evaluate(() => document.body.dataset.state) === 'error') assert.fail(`the lab did not score: ${await page.textContent('#notice')}`);
    const shown = await page.evaluate(() => (window as LabWindow).__zeroshotLab!);
    return { specHash: shown.specHash, metrics: shown.metrics! };
  }

  /** The spec the page holds, as the YAML file its download button gives. */
  async function downloadedSpec(page: Page, name: string): Promise<string> {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-yaml')]);
    const path = join(root, name);
    await download.saveAs(path);
    return path;
  }

  /**
   * Every page error, console error or warning, and failed response goes to `problems`, except the 400 the server
   * answers a spec it refuses while `refusals.expected` (the test provokes those on purpose).
   */
  function watch(page: Page): { problems: string[]; refusals: { expected: boolean } } {
    const refusals = { expected: false };
    const problems = recordServedPageProblems(page, (status, at) => refusals.expected && status === 400 && new URL(at).pathname === '/api/score');
    return { problems, refusals };
  }

  const tileValue = async (page: Page, id: string) => Number(await page.getAttribute(`#${id}`, 'data-value'));

  it('refuses the page without the token', async () => {
    const page = await browser.newPage();
    const response = await page.goto(new URL('/', url).href);
    assert.equal(response!.status(), 401);
    assert.match(await page.textContent('body') ?? '', /no token/);
    assert.equal(await page.$('#spec-editor'), null);
    await page.close();
  });

  it('edits the spec, scores like the CLI, undoes, and saves the CLI’s results folder', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const { problems, refusals } = watch(page);
    page.on('request', (request) => {
      if (new URL(request.url()).origin !== new URL(url).origin) problems.push(`request outside the lab's origin: ${request.url()}`);
    });
    await page.goto(url);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
    assert.equal(new URL(page.url()).search, '', 'the token leaves the address bar');

    // At first: the saved run's numbers, every difference zero.
    const savedMetrics = JSON.parse(await readFile(join(saved, 'metrics.json'), 'utf8')) as MetricsFile;
    const first = await page.evaluate(() => (window as LabWindow).__zeroshotLab!);
    assert.deepEqual(first.metrics, savedMetrics);
    assert.equal(await tileValue(page, 'tile-accuracy'), savedMetrics.strategies.sum.accuracy);
    assert.equal(await page.textContent('#tile-accuracy .value'), `${(100 * savedMetrics.strategies.sum.accuracy).toFixed(1)}%`);
    assert.equal(await page.isDisabled('#undo'), true);

    // Add a prompt: the numbers change, and equal a CLI run of the downloaded spec.
    const added = await scoredAfter(page, async () => {
      await page.fill('#class-0-add', ADDED_PROMPT);
      await page.press('#class-0-add', 'Enter');
    });
    assert.notEqual(added.metrics.strategies.sum.accuracy, savedMetrics.strategies.sum.accuracy);
    assert.equal(await page.inputValue('#class-0-prompt-2'), ADDED_PROMPT);
    const addedSpec = await downloadedSpec(page, 'added.yaml');
    assert.match(await readFile(addedSpec, 'utf8'), new RegExp(ADDED_PROMPT));
    const addedCli = cliRun(addedSpec, join(root, 'cli-added'));
    const difference = added.metrics.strategies.sum.accuracy - savedMetrics.strategies.sum.accuracy;
    assert.equal(await page.getAttribute('#tile-accuracy .delta', 'data-difference'), String(difference));
    // The added prompt's leave-one-out change with its interval over the resamples, as the API gave them.
    const addedUsage = added.metrics.groups!.prompts!.prompts.find((p) => p.prompt === ADDED_PROMPT)!;
    const addedRow = page.locator('#prompt-table tr', { has: page.locator('td.prompt-cell', { hasText: ADDED_PROMPT }) });
    assert.match(await addedRow.locator('.ci').textContent() ?? '', /pp – .*pp/);
    assert.ok(addedUsage.accuracy_change_ci?.sum, 'the interval is in the metrics');

    // Remove the probe class: scored again, like the CLI.
    const removed = await scoredAfter(page, () => page.click('#class-7-remove'));
    assert.deepEqual(removed.metrics.classes, savedMetrics.classes.slice(0, 7));
    assert.equal(await page.$('#class-7-name'), null);
    const removedSpec = await downloadedSpec(page, 'removed.yaml');
    const removedCli = cliRun(removedSpec, join(root, 'cli-removed'));

    // Undo (the keyboard's, then the button's) brings back each earlier spec's numbers; redo returns.
    const undone = await scoredAfter(page, async () => {
      await page.locator('body').click({ position: { x: 5, y: 5 } });
      await page.keyboard.press('Control+z');
    });
    assert.equal(undone.specHash, added.specHash);
    assert.deepEqual(undone.metrics, added.metrics);
    assert.equal(await page.inputValue('#class-7-name'), 'animal');
    const twice = await scoredAfter(page, () => page.click('#undo'));
    assert.deepEqual(twice.metrics, savedMetrics);
    assert.equal(await page.isDisabled('#undo'), true);
    const redone = await scoredAfter(page, () => page.click('#redo'));
    assert.deepEqual(redone.metrics, added.metrics);
    await scoredAfter(page, () => page.keyboard.press('Control+Shift+z'));

    assert.deepEqual(removed.metrics, await removedCli);
    assert.deepEqual(added.metrics, await addedCli);

    // A confusion cell lists its images; an image shows every prompt's score.
    await page.click('#confusion-details summary');
    await page.click('#confusion-table .cell-button >> nth=0');
    await page.waitForSelector('#cell-images .lab-thumb');
    await page.click('#cell-images .lab-thumb >> nth=0');
    await page.waitForSelector('#image-scores .image-score-table');
    assert.equal(await page.locator('#image-scores .image-score-table tbody tr').count(), 15, '14 prompts + the added one');
    assert.ok(await page.locator('#cell-images img').first().evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'the thumbnail loads');

    // Save as run: the folder the server wrote equals the CLI's for the same spec.
    await page.click('#save-run');
    const folder = await page.waitForSelector('#saved-folder', { timeout: 30_000 }).then((el) => el.getAttribute('data-folder'));
    const differences = await resultsFolderDifferences(join(`${saved}-lab`, folder!), join(root, 'cli-removed'));
    assert.deepEqual(differences, []);

    // Renaming a labelled class keeps its images (the page's label map): the same numbers; the map downloads as JSON.
    const beforeRename = (await page.evaluate(() => (window as LabWindow).__zeroshotLab!)).metrics!;
    assert.equal(await page.isHidden('#download-label-map'), true);
    const renamed = await scoredAfter(page, async () => {
      await page.fill('#class-0-name', 'Caucasian');
      await page.press('#class-0-name', 'Enter');
    });
    assert.equal(renamed.metrics.classes[0], 'Caucasian');
    assert.ok(beforeRename.strategies.sum.confusion);
    assert.deepEqual(renamed.metrics.strategies.sum.confusion, beforeRename.strategies.sum.confusion);
    for (const strategy of Object.keys(beforeRename.strategies)) assert.equal(renamed.metrics.strategies[strategy].accuracy, beforeRename.strategies[strategy].accuracy, strategy);
    assert.equal(await page.$('#left-out-note'), null);
    const [mapDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-label-map')]);
    await mapDownload.saveAs(join(root, 'label-map.json'));
    assert.deepEqual(JSON.parse(await readFile(join(root, 'label-map.json'), 'utf8')), { White: 'Caucasian' });
    // Removed, its 2 images are left out of the numbers, and the note beside the tiles says so.
    await scoredAfter(page, () => page.click('#class-0-remove'));
    assert.match(await page.textContent('#left-out-note') ?? '', /^2labelled images left out: their labels name no class of this spec \(White 2\)$/);
    // Undo brings back the renamed class with its images, then the saved name and no label map.
    const unremoved = await scoredAfter(page, () => page.click('#undo'));
    assert.deepEqual(unremoved.metrics, renamed.metrics);
    const unrenamed = await scoredAfter(page, () => page.click('#undo'));
    assert.deepEqual(unrenamed.metrics, beforeRename);
    assert.equal(await page.isHidden('#download-label-map'), true);

    // A spec the server refuses (two classes named White) leaves the numbers and says why; undo mends it.
    const shownHash = await page.evaluate(() => document.body.dataset.specHash);
    refusals.expected = true;
    await page.fill('#class-1-name', 'White');
    await page.press('#class-1-name', 'Enter');
    await page.waitForFunction(() => document.body.dataset.state === 'error', null, { timeout: 20_000 });
    assert.match(await page.textContent('#notice') ?? '', /cannot be scored: .*'White'/);
    assert.equal(await page.evaluate(() => document.body.dataset.specHash), shownHash);
    await page.click('#undo');
    await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 20_000 });
    refusals.expected = false;
    assert.equal(await page.isHidden('#notice'), true);

    // A burst of edits: the numbers shown are the last spec's.
    const burst = ['a photo of a black person', 'a portrait of a black person', 'a black face'];
    const last = await scoredAfter(page, async () => {
      for (const prompt of burst) {
        await page.fill('#class-1-add', prompt);
        await page.press('#class-1-add', 'Enter');
      }
    });
    const analysed = last.metrics.groups!.prompts!.prompts.map((p) => p.prompt);
    for (const prompt of [...burst, ADDED_PROMPT]) assert.ok(analysed.includes(prompt), prompt);
    // The open image's scores follow the spec: 15 prompts and the burst's 3.
    await page.waitForFunction(() => document.querySelectorAll('#image-scores .image-score-table tbody tr').length === 18, null, { timeout: 10_000 });

    assert.deepEqual(problems, []);
    await page.close();
  });

  it('switches to templates and back, as the spec parser fills them', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const { problems, refusals } = watch(page);
    await page.goto(url);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
    const templated = await scoredAfter(page, () => page.click('#use-templates'));
    assert.equal(await page.inputValue('#template-0'), 'a photo of {article} {name}');
    const prompts = templated.metrics.groups!.prompts!.prompts.map((p) => p.prompt);
    assert.deepEqual(prompts.slice(0, 4), ['a photo of a White', 'a photo of a Black', 'a photo of a Latino_Hispanic', 'a photo of an East Asian']);
    const two = await scoredAfter(page, async () => {
      await page.fill('#add-template', 'a portrait of {article} {name} person');
      await page.press('#add-template', 'Enter');
    });
    assert.equal(two.metrics.groups!.prompts!.prompts.length, 16);
    // A template without {name} is the parser's error, said as it says it.
    refusals.expected = true;
    await page.fill('#template-1', 'a portrait');
    await page.press('#template-1', 'Enter');
    await page.waitForFunction(() => document.body.dataset.state === 'error', null, { timeout: 20_000 });
    assert.match(await page.textContent('#notice') ?? '', /has no \{name\}/);
    await page.click('#undo');
    await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 20_000 });
    refusals.expected = false;
    // Written out, each class lists the prompts its templates made: the same scores.
    await page.click('#use-prompts');
    await page.waitForFunction(() => document.body.dataset.state === 'ready' && !!document.getElementById('class-0-prompt-1'), null, { timeout: 20_000 });
    assert.equal(await page.inputValue('#class-0-prompt-1'), 'a portrait of a White person');
    assert.equal(await page.$('#template-0'), null);
    assert.deepEqual((await page.evaluate(() => (window as LabWindow).__zeroshotLab!)).metrics, two.metrics);
    assert.deepEqual(problems, []);
    await page.close();
  });
});

describe('the lab page\'s request order and history', () => {
  it('keeps the label map as labelled classes are renamed: chains follow, a rename back is no entry', () => {
    const saved = new Set(['White', 'Black']);
    const once = renamedLabelMap({}, { from: 'White', to: 'Caucasian' }, saved);
    assert.deepEqual(once, { White: 'Caucasian' });
    const twice = renamedLabelMap(once, { from: 'Caucasian', to: 'European' }, saved);
    assert.deepEqual(twice, { White: 'European' });
    assert.deepEqual(renamedLabelMap(twice, { from: 'European', to: 'White' }, saved), {});
    // A class no image is labelled with maps nothing; labels another map sent elsewhere stay there.
    assert.deepEqual(renamedLabelMap(once, { from: 'animal', to: 'creature' }, saved), once);
    assert.deepEqual(renamedLabelMap(once, { from: 'Black', to: 'White' }, saved), { White: 'Caucasian', Black: 'White' });
  });

  it('delivers only the newest answer, however late the older ones come', async () => {
    const answers: string[] = [];
    const busy: boolean[] = [];
    const delays: Record<string, number> = { slow: 120, fast: 10, late: 60 };
    const latest = new LatestRequest<string, string>({
      delayMs: 5,
      send: (request) => new Promise((resolve) => setTimeout(() => resolve(request), delays[request])),
      onAnswer: (answer) => answers.push(answer),
      onError: (error) => assert.fail(String(error)),
      onBusy: (b) => busy.push(b),
    });
    const slow = latest.now('slow');
    await new Promise((resolve) => setTimeout(resolve, 20));
    latest.schedule('late');
    latest.schedule('fast');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await slow;
    assert.deepEqual(answers, ['fast']);
    assert.equal(busy.at(-1), false);
  });

  it('undoes and redoes, drops the redo branch on a new edit, and skips no-op edits', () => {
    const history = new History({ n: 0 });
    assert.equal(history.push({ n: 0 }), false);
    history.push({ n: 1 });
    history.push({ n: 2 });
    assert.deepEqual(history.undo(), { n: 1 });
    assert.deepEqual(history.redo(), { n: 2 });
    history.undo();
    history.push({ n: 3 });
    assert.equal(history.canRedo, false);
    assert.deepEqual([history.undo(), history.undo(), history.undo()], [{ n: 1 }, { n: 0 }, null]);
  });
});
