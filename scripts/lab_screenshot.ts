// docs/lab.png: the prompt lab on the demo's run (the toy model on the 70 demo faces, --groups gender), after an edit
// that adds a prompt and a harm probe: the editor beside the numbers against the saved run, the predicted classes
// and the confusion matrix (the page down to the matrix's axis labels).
//   npm run build && node --import tsx scripts/lab_screenshot.ts [docs/lab.png]
// Everything runs offline in a temporary folder (its own embedding cache); Chromium is the tests' (test/helpers/chromium.ts).
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { launchChromium } from '../test/helpers/chromium.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'bin', 'zeroshot.js');
const out = process.argv[2] ?? join(root, 'docs', 'lab.png');
const work = await mkdtemp(join(tmpdir(), 'zeroshot-lab-shot-'));
const env = { ...process.env, ZEROSHOT_CACHE: join(work, 'cache.sqlite') };

await promisify(execFile)(process.execPath, [CLI, 'demo', '--out', join(work, 'demo')], { env });
const server = spawn(process.execPath, [CLI, 'serve', join(work, 'demo'), '--offline', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise<string>((resolve, reject) => {
  let stdout = '';
  server.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const found = /(http:\/\/\S+\?token=[0-9a-f]+)/.exec(stdout);
    if (found) resolve(found[1]);
  });
  server.once('exit', (code) => reject(new Error(`zeroshot serve exited with ${code}`)));
});

/** Waits for the score after `action` to be drawn. */
async function scored(page: Page, action: () => Promise<void>): Promise<void> {
  const before = await page.evaluate(() => document.body.dataset.specHash);
  await action();
  await page.waitForFunction((previous) => document.body.dataset.state === 'ready' && document.body.dataset.specHash !== previous, before);
}

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1300 }, deviceScaleFactor: 1 });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]');
  await scored(page, async () => {
    await page.fill('#class-0-add', 'a photo of a white person');
    await page.press('#class-0-add', 'Enter');
  });
  await scored(page, async () => {
    await page.fill('#add-class', 'animal');
    await page.press('#add-class', 'Enter');
  });
  await scored(page, () => page.check('#class-7-probe'));
  // The edits and their numbers against the saved run, from the top of the page down to the confusion matrix's end.
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const matrix = (await page.locator('#heatmap').boundingBox())!;
  await page.setViewportSize({ width: 1440, height: Math.ceil(matrix.y + matrix.height + 6) });
  // The charts redraw on resize: wait for a frame after it.
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  await page.evaluate(() => {
    window.scrollTo(0, 0);
    document.getElementById('spec-editor')!.scrollTop = 0;
  });
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  server.kill('SIGINT');
  await new Promise((resolve) => server.once('exit', resolve));
  await rm(work, { recursive: true, force: true });
}
