// Bundles the browser code: each page is a folder src/web/<page>/ whose entry is main.ts.
// To add a page: create src/web/<page>/main.ts (and, if it has styles, `import './<page>.css'` there),
// run `npm run build`: this script finds the folder and writes dist/web/<page>.js (+ <page>.css).
// The Node side inlines or serves them with loadWebBundle('<page>') from src/report/web_bundle.ts.
// Types are checked by `tsc -p tsconfig.web.json` (esbuild only strips them), which `npm run build` runs first.
import { readdirSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const sources = join(root, 'src', 'web');
const out = join(root, 'dist', 'web');

const entryPoints = readdirSync(sources, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(sources, entry.name, 'main.ts')))
  .map((entry) => ({ in: join(sources, entry.name, 'main.ts'), out: entry.name }));

// A page removed from src/web must not linger in dist/web.
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints,
  outdir: out,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  // Not minified: the pages stay readable in the browser's debugger, and the bundles are small next to ECharts.
  minify: false,
  charset: 'utf8',
  legalComments: 'none',
  logLevel: 'warning',
});
console.log(`dist/web: ${entryPoints.map((entry) => entry.out).join(', ') || 'no pages'}`);
