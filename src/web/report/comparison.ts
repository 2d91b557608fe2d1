/** "Strategies compared": accuracy and balanced accuracy of each strategy with dot-and-whisker intervals. */
import type { StrategyComparisonRow } from '../../evaluate/prompt_analysis.js';
import { table, td, th, withCi } from '../common/blocks.js';
import { byId, fill, h } from '../common/dom.js';
import { int, pct } from '../common/format.js';
import { selectStrategy } from './actions.js';
import { audit, data, state } from './context.js';

type Domain = readonly [number, number];

/** The audit's comparison (with intervals), else metrics.json's accuracies; none without labels. */
export function comparisonRows(): readonly StrategyComparisonRow[] {
  if (audit && audit.comparison.length) return audit.comparison;
  const metrics = data.metrics;
  if (!metrics) return [];
  return data.strategies.map((s) => {
    const m = metrics[s];
    return { strategy: s, n_labelled: m.n, accuracy: m.accuracy, accuracy_ci: null, balanced_accuracy: m.balanced_accuracy, balanced_accuracy_ci: null };
  });
}

/** A shared axis for dot-and-whisker rows: padded to 5% steps so small differences stay visible. */
function forestDomain(rows: readonly StrategyComparisonRow[], key: 'accuracy' | 'balanced_accuracy'): Domain {
  let lo = 1;
  let hi = 0;
  for (const r of rows) {
    const ci = r[`${key}_ci`] ?? [r[key], r[key]];
    lo = Math.min(lo, r[key], ci[0]);
    hi = Math.max(hi, r[key], ci[1]);
  }
  lo = Math.max(0, Math.floor((lo - 0.01) * 20) / 20);
  hi = Math.min(1, Math.ceil((hi + 0.01) * 20) / 20);
  if (hi - lo < 0.1) {
    lo = Math.max(0, hi - 0.1);
    hi = Math.min(1, lo + 0.1);
  }
  return [lo, hi];
}

function forest(value: number, ci: readonly [number, number] | null, domain: Domain): HTMLDivElement {
  const at = (x: number) => `${(100 * (x - domain[0]) / (domain[1] - domain[0])).toFixed(2)}%`;
  return h('div', { className: 'forest', 'aria-hidden': 'true' },
    ci ? h('div', { className: 'range', style: `left:${at(ci[0])};width:calc(${at(ci[1])} - ${at(ci[0])})` }) : null,
    h('div', { className: 'dot', style: `left:${at(value)}` }));
}

function forestHead(label: string, domain: Domain): HTMLTableCellElement {
  return h('th', { scope: 'col', style: 'min-width:200px' }, label, h('div', { className: 'forest-axis' }, h('span', null, pct(domain[0], 0)), h('span', null, pct(domain[1], 0))));
}

export function renderComparison(): void {
  const rows = comparisonRows();
  const hint = byId('comparison-hint');
  if (!rows.length) {
    hint.textContent = 'The run had no labels, so there is no accuracy. Images predicted per class:';
    fill('comparison', predictedCounts());
    return;
  }
  const withCis = rows.some((r) => r.accuracy_ci);
  hint.textContent = 'Balanced accuracy is the mean recall over classes, so large classes do not dominate it.' +
    (withCis && audit ? ` Whiskers: ${pct(audit.settings.confidence, 0)} bootstrap intervals over images.` : '');
  const best = rows.reduce((b, r) => (r.balanced_accuracy > b.balanced_accuracy ? r : b), rows[0]);
  const accDomain = forestDomain(rows, 'accuracy');
  const balDomain = forestDomain(rows, 'balanced_accuracy');
  fill('comparison', table(
    [th('Strategy'), th('Labelled images', true), th('Accuracy', true), forestHead('', accDomain), th('Balanced accuracy', true), forestHead('', balDomain)],
    rows.map((r) => {
      const help = data.strategyHelp[r.strategy];
      return h('tr', { className: r.strategy === state.strategy ? 'current' : null },
        td([h('button', { className: 'linklike', type: 'button', title: `Show this strategy${help ? `: ${help}` : ''}`, on: { click: () => selectStrategy(r.strategy) } }, r.strategy),
          r === best && rows.length > 1 ? [' ', h('span', { className: 'badge best' }, 'best balanced')] : null]),
        td(int(r.n_labelled), true),
        td(withCi(pct(r.accuracy), r.accuracy_ci), true),
        td(forest(r.accuracy, r.accuracy_ci, accDomain)),
        td(withCi(pct(r.balanced_accuracy), r.balanced_accuracy_ci), true),
        td(forest(r.balanced_accuracy, r.balanced_accuracy_ci, balDomain)));
    })));
}

/** For a run without labels: how many images each strategy put in each class (from the gallery cells). */
function predictedCounts(): HTMLTableElement {
  return table([th('Strategy'), ...data.classes.map((c, k) => th(data.probe[k] ? `${c} (probe)` : c, true))],
    data.strategies.map((s) => {
      const counts = data.classes.map(() => 0);
      for (const cell of data.gallery.cells[s] ?? []) counts[cell.predicted] += cell.total;
      return h('tr', { className: s === state.strategy ? 'current' : null }, td(s), counts.map((n) => td(int(n), true)));
    }));
}

/** Accuracy of the current strategy over all labelled images (the groups' reference line). */
export function overallAccuracy(): number | null {
  return comparisonRows().find((r) => r.strategy === state.strategy)?.accuracy ?? null;
}

