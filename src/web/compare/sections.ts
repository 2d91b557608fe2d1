/** The differences to the baseline (forest plot and table), the group gaps per run, and the agreement matrix. */
import { chartIn, type ECharts } from '../common/charts.js';
import { byId, fill, h } from '../common/dom.js';
import { ACCENT } from '../common/palette.js';
import { comparison as c, grid, rows, state } from './context.js';
import { dotChart, type Dot } from './dot_chart.js';
import { percent, pValue, signedPoints, withInterval } from './format.js';

export function drawForest(): void {
  const items: Dot[] = [];
  for (const x of rows()) {
    if (x.run === c.baseline) continue;
    for (const [label, v] of [['accuracy', x.accuracy_difference], ['balanced accuracy', x.balanced_accuracy_difference], ['probe rate', x.probe_rate_difference]] as const) {
      if (v && v.value !== null) items.push({ label: `${x.run} · ${label}`, value: v.value, ci: v.ci });
    }
  }
  byId('forest-hint').textContent = `Each run minus ${c.baseline}, in percentage points, with the ${c.settings.interval} paired bootstrap interval ` +
    `(${c.settings.bootstrap} resamples, seed ${c.settings.seed}). Left of 0: worse than the baseline.`;
  dotChart('forest-chart', items, true);
  fill('summary-table', grid(
    ['run', 'accuracy', 'Δ accuracy', 'balanced acc.', 'Δ balanced acc.', 'McNemar p (mid-p)', 'agreement', 'κ', 'probe rate', 'Δ probe rate'],
    rows().map((x) => {
      const base = x.run === c.baseline;
      return [x.run, withInterval(x.accuracy, percent), base ? 'baseline' : withInterval(x.accuracy_difference, signedPoints),
        withInterval(x.balanced_accuracy, percent), base ? 'baseline' : withInterval(x.balanced_accuracy_difference, signedPoints),
        base ? '–' : `${pValue(x.mcnemar.p_value)} (${pValue(x.mcnemar.mid_p_value)})`, percent(x.agreement), x.kappa === null ? '–' : x.kappa.toFixed(3),
        withInterval(x.probe_rate, percent), base ? 'baseline' : withInterval(x.probe_rate_difference, signedPoints)];
    })));
}

export function drawGaps(): void {
  const attributes = [...new Set(rows().flatMap((x) => x.attributes.map((a) => a.attribute)))];
  if (!attributes.length) {
    byId('gaps-chart').style.display = 'none';
    fill('gaps-table', h('p', { className: 'empty' }, 'The runs have no group columns (zeroshot run --groups).'));
    return;
  }
  const items: Dot[] = rows().flatMap((x) => x.attributes.flatMap((a) =>
    a.accuracy_gap.value !== null ? [{ label: `${x.run} · ${a.attribute}`, value: a.accuracy_gap.value, ci: a.accuracy_gap.ci }] : []));
  dotChart('gaps-chart', items, false);
  fill('gaps-table', grid(['run', ...attributes.map((a) => `${a} gap`), ...attributes.map((a) => `Δ ${a} gap`)],
    rows().map((x) => {
      const find = (name: string) => x.attributes.find((y) => y.attribute === name);
      return [x.run,
        ...attributes.map((name) => {
          const a = find(name);
          return a ? withInterval(a.accuracy_gap, percent) : '–';
        }),
        ...attributes.map((name) => {
          const a = find(name);
          return x.run === c.baseline ? 'baseline' : a ? withInterval(a.accuracy_gap_difference, signedPoints) : '–';
        })];
    })));
}

export function drawAgreement(): void {
  const matrix = (state.strategy && c.agreement_matrix[state.strategy]) || [];
  const names = c.runs.map((r) => r.name);
  const cells: [number, number, number][] = [];
  matrix.forEach((row, i) => row.forEach((v, j) => {
    if (v !== null) cells.push([j, i, v]);
  }));
  chartIn(byId('agreement-chart')).setOption({
    animation: false, grid: { left: 160, right: 80, top: 10, bottom: 60 },
    xAxis: { type: 'category', data: names }, yAxis: { type: 'category', data: names, inverse: true },
    visualMap: { min: 0, max: 1, calculable: false, orient: 'vertical', right: 0, top: 'center', inRange: { color: ['#f7fbff', ACCENT] } },
    series: [{ type: 'heatmap', data: cells, label: { show: true, formatter: (d) => percent((d.value as number[])[2]) } }],
  } satisfies ECharts.EChartsOption, true);
}
