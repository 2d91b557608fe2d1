/** The confusion matrix as an ECharts heatmap, each row normalised to 100%; the report's and the lab's. */
import type { ECharts } from './charts.js';
import { chartIn, echartsLibrary } from './charts.js';
import { escapeHtml } from './dom.js';
import { int, pct } from './format.js';
import { CHART_FONT, INK, MUTED, SEQUENTIAL } from './palette.js';

/** One drawn cell: value = [predicted class, row on screen, share of the row]. */
export interface HeatmapCell {
  readonly name: string;
  readonly value: [number, number, number];
  readonly truth: number;
  readonly count: number;
  readonly rowTotal: number;
  readonly label: { readonly color: string };
}

export interface ConfusionHeatmap {
  /** Class names (the rows' labels). */
  readonly classes: readonly string[];
  /** The columns' labels (e.g. probes marked). */
  readonly columnLabels: readonly string[];
  /** confusion[true][predicted]. */
  readonly confusion: readonly (readonly number[])[];
  /** A cell was clicked. */
  readonly onCell: (truth: number, predicted: number) => void;
}

const sum = (row: readonly number[]) => row.reduce((a, b) => a + b, 0);

/** Draws the matrix into `el` (sized to the rows) and returns its cells, for markHeatmapCell. */
export function drawConfusionHeatmap(el: HTMLElement, input: ConfusionHeatmap): HeatmapCell[] {
  const { classes, columnLabels, confusion } = input;
  // Classes with no true image (probe classes, absent labels) have no row to normalise.
  const rows = classes.map((_, k) => k).filter((k) => sum(confusion[k]) > 0);
  const cells: HeatmapCell[] = [];
  rows.forEach((t, y) => {
    const total = sum(confusion[t]);
    confusion[t].forEach((count, p) => {
      if (count === 0) return;
      const share = count / total;
      // A unique name: ECharts keys selection by name, and the default name is the column's class.
      cells.push({ name: `${t}>${p}`, value: [p, y, share], count, rowTotal: total, truth: t, label: { color: share > 0.5 ? '#ffffff' : INK } });
    });
  });
  const longest = Math.max(...columnLabels.map((label) => label.length));
  const rotate = classes.length > 4 ? 35 : 0;
  el.style.height = `${Math.max(300, rows.length * 50 + 90 + (rotate ? Math.min(longest, 22) * 5 : 20))}px`;
  const chart = chartIn(el);
  const option: ECharts.EChartsOption = {
    animation: false,
    textStyle: { fontFamily: CHART_FONT },
    grid: { left: 12, right: 72, top: 30, bottom: 12, outerBoundsClampWidth: '35%', outerBoundsClampHeight: '45%' },
    tooltip: {
      confine: true,
      formatter: (params) => {
        const p = params as unknown as { data: HeatmapCell; value: HeatmapCell['value'] };
        return `<b>${escapeHtml(classes[p.data.truth])}</b> → <b>${escapeHtml(columnLabels[p.value[0]])}</b><br>` +
          `${int(p.data.count)} of ${int(p.data.rowTotal)} images (${pct(p.value[2])} of the row)`;
      },
    },
    xAxis: {
      type: 'category', data: [...columnLabels],
      name: 'Predicted class', nameLocation: 'middle', nameGap: rotate ? 16 + Math.min(longest, 22) * 4 : 30, nameTextStyle: { color: MUTED, fontWeight: 600 },
      axisLabel: { interval: 0, color: INK, rotate, width: 120, overflow: 'truncate' },
      axisTick: { show: false }, axisLine: { show: false }, splitArea: { show: false },
    },
    yAxis: {
      type: 'category', inverse: true, data: rows.map((t) => classes[t]),
      name: 'True class ↓', nameLocation: 'start', nameGap: 10, nameTextStyle: { color: MUTED, fontWeight: 600, align: 'right' },
      axisLabel: { interval: 0, color: INK, width: 150, overflow: 'truncate' },
      axisTick: { show: false }, axisLine: { show: false },
    },
    visualMap: {
      type: 'continuous', min: 0, max: 1, orient: 'vertical', right: 0, top: 'middle', itemHeight: Math.min(200, rows.length * 50), itemWidth: 10,
      text: ['100%', '0%'], textStyle: { color: MUTED, fontSize: 11 }, calculable: false, inRange: { color: SEQUENTIAL },
      formatter: (v) => pct(Number(v), 0),
    },
    series: [{
      type: 'heatmap', data: cells, cursor: 'pointer',
      itemStyle: { borderColor: '#ffffff', borderWidth: 2, borderRadius: 3 },
      label: {
        show: true, fontSize: 12,
        formatter: (p) => {
          const share = (p.value as HeatmapCell['value'])[2];
          return share < 0.005 ? '<1%' : `${Math.round(100 * share)}%`;
        },
      },
      emphasis: { itemStyle: { borderColor: INK, borderWidth: 2 } },
      selectedMode: 'single',
      select: { itemStyle: { borderColor: '#E69F00', borderWidth: 3 }, label: { fontWeight: 'bold' } },
    }],
  };
  chart.setOption(option, true);
  chart.off('click');
  chart.on('click', (p) => {
    if (p.seriesType === 'heatmap') input.onCell((p.data as HeatmapCell).truth, (p.value as HeatmapCell['value'])[0]);
  });
  return cells;
}

/** Outlines the cell (truth, predicted) of a drawn heatmap, or none. */
export function markHeatmapCell(el: HTMLElement, cells: readonly HeatmapCell[], cell: { readonly truth: number; readonly predicted: number } | null): void {
  const chart = echartsLibrary().getInstanceByDom(el);
  if (!chart) return;
  chart.dispatchAction({ type: 'unselect', seriesIndex: 0, dataIndex: cells.map((_, i) => i) });
  if (!cell) return;
  const index = cells.findIndex((c) => c.truth === cell.truth && c.value[0] === cell.predicted);
  if (index >= 0) chart.dispatchAction({ type: 'select', seriesIndex: 0, dataIndex: index });
}
