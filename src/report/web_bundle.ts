/**
 * The browser bundles built from src/web/<page>/ by `npm run build` (scripts/build_web.mjs) into dist/web/. They are
 * found from the package root, so the same lookup works from dist/ and from src/ run through tsx.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A page's bundled script and its styles ('' for a page without a stylesheet). */
export interface WebBundle {
  readonly script: string;
  readonly style: string;
}

/** The folder holding package.json, above this module (src/report/ or dist/report/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}: cannot locate dist/web`);
    dir = parent;
  }
  return dir;
}

/** Where the bundles of `npm run build` are. */
export const WEB_BUNDLE_DIR = join(packageRoot(), 'dist', 'web');

const bundles = new Map<string, Promise<WebBundle>>();

async function readBundle(page: string): Promise<WebBundle> {
  const scriptPath = join(WEB_BUNDLE_DIR, `${page}.js`);
  const script = await readFile(scriptPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
    throw new Error(`${scriptPath} is missing: run \`npm run build\`, which bundles the browser code of src/web/${page}/ into dist/web/`);
  });
  const style = await readFile(join(WEB_BUNDLE_DIR, `${page}.css`), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  return { script, style };
}

/** The bundle of src/web/<page>/main.ts, read once per process. */
export function loadWebBundle(page: string): Promise<WebBundle> {
  let bundle = bundles.get(page);
  if (!bundle) {
    bundle = readBundle(page);
    bundle.catch(() => bundles.delete(page)); // a later call (after `npm run build`) reads again
    bundles.set(page, bundle);
  }
  return bundle;
}
