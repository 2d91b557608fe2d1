/**
 * comparison.html: one self-contained page (styles, ECharts, data and thumbnails inline, no network) drawn from
 * the JSON in `#comparison-data`. It computes no statistic: it formats what comparison.json holds.
 */
import { selfContainedHtml } from './report_page.js';
import type { ComparisonFile } from './result_files.js';

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

const STYLE = String.raw`
:root { --ink: #1c2530; --muted: #5a6572; --line: #e3e7ec; --page: #f3f5f8; --accent: #0b5cad; color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--page); color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; font-variant-numeric: tabular-nums; }
.wrap { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 14px 0; position: sticky; top: 0; z-index: 5; }
header .wrap { display: flex; justify-content: space-between; align-items: center; gap: 20px; flex-wrap: wrap; }
h1 { font-size: 21px; margin: 0; } h2 { font-size: 17px; margin: 0 0 6px; }
.subtitle, .hint { color: var(--muted); font-size: 13.5px; margin: 2px 0 0; }
main { display: grid; gap: 20px; padding: 22px 0 40px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 22px; min-width: 0; }
.chart { width: 100%; height: 320px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin-top: 10px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { color: var(--muted); font-weight: 600; }
.scroll { overflow-x: auto; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); gap: 10px; margin-top: 10px; }
.tile { background: var(--page); border-radius: 8px; padding: 8px; font-size: 12px; overflow-wrap: anywhere; }
.tile img, .tile .missing { display: block; width: 100%; aspect-ratio: 1; object-fit: cover; border-radius: 6px; background: #dde2e8; }
.from { color: #a4261b; } .to { color: #00785a; }
.empty { color: var(--muted); border: 1px dashed #cfd5dc; border-radius: 8px; padding: 14px; text-align: center; }
select { font: inherit; padding: 5px 8px; border-radius: 8px; border: 1px solid #c7ced6; }
`;

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

const SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('comparison-data').textContent);
  var c = data.comparison;
  var strategies = []; c.comparisons.forEach(function (x) { if (strategies.indexOf(x.strategy) < 0) strategies.push(x.strategy); });
  var state = { strategy: strategies[0] || null };
  var charts = [];
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (attrs[k] !== null && attrs[k] !== undefined) node[k] = attrs[k]; });
    [].concat(children === undefined ? [] : children).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }
  function pct(x) { return x === null || x === undefined ? '–' : (100 * x).toFixed(1); }
  function signed(x) { return x === null || x === undefined ? '–' : (x > 0 ? '+' : x < 0 ? '−' : '') + Math.abs(100 * x).toFixed(1); }
  function ci(v, format) { if (!v) return '–'; return format(v.value) + (v.ci ? ' [' + format(v.ci[0]) + ', ' + format(v.ci[1]) + ']' : ''); }
  function p(x) { return x < 0.001 ? '<0.001' : x.toFixed(3); }
  function table(header, rows) {
    return el('table', {}, [el('thead', {}, el('tr', {}, header.map(function (h) { return el('th', {}, h); }))),
      el('tbody', {}, rows.map(function (r) { return el('tr', {}, r.map(function (cell) { return el('td', {}, cell); })); }))]);
  }
  function fill(id, node) { var target = document.getElementById(id); target.textContent = ''; target.appendChild(node); }
  function chart(id) {
    var node = document.getElementById(id);
    var existing = echarts.getInstanceByDom(node);
    if (existing) return existing;
    var made = echarts.init(node, null, { renderer: 'canvas' }); charts.push(made); return made;
  }
  function rows() { return c.comparisons.filter(function (x) { return x.strategy === state.strategy; }); }
  function others() { return rows().filter(function (x) { return x.run !== c.baseline; }); }

  /** Horizontal intervals with a point: one line per (run, statistic). */
  function intervalSeries(items) {
    return {
      type: 'custom',
      renderItem: function (params, api) {
        var low = api.coord([api.value(1), api.value(0)]), high = api.coord([api.value(2), api.value(0)]);
        return { type: 'line', shape: { x1: low[0], y1: low[1], x2: high[0], y2: high[1] }, style: { stroke: '#0b5cad', lineWidth: 2 } };
      },
      encode: { x: [1, 2], y: 0 },
      data: items.filter(function (d) { return d.ci; }).map(function (d) { return [d.label, d.ci[0], d.ci[1]]; }),
      z: 1,
    };
  }

  function axisPercent(v) { return String(+(100 * v).toFixed(1)); }
  /** Points with their intervals, one row per item, and a dashed line at 0 when asked. */
  function dotChart(id, items, zeroLine) {
    var node = document.getElementById(id);
    node.style.height = Math.max(160, 60 + 34 * items.length) + 'px';
    var made = chart(id);
    made.setOption({
      animation: false,
      grid: { left: 240, right: 30, top: 10, bottom: 30 },
      tooltip: { trigger: 'item', formatter: function (d) { var item = items[d.dataIndex]; return item ? item.label + ': ' + ci(item, zeroLine ? signed : pct) : ''; } },
      xAxis: { type: 'value', scale: !zeroLine, axisLabel: { formatter: axisPercent } },
      yAxis: { type: 'category', data: items.map(function (d) { return d.label; }), inverse: true },
      series: [
        intervalSeries(items),
        { type: 'scatter', data: items.map(function (d) { return [d.value, d.label]; }), symbolSize: 9, itemStyle: { color: '#0b5cad' }, z: 2,
          markLine: zeroLine ? { silent: true, symbol: 'none', label: { show: false }, data: [{ xAxis: 0 }], lineStyle: { color: '#8a94a0', type: 'dashed' } } : undefined },
      ],
    }, true);
    made.resize();
  }

  function drawForest() {
    var items = [];
    others().forEach(function (x) {
      [['accuracy', x.accuracy_difference], ['balanced accuracy', x.balanced_accuracy_difference], ['probe rate', x.probe_rate_difference]].forEach(function (pair) {
        if (pair[1] && pair[1].value !== null) items.push({ label: x.run + ' · ' + pair[0], value: pair[1].value, ci: pair[1].ci });
      });
    });
    document.getElementById('forest-hint').textContent = 'Each run minus ' + c.baseline + ', in percentage points, with the ' + c.settings.interval + ' paired bootstrap interval (' + c.settings.bootstrap + ' resamples, seed ' + c.settings.seed + '). Left of 0: worse than the baseline.';
    dotChart('forest-chart', items, true);
    fill('summary-table', table(
      ['run', 'accuracy', 'Δ accuracy', 'balanced acc.', 'Δ balanced acc.', 'McNemar p (mid-p)', 'agreement', 'κ', 'probe rate', 'Δ probe rate'],
      rows().map(function (x) {
        var base = x.run === c.baseline;
        return [x.run, ci(x.accuracy, pct), base ? 'baseline' : ci(x.accuracy_difference, signed), ci(x.balanced_accuracy, pct), base ? 'baseline' : ci(x.balanced_accuracy_difference, signed),
          base ? '–' : p(x.mcnemar.p_value) + ' (' + p(x.mcnemar.mid_p_value) + ')', pct(x.agreement), x.kappa === null ? '–' : x.kappa.toFixed(3), ci(x.probe_rate, pct), base ? 'baseline' : ci(x.probe_rate_difference, signed)];
      })));
  }

  function drawGaps() {
    var attributes = [];
    rows().forEach(function (x) { x.attributes.forEach(function (a) { if (attributes.indexOf(a.attribute) < 0) attributes.push(a.attribute); }); });
    var node = document.getElementById('gaps-chart');
    if (!attributes.length) { node.style.display = 'none'; fill('gaps-table', el('p', { className: 'empty' }, 'The runs have no group columns (zeroshot run --groups).')); return; }
    var items = [];
    rows().forEach(function (x) {
      x.attributes.forEach(function (a) { if (a.accuracy_gap.value !== null) items.push({ label: x.run + ' · ' + a.attribute, value: a.accuracy_gap.value, ci: a.accuracy_gap.ci }); });
    });
    dotChart('gaps-chart', items, false);
    fill('gaps-table', table(['run'].concat(attributes.map(function (a) { return a + ' gap'; }), attributes.map(function (a) { return 'Δ ' + a + ' gap'; })),
      rows().map(function (x) {
        var find = function (name) { return x.attributes.find(function (y) { return y.attribute === name; }); };
        return [x.run].concat(attributes.map(function (name) { var a = find(name); return a ? ci(a.accuracy_gap, pct) : '–'; }),
          attributes.map(function (name) { var a = find(name); return x.run === c.baseline ? 'baseline' : a ? ci(a.accuracy_gap_difference, signed) : '–'; }));
      })));
  }

  function drawAgreement() {
    var matrix = c.agreement_matrix[state.strategy] || [];
    var names = c.runs.map(function (r) { return r.name; });
    var cells = [];
    matrix.forEach(function (row, i) { row.forEach(function (v, j) { if (v !== null) cells.push([j, i, v]); }); });
    chart('agreement-chart').setOption({
      animation: false, grid: { left: 160, right: 80, top: 10, bottom: 60 },
      xAxis: { type: 'category', data: names }, yAxis: { type: 'category', data: names, inverse: true },
      visualMap: { min: 0, max: 1, calculable: false, orient: 'vertical', right: 0, top: 'center', inRange: { color: ['#f7fbff', '#0b5cad'] } },
      series: [{ type: 'heatmap', data: cells, label: { show: true, formatter: function (d) { return pct(d.value[2]); } } }],
    }, true);
  }

  function drawGallery() {
    var target = document.getElementById('gallery'); target.textContent = '';
    var shown = 0;
    data.gallery.cells.forEach(function (cell, k) {
      if (cell.strategy !== state.strategy) return;
      target.appendChild(el('h3', {}, cell.run + ': ' + cell.total + ' changed' + (cell.total > cell.images.length ? ' (first ' + cell.images.length + ' shown)' : '')));
      if (!cell.images.length) { target.appendChild(el('p', { className: 'empty' }, 'No image changed.')); return; }
      target.appendChild(el('div', { className: 'tiles' }, cell.images.map(function (index, n) {
        var image = data.gallery.images[index], detail = data.gallery.details[k][n];
        shown += 1;
        return el('div', { className: 'tile', title: image.key }, [
          image.src ? el('img', { src: image.src, alt: image.key, width: data.gallery.size, height: data.gallery.size }) : el('div', { className: 'missing' }),
          el('div', {}, image.key),
          el('div', {}, [el('span', { className: 'from' }, detail[1]), ' → ', el('span', { className: 'to' }, detail[2])]),
          detail[0] ? el('div', { className: 'hint' }, 'label: ' + detail[0]) : null,
        ]);
      })));
    });
    document.getElementById('gallery-hint').textContent = 'Baseline ' + c.baseline + '’s class → the run’s class, for strategy ' + state.strategy + '. changed.csv lists every one.';
    return shown;
  }

  function draw() {
    drawForest(); drawGaps(); drawAgreement();
    var shown = drawGallery();
    window.__zeroshotComparison = { strategy: state.strategy, charts: charts.length, tiles: shown };
  }

  document.getElementById('title').textContent = 'Comparison against ' + c.baseline;
  document.getElementById('subtitle').textContent = c.runs.length + ' runs, ' + c.shared_images + ' shared images (aligned by ' + c.aligned_by + ')';
  document.getElementById('runs-hint').textContent = 'Every run is compared with ' + c.baseline + ' on the ' + c.shared_images + ' images all runs share; "left out": images of the run that another run lacks.';
  fill('runs-table', table(['run', 'model', 'dtype', 'spec', 'strategies', 'left out'], c.runs.map(function (r) {
    return [r.name + (r.name === c.baseline ? ' (baseline)' : ''), r.model, r.dtype, r.spec, r.strategies.join(', '), String(r.left_out)];
  })));
  var select = document.getElementById('strategy-select');
  strategies.forEach(function (s) { select.appendChild(el('option', { value: s, title: data.strategyHelp[s] || '' }, s)); });
  select.disabled = strategies.length < 2;
  select.addEventListener('change', function () { state.strategy = select.value; draw(); });
  window.addEventListener('resize', function () { charts.forEach(function (x) { x.resize(); }); });
  draw();
  document.body.dataset.ready = '1';
})();
`;

/** The whole comparison page as one file. */
export function comparisonHtml(data: ComparisonPageData, echartsSource: string): string {
  return selfContainedHtml({
    title: `zeroshot comparison · ${data.comparison.baseline}`,
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    style: STYLE,
    body: BODY,
    dataId: 'comparison-data',
    data,
    echartsSource,
    script: SCRIPT,
  });
}
