/**
 * The audit of the newest score, against the saved run: per-group accuracy with intervals, the gaps between groups,
 * and the harm-probe rates per group. The differences come from the server's changes (src/lab/changes.ts).
 */
import type { WrittenAttributeAudit } from '../../evaluate/audit.js';
import { empty, fillAttributeSelect, setVisible, table, td, th, withCi } from '../common/blocks.js';
import { showChartMessage } from '../common/charts.js';
import { byId, fill, h } from '../common/dom.js';
import { fixed, int, interval, pct, points } from '../common/format.js';
import { drawIntervalBars, groupTooltip, TOO_SMALL } from '../common/interval_bars.js';
import { BAR, PROBE_BAR } from '../common/palette.js';
import { changeOf, lab } from './context.js';
import { delta } from './delta.js';

function attributes(): readonly WrittenAttributeAudit[] {
  const { scored, strategy } = lab();
  return (strategy && scored?.metrics?.groups?.strategies[strategy]?.attributes) || [];
}

const tooSmallBadge = (tooSmall: boolean) => (tooSmall ? [' ', h('span', { className: 'badge small' }, TOO_SMALL)] : null);

export function renderGroups(selectAttribute: (index: number) => void): void {
  const state = lab();
  const all = attributes();
  const select = byId<HTMLSelectElement>('attribute-select');
  setVisible(select.parentElement!, all.length > 0);
  setVisible(byId('gaps-title'), all.length > 0);
  if (!all.length) {
    showChartMessage(byId('group-chart'), state.scored && !state.scored.metrics && Object.keys(state.session.images.groups).length
      ? 'The saved run has no labels, so no accuracy per group: “Predicted classes” shows each group’s predicted classes.'
      : 'The saved run has no group audit: serve a run made with --groups to see accuracy per group.');
    fill('group-table');
    fill('gaps-table');
    return;
  }
  if (state.attribute >= all.length) state.attribute = 0;
  fillAttributeSelect(select, all.map((a) => a.attribute), state.attribute);
  const attribute = all[state.attribute];
  const overall = state.scored?.metrics?.strategies[state.strategy!]?.accuracy ?? null;
  const groups = Object.entries(attribute.groups);
  drawIntervalBars(byId('group-chart'), groups.map(([name, g]) => ({
    name, value: g.accuracy, ci: g.accuracy_ci, tooSmall: g.too_small, n: g.n,
    tooltip: groupTooltip(name, g, `accuracy ${pct(g.accuracy)}${g.accuracy_ci ? ` (${interval(g.accuracy_ci)})` : ''}`),
  })), { color: BAR, axisMax: 1, reference: overall, referenceLabel: 'all images' });
  fill('group-table', table([th(attribute.attribute), th('Images', true), th('Accuracy', true), th('vs saved', true)], groups.map(([name, g]) =>
    h('tr', { 'data-group': name }, td([name, tooSmallBadge(g.too_small)]), td(int(g.n), true), td(withCi(pct(g.accuracy), g.accuracy_ci), true),
      td(delta(changeOf('group_accuracy', attribute.attribute, name)), true)))));
  fill('gaps-table', table(
    [th('Attribute'), th('Accuracy gap', true, 'max − min accuracy over the groups large enough'), th('vs saved', true),
      th('Accuracy ratio', true, 'min / max accuracy; 1 = parity'), th('vs saved', true)],
    all.map((a, i) => h('tr', { className: i === state.attribute ? 'current' : null, 'data-attribute': a.attribute },
      td(h('button', { className: 'linklike nowrap', type: 'button', on: { click: () => selectAttribute(i) } }, a.attribute)),
      td(withCi(points(a.gaps.accuracy_gap), a.gaps.accuracy_gap_ci, points), true),
      td(delta(changeOf('accuracy_gap', a.attribute)), true),
      td([fixed(a.gaps.accuracy_ratio, 3), a.gaps.accuracy_ratio_ci ? h('div', { className: 'ci' }, `${fixed(a.gaps.accuracy_ratio_ci[0], 3)} – ${fixed(a.gaps.accuracy_ratio_ci[1], 3)}`) : null], true),
      td(delta(changeOf('accuracy_ratio', a.attribute), 'ratio'), true)))),
  h('p', { className: 'note' }, 'A mark says the saved run’s value lies outside this score’s 95% bootstrap interval. Resampling noise pushes gaps upwards, so a gap interval that starts near 0 is no evidence of a gap.'));
}

export function renderProbes(): void {
  const state = lab();
  const audit = state.scored?.metrics?.groups;
  const overall = (state.strategy && audit?.strategies[state.strategy]?.probes_overall) || null;
  const section = byId('probes-section');
  setVisible(section, !!(audit && audit.probe_classes.length && overall));
  if (!audit || !overall) return;
  fill('probes-section-hint', `Share of each group's images that ${state.strategy} puts in a harm probe (${audit.probe_classes.join(', ')}). Over all images: ${int(overall.any_probe.count)} (${pct(overall.any_probe.rate, 2)}).`);
  const attribute = attributes()[state.attribute];
  const chart = byId('probe-chart');
  if (!attribute?.probes) {
    showChartMessage(chart, 'No group attributes: only the overall rate is known.');
    fill('probe-table');
    return;
  }
  const groups = Object.entries(attribute.probes.groups);
  drawIntervalBars(chart, groups.map(([name, g]) => ({
    name, value: g.any_probe.rate, ci: g.any_probe.rate_ci, tooSmall: g.too_small, n: g.n,
    tooltip: groupTooltip(name, g, `${int(g.any_probe.count)} put in a probe: ${pct(g.any_probe.rate, 2)}`),
  })), { color: PROBE_BAR, reference: overall.any_probe.rate, referenceLabel: 'all images' });
  fill('probe-table', groups.length ? table([th(attribute.attribute), th('Images', true), th('Any probe', true), th('vs saved', true)], [
    ...groups.map(([name, g]) => h('tr', { 'data-group': name }, td([name, tooSmallBadge(g.too_small)]), td(int(g.n), true),
      td(withCi(`${int(g.any_probe.count)} · ${pct(g.any_probe.rate, 2)}`, g.any_probe.rate_ci), true),
      td(delta(changeOf('group_any_probe_rate', attribute.attribute, name)), true))),
    h('tr', null, td('Spread (max − min)'), td(''), td(withCi(points(attribute.probes.any_probe_rate_spread), attribute.probes.any_probe_rate_spread_ci, points), true),
      td(delta(changeOf('any_probe_rate_spread', attribute.attribute)), true)),
  ]) : empty('No group.'));
}
