import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadWebBundle, WEB_BUNDLE_DIR } from '../src/report/web_bundle.js';

const WEB_SOURCES = fileURLToPath(new URL('../src/web/', import.meta.url));

/** Every file under a folder, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('browser bundles (src/web → dist/web)', () => {
  it('has a bundle for every page folder with a main.ts, found from the package root', async () => {
    const pages = readdirSync(WEB_SOURCES, { withFileTypes: true })
      .filter((e) => e.isDirectory() && readdirSync(join(WEB_SOURCES, e.name)).includes('main.ts')).map((e) => e.name);
    assert.ok(pages.includes('report') && pages.includes('compare'), `pages: ${pages}`);
    assert.equal(WEB_BUNDLE_DIR, fileURLToPath(new URL('../dist/web', import.meta.url)));
    for (const page of pages) {
      const bundle = await loadWebBundle(page);
      assert.match(bundle.script, /^"use strict";\n\(\(\) => \{/, `${page}.js is an IIFE`);
      assert.doesNotMatch(bundle.script, /\bimport\s*\(|\brequire\(/, `${page}.js loads nothing at run time`);
    }
    assert.match((await loadWebBundle('report')).style, /\.card \{/, 'the report has its styles');
  });

  it('is newer than every source of src/web (else the tests would run old browser code)', () => {
    const newest = filesUnder(WEB_SOURCES).reduce((a, f) => (statSync(f).mtimeMs > statSync(a).mtimeMs ? f : a));
    for (const bundle of filesUnder(WEB_BUNDLE_DIR)) {
      assert.ok(statSync(bundle).mtimeMs >= statSync(newest).mtimeMs, `${bundle} is older than ${newest}: run \`npm run build\``);
    }
  });

  it('says to run npm run build when a bundle is missing', async () => {
    await assert.rejects(loadWebBundle('no-such-page'), /dist\/web\/no-such-page\.js is missing: run `npm run build`.*src\/web\/no-such-page\//);
  });

  it('builds DOM nodes from text, never from HTML strings (class names, prompts and file names are user data)', () => {
    for (const file of filesUnder(WEB_SOURCES).filter((f) => f.endsWith('.ts'))) {
      assert.doesNotMatch(readFileSync(file, 'utf8'), /\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write/, file);
    }
  });
});
