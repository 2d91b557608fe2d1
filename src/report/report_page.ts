/**
 * The report page: markup, styles and the browser script, kept as TS string constants so that `tsc`
 * ships them in dist/ without a copy step. The page draws everything from the JSON in
 * `#report-data`; it computes no metric itself, it only formats what metrics.json holds.
 */
import type { ReportData } from './html_report.js';

/**
 * No network of any kind: scripts and styles only inline, images only as data: URIs or local files
 * (the `link` thumbnail mode), no fetch/XHR, fonts or frames.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: file: 'self'; connect-src 'none'; font-src 'none'; base-uri 'none'; form-action 'none'";

const REPORT_STYLE = String.raw`
:root {
  --ink: #1c2530; --muted: #5a6572; --faint: #8a94a0; --line: #e3e7ec; --panel: #ffffff; --page: #f3f5f8;
  --accent: #0b5cad; --accent-soft: #e6f0fa; --good: #00785a; --warn-ink: #7a4a00; --warn-bg: #fff1d6;
  --probe: #b8430b; --helps: #0b5cad; --hurts: #a24a00;
  --radius: 10px;
  color-scheme: light;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--page); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-variant-numeric: tabular-nums;
}
.wrap { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
header.top { position: sticky; top: 0; z-index: 20; background: rgba(255,255,255,0.96); border-bottom: 1px solid var(--line); backdrop-filter: blur(6px); }
.top-inner { display: flex; align-items: center; justify-content: space-between; gap: 24px; padding-top: 14px; padding-bottom: 14px; }
h1 { font-size: 21px; line-height: 1.25; margin: 0; letter-spacing: -0.01em; }
h2 { font-size: 17px; margin: 0 0 4px; letter-spacing: -0.005em; }
h3 { font-size: 14px; margin: 18px 0 8px; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
.subtitle { margin: 2px 0 0; color: var(--muted); font-size: 13.5px; }
.picker { display: flex; align-items: center; gap: 10px; font-size: 13.5px; color: var(--muted); white-space: nowrap; }
select {
  font: inherit; color: var(--ink); font-size: 14px; padding: 6px 30px 6px 10px; border: 1px solid #c7ced6; border-radius: 8px; background: #fff;
  appearance: none; background-image: linear-gradient(45deg, transparent 50%, #5a6572 50%), linear-gradient(135deg, #5a6572 50%, transparent 50%);
  background-position: calc(100% - 15px) 55%, calc(100% - 10px) 55%; background-size: 5px 5px; background-repeat: no-repeat;
}
select:focus-visible, button:focus-visible, summary:focus-visible { outline: 3px solid #7fb2e6; outline-offset: 2px; }
main { padding-top: 22px; padding-bottom: 40px; display: grid; gap: 20px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: 20px 22px; box-shadow: 0 1px 2px rgba(16,24,40,0.04); min-width: 0; }
.card-head { display: flex; align-items: flex-start; justify-content: space-between; gap: 16px; flex-wrap: wrap; margin-bottom: 12px; }
.hint { color: var(--muted); font-size: 13.5px; margin: 0; }
.note { color: var(--muted); font-size: 13px; margin: 10px 0 0; }
.empty { color: var(--muted); background: var(--page); border: 1px dashed #cfd5dc; border-radius: 8px; padding: 18px; text-align: center; font-size: 14px; }
.split { display: grid; grid-template-columns: minmax(0, 8fr) minmax(0, 7fr); gap: 20px; align-items: start; }
#gallery-card { scroll-margin-top: 90px; }
@media (max-width: 980px) { .split { grid-template-columns: 1fr; } .top-inner { flex-wrap: wrap; } }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(132px, 1fr)); gap: 10px; margin: 14px 0 4px; }
.tile { background: var(--page); border-radius: 8px; padding: 10px 12px; }
.tile .value { font-size: 22px; font-weight: 650; letter-spacing: -0.01em; }
.tile .label { font-size: 12.5px; color: var(--muted); }
.tile.bad { background: #fdecea; } .tile.bad .value { color: #a4261b; }
.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 4px 18px; margin: 14px 0 0; font-size: 14px; }
.facts dt { color: var(--muted); } .facts dd { margin: 0; overflow-wrap: anywhere; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; }
.chip { display: inline-flex; align-items: center; gap: 6px; border: 1px solid var(--line); border-radius: 999px; padding: 1px 10px; font-size: 13px; background: #fafbfc; }
.chip small { color: var(--muted); }
.badge { display: inline-block; border-radius: 5px; padding: 0 6px; font-size: 11.5px; font-weight: 600; line-height: 18px; vertical-align: 1px; }
.badge.probe { background: #fbe7dc; color: var(--probe); }
.badge.best { background: #dff3ec; color: var(--good); }
.badge.small { background: var(--warn-bg); color: var(--warn-ink); }
.badge.only { background: #eceff3; color: var(--muted); }
.timing { display: flex; height: 12px; border-radius: 6px; overflow: hidden; background: var(--page); margin: 6px 0 6px; }
.timing span { display: block; height: 100%; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; color: var(--muted); }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 3px; margin-right: 6px; vertical-align: -1px; }
details { margin-top: 12px; }
summary { cursor: pointer; color: var(--accent); font-size: 14px; }
.scroll { overflow-x: auto; }
table.data { border-collapse: collapse; width: 100%; font-size: 13.5px; }
table.data th, table.data td { padding: 7px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
table.data thead th { font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: 0.03em; border-bottom: 1px solid #cfd5dc; vertical-align: bottom; }
table.data td.num, table.data th.num { text-align: right; }
table.data td.num { white-space: nowrap; }
table.data th.group { text-align: center; border-bottom: 1px solid var(--line); }
table.data td.prompt-cell { min-width: 230px; }
.nowrap { white-space: nowrap; }
table.data tbody tr:hover { background: #f8fafc; }
table.data tr.current { background: var(--accent-soft); }
table.data tr.current:hover { background: var(--accent-soft); }
.ci { color: var(--faint); font-size: 12px; white-space: nowrap; }
.linklike { font: inherit; color: var(--accent); background: none; border: 0; padding: 0; cursor: pointer; text-align: left; font-weight: 600; }
.linklike:hover { text-decoration: underline; }
.forest { position: relative; height: 22px; min-width: 160px; }
.forest::before { content: ""; position: absolute; left: 0; right: 0; top: 50%; border-top: 1px solid var(--line); }
.forest .range { position: absolute; top: calc(50% - 1px); height: 2px; background: #6d7884; }
.forest .range::before, .forest .range::after { content: ""; position: absolute; top: -5px; height: 12px; border-left: 2px solid #6d7884; }
.forest .range::before { left: -1px; } .forest .range::after { right: -1px; }
.forest .dot { position: absolute; top: calc(50% - 6px); width: 12px; height: 12px; margin-left: -6px; border-radius: 50%; background: var(--accent); border: 2px solid #fff; box-shadow: 0 0 0 1px var(--accent); }
.forest-axis { display: flex; justify-content: space-between; font-size: 11px; color: var(--faint); font-weight: 400; text-transform: none; letter-spacing: 0; }
.meter { display: flex; align-items: center; gap: 8px; justify-content: flex-end; }
.meter .track { width: 64px; height: 8px; background: var(--page); border-radius: 4px; overflow: hidden; flex: none; }
.meter .fill { height: 100%; background: #5b9bd5; border-radius: 4px; }
.delta.helps { color: var(--helps); } .delta.hurts { color: var(--hurts); } .delta.zero { color: var(--faint); }
.chart { width: 100%; min-height: 180px; }
.chart.is-empty { min-height: 0; height: auto !important; }
#heatmap { height: 420px; }
.matrix td, .matrix th { text-align: center !important; }
.matrix th[scope="row"] { text-align: left !important; }
.cell-button { font: inherit; min-width: 44px; padding: 3px 8px; border-radius: 6px; border: 1px solid #c9d4e0; background: #fff; color: var(--ink); cursor: pointer; }
.cell-button.diagonal { background: #eef5fc; border-color: #a9c6e6; }
.cell-button:hover, .cell-button[aria-pressed="true"] { border-color: var(--accent); box-shadow: 0 0 0 1px var(--accent); }
.gallery-head { margin: 0 0 12px; }
.gallery-head .cellname { font-size: 16px; font-weight: 650; }
.gallery-head .arrow { color: var(--faint); margin: 0 6px; }
.thumbs { display: grid; grid-template-columns: repeat(auto-fill, minmax(290px, 1fr)); gap: 10px; }
.thumb { display: flex; gap: 10px; margin: 0; padding: 8px; border: 1px solid var(--line); border-radius: 8px; background: #fcfcfd; min-width: 0; }
.thumb img, .thumb .missing { width: 72px; height: 72px; border-radius: 6px; object-fit: cover; flex: none; background: var(--page); }
.thumb .missing { display: grid; place-items: center; font-size: 11px; color: var(--faint); text-align: center; }
.thumb figcaption { min-width: 0; font-size: 12px; line-height: 1.35; }
.thumb .key { font-weight: 600; color: var(--ink); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; margin-bottom: 3px; }
.thumb ol { list-style: none; margin: 0; padding: 0; }
.thumb li { display: flex; gap: 6px; color: var(--muted); margin-top: 1px; }
.thumb li .score { flex: none; width: 36px; text-align: right; color: var(--ink); }
.thumb li .prompt { min-width: 0; overflow-wrap: anywhere; }
.thumb li.own .prompt { color: var(--good); }
.thumb li .mark { flex: none; width: 10px; }
.more { margin: 12px 0 0; color: var(--muted); font-size: 13.5px; }
.controls { display: flex; align-items: center; gap: 10px; font-size: 13.5px; color: var(--muted); }
footer { color: var(--faint); font-size: 12.5px; padding-top: 4px; padding-bottom: 32px; }
`;

/** The static skeleton; the script fills each section from the data. Ids are stable for tests. */
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

