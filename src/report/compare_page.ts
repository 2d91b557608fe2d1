/**
 * comparison.html: one self-contained page (styles, ECharts, data and thumbnails inline, no network) drawn from
 * the JSON in `#comparison-data` by the bundle of src/web/compare/. It computes no statistic: it formats what
 * comparison.json holds.
 */
import { selfContainedHtml } from './report_page.js';
import type { ComparisonFile } from './result_files.js';
import { loadWebBundle } from './web_bundle.js';

/** The changed images one run × strategy shows, as indices into `images`. */
export interface ChangedCell {
  readonly run: string;
  readonly strategy: string;
  readonly total: number;
  readonly images: readonly number[];
}

export interface ComparisonPageData {
  /** comparison.json's content (the gallery has the changed images it shows). */
  readonly comparison: ComparisonFile;
  readonly strategyHelp: Record<string, string>;
  readonly gallery: {
    readonly size: number;
    readonly cap: number;
    /** Thumbnail per shown image: a data: URI, or null when the file could not be read. */
    readonly images: readonly { readonly key: string; readonly src: string | null }[];
    readonly cells: readonly ChangedCell[];
    /** Per cell, per shown image: [label, baseline's class, run's class]. */
    readonly details: readonly (readonly (readonly [string, string, string])[])[];
  };
}

const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'none'; font-src 'none'; base-uri 'none'; form-action 'none'";

const BODY = String.raw`
<header><div class="wrap">
  <div><h1 id="title"></h1><p class="subtitle" id="subtitle"></p></div>
  <label class="hint">Strategy <select id="strategy-select"></select></label>
</div></header>
<main class="wrap">
  <section class="card"><h2>Runs</h2><p class="hint" id="runs-hint"></p><div class="scroll" id="runs-table"></div></section>
  <section class="card"><h2>Differences to the baseline</h2><p class="hint" id="forest-hint"></p><div class="chart" id="forest-chart"></div><div class="scroll" id="summary-table"></div></section>
  <section class="card"><h2>Group gaps per run</h2><p class="hint">Accuracy gap per run and attribute: max − min group accuracy over the groups large enough to compare, in percentage points, with its interval (resampled within each group); the table gives each run's gap minus the baseline's.</p><div class="chart" id="gaps-chart"></div><div class="scroll" id="gaps-table"></div></section>
  <section class="card"><h2>Agreement between runs</h2><p class="hint">Share of shared images with the same predicted class.</p><div class="chart" id="agreement-chart"></div></section>
  <section class="card"><h2>Images whose prediction changed</h2><p class="hint" id="gallery-hint"></p><div id="gallery"></div></section>
</main>
`;

/** The whole comparison page as one file. */
export async function comparisonHtml(data: ComparisonPageData, echartsSource: string): Promise<string> {
  const bundle = await loadWebBundle('compare');
  return selfContainedHtml({
    title: `zeroshot comparison · ${data.comparison.baseline}`,
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    style: bundle.style,
    body: BODY,
    dataId: 'comparison-data',
    data,
    echartsSource,
    script: bundle.script,
  });
}
