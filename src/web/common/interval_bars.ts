/**
 * Horizontal bars with interval whiskers, one per group (per-group accuracy, harm-probe rates). Groups too small for
 * a conclusion are grey and say so, because their bars are the easiest to over-read.
 */
import type { ECharts } from './charts.js';
import { chartIn } from './charts.js';
import { escapeHtml } from './dom.js';
import { int, pct } from './format.js';
import { BAR_SMALL, CHART_FONT, INK, MUTED, WARN_INK, WHISKER } from './palette.js';

export const TOO_SMALL = 'too small for a conclusion';

/** A group's tooltip: its name, `extra` (HTML), and its size. */
export function groupTooltip(name: string, g: { readonly n: number; readonly n_labelled?: number; readonly too_small: boolean }, extra: string): string {
  return `<b>${escapeHtml(name)}</b>${g.too_small ? ` — <i>${TOO_SMALL}</i>` : ''}<br>${extra}` +
    `<br>${int(g.n)} images${g.n_labelled != null && g.n_labelled !== g.n ? `, ${int(g.n_labelled)} labelled` : ''}`;
}

export interface IntervalBar {
  readonly name: string;
  readonly value: number | null;
  readonly ci: readonly [number, number] | null;
  readonly tooSmall: boolean;
  readonly n: number;
  /** The tooltip's HTML (escape user text with escapeHtml). */
  readonly tooltip: string;
}

export interface IntervalBarsOptions {
  readonly color: string;
  /** The axis's end; ECharts picks it when absent. */
  readonly axisMax?: number;
  /** A dashed reference line (e.g. the value over all images) and its label. */
  readonly reference?: number | null;
  readonly referenceLabel?: string;
}

export function drawIntervalBars(el: HTMLElement, rows: readonly IntervalBar[], options: IntervalBarsOptions): void {
  el.style.height = `${Math.max(170, rows.length * 44 + 70)}px`;
  const chart = chartIn(el);
  const whiskers: ECharts.CustomSeriesRenderItem = (params, api) => {
    const r = rows[params.dataIndex];
    const y = api.value(0);
    const lo = api.value(1) as number;
    const hi = api.value(2) as number;
    const band = (api.size!([0, 1]) as number[])[1];
    const a = api.coord([lo, y]);
    const b = api.coord([hi, y]);
    const cap = Math.max(5, band * 0.16);
    const children: ECharts.CustomSeriesRenderItemReturn[] = [];
    if (r.ci) {
      const line = { stroke: WHISKER, lineWidth: 1.5 };
      children.push({ type: 'line', shape: { x1: a[0], y1: a[1], x2: b[0], y2: b[1] }, style: line });
      children.push({ type: 'line', shape: { x1: a[0], y1: a[1] - cap, x2: a[0], y2: a[1] + cap }, style: line });
      children.push({ type: 'line', shape: { x1: b[0], y1: b[1] - cap, x2: b[0], y2: b[1] + cap }, style: line });
    }
    const end = api.coord([Math.max(hi, r.value || 0), y]);
    children.push({
      type: 'text', x: end[0] + 8, y: end[1],
      style: {
        text: pct(r.value) + (r.tooSmall ? `  ${TOO_SMALL}` : ''),
        fill: r.tooSmall ? WARN_INK : INK, font: `600 12px ${CHART_FONT}`, verticalAlign: 'middle', align: 'left',
      },
    });
    return { type: 'group', children } as ECharts.CustomSeriesRenderItemReturn;
  };
  const option: ECharts.EChartsOption = {
    animation: false,
    textStyle: { fontFamily: CHART_FONT },
    grid: { left: 12, right: 250, top: 34, bottom: 30, outerBoundsClampWidth: '40%' },
    tooltip: { trigger: 'item', confine: true, formatter: (p) => rows[(p as { dataIndex: number }).dataIndex].tooltip },
    xAxis: {
      type: 'value', min: 0, max: options.axisMax, splitNumber: 5,
      axisLabel: { color: MUTED, formatter: (v: number) => pct(v, v > 0 && v < 0.05 ? 1 : 0) },
      splitLine: { lineStyle: { color: '#e8ebef' } },
    },
    yAxis: {
      type: 'category', inverse: true, data: rows.map((r) => r.name),
      axisTick: { show: false }, axisLine: { lineStyle: { color: '#c7ced6' } },
      axisLabel: {
        interval: 0,
        formatter: (value: string, i: number) => {
          const r = rows[i];
          return `{name|${value}}\n${r.tooSmall ? `{small|n = ${int(r.n)} · too small}` : `{n|n = ${int(r.n)}}`}`;
        },
        rich: {
          name: { color: INK, fontSize: 12.5, fontWeight: 600, lineHeight: 17 },
          n: { color: '#8a94a0', fontSize: 11, lineHeight: 14 },
          small: { color: WARN_INK, fontSize: 11, lineHeight: 14 },
        },
      },
    },
    series: [
      {
        type: 'bar', barMaxWidth: 22,
        data: rows.map((r) => ({
          value: r.value ?? '-', // ECharts' empty value
          itemStyle: r.tooSmall
            ? { color: BAR_SMALL, borderRadius: [0, 4, 4, 0], decal: { symbol: 'rect', dashArrayX: [1, 0], dashArrayY: [3, 5], rotation: -Math.PI / 4, color: 'rgba(90,101,114,0.35)' } }
            : { color: options.color, borderRadius: [0, 4, 4, 0] },
        })),
        markLine: options.reference == null ? undefined : {
          silent: true, symbol: 'none', lineStyle: { color: MUTED, type: 'dashed', width: 1.5 },
          // The category axis is inverted, so the line's start is at the top of the chart.
          label: { formatter: `${options.referenceLabel ?? ''} ${pct(options.reference)}`, color: MUTED, fontSize: 11, position: 'start' },
          data: [{ xAxis: options.reference }],
        },
      },
      {
        type: 'custom', silent: true, z: 5,
        encode: { x: [1, 2, 3], y: 0 },
        data: rows.map((r, i) => [i, r.ci ? r.ci[0] : r.value, r.ci ? r.ci[1] : r.value, r.value]),
        renderItem: whiskers,
      },
    ],
  };
  chart.setOption(option, true);
}
