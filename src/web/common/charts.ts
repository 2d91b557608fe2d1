/**
 * ECharts on the pages: the library is inlined before the page's bundle as the global `echarts` (from
 * node_modules/echarts/dist/echarts.min.js), so only its types are imported here.
 */
import type * as ECharts from 'echarts';
import { empty } from './blocks.js';

export type { ECharts };
export type Chart = ECharts.ECharts;

declare global {
  interface Window {
    readonly echarts: typeof ECharts;
  }
}

/** The global ECharts, checked once: a page without it inlined fails here with a clear message. */
export function echartsLibrary(): typeof ECharts {
  if (!window.echarts) throw new Error('ECharts is not loaded: the page must inline echarts.min.js before its script');
  return window.echarts;
}

/** Every chart on the page, resized with the window. */
export const charts: Chart[] = [];
window.addEventListener('resize', () => charts.forEach((chart) => chart.resize()));

/** The chart drawn in `el`, made on first use (and after a message replaced it). */
export function chartIn(el: HTMLElement): Chart {
  const echarts = echartsLibrary();
  if (el.classList.contains('is-empty')) {
    el.classList.remove('is-empty');
    el.replaceChildren();
  }
  let chart = echarts.getInstanceByDom(el);
  if (!chart) {
    chart = echarts.init(el, null, { renderer: 'canvas' });
    charts.push(chart);
  } else chart.resize();
  return chart;
}

/** Drops the chart in `el`, if any. */
export function disposeChart(el: HTMLElement): void {
  const chart = echartsLibrary().getInstanceByDom(el);
  if (!chart) return;
  charts.splice(charts.indexOf(chart), 1);
  chart.dispose();
}

/** Replaces a chart with a message (e.g. a section the results cannot fill). */
export function showChartMessage(el: HTMLElement, message: string): void {
  disposeChart(el);
  el.classList.add('is-empty');
  el.replaceChildren(empty(message));
}
