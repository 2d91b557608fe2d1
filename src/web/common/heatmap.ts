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

/** The axes' label font size, px. */
const LABEL_FONT_PX = 12;
/** Labels wider than this end in "…" (the tooltip has the whole name). */
const LABEL_MAX_PX = 200;
/** The grid's margins (px) around the cells, without the axes' labels. */
const GRID = { left: 12, right: 72, top: 30 } as const;
const ROW_PX = 50;
/** The x axis's name line below its labels. */
const AXIS_NAME_PX = 22;

let measuring: CanvasRenderingContext2D | null = null;

/** The width of `text` in the charts' label font, px (capped at LABEL_MAX_PX). */
function labelWidth(text: string): number {
  measuring ??= document.createElement('canvas').getContext('2d');
  if (!measuring) return Math.min(LABEL_MAX_PX, text.length * 7);
  measuring.font = `${LABEL_FONT_PX}px ${CHART_FONT}`;
  return Math.min(LABEL_MAX_PX, Math.ceil(measuring.measureText(text).width));
}

/**
 * How the column labels fit under the cells: flat when the widest fits a column, else turned 35° (90° when the
 * columns are too narrow for slanted text), and the height they then take (the room below the cells they need).
 */
function columnLabelLayout(el: HTMLElement, columnLabels: readonly string[], rowLabels: readonly string[]): { rotate: number; width: number; height: number } {
  // A few px beyond the measure: ECharts truncates a label that only just fits its width.
  const widest = Math.max(0, ...columnLabels.map(labelWidth)) + 6;
  // The cells' width as laid out: the element less the margins and the row labels.
  const cells = (el.clientWidth || 900) - GRID.left - GRID.right - Math.max(0, ...rowLabels.map(labelWidth)) - 8;
  const column = cells / Math.max(1, columnLabels.length);
  if (widest + 8 <= column) return { rotate: 0, width: Math.floor(column - 8), height: LABEL_FONT_PX + 8 };
  const rotate = column < 2.5 * LABEL_FONT_PX ? 90 : 35;
  const angle = (rotate * Math.PI) / 180;
  return { rotate, width: widest, height: Math.ceil(widest * Math.sin(angle) + LABEL_FONT_PX * Math.cos(angle)) + 8 };
}

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
  const labels = columnLabelLayout(el, columnLabels, rows.map((t) => classes[t]));
  // The cells, then the room the column labels and the axis name need below them.
  const bottom = labels.height + AXIS_NAME_PX + 8;
  el.style.height = `${Math.max(300, GRID.top + rows.length * ROW_PX + bottom)}px`;
  const chart = chartIn(el);
  const option: ECharts.EChartsOption = {
    animation: false,
    textStyle: { fontFamily: CHART_FONT },
    // The bottom holds the labels, so the cells keep their height; the outer bounds still keep a label that would
    // cross the chart's left edge inside it (the first column's slanted label reaches left of its cell).
    grid: { ...GRID, bottom, outerBoundsClampWidth: '35%', outerBoundsClampHeight: '45%' },
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
      name: 'Predicted class', nameLocation: 'middle', nameGap: labels.height + 10, nameTextStyle: { color: MUTED, fontWeight: 600 },
      axisLabel: { interval: 0, color: INK, fontSize: LABEL_FONT_PX, rotate: labels.rotate, width: labels.width, overflow: 'truncate' },
      axisTick: { show: false }, axisLine: { show: false }, splitArea: { show: false },
    },
    yAxis: {
      type: 'category', inverse: true, data: rows.map((t) => classes[t]),
      name: 'True class ↓', nameLocation: 'start', nameGap: 10, nameTextStyle: { color: MUTED, fontWeight: 600, align: 'right' },
      axisLabel: { interval: 0, color: INK, fontSize: LABEL_FONT_PX, width: LABEL_MAX_PX + 6, overflow: 'truncate' },
      axisTick: { show: false }, axisLine: { show: false },
    },
    visualMap: {
      type: 'continuous', min: 0, max: 1, orient: 'vertical', right: 0, top: 'middle', itemHeight: Math.min(200, rows.length * ROW_PX), itemWidth: 10,
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
