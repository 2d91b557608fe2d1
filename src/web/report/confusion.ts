/**
 * The confusion matrix (heatmap, and as a table of buttons) and the per-class table. Above 100 classes metrics.json
 * holds the matrix as its non-zero cells: no heatmap then, but the most confused pairs and a searchable class table.
 */
import type { ConfusionCell, WrittenClassificationMetrics } from '../../evaluate/classification.js';
import { empty, meter, table, td, th } from '../common/blocks.js';
import { disposeChart, showChartMessage } from '../common/charts.js';
import { byId, fill, h } from '../common/dom.js';
import { int, pct } from '../common/format.js';
import { drawConfusionHeatmap, markHeatmapCell, type HeatmapCell } from '../common/heatmap.js';
import { showCell } from './actions.js';
import { classLabel, currentCells, currentMetrics, data, state, truthLabel } from './context.js';

declare global {
  interface Window {
    /** What the tests read: the strategy shown and its matrix. */
    __zeroshotReport?: { readonly strategy: string | null; readonly confusion: readonly (readonly number[])[] | null };
  }
}

function sparseOnly(): boolean {
  const m = currentMetrics();
  return !!(m && !m.confusion && m.confusion_cells);
}

/** [true, predicted, count] of every non-zero cell. */
function confusionCells(m: WrittenClassificationMetrics): readonly ConfusionCell[] {
  if (m.confusion_cells) return m.confusion_cells;
  const out: ConfusionCell[] = [];
  m.confusion?.forEach((row, t) => row.forEach((n, p) => {
    if (n) out.push([t, p, n]);
  }));
  return out;
}

const rowSum = (row: readonly number[]) => row.reduce((a, b) => a + b, 0);

const cellButtonLink = (truth: number, predicted: number, text: string) =>
  h('button', { className: 'linklike', type: 'button', on: { click: () => showCell(truth, predicted) } }, text);

function renderConfusedPairs(el: HTMLElement, m: WrittenClassificationMetrics): void {
  el.style.height = 'auto';
  const pairs = m.top_confused ?? [];
  const index = new Map(data.classes.map((c, k) => [c, k]));
  fill(el.id, h('p', { className: 'hint' }, `${int(data.classes.length)} classes: the matrix is too large to draw; these are the most confused pairs (click one to see its images).`),
    pairs.length ? table([th('True class'), th('Predicted as'), th('Images', true)], pairs.map((pair) => {
      const t = index.get(pair.truth)!;
      const p = index.get(pair.predicted)!;
      return h('tr', null, td(pair.truth), td(cellButtonLink(t, p, classLabel(p))), td(int(pair.count), true));
    })) : empty('No image was misclassified.'));
}

let heatmapCells: HeatmapCell[] = [];

export function renderHeatmap(): void {
  const el = byId('heatmap');
  const m = currentMetrics();
  const confusion = m?.confusion ?? null;
  window.__zeroshotReport = { strategy: state.strategy, confusion };
  if (m && sparseOnly()) {
    disposeChart(el);
    renderConfusedPairs(el, m);
    return;
  }
  if (!confusion) {
    showChartMessage(el, 'No labels, so no confusion matrix. The table below lists the images by predicted class.');
    byId<HTMLDetailsElement>('confusion-details').open = true;
    return;
  }
  heatmapCells = drawConfusionHeatmap(el, { classes: data.classes, columnLabels: data.classes.map((_, k) => classLabel(k)), confusion, onCell: showCell });
  markCurrentCell();
}

/** Outlines the heatmap cell whose gallery is open. */
export function markCurrentCell(): void {
  markHeatmapCell(byId('heatmap'), heatmapCells, state.cell);
}

export function renderConfusionTable(): void {
  const m = currentMetrics();
  if (m && sparseOnly()) {
    const listed = [...confusionCells(m)].sort((a, b) => b[2] - a[2]).slice(0, 200);
    fill('confusion-table', table([th('True class'), th('Predicted'), th('Images', true)], listed.map((c) =>
      h('tr', null, td(data.classes[c[0]]), td(cellButtonLink(c[0], c[1], classLabel(c[1]))), td(int(c[2]), true)))));
    return;
  }
  const confusion = m?.confusion ?? null;
  const cells = currentCells();
  const countOf = (t: number, p: number) => {
    if (t >= 0 && confusion) return confusion[t][p];
    return cells.find((c) => c.truth === t && c.predicted === p)?.total ?? 0;
  };
  const truths: number[] = [];
  if (confusion) data.classes.forEach((_, t) => rowSum(confusion[t]) > 0 && truths.push(t));
  if (cells.some((c) => c.truth < 0)) truths.push(-1);
  const selected = state.cell;
  fill('confusion-table', table(
    [h('th', { scope: 'col' }, 'True ↓ / predicted →'), ...data.classes.map((_, p) => th(classLabel(p), true))],
    truths.map((t) => h('tr', null, h('th', { scope: 'row' }, truthLabel(t)), data.classes.map((_, p) => {
      const n = countOf(t, p);
      if (!n) return td(h('span', { className: 'ci' }, '·'), true);
      const pressed = selected && selected.truth === t && selected.predicted === p;
      return td(h('button', {
        className: `cell-button${t === p ? ' diagonal' : ''}`, type: 'button', 'data-truth': t, 'data-predicted': p,
        'aria-pressed': pressed ? 'true' : 'false', 'aria-label': `True ${truthLabel(t)}, predicted ${data.classes[p]}: ${int(n)} images`,
        on: { click: () => showCell(t, p) },
      }, int(n)), true);
    }))), 'matrix'));
}

export function renderClassTable(): void {
  const m = currentMetrics();
  if (!m) {
    fill('class-table', empty('Recall and precision need labels.'));
    return;
  }
  // Each true class's most frequent wrong prediction (the earliest class on ties), from the non-zero cells.
  const mistakenFor = new Map<number, [number, number]>();
  for (const [t, p, n] of confusionCells(m)) {
    if (t === p) continue;
    const best = mistakenFor.get(t);
    if (!best || n > best[1] || (n === best[1] && p < best[0])) mistakenFor.set(t, [p, n]);
  }
  const query = state.classQuery;
  const shown = data.classes.map((_, k) => k).filter((k) =>
    m.per_class[data.classes[k]].support > 0 && (!query || data.classes[k].toLowerCase().includes(query)));
  const search = data.classes.length > 20 ? h('input', {
    type: 'search', id: 'class-search', placeholder: 'Find a class…', 'aria-label': 'Find a class', value: query,
    on: {
      input: (e) => {
        state.classQuery = (e.target as HTMLInputElement).value.trim().toLowerCase();
        renderClassTable();
        const box = byId<HTMLInputElement>('class-search');
        box.focus();
        box.setSelectionRange(box.value.length, box.value.length);
      },
    },
  }) : null;
  fill('class-table', search, table(
    [th('Class'), th('Images', true), th('Recall', true), th('Precision', true), th('Most often taken for', true)],
    shown.map((k) => {
      const c = m.per_class[data.classes[k]];
      const mistaken = mistakenFor.get(k);
      return h('tr', null,
        td(data.classes[k]), td(int(c.support), true),
        td(meter(pct(c.recall), c.recall, 1), true),
        td(pct(c.precision), true),
        td(mistaken ? h('button', { className: 'linklike', type: 'button', title: 'Show these images', on: { click: () => showCell(k, mistaken[0], true) } },
          `${classLabel(mistaken[0])} (${int(mistaken[1])})`) : '—', true));
    })));
}
