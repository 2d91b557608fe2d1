/** The headline numbers of the newest score (accuracy, balanced accuracy, harm probes) and every strategy side by side, each against the saved run. */
import { empty, table, td, th, withCi } from '../common/blocks.js';
import { fill, h } from '../common/dom.js';
import { int, pct } from '../common/format.js';
import { changeOf, lab } from './context.js';
import { delta } from './delta.js';
import type { ScoreResponse } from '../../server/lab_api.js';

declare global {
  interface Window {
    /** What the tests read: the newest score shown, and the strategy on screen. */
    __zeroshotLab?: { readonly specHash: string; readonly strategy: string | null; readonly metrics: unknown };
  }
}

function tile(id: string, label: string, value: number | null, ci: readonly [number, number] | null | undefined, change: ReturnType<typeof changeOf>): HTMLElement {
  return h('div', { className: 'tile', id, 'data-value': value ?? '' },
    h('div', { className: 'value' }, pct(value)),
    h('div', { className: 'label' }, label),
    ci ? h('div', { className: 'ci' }, `95% interval ${pct(ci[0])} – ${pct(ci[1])}`) : null,
    delta(change));
}

/** Labelled images these numbers leave out, and why (their labels name no class of this spec); null when none. */
function leftOutTile(leftOut: ScoreResponse['left_out']): HTMLElement | null {
  if (!leftOut?.images) return null;
  const values = Object.entries(leftOut.values).map(([value, n]) => `${value} ${int(n)}`).join(', ');
  return h('div', { className: 'tile', id: 'left-out-note', 'data-value': leftOut.images },
    h('div', { className: 'value' }, int(leftOut.images)),
    h('div', { className: 'label' }, `labelled images left out: their labels name no class of this spec (${values})`));
}

export function renderSummary(selectStrategy: (strategy: string) => void): void {
  const state = lab();
  const scored = state.scored!;
  const metrics = scored.metrics;
  window.__zeroshotLab = { specHash: scored.spec_hash, strategy: state.strategy, metrics };
  if (!metrics || !state.strategy) {
    fill('summary-tiles', empty('The saved run has no labels: there is no accuracy to compare. “Predicted classes” below shows how an edit moves the predictions.'));
    fill('strategy-table');
    return;
  }
  const m = metrics.strategies[state.strategy];
  const row = metrics.groups?.comparison.find((r) => r.strategy === state.strategy);
  const probes = metrics.groups?.strategies[state.strategy]?.probes_overall ?? null;
  fill('summary-tiles',
    tile('tile-accuracy', `accuracy of ${state.strategy}`, m.accuracy, row?.accuracy_ci, changeOf('accuracy')),
    tile('tile-balanced', 'balanced accuracy', m.balanced_accuracy, row?.balanced_accuracy_ci, changeOf('balanced_accuracy')),
    probes ? tile('tile-probes', 'put in a harm probe', probes.any_probe.rate, probes.any_probe.rate_ci, changeOf('any_probe_rate')) : null,
    h('div', { className: 'tile' }, h('div', { className: 'value' }, int(m.n)), h('div', { className: 'label' }, 'labelled images')),
    leftOutTile(scored.left_out));
  fill('strategy-table', table(
    [th('Strategy'), th('Accuracy', true), th('vs saved', true), th('Balanced accuracy', true), th('vs saved', true)],
    scored.spec.strategies.map((s) => {
      const sm = metrics.strategies[s];
      const r = metrics.groups?.comparison.find((c) => c.strategy === s);
      const change = (metric: 'accuracy' | 'balanced_accuracy') => scored.changes.find((c) => c.strategy === s && c.metric === metric && c.attribute === null) ?? null;
      return h('tr', { className: s === state.strategy ? 'current' : null, 'data-strategy': s },
        td(h('button', { className: 'linklike', type: 'button', on: { click: () => selectStrategy(s) } }, s)),
        td(withCi(pct(sm.accuracy), r?.accuracy_ci), true), td(delta(change('accuracy')), true),
        td(withCi(pct(sm.balanced_accuracy), r?.balanced_accuracy_ci), true), td(delta(change('balanced_accuracy')), true));
    })));
}
