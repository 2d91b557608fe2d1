/**
 * The predicted classes of the newest score against the saved run (ScoreResponse.shares): each class's share of the
 * images with the selected strategy, overall and within each value of a group column, its change in points, and
 * per strategy how many images changed class. Without labels this is what an edit can be judged by.
 */
import type { ClassCounts, StrategyShares } from '../../evaluate/prediction_shares.js';
import { fillAttributeSelect, setVisible, table, td, th } from '../common/blocks.js';
import type { ECharts } from '../common/charts.js';
import { chartIn, showChartMessage } from '../common/charts.js';
import { byId, escapeHtml, fill, h } from '../common/dom.js';
import { int, pct, pp } from '../common/format.js';
import { BAR, BAR_SMALL, CHART_FONT, INK, MUTED } from '../common/palette.js';
import { classLabel, lab } from './context.js';
import { delta, type Difference } from './delta.js';

/** Classes drawn and listed at most: those with the most images, now or in the saved run. */
const CLASSES_SHOWN = 40;

/** The group column whose values the table shows (by name, so it survives edits); null: the first. */
let groupColumn: string | null = null;

const shareOf = (count: number | null, images: number) => (count === null || images === 0 ? null : count / images);

function change(counts: ClassCounts, k: number, images: number): Difference {
  const now = shareOf(counts.counts[k], images);
  const saved = shareOf(counts.saved[k], images);
  return { saved, difference: now === null || saved === null ? null : now - saved, outside_interval: null };
}

/** Class indices to show: every class when few, else the CLASSES_SHOWN with the most images now or saved, in spec order. */
function shownClasses(shares: StrategyShares): number[] {
  const all = shares.counts.map((_, k) => k);
  if (all.length <= CLASSES_SHOWN) return all;
  const size = (k: number) => Math.max(shares.counts[k], shares.saved[k] ?? 0);
  return all.sort((a, b) => size(b) - size(a) || a - b).slice(0, CLASSES_SHOWN).sort((a, b) => a - b);
}

function drawShareBars(el: HTMLElement, shares: StrategyShares, shown: readonly number[]): void {
  el.style.height = `${Math.max(180, shown.length * 40 + 70)}px`;
  const chart = chartIn(el);
  const names = shown.map(classLabel);
  const option: ECharts.EChartsOption = {
    animation: false,
    textStyle: { fontFamily: CHART_FONT },
    legend: { top: 0, left: 0, textStyle: { color: MUTED }, data: ['saved run', 'this spec'] },
    grid: { left: 12, right: 110, top: 30, bottom: 24, outerBoundsClampWidth: '40%' },
    tooltip: {
      trigger: 'axis', axisPointer: { type: 'shadow' }, confine: true,
      formatter: (params) => {
        const k = shown[(params as { dataIndex: number }[])[0].dataIndex];
        const d = change(shares, k, shares.images);
        const saved = shares.saved[k];
        return `<b>${escapeHtml(names[shown.indexOf(k)])}</b><br>this spec: ${int(shares.counts[k])} images (${pct(shareOf(shares.counts[k], shares.images))})` +
          `<br>saved run: ${saved === null ? 'no such class' : `${int(saved)} images (${pct(d.saved)}), ${pp(d.difference)}`}`;
      },
    },
    xAxis: { type: 'value', min: 0, splitNumber: 4, axisLabel: { color: MUTED, hideOverlap: true, formatter: (v: number) => pct(v, 0) }, splitLine: { lineStyle: { color: '#e8ebef' } } },
    yAxis: {
      type: 'category', inverse: true, data: names,
      axisTick: { show: false }, axisLine: { lineStyle: { color: '#c7ced6' } },
      axisLabel: { interval: 0, color: INK, width: 160, overflow: 'truncate' },
    },
    series: [
      {
        name: 'saved run', type: 'bar', barGap: '10%', barMaxWidth: 14, itemStyle: { color: BAR_SMALL, borderRadius: [0, 3, 3, 0] },
        data: shown.map((k) => shareOf(shares.saved[k], shares.images) ?? '-'),
      },
      {
        name: 'this spec', type: 'bar', barMaxWidth: 14, itemStyle: { color: BAR, borderRadius: [0, 3, 3, 0] },
        data: shown.map((k) => shareOf(shares.counts[k], shares.images)),
        label: {
          show: true, position: 'right', color: INK, fontSize: 12,
          formatter: (p) => {
            const k = shown[p.dataIndex];
            const d = change(shares, k, shares.images).difference;
            return `${pct(shareOf(shares.counts[k], shares.images))}${d === null ? '  new' : `  ${pp(d)}`}`;
          },
        },
      },
    ],
  };
  chart.setOption(option, true);
}