/**
 * The browser side. Plain ES2020 in a raw string (no backticks or template placeholders inside), so
 * it needs no bundler; DOM nodes are built with textContent, never innerHTML, because class names,
 * prompts and file names are user data.
 */
const REPORT_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var echarts = window.echarts;
  // Okabe–Ito: distinguishable with colour-vision deficiencies.
  var CATEGORICAL = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#999999'];
  // ColorBrewer Blues: sequential, light = few, dark = many.
  var SEQUENTIAL = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];
  var BAR = '#3b7dc4', BAR_SMALL = '#d3d9e0', PROBE_BAR = '#d4733a', WHISKER = '#2c3a47';
  var FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
  var TOO_SMALL = 'too small for a conclusion';

  var audit = data.audit;
  var state = {
    strategy: data.strategies[0] || null,
    attribute: 0,
    rankingAttribute: 0,
    cell: null,
    classQuery: ''
  };

  // ---------- helpers ----------
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v == null || v === false) return;
        if (k === 'text') el.textContent = v;
        else if (k === 'on') Object.keys(v).forEach(function (ev) { el.addEventListener(ev, v[ev]); });
        else if (k === 'style') el.setAttribute('style', v);
        else el.setAttribute(k === 'className' ? 'class' : k, v === true ? '' : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, child) {
    if (child == null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
    el.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  function fill(id) {
    var el = document.getElementById(id);
    el.replaceChildren();
    for (var i = 1; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]; });
  }
  function pct(x, digits) { return x == null ? '—' : (100 * x).toFixed(digits == null ? 1 : digits) + '%'; }
  function interval(ci, format) { format = format || pct; return ci ? format(ci[0]) + ' – ' + format(ci[1]) : ''; }
  /** A difference of shares in percentage points, unsigned (gaps and spreads are never negative). */
  function points(x) { return x == null ? '—' : (100 * x).toFixed(1) + ' pp'; }
  function int(n) { return n == null ? '—' : Number(n).toLocaleString('en-US'); }
  function pp(x) {
    if (x == null) return '—';
    var v = Math.round(1000 * x) / 10;
    return (v > 0 ? '+' : v < 0 ? '−' : '±') + Math.abs(v).toFixed(1) + ' pp';
  }
  function plural(n, one, many) { return int(n) + ' ' + (n === 1 ? one : many); }
  function fixed(x, digits) { return x == null ? '—' : Number(x).toFixed(digits); }
  function empty(message) { return h('div', { className: 'empty' }, message); }
  /** head: the header cells, or a list of header rows. */
  function table(head, rows, extraClass) {
    var headRows = Array.isArray(head[0]) ? head : [head];
    return h('table', { className: 'data' + (extraClass ? ' ' + extraClass : '') },
      h('thead', null, headRows.map(function (cells) { return h('tr', null, cells); })),
      h('tbody', null, rows));
  }
  function th(text, numeric, title) { return h('th', { className: numeric ? 'num' : null, scope: 'col', title: title }, text); }
  function td(content, numeric) { return h('td', { className: numeric ? 'num' : null }, content); }
  function withCi(value, ci, format) { return [value, ci ? h('div', { className: 'ci' }, interval(ci, format)) : null]; }
  /** A value with a small bar scaled to the column's largest value. */
  function meter(label, x, max) {
    var w = x == null || !max ? 0 : Math.max(0, Math.min(1, x / max));
    return h('div', { className: 'meter' }, h('span', null, label),
      h('div', { className: 'track', 'aria-hidden': 'true' }, h('div', { className: 'fill', style: 'width:' + (100 * w).toFixed(1) + '%' })));
  }
  function truthLabel(c) { return c < 0 ? 'no label' : data.classes[c]; }
  function setVisible(id, visible) { document.getElementById(id).style.display = visible ? '' : 'none'; }

  var charts = [];
  function chartIn(el) {
    if (el.classList.contains('is-empty')) { el.classList.remove('is-empty'); el.replaceChildren(); }
    var chart = echarts.getInstanceByDom(el);
    if (!chart) { chart = echarts.init(el, null, { renderer: 'canvas' }); charts.push(chart); }
    else chart.resize();
    return chart;
  }
  /** Replaces a chart with a message (e.g. a section the results cannot fill). */
  function showChartMessage(el, message) {
    var chart = echarts.getInstanceByDom(el);
    if (chart) { charts.splice(charts.indexOf(chart), 1); chart.dispose(); }
    el.classList.add('is-empty');
    el.replaceChildren(empty(message));
  }
  window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });

  // ---------- header and summary ----------
  function renderHeader() {
    var run = data.run;
    document.getElementById('title').textContent = 'Zero-shot audit · ' + run.spec.name;
    var parts = [run.model.id, int(run.counts.embedded) + ' images', data.strategies.length + ' strategies'];
    if (run.finished_at) parts.push(run.finished_at.slice(0, 16).replace('T', ' ') + ' UTC');
    document.getElementById('subtitle').textContent = parts.join(' · ');
    var select = document.getElementById('strategy-select');
    data.strategies.forEach(function (s) { select.appendChild(h('option', { value: s }, s)); });
    select.disabled = data.strategies.length < 2;
    select.addEventListener('change', function () { selectStrategy(select.value); });
    fill('footer', 'Generated by ' + run.tool.name + ' ' + run.tool.version + ' from the results folder (run.json, metrics.json, predictions.csv, similarities.json). ' +
      'Self-contained: every number comes from those files, and the page loads nothing from the network.');
  }

  function renderSummary() {
    var run = data.run, c = run.counts;
    var tiles = [
      ['Images found', c.found], ['Embedded', c.embedded], ['Failed', c.failed, c.failed > 0],
      ['Labelled', c.labelled], ['Without a label', c.unlabelled], ['Labels without an image', c.labels_without_image],
      ['Non-image files ignored', c.ignored_files]
    ];
    var model = run.model;
    var probes = run.spec.classes.filter(function (k) { return k.probe; });
    var promptCount = run.spec.classes.reduce(function (n, k) { return n + k.prompts.length; }, 0);
    var facts = [
      ['Model', model.id + (model.kind === 'folder' && model.path && model.path !== model.id ? ' (' + model.path + ')' : '') + ' · revision ' + model.revision + ' · ' + model.dtype + ' · ' + model.threads + ' threads'],
      ['Spec', run.spec.name + ' (' + run.spec.source + ') · ' + plural(run.spec.classes.length - probes.length, 'class', 'classes') + ', ' + plural(probes.length, 'harm probe', 'harm probes') + ', ' + plural(promptCount, 'prompt', 'prompts')],
      ['Strategies', data.strategies.join(', ')],
      ['Labels', run.label_column ? 'column “' + run.label_column + '”' : 'none (no accuracy, no group audit)'],
      ['Images folder', run.images_root],
      ['Batch size', String(run.batch_size)]
    ];
    if (audit) {
      var st = audit.settings;
      facts.push(['Audit', st.bootstrap + ' bootstrap resamples (seed ' + st.seed + ', ' + pct(st.confidence, 0) + ' intervals) · groups under ' + st.min_group_size + ' images are too small for a conclusion · ranking depth k = ' + st.ranking_k]);
    }
    var section = fill('summary',
      h('h2', { id: 'summary-title' }, 'Run'),
      h('div', { className: 'tiles' }, tiles.map(function (t) {
        return h('div', { className: 'tile' + (t[2] ? ' bad' : '') }, h('div', { className: 'value' }, int(t[1])), h('div', { className: 'label' }, t[0]));
      })),
      h('dl', { className: 'facts' }, facts.map(function (f) { return [h('dt', null, f[0]), h('dd', null, f[1])]; })),
      h('h3', null, 'Classes'),
      h('div', { className: 'chips' }, run.spec.classes.map(function (k) {
        return h('span', { className: 'chip', title: k.prompts.join('\n') }, k.name, h('small', null, k.prompts.length + (k.prompts.length === 1 ? ' prompt' : ' prompts')),
          k.probe ? h('span', { className: 'badge probe' }, 'probe') : null);
      })),
      timings(run.timings),
      failures());
    return section;
  }

  function timings(t) {
    // Stage durations end in _s; the total and rates (images_per_s) are not stages.
    var stages = Object.keys(t).filter(function (k) { return /_s$/.test(k) && k !== 'total_s' && !/_per_s$/.test(k); });
    if (!stages.length) return null;
    var total = t.total_s || stages.reduce(function (s, k) { return s + t[k]; }, 0);
    var label = function (k) { return k.replace(/_s$/, '').replace(/_/g, ' '); };
    var head = 'Timings · ' + fixed(total, 1) + ' s in total' + (t.images_per_s ? ' · ' + fixed(t.images_per_s, 1) + ' images/s' : '');
    return [
      h('h3', null, head),
      h('div', { className: 'timing', role: 'img', 'aria-label': 'Time per stage' }, stages.map(function (k, i) {
        return h('span', { title: label(k) + ': ' + fixed(t[k], 2) + ' s', style: 'width:' + (100 * t[k] / (total || 1)).toFixed(2) + '%;background:' + CATEGORICAL[i % CATEGORICAL.length] });
      })),
      h('div', { className: 'legend' }, stages.map(function (k, i) {
        return h('span', null, h('i', { style: 'background:' + CATEGORICAL[i % CATEGORICAL.length] }), label(k) + ' ' + fixed(t[k], 2) + ' s');
      }))
    ];
  }

  function failures() {
    var f = data.failures;
    if (!f.total) return null;
    return h('details', null,
      h('summary', null, int(f.total) + (f.total === 1 ? ' image' : ' images') + ' could not be read' + (f.total > f.listed.length ? ' (first ' + f.listed.length + ' listed)' : '')),
      h('div', { className: 'scroll' }, table([th('Image'), th('Error')], f.listed.map(function (e) { return h('tr', null, td(e.image), td(e.error)); }))));
  }

  // ---------- strategy comparison ----------
  function comparisonRows() {
    if (audit && audit.comparison.length) return audit.comparison;
    if (!data.metrics) return [];
    return data.strategies.map(function (s) {
      var m = data.metrics[s];
      return { strategy: s, n_labelled: m.n, accuracy: m.accuracy, accuracy_ci: null, balanced_accuracy: m.balanced_accuracy, balanced_accuracy_ci: null };
    });
  }

  /** A shared axis for dot-and-whisker rows: padded to 5% steps so small differences stay visible. */
  function forestDomain(rows, key) {
    var lo = 1, hi = 0;
    rows.forEach(function (r) {
      var ci = r[key + '_ci'] || [r[key], r[key]];
      lo = Math.min(lo, r[key], ci[0]); hi = Math.max(hi, r[key], ci[1]);
    });
    lo = Math.max(0, Math.floor((lo - 0.01) * 20) / 20);
    hi = Math.min(1, Math.ceil((hi + 0.01) * 20) / 20);
    if (hi - lo < 0.1) { lo = Math.max(0, hi - 0.1); hi = Math.min(1, lo + 0.1); }
    return [lo, hi];
  }
  function forest(value, ci, domain) {
    var at = function (x) { return (100 * (x - domain[0]) / (domain[1] - domain[0])).toFixed(2) + '%'; };
    return h('div', { className: 'forest', 'aria-hidden': 'true' },
      ci ? h('div', { className: 'range', style: 'left:' + at(ci[0]) + ';width:calc(' + at(ci[1]) + ' - ' + at(ci[0]) + ')' }) : null,
      h('div', { className: 'dot', style: 'left:' + at(value) }));
  }
  function forestHead(label, domain) {
    return h('th', { scope: 'col', style: 'min-width:200px' }, label, h('div', { className: 'forest-axis' }, h('span', null, pct(domain[0], 0)), h('span', null, pct(domain[1], 0))));
  }

  function renderComparison() {
    var rows = comparisonRows();
    var hint = document.getElementById('comparison-hint');
    if (!rows.length) {
      hint.textContent = 'The run had no labels, so there is no accuracy. Images predicted per class:';
      fill('comparison', predictedCounts());
      return;
    }
    var withCis = rows.some(function (r) { return r.accuracy_ci; });
    hint.textContent = 'Balanced accuracy is the mean recall over classes, so large classes do not dominate it.' +
      (withCis ? ' Whiskers: ' + pct(audit.settings.confidence, 0) + ' bootstrap intervals over images.' : '');
    var best = rows.reduce(function (b, r) { return r.balanced_accuracy > b.balanced_accuracy ? r : b; }, rows[0]);
    var accDomain = forestDomain(rows, 'accuracy'), balDomain = forestDomain(rows, 'balanced_accuracy');
    fill('comparison', table(
      [th('Strategy'), th('Labelled images', true), th('Accuracy', true), forestHead('', accDomain), th('Balanced accuracy', true), forestHead('', balDomain)],
      rows.map(function (r) {
        return h('tr', { className: r.strategy === state.strategy ? 'current' : null },
          td([h('button', { className: 'linklike', type: 'button', title: 'Show this strategy' + (data.strategyHelp && data.strategyHelp[r.strategy] ? ': ' + data.strategyHelp[r.strategy] : ''), on: { click: function () { selectStrategy(r.strategy); } } }, r.strategy),
            r === best && rows.length > 1 ? [' ', h('span', { className: 'badge best' }, 'best balanced')] : null]),
          td(int(r.n_labelled), true),
          td(withCi(pct(r.accuracy), r.accuracy_ci), true),
          td(forest(r.accuracy, r.accuracy_ci, accDomain)),
          td(withCi(pct(r.balanced_accuracy), r.balanced_accuracy_ci), true),
          td(forest(r.balanced_accuracy, r.balanced_accuracy_ci, balDomain)));
      })));
  }

  /** For a run without labels: how many images each strategy put in each class (from the gallery cells). */
  function predictedCounts() {
    return table([th('Strategy')].concat(data.classes.map(function (c, k) { return th(data.probe[k] ? c + ' (probe)' : c, true); })),
      data.strategies.map(function (s) {
        var counts = data.classes.map(function () { return 0; });
        (data.gallery.cells[s] || []).forEach(function (cell) { counts[cell.predicted] += cell.total; });
        return h('tr', { className: s === state.strategy ? 'current' : null }, td(s), counts.map(function (n) { return td(int(n), true); }));
      }));
  }

  // ---------- confusion matrix ----------
  // Above 100 classes metrics.json holds the matrix as its non-zero cells: no heatmap then, but the most confused
  // pairs and a searchable per-class table.
  function currentMetrics() { return data.metrics && state.strategy ? data.metrics[state.strategy] : null; }
  function currentConfusion() { var m = currentMetrics(); return m && m.confusion ? m.confusion : null; }
  function sparseOnly() { var m = currentMetrics(); return !!(m && !m.confusion && m.confusion_cells); }
  /** [true, predicted, count] of every non-zero cell. */
  function confusionCells(m) {
    if (m.confusion_cells) return m.confusion_cells;
    var out = [];
    m.confusion.forEach(function (row, t) { row.forEach(function (n, p) { if (n) out.push([t, p, n]); }); });
    return out;
  }
  function renderConfusedPairs(el) {
    var m = currentMetrics();
    el.style.height = 'auto';
    var pairs = (m.top_confused || []);
    var index = {};
    data.classes.forEach(function (c, k) { index[c] = k; });
    fill(el.id, h('p', { className: 'hint' }, int(data.classes.length) + ' classes: the matrix is too large to draw; these are the most confused pairs (click one to see its images).'),
      pairs.length ? table([th('True class'), th('Predicted as'), th('Images', true)], pairs.map(function (pair) {
        var t = index[pair.truth], p = index[pair.predicted];
        return h('tr', null, td(pair.truth), td(h('button', { className: 'linklike', type: 'button', on: { click: function () { showCell(t, p); } } }, classLabel(p))), td(int(pair.count), true));
      })) : empty('No image was misclassified.'));
  }
  function rowSum(row) { return row.reduce(function (a, b) { return a + b; }, 0); }
  function classLabel(k) { return data.probe[k] ? data.classes[k] + ' (probe)' : data.classes[k]; }

  var heatmapCells = [];
  function renderHeatmap() {
    var el = document.getElementById('heatmap');
    var confusion = currentConfusion();
    window.__zeroshotReport = { strategy: state.strategy, confusion: confusion };
    if (sparseOnly()) { echarts.getInstanceByDom(el) && echarts.getInstanceByDom(el).dispose(); renderConfusedPairs(el); return; }
    if (!confusion) {
      showChartMessage(el, 'No labels, so no confusion matrix. The table below lists the images by predicted class.');
      document.getElementById('confusion-details').open = true;
      return;
    }
    // Classes with no true image (probe classes, absent labels) have no row to normalise.
    var rows = data.classes.map(function (_, k) { return k; }).filter(function (k) { return rowSum(confusion[k]) > 0; });
    var cells = [];
    rows.forEach(function (t, y) {
      var total = rowSum(confusion[t]);
      confusion[t].forEach(function (count, p) {
        if (count === 0) return;
        var share = count / total;
        // A unique name: ECharts keys selection by name, and the default name is the column's class.
        cells.push({ name: t + '>' + p, value: [p, y, share], count: count, rowTotal: total, truth: t, label: { color: share > 0.5 ? '#ffffff' : '#1c2530' } });
      });
    });
    var longest = Math.max.apply(null, data.classes.map(function (_, k) { return classLabel(k).length; }));
    var rotate = data.classes.length > 4 ? 35 : 0;
    el.style.height = Math.max(300, rows.length * 50 + 90 + (rotate ? Math.min(longest, 22) * 5 : 20)) + 'px';
    var chart = chartIn(el);
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: FONT },
      grid: { left: 12, right: 72, top: 30, bottom: 12, outerBoundsClampWidth: '35%', outerBoundsClampHeight: '45%' },
      tooltip: {
        confine: true,
        formatter: function (p) {
          var d = p.data;
          return '<b>' + esc(data.classes[d.truth]) + '</b> → <b>' + esc(classLabel(p.value[0])) + '</b><br>' +
            int(d.count) + ' of ' + int(d.rowTotal) + ' images (' + pct(p.value[2]) + ' of the row)';
        }
      },
      xAxis: {
        type: 'category', data: data.classes.map(function (_, k) { return classLabel(k); }),
        name: 'Predicted class', nameLocation: 'middle', nameGap: rotate ? 16 + Math.min(longest, 22) * 4 : 30, nameTextStyle: { color: '#5a6572', fontWeight: 600 },
        axisLabel: { interval: 0, color: '#1c2530', rotate: rotate, width: 120, overflow: 'truncate' },
        axisTick: { show: false }, axisLine: { show: false }, splitArea: { show: false }
      },
      yAxis: {
        type: 'category', inverse: true, data: rows.map(function (t) { return data.classes[t]; }),
        name: 'True class ↓', nameLocation: 'start', nameGap: 10, nameTextStyle: { color: '#5a6572', fontWeight: 600, align: 'right' },
        axisLabel: { interval: 0, color: '#1c2530', width: 150, overflow: 'truncate' },
        axisTick: { show: false }, axisLine: { show: false }
      },
      visualMap: {
        type: 'continuous', min: 0, max: 1, orient: 'vertical', right: 0, top: 'middle', itemHeight: Math.min(200, rows.length * 50), itemWidth: 10,
        text: ['100%', '0%'], textStyle: { color: '#5a6572', fontSize: 11 }, calculable: false, inRange: { color: SEQUENTIAL },
        formatter: function (v) { return pct(v, 0); }
      },
      series: [{
        type: 'heatmap', data: cells, cursor: 'pointer',
        itemStyle: { borderColor: '#ffffff', borderWidth: 2, borderRadius: 3 },
        label: { show: true, fontSize: 12, formatter: function (p) { var s = p.value[2]; return s < 0.005 ? '<1%' : Math.round(100 * s) + '%'; } },
        emphasis: { itemStyle: { borderColor: '#1c2530', borderWidth: 2 } },
        selectedMode: 'single',
        select: { itemStyle: { borderColor: '#E69F00', borderWidth: 3 }, label: { fontWeight: 'bold' } }
      }]
    }, true);
    heatmapCells = cells;
    markHeatmapCell();
    chart.off('click');
    chart.on('click', function (p) { if (p.seriesType === 'heatmap') showCell(p.data.truth, p.value[0]); });
  }

  /** Outlines the heatmap cell whose gallery is open. */
  function markHeatmapCell() {
    var chart = echarts.getInstanceByDom(document.getElementById('heatmap'));
    if (!chart) return;
    chart.dispatchAction({ type: 'unselect', seriesIndex: 0, dataIndex: heatmapCells.map(function (_, i) { return i; }) });
    if (!state.cell) return;
    var index = heatmapCells.findIndex(function (c) { return c.truth === state.cell.truth && c.value[0] === state.cell.predicted; });
    if (index >= 0) chart.dispatchAction({ type: 'select', seriesIndex: 0, dataIndex: index });
  }

  function renderConfusionTable() {
    if (sparseOnly()) {
      var listed = confusionCells(currentMetrics()).slice().sort(function (a, b) { return b[2] - a[2]; }).slice(0, 200);
      fill('confusion-table', table([th('True class'), th('Predicted'), th('Images', true)], listed.map(function (c) {
        return h('tr', null, td(data.classes[c[0]]), td(h('button', { className: 'linklike', type: 'button', on: { click: function () { showCell(c[0], c[1]); } } }, classLabel(c[1]))), td(int(c[2]), true));
      })));
      return;
    }
    var confusion = currentConfusion();
    var cells = data.gallery.cells[state.strategy] || [];
    var countOf = function (t, p) {
      if (t >= 0 && confusion) return confusion[t][p];
      var cell = cells.find(function (c) { return c.truth === t && c.predicted === p; });
      return cell ? cell.total : 0;
    };
    var truths = [];
    if (confusion) data.classes.forEach(function (_, t) { if (rowSum(confusion[t]) > 0) truths.push(t); });
    if (cells.some(function (c) { return c.truth < 0; })) truths.push(-1);
    var selected = state.cell;
    fill('confusion-table', table(
      [h('th', { scope: 'col' }, 'True ↓ / predicted →')].concat(data.classes.map(function (_, p) { return th(classLabel(p), true); })),
      truths.map(function (t) {
        return h('tr', null, h('th', { scope: 'row' }, truthLabel(t)), data.classes.map(function (_, p) {
          var n = countOf(t, p);
          if (!n) return td(h('span', { className: 'ci' }, '·'), true);
          var pressed = selected && selected.truth === t && selected.predicted === p;
          return td(h('button', {
            className: 'cell-button' + (t === p ? ' diagonal' : ''), type: 'button', 'data-truth': t, 'data-predicted': p,
            'aria-pressed': pressed ? 'true' : 'false', 'aria-label': 'True ' + truthLabel(t) + ', predicted ' + data.classes[p] + ': ' + int(n) + ' images',
            on: { click: function () { showCell(t, p); } }
          }, int(n)), true);
        }));
      }), 'matrix'));
  }

  function renderClassTable() {
    var m = data.metrics && state.strategy ? data.metrics[state.strategy] : null;
    if (!m) { fill('class-table', empty('Recall and precision need labels.')); return; }
    // Each true class's most frequent wrong prediction (the earliest class on ties), from the non-zero cells.
    var mistakenFor = {};
    confusionCells(m).forEach(function (c) {
      if (c[0] === c[1]) return;
      var best = mistakenFor[c[0]];
      if (!best || c[2] > best[1] || (c[2] === best[1] && c[1] < best[0])) mistakenFor[c[0]] = [c[1], c[2]];
    });
    var query = state.classQuery || '';
    var shown = data.classes.map(function (_, k) { return k; }).filter(function (k) {
      return m.per_class[data.classes[k]].support > 0 && (!query || data.classes[k].toLowerCase().indexOf(query) >= 0);
    });
    var search = data.classes.length > 20 ? h('input', { type: 'search', id: 'class-search', placeholder: 'Find a class…', 'aria-label': 'Find a class', value: query,
      on: { input: function (e) { state.classQuery = e.target.value.trim().toLowerCase(); renderClassTable(); var box = document.getElementById('class-search'); box.focus(); box.setSelectionRange(box.value.length, box.value.length); } } }) : null;
    fill('class-table', search, table(
      [th('Class'), th('Images', true), th('Recall', true), th('Precision', true), th('Most often taken for', true)],
      shown.map(function (k) {
        var c = m.per_class[data.classes[k]];
        var mistaken = mistakenFor[k] ? mistakenFor[k][0] : -1;
        var mistakenCount = mistakenFor[k] ? mistakenFor[k][1] : 0;
        return h('tr', null,
          td(data.classes[k]), td(int(c.support), true),
          td(meter(pct(c.recall), c.recall, 1), true),
          td(pct(c.precision), true),
          td(mistaken < 0 ? '—' : h('button', { className: 'linklike', type: 'button', title: 'Show these images', on: { click: function () { showCell(k, mistaken, true); } } },
            classLabel(mistaken) + ' (' + int(mistakenCount) + ')'), true));
      })));
  }

  // ---------- gallery ----------
  function showCell(truth, predicted, reveal) {
    state.cell = { truth: truth, predicted: predicted };
    renderGallery();
    renderConfusionTable();
    markHeatmapCell();
    // Bring the gallery into view only when it is off screen, so clicking around the matrix does not jump.
    var card = document.getElementById('gallery-card');
    if (reveal !== false && card.getBoundingClientRect().top > window.innerHeight - 160) card.scrollIntoView({ block: 'start' });
  }

  function renderGallery() {
    if (!state.cell) {
      fill('gallery', empty('Click a cell of the confusion matrix (or a count in its table) to see those images.'));
      return;
    }
    var t = state.cell.truth, p = state.cell.predicted;
    var cell = (data.gallery.cells[state.strategy] || []).find(function (c) { return c.truth === t && c.predicted === p; });
    var head = h('div', { className: 'gallery-head' },
      h('div', { className: 'cellname' }, (t < 0 ? 'No label' : 'True ' + data.classes[t]), h('span', { className: 'arrow', 'aria-hidden': 'true' }, '→'), 'predicted ' + classLabel(p)),
      h('div', { className: 'hint' }, cell ? int(cell.total) + (cell.total === 1 ? ' image' : ' images') + ' with ' + state.strategy + (t === p ? ' (correct)' : t >= 0 ? ' (errors)' : '') : ''));
    if (!cell) { fill('gallery', head, empty('No image in this cell with ' + state.strategy + '.')); return; }
    var more = cell.total - cell.images.length;
    fill('gallery', head,
      h('div', { className: 'thumbs' }, cell.images.map(function (i) { return thumbnail(data.gallery.images[i], t); })),
      more > 0 ? h('p', { className: 'more' }, 'and ' + int(more) + ' more') : null);
  }

  function thumbnail(image, truth) {
    var size = data.gallery.size;
    var picture = image.src
      ? h('img', { src: image.src, alt: image.key, width: size, height: size, decoding: 'async' })
      : h('div', { className: 'missing' }, 'image not readable');
    return h('figure', { className: 'thumb' }, picture,
      h('figcaption', null,
        h('div', { className: 'key', title: image.key }, image.key),
        h('ol', null, image.top.map(function (entry) {
          var own = data.promptClass[entry[0]] === truth;
          return h('li', { className: own ? 'own' : null, title: data.prompts[entry[0]] + ' — ' + data.classes[data.promptClass[entry[0]]] },
            h('span', { className: 'score' }, fixed(entry[1], 2)),
            h('span', { className: 'mark', 'aria-label': own ? 'true class' : null }, own ? '✓' : ''),
            h('span', { className: 'prompt' }, data.prompts[entry[0]]));
        }))));
  }

  // ---------- groups ----------
  function attributesOf(strategy) { return audit && audit.strategies[strategy] ? audit.strategies[strategy].attributes : []; }
  function currentAttribute() { return attributesOf(state.strategy)[state.attribute] || null; }
  function overallAccuracy() {
    var row = comparisonRows().find(function (r) { return r.strategy === state.strategy; });
    return row ? row.accuracy : null;
  }

  /**
   * Horizontal bars with interval whiskers, one per group; groups too small for a conclusion are grey
   * and say so, because their bars are the easiest to over-read.
   */
  function intervalBars(el, rows, options) {
    el.style.height = Math.max(170, rows.length * 44 + 70) + 'px';
    var chart = chartIn(el);
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: FONT },
      grid: { left: 12, right: 250, top: 34, bottom: 30, outerBoundsClampWidth: '40%' },
      tooltip: { trigger: 'item', confine: true, formatter: function (p) { return rows[p.dataIndex].tooltip; } },
      xAxis: {
        type: 'value', min: 0, max: options.axisMax, splitNumber: 5,
        axisLabel: { color: '#5a6572', formatter: function (v) { return pct(v, v > 0 && v < 0.05 ? 1 : 0); } },
        splitLine: { lineStyle: { color: '#e8ebef' } }
      },
      yAxis: {
        type: 'category', inverse: true, data: rows.map(function (r) { return r.name; }),
        axisTick: { show: false }, axisLine: { lineStyle: { color: '#c7ced6' } },
        axisLabel: {
          interval: 0,
          formatter: function (value, i) {
            var r = rows[i];
            return '{name|' + value + '}\n' + (r.tooSmall ? '{small|n = ' + int(r.n) + ' · too small}' : '{n|n = ' + int(r.n) + '}');
          },
          rich: {
            name: { color: '#1c2530', fontSize: 12.5, fontWeight: 600, lineHeight: 17 },
            n: { color: '#8a94a0', fontSize: 11, lineHeight: 14 },
            small: { color: '#7a4a00', fontSize: 11, lineHeight: 14 }
          }
        }
      },
      series: [
        {
          type: 'bar', barMaxWidth: 22,
          data: rows.map(function (r) {
            return {
              value: r.value,
              itemStyle: r.tooSmall
                ? { color: BAR_SMALL, borderRadius: [0, 4, 4, 0], decal: { symbol: 'rect', dashArrayX: [1, 0], dashArrayY: [3, 5], rotation: -Math.PI / 4, color: 'rgba(90,101,114,0.35)' } }
                : { color: options.color, borderRadius: [0, 4, 4, 0] }
            };
          }),
          markLine: options.reference == null ? undefined : {
            silent: true, symbol: 'none', lineStyle: { color: '#5a6572', type: 'dashed', width: 1.5 },
            // The category axis is inverted, so the line's start is at the top of the chart.
            label: { formatter: options.referenceLabel + ' ' + pct(options.reference), color: '#5a6572', fontSize: 11, position: 'start' },
            data: [{ xAxis: options.reference }]
          }
        },
        {
          type: 'custom', silent: true, z: 5,
          encode: { x: [1, 2, 3], y: 0 },
          data: rows.map(function (r, i) { return [i, r.ci ? r.ci[0] : r.value, r.ci ? r.ci[1] : r.value, r.value]; }),
          renderItem: function (params, api) {
            var r = rows[params.dataIndex];
            var y = api.value(0), lo = api.value(1), hi = api.value(2);
            var band = api.size([0, 1])[1];
            var a = api.coord([lo, y]), b = api.coord([hi, y]);
            var cap = Math.max(5, band * 0.16);
            var children = [];
            if (r.ci) {
              var line = { stroke: WHISKER, lineWidth: 1.5 };
              children.push({ type: 'line', shape: { x1: a[0], y1: a[1], x2: b[0], y2: b[1] }, style: line });
              children.push({ type: 'line', shape: { x1: a[0], y1: a[1] - cap, x2: a[0], y2: a[1] + cap }, style: line });
              children.push({ type: 'line', shape: { x1: b[0], y1: b[1] - cap, x2: b[0], y2: b[1] + cap }, style: line });
            }
            var end = api.coord([Math.max(hi, r.value || 0), y]);
            children.push({
              type: 'text', x: end[0] + 8, y: end[1],
              style: {
                text: pct(r.value) + (r.tooSmall ? '  ' + TOO_SMALL : ''),
                fill: r.tooSmall ? '#7a4a00' : '#1c2530', font: '600 12px ' + FONT, verticalAlign: 'middle', align: 'left'
              }
            });
            return { type: 'group', children: children };
          }
        }
      ]
    }, true);
  }

  function groupTooltip(name, g, extra) {
    return '<b>' + esc(name) + '</b>' + (g.too_small ? ' — <i>' + TOO_SMALL + '</i>' : '') + '<br>' + extra +
      '<br>' + int(g.n) + ' images' + (g.n_labelled != null && g.n_labelled !== g.n ? ', ' + int(g.n_labelled) + ' labelled' : '');
  }

  function renderGroups() {
    var attributes = attributesOf(state.strategy);
    var select = document.getElementById('attribute-select');
    if (!attributes.length) {
      select.parentElement.style.display = 'none';
      document.getElementById('groups-hint').textContent = '';
      showChartMessage(document.getElementById('group-chart'), data.metrics
        ? 'metrics.json has no group audit: run with group attributes (--groups) to see accuracy per gender, age or race.'
        : 'A group audit needs labels and group attributes.');
      fill('gaps-table', null);
      document.querySelector('#groups-section h3').style.display = 'none';
      return;
    }
    if (select.options.length !== attributes.length) {
      select.replaceChildren();
      attributes.forEach(function (a, i) { select.appendChild(h('option', { value: i }, a.attribute)); });
    }
    select.value = String(state.attribute);
    var attribute = attributes[state.attribute];
    var minSize = audit.settings.min_group_size;
    document.getElementById('groups-hint').textContent = 'Accuracy of ' + state.strategy + ' per ' + attribute.attribute +
      ' group, with ' + pct(audit.settings.confidence, 0) + ' bootstrap intervals. Groups under ' + minSize + ' images are grey: too small for a conclusion, and left out of the gaps.';
    var rows = Object.keys(attribute.groups).map(function (name) {
      var g = attribute.groups[name];
      var err = g.most_frequent_error ? '<br>most frequent error: predicted ' + esc(g.most_frequent_error.class) + ' (' + int(g.most_frequent_error.count) + '×)' : '';
      return {
        name: name, value: g.accuracy, ci: g.accuracy_ci, tooSmall: g.too_small, n: g.n,
        tooltip: groupTooltip(name, g, 'accuracy ' + pct(g.accuracy) + (g.accuracy_ci ? ' (' + interval(g.accuracy_ci) + ')' : '') + err)
      };
    });
    intervalBars(document.getElementById('group-chart'), rows, { color: BAR, axisMax: 1, reference: overallAccuracy(), referenceLabel: 'all images' });
    renderGaps(attributes);
  }

  /** The largest entry of a per-class spread, e.g. the class whose recall differs most between groups. */
  function widest(spread) {
    var best = null;
    Object.keys(spread || {}).forEach(function (c) {
      if (spread[c] != null && (best === null || spread[c] > spread[best])) best = c;
    });
    if (best === null) return '—';
    return [points(spread[best]), h('div', { className: 'ci' }, best)];
  }

  function renderGaps(attributes) {
    var hasProbes = audit.probe_classes.length > 0;
    var head = [th('Attribute'), th('Groups compared', true), th('Accuracy gap', true, 'max − min accuracy over the compared groups'),
      th('Accuracy ratio', true, 'min / max accuracy over the compared groups; 1 = parity'),
      th('Recall spread', true, 'Equal opportunity: the class whose recall differs most between groups (max − min)'),
      th('Prediction-rate spread', true, 'Demographic parity: the class whose prediction rate differs most between groups (max − min)')];
    if (hasProbes) head.push(th('Probe-rate spread', true, 'max − min share of images assigned to a harm probe'));
    fill('gaps-table', table(head, attributes.map(function (a, i) {
      var g = a.gaps, total = Object.keys(a.groups).length;
      var small = Object.keys(a.groups).filter(function (n) { return a.groups[n].too_small; });
      var cells = [
        td(h('button', { className: 'linklike nowrap', type: 'button', on: { click: function () { selectAttribute(i); } } }, a.attribute)),
        td([g.compared_groups.length + ' of ' + total, small.length ? h('div', { className: 'ci', title: small.join(', ') }, small.length + ' too small') : null], true),
        td(withCi(points(g.accuracy_gap), g.accuracy_gap_ci, points), true),
        td([fixed(g.accuracy_ratio, 3), g.accuracy_ratio_ci ? h('div', { className: 'ci' }, fixed(g.accuracy_ratio_ci[0], 3) + ' – ' + fixed(g.accuracy_ratio_ci[1], 3)) : null], true),
        td(widest(g.recall_spread), true),
        td(widest(g.prediction_rate_spread), true)
      ];
      if (hasProbes) cells.push(td(a.probes ? withCi(points(a.probes.any_probe_rate_spread), a.probes.any_probe_rate_spread_ci, points) : '—', true));
      return h('tr', { className: i === state.attribute ? 'current' : null }, cells);
    })), h('p', { className: 'note' },
      'Gaps compare only the groups with at least ' + audit.settings.min_group_size + ' images. Resampling noise pushes max − min upwards, so a gap interval that starts near 0 is no evidence of a gap.'));
  }

  // ---------- harm probes ----------
  function renderProbes() {
    var attribute = currentAttribute();
    var overall = audit && audit.strategies[state.strategy] ? audit.strategies[state.strategy].probes_overall : null;
    var visible = !!(audit && audit.probe_classes.length && overall);
    setVisible('probes-section', visible);
    if (!visible) return;
    var probes = audit.probe_classes;
    document.getElementById('probes-hint').textContent = 'Share of each group\'s images that ' + state.strategy + ' assigns to a harm probe (' + probes.join(', ') +
      '). No one belongs in these classes, so every such assignment is an error. Over all images: ' + int(overall.any_probe.count) + ' (' + pct(overall.any_probe.rate, 2) + ').';
    var chartEl = document.getElementById('probe-chart');
    if (!attribute || !attribute.probes) {
      showChartMessage(chartEl, 'No group attributes: only the overall rate is known.');
      fill('probe-table', null);
      return;
    }
    var groups = attribute.probes.groups;
    var names = Object.keys(groups);
    var rows = names.map(function (name) {
      var g = groups[name];
      return {
        name: name, value: g.any_probe.rate, ci: g.any_probe.rate_ci, tooSmall: g.too_small, n: g.n,
        tooltip: groupTooltip(name, g, int(g.any_probe.count) + ' assigned to a probe: ' + pct(g.any_probe.rate, 2) + (g.any_probe.rate_ci ? ' (' + interval(g.any_probe.rate_ci) + ')' : ''))
      };
    });
    intervalBars(chartEl, rows, { color: PROBE_BAR, reference: overall.any_probe.rate, referenceLabel: 'all images' });
    fill('probe-table', table(
      [th(attribute.attribute), th('Images', true), th('Any probe', true)].concat(probes.map(function (p) { return th(p, true); })),
      names.map(function (name) {
        var g = groups[name];
        return h('tr', null,
          td([name, g.too_small ? [' ', h('span', { className: 'badge small' }, TOO_SMALL)] : null]),
          td(int(g.n), true),
          td(withCi(int(g.any_probe.count) + ' · ' + pct(g.any_probe.rate, 2), g.any_probe.rate_ci), true),
          probes.map(function (p) { var r = g.per_probe[p]; return td(r ? int(r.count) + ' · ' + pct(r.rate, 2) : '—', true); }));
      })));
  }

  // ---------- prompts ----------
  function renderPrompts() {
    var hint = document.getElementById('prompts-hint');
    if (!audit || !audit.prompts) {
      hint.textContent = '';
      fill('prompt-table', empty(audit ? 'No prompt analysis: ' + audit.prompts_omitted + '.' : 'The prompt analysis is part of the group audit, which metrics.json does not have.'));
      return;
    }
    var analysis = audit.prompts;
    var strategies = analysis.strategies;
    hint.textContent = 'Own-class top rate: how often a prompt is the best-scoring prompt of all for images of its own class. ' +
      'Left out: the change in each strategy\'s accuracy when the prompt is removed; negative means the prompt helps.';
    var maxRate = Math.max.apply(null, analysis.prompts.map(function (p) { return p.own_class_top_rate || 0; }).concat([0.0001]));
    var spanned = function (text, title) { return h('th', { scope: 'col', rowspan: 2, title: title, className: 'num' }, text); };
    var head = [
      [h('th', { scope: 'col', rowspan: 2 }, 'Prompt'), h('th', { scope: 'col', rowspan: 2 }, 'Class'), spanned('Own-class images'), spanned('Own-class top rate'),
        spanned('Top prompt for', 'Images of any class whose best-scoring prompt this is'),
        h('th', { scope: 'colgroup', colspan: strategies.length, className: 'group' }, 'Accuracy change when left out')],
      strategies.map(function (s) { return th(s, true, 'Accuracy with every prompt: ' + pct(analysis.accuracy_all_prompts[s])); })
    ];
    fill('prompt-table', table(head, analysis.prompts.map(function (p) {
      var cls = data.classes.indexOf(p.class);
      return h('tr', null,
        h('td', { className: 'prompt-cell' }, p.prompt, p.removes_class ? [' ', h('span', { className: 'badge only', title: 'The only prompt of its class: leaving it out makes the class impossible to predict' }, 'only prompt')] : null),
        td([p.class, cls >= 0 && data.probe[cls] ? [' ', h('span', { className: 'badge probe' }, 'probe')] : null]),
        td(int(p.own_class_images), true),
        td(meter(pct(p.own_class_top_rate), p.own_class_top_rate, maxRate), true),
        td(int(p.top_count), true),
        strategies.map(function (s) {
          var d = p.accuracy_change[s];
          var kind = d == null || Math.abs(d) < 0.0005 ? 'zero' : d < 0 ? 'helps' : 'hurts';
          return td(h('span', { className: 'delta ' + kind }, pp(d)), true);
        }));
    })));
  }

  // ---------- ranking bias ----------
  function renderRanking() {
    var audits = audit ? audit.ranking_bias : [];
    setVisible('ranking-section', audits.length > 0);
    if (!audits.length) return;
    var select = document.getElementById('ranking-attribute-select');
    if (select.options.length !== audits.length) {
      select.replaceChildren();
      audits.forEach(function (a, i) { select.appendChild(h('option', { value: i }, a.attribute)); });
    }
    select.value = String(state.rankingAttribute);
    var a = audits[state.rankingAttribute];
    var shares = Object.keys(a.share).map(function (g) { return g + ' ' + pct(a.share[g], 0); }).join(', ');
    document.getElementById('ranking-hint').textContent = 'Each prompt ranks the ' + int(a.n) + ' images with a ' + a.attribute + ' value by score. ' +
      'MaxSkew@' + a.k + ': how over-represented the most favoured group is in the top ' + int(a.k) + ' (0 = not at all); NDKL: how far the top of the ranking drifts from the overall mix (' + shares + '), 0 = never.';
    var maxSkew = Math.max.apply(null, a.prompts.map(function (p) { return p.max_skew || 0; }).concat([0.0001]));
    var maxNdkl = Math.max.apply(null, a.prompts.map(function (p) { return p.ndkl || 0; }).concat([0.0001]));
    fill('ranking-table', table(
      [th('Prompt'), th('Class'), th('MaxSkew@' + a.k, true), th('Most over-represented', true), th('Its share: top ' + a.k + ' vs all', true), th('NDKL', true)],
      a.prompts.map(function (p) {
        var g = p.max_skew_group;
        return h('tr', null,
          h('td', { className: 'prompt-cell' }, p.prompt), td(p.class),
          td(meter(fixed(p.max_skew, 3), p.max_skew, maxSkew), true),
          td(g == null ? '—' : g, true),
          td(g == null ? '—' : pct(p.top_k_share[g]) + ' vs ' + pct(a.share[g]), true),
          td(meter(fixed(p.ndkl, 3), p.ndkl, maxNdkl), true));
      })));
  }

  // ---------- state changes ----------
  function selectStrategy(strategy) {
    if (data.strategies.indexOf(strategy) < 0) return;
    state.strategy = strategy;
    document.getElementById('strategy-select').value = strategy;
    renderStrategyViews();
  }
  function selectAttribute(index) {
    state.attribute = index;
    renderGroups();
    renderProbes();
  }
  function renderStrategyViews() {
    renderComparison();
    renderHeatmap();
    renderConfusionTable();
    renderClassTable();
    renderGallery();
    renderGroups();
    renderProbes();
  }

  document.getElementById('attribute-select').addEventListener('change', function (e) { selectAttribute(Number(e.target.value)); });
  document.getElementById('ranking-attribute-select').addEventListener('change', function (e) { state.rankingAttribute = Number(e.target.value); renderRanking(); });

  renderHeader();
  renderSummary();
  renderStrategyViews();
  renderPrompts();
  renderRanking();
  document.body.dataset.ready = '1';
})();
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
    `<script>${page.script}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The whole report page. */
export function reportHtml(data: ReportData, echartsSource: string): string {
  return selfContainedHtml({
    title: `Zero-shot audit · ${data.run.spec.name}`,
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    style: REPORT_STYLE,
    body: REPORT_BODY,
    dataId: 'report-data',
    data,
    echartsSource,
    script: REPORT_SCRIPT,
  });
}
