/** Points with their intervals, one row per item (the differences to the baseline, the group gaps). */
import type { ECharts } from '../common/charts.js';
import { chartIn } from '../common/charts.js';
import { byId } from '../common/dom.js';
import { ACCENT, FAINT } from '../common/palette.js';
import { percent, signedPoints, withInterval } from './format.js';

export interface Dot {
  readonly label: string;
  readonly value: number;
  readonly ci: readonly [number, number] | null;
}

/** The intervals as horizontal lines. */
function intervalSeries(items: readonly Dot[]): ECharts.CustomSeriesOption {
  return {
    type: 'custom',
    renderItem: (_params, api) => {
      const low = api.coord([api.value(1), api.value(0)]);
      const high = api.coord([api.value(2), api.value(0)]);
      return { type: 'line', shape: { x1: low[0], y1: low[1], x2: high[0], y2: high[1] }, style: { stroke: ACCENT, lineWidth: 2 } };
    },
    encode: { x: [1, 2], y: 0 },
    data: items.flatMap((d) => (d.ci ? [[d.label, d.ci[0], d.ci[1]]] : [])),
    z: 1,
  };
}

const axisPercent = (v: number) => String(+(100 * v).toFixed(1));

/** Draws `items` into #id; `zeroLine`: differences (signed, with a dashed line at 0) rather than values. */
export function dotChart(id: string, items: readonly Dot[], zeroLine: boolean): void {
  const node = byId(id);
  node.style.height = `${Math.max(160, 60 + 34 * items.length)}px`;
  const chart = chartIn(node);
  chart.setOption({
    animation: false,
    grid: { left: 240, right: 30, top: 10, bottom: 30 },
    tooltip: {
      trigger: 'item',
      formatter: (d) => {
        const item = items[(d as { dataIndex: number }).dataIndex];
        return item ? `${item.label}: ${withInterval(item, zeroLine ? signedPoints : percent)}` : '';
      },
    },
    xAxis: { type: 'value', scale: !zeroLine, axisLabel: { formatter: axisPercent } },
    yAxis: { type: 'category', data: items.map((d) => d.label), inverse: true },
    series: [
      intervalSeries(items),
      {
        type: 'scatter', data: items.map((d) => [d.value, d.label]), symbolSize: 9, itemStyle: { color: ACCENT }, z: 2,
        markLine: zeroLine ? { silent: true, symbol: 'none', label: { show: false }, data: [{ xAxis: 0 }], lineStyle: { color: FAINT, type: 'dashed' } } : undefined,
      },
    ],
  } satisfies ECharts.EChartsOption, true);
  chart.resize();
}
