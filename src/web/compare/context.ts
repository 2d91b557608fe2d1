/** comparison.html's data (the JSON the writer embedded) and the strategy shown. */
import type { ComparisonPageData } from '../../report/compare_page.js';
import type { StrategyComparison } from '../../report/result_files.js';
import { h, pageData, type Child } from '../common/dom.js';

export const data = pageData<ComparisonPageData>('comparison-data');
export const comparison = data.comparison;
/** The strategies compared, in comparison.json's order. */
export const strategies = [...new Set(comparison.comparisons.map((x) => x.strategy))];
export const state: { strategy: string | null } = { strategy: strategies[0] ?? null };

/** Every run's comparison for the strategy shown, the baseline's included. */
export function rows(): readonly StrategyComparison[] {
  return comparison.comparisons.filter((x) => x.strategy === state.strategy);
}

/** A plain table: a header row of texts, then rows of cells. */
export function grid(header: readonly string[], body: readonly (readonly Child[])[]): HTMLTableElement {
  return h('table', null,
    h('thead', null, h('tr', null, header.map((text) => h('th', null, text)))),
    h('tbody', null, body.map((cells) => h('tr', null, cells.map((cell) => h('td', null, cell))))));
}
