/**
 * The report page: its markup skeleton here, its script and styles the bundle of src/web/report/ (dist/web/report.js
 * and .css, built by `npm run build`). The page draws everything from the JSON in `#report-data`; it computes no
 * metric itself, it only formats what metrics.json holds.
 */
import type { ReportData } from './html_report.js';
import { loadWebBundle } from './web_bundle.js';

/**
 * No network of any kind: scripts and styles only inline, images only as data: URIs or local files
 * (the `link` thumbnail mode), no fetch/XHR, fonts or frames.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: file: 'self'; connect-src 'none'; font-src 'none'; base-uri 'none'; form-action 'none'";

/** The static skeleton; the script fills each section from the data. Ids are stable for tests (and src/web/report reads them). */
const REPORT_BODY = String.raw`
<header class="top">
  <div class="wrap top-inner">
    <div>
      <h1 id="title">Zero-shot audit</h1>
      <p class="subtitle" id="subtitle"></p>
    </div>
    <label class="picker" for="strategy-select">Strategy <select id="strategy-select"></select></label>
  </div>
</header>
<main class="wrap">
  <section class="card" id="summary" aria-labelledby="summary-title"></section>
  <section class="card" aria-labelledby="comparison-title">
    <div class="card-head">
      <div><h2 id="comparison-title">Strategies compared</h2>
      <p class="hint" id="comparison-hint"></p></div>
    </div>
    <div id="comparison" class="scroll"></div>
  </section>
  <div class="split">
    <section class="card" aria-labelledby="heatmap-title">
      <div class="card-head">
        <div><h2 id="heatmap-title">Confusion matrix</h2>
        <p class="hint">Rows are true classes, each normalised to 100%. Hover a cell for its count; click it to see its images.</p></div>
      </div>
      <div id="heatmap" class="chart" role="img" aria-label="Confusion matrix heatmap"></div>
      <details id="confusion-details">
        <summary>Counts as a table (keyboard accessible)</summary>
        <div id="confusion-table" class="scroll"></div>
      </details>
    </section>
    <section class="card" aria-labelledby="classes-title">
      <div class="card-head"><div><h2 id="classes-title">Per class</h2>
      <p class="hint" id="classes-hint">Recall is the diagonal of the matrix: the share of a class's images predicted correctly.</p></div></div>
      <div id="class-table" class="scroll"></div>
    </section>
  </div>
  <section class="card" id="gallery-card" aria-labelledby="gallery-title">
    <div class="card-head"><div><h2 id="gallery-title">Images</h2>
    <p class="hint">Each image with its three best-scoring prompts (score = 100 · cosine similarity); <span style="color:var(--good)">✓</span> marks prompts of the image's true class.</p></div></div>
    <div id="gallery" aria-live="polite"></div>
  </section>
  <section class="card" id="groups-section" aria-labelledby="groups-title">
    <div class="card-head">
      <div><h2 id="groups-title">Accuracy by group</h2>
      <p class="hint" id="groups-hint"></p></div>
      <label class="controls" for="attribute-select">Attribute <select id="attribute-select"></select></label>
    </div>
    <div id="group-chart" class="chart" role="img" aria-label="Accuracy per group with confidence intervals"></div>
    <h3>Gaps between groups</h3>
    <div id="gaps-table" class="scroll"></div>
  </section>
  <section class="card" id="probes-section" aria-labelledby="probes-title">
    <div class="card-head">
      <div><h2 id="probes-title">Harm probes</h2>
      <p class="hint" id="probes-hint"></p></div>
    </div>
    <div id="probe-chart" class="chart" role="img" aria-label="Harm-probe rate per group"></div>
    <div id="probe-table" class="scroll"></div>
  </section>
  <section class="card" aria-labelledby="prompts-title">
    <div class="card-head">
      <div><h2 id="prompts-title">Prompts</h2>
      <p class="hint" id="prompts-hint"></p></div>
    </div>
    <div id="prompt-table" class="scroll"></div>
  </section>
  <section class="card" id="ranking-section" aria-labelledby="ranking-title">
    <div class="card-head">
      <div><h2 id="ranking-title">Ranking bias</h2>
      <p class="hint" id="ranking-hint"></p></div>
      <label class="controls" for="ranking-attribute-select">Attribute <select id="ranking-attribute-select"></select></label>
    </div>
    <div id="ranking-table" class="scroll"></div>
  </section>
</main>
<footer class="wrap" id="footer"></footer>
`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * JSON that cannot end its <script> element early: every `<` becomes \u003c (covers `</script` and
 * `<!--`), which JSON.parse reads back as the same character.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** Inline JavaScript with any `</script` or `<!--` defused; inside strings and regexes `<\/` and `<\!` mean the same. */
export function scriptForInline(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** What a self-contained page (report.html, comparison.html) is made of: everything inline, nothing fetched. */
export interface SelfContainedPage {
  readonly title: string;
  readonly contentSecurityPolicy: string;
  readonly style: string;
  readonly body: string;
  /** Id of the JSON data element the page script reads. */
  readonly dataId: string;
  readonly data: unknown;
  readonly echartsSource: string;
  readonly script: string;
}

/** One HTML file with its styles, ECharts, the data and the page script inline. */
export function selfContainedHtml(page: SelfContainedPage): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="${page.contentSecurityPolicy}">`,
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(page.title)}</title>`,
    `<style>${page.style}</style>`,
    '</head>',
    '<body>',
    page.body,
    `<script type="application/json" id="${page.dataId}">${jsonForScript(page.data)}</script>`,
    `<script>${scriptForInline(page.echartsSource)}</script>`,
    `<script>${scriptForInline(page.script)}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The whole report page. */
export async function reportHtml(data: ReportData, echartsSource: string): Promise<string> {
  const bundle = await loadWebBundle('report');
  return selfContainedHtml({
    title: `Zero-shot audit · ${data.run.spec.name}`,
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    style: bundle.style,
    body: REPORT_BODY,
    dataId: 'report-data',
    data,
    echartsSource,
    script: bundle.script,
  });
}
