// Debian's Chromium, driven by playwright-core (which cannot download a browser here), with the flags every
// browser test uses: headless, no sandbox (root in CI), no GPU, and nothing that reaches the network on its own.
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

/** A new browser; the caller closes it. playwright-core is loaded only by the tests that open a page. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Opens a report in Chromium and records every console error, page error, failed or non-local request. */
export async function openReport(browser: Browser, path: string): Promise<{ page: Page; problems: string[]; readyMs: number }> {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url().slice(0, 120)} (${request.failure()?.errorText})`));
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith('file:') && !url.startsWith('data:')) problems.push(`network request: ${url}`);
  });
  const started = performance.now();
  await page.goto(pathToFileURL(path).href);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
  return { page, problems, readyMs: performance.now() - started };
}

/**
 * Records a served page's console errors and warnings, page errors and refused requests (status 400 and above),
 * except the answers `ignored` says the test provokes on purpose (and the console's line about them).
 */
export function recordServedPageProblems(page: Page, ignored: (status: number, url: string) => boolean = () => false): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error' && message.type() !== 'warning') return;
    const status = /status of (\d+)/.exec(message.text())?.[1];
    if (status && ignored(Number(status), message.location().url)) return;
    problems.push(`console ${message.type()}: ${message.text()} (${message.location().url})`);
  });
  page.on('response', (answer) => {
    if (answer.status() >= 400 && !ignored(answer.status(), answer.url())) problems.push(`${answer.status()} for ${answer.url()}`);
  });
  return problems;
}