/** A class's share of some images (`group`: a group value, null: all), its count (for the tests) and, below, its change from the saved run. */
function shareCell(counts: ClassCounts, k: number, images: number, group: string | null): HTMLTableCellElement {
  return h('td', { className: 'num', 'data-group': group ?? '', 'data-count': counts.counts[k], title: `${int(counts.counts[k])} of ${int(images)} images` },
    pct(shareOf(counts.counts[k], images)), h('div', null, delta(change(counts, k, images))));
}

function renderChanged(selectStrategy: (strategy: string) => void): void {
  const { scored, strategy } = lab();
  const shares = scored!.shares;
  fill('shares-changed', table(
    [th('Strategy'), th('Changed class', true, 'Images whose predicted class is not the one the saved run gave them with this strategy'), th('Of all images', true)],
    scored!.spec.strategies.map((s) => {
      const changed = shares[s]?.changed ?? null;
      return h('tr', { className: s === strategy ? 'current' : null, 'data-strategy': s, 'data-changed': changed ?? '' },
        td(h('button', { className: 'linklike', type: 'button', on: { click: () => selectStrategy(s) } }, s)),
        td(changed === null ? h('span', { className: 'delta new', title: 'The saved run has no such strategy' }, 'new') : int(changed), true),
        td(changed === null ? '' : pct(shareOf(changed, shares[s].images)), true));
    })));
}

export function renderShares(selectStrategy: (strategy: string) => void): void {
  const { scored, strategy } = lab();
  const shares = scored && strategy ? scored.shares[strategy] : undefined;
  const select = byId<HTMLSelectElement>('shares-attribute-select');
  if (!scored || !strategy || !shares) {
    showChartMessage(byId('shares-chart'), 'No score yet.');
    fill('shares-table');
    fill('shares-changed');
    setVisible(select.parentElement!, false);
    return;
  }
  const shown = shownClasses(shares);
  fill('shares-hint', `How ${strategy} spreads the ${int(shares.images)} images over the classes, against the saved run (grey). ` +
    (scored.metrics ? 'The share of the predictions, not their accuracy.' : 'The run has no labels: this is how an edit moves the predictions.'));
  drawShareBars(byId('shares-chart'), shares, shown);

  const columns = Object.keys(shares.groups);
  setVisible(select.parentElement!, columns.length > 0);
  if (groupColumn === null || !columns.includes(groupColumn)) groupColumn = columns[0] ?? null;
  if (groupColumn !== null) fillAttributeSelect(select, columns, columns.indexOf(groupColumn));
  // Assigned, not added: each render keeps one listener.
  select.onchange = () => {
    groupColumn = columns[Number(select.value)] ?? null;
    renderShares(selectStrategy);
  };
  const values = groupColumn === null ? [] : Object.entries(shares.groups[groupColumn]);
  const head = [th('Class'), th('All images', true, `${int(shares.images)} images`), ...values.map(([value, g]) => th(`${groupColumn}: ${value}`, true, `${int(g.images)} images`))];
  fill('shares-table', table(head, shown.map((k) => h('tr', { 'data-class': scored.spec.classes[k] },
    h('th', { scope: 'row' }, classLabel(k)),
    shareCell(shares, k, shares.images, null),
    values.map(([value, g]) => shareCell(g, k, g.images, value))))),
  shown.length < shares.counts.length ? h('p', { className: 'more' }, `The ${int(shown.length)} classes with the most images, of ${int(shares.counts.length)}.`) : null);
  renderChanged(selectStrategy);
}
