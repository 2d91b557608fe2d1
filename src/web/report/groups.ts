/** "Accuracy by group": per-group accuracy with intervals, and the gaps between groups of every attribute. */
import type { ReportAttributeAudit } from '../../report/html_report.js';
import { fillAttributeSelect, setVisible, table, td, th, withCi } from '../common/blocks.js';
import { showChartMessage } from '../common/charts.js';
import { byId, escapeHtml, fill, h, type Child } from '../common/dom.js';
import { fixed, int, interval, pct, points } from '../common/format.js';
import { drawIntervalBars, groupTooltip } from '../common/interval_bars.js';
import { BAR } from '../common/palette.js';
import { selectAttribute } from './actions.js';
import { overallAccuracy } from './comparison.js';
import { attributesOf, audit, data, state } from './context.js';

export function renderGroups(): void {
  const attributes = attributesOf(state.strategy);
  const select = byId<HTMLSelectElement>('attribute-select');
  if (!audit || !attributes.length) {
    setVisible(select.parentElement!, false);
    byId('groups-hint').textContent = '';
    showChartMessage(byId('group-chart'), data.metrics
      ? 'metrics.json has no group audit: run with group attributes (--groups) to see accuracy per gender, age or race.'
      : 'A group audit needs labels and group attributes.');
    fill('gaps-table');
    setVisible(document.querySelector<HTMLElement>('#groups-section h3')!, false);
    return;
  }
  fillAttributeSelect(select, attributes.map((a) => a.attribute), state.attribute);
  const attribute = attributes[state.attribute];
  const minSize = audit.settings.min_group_size;
  byId('groups-hint').textContent = `Accuracy of ${state.strategy} per ${attribute.attribute} group, with ${pct(audit.settings.confidence, 0)} bootstrap intervals. ` +
    `Groups under ${minSize} images are grey: too small for a conclusion, and left out of the gaps.`;
  const rows = Object.entries(attribute.groups).map(([name, g]) => {
    const error = g.most_frequent_error ? `<br>most frequent error: predicted ${escapeHtml(g.most_frequent_error.class)} (${int(g.most_frequent_error.count)}×)` : '';
    return {
      name, value: g.accuracy, ci: g.accuracy_ci, tooSmall: g.too_small, n: g.n,
      tooltip: groupTooltip(name, g, `accuracy ${pct(g.accuracy)}${g.accuracy_ci ? ` (${interval(g.accuracy_ci)})` : ''}${error}`),
    };
  });
  drawIntervalBars(byId('group-chart'), rows, { color: BAR, axisMax: 1, reference: overallAccuracy(), referenceLabel: 'all images' });
  renderGaps(attributes);
}

/** The largest entry of a per-class spread, e.g. the class whose recall differs most between groups. */
function widest(spread: Record<string, number | null>): Child {
  let best: string | null = null;
  for (const [c, value] of Object.entries(spread)) {
    if (value != null && (best === null || value > spread[best]!)) best = c;
  }
  if (best === null) return '—';
  return [points(spread[best]), h('div', { className: 'ci' }, best)];
}

function renderGaps(attributes: readonly ReportAttributeAudit[]): void {
  const settings = audit!.settings;
  const hasProbes = audit!.probe_classes.length > 0;
  const head = [th('Attribute'), th('Groups compared', true), th('Accuracy gap', true, 'max − min accuracy over the compared groups'),
    th('Accuracy ratio', true, 'min / max accuracy over the compared groups; 1 = parity'),
    th('Recall spread', true, 'Equal opportunity: the class whose recall differs most between groups (max − min)'),
    th('Prediction-rate spread', true, 'Demographic parity: the class whose prediction rate differs most between groups (max − min)')];
  if (hasProbes) head.push(th('Probe-rate spread', true, 'max − min share of images assigned to a harm probe'));
  fill('gaps-table', table(head, attributes.map((a, i) => {
    const g = a.gaps;
    const names = Object.keys(a.groups);
    const small = names.filter((n) => a.groups[n].too_small);
    const cells = [
      td(h('button', { className: 'linklike nowrap', type: 'button', on: { click: () => selectAttribute(i) } }, a.attribute)),
      td([`${g.compared_groups.length} of ${names.length}`, small.length ? h('div', { className: 'ci', title: small.join(', ') }, `${small.length} too small`) : null], true),
      td(withCi(points(g.accuracy_gap), g.accuracy_gap_ci, points), true),
      td([fixed(g.accuracy_ratio, 3), g.accuracy_ratio_ci ? h('div', { className: 'ci' }, `${fixed(g.accuracy_ratio_ci[0], 3)} – ${fixed(g.accuracy_ratio_ci[1], 3)}`) : null], true),
      td(widest(g.recall_spread), true),
      td(widest(g.prediction_rate_spread), true),
    ];
    if (hasProbes) cells.push(td(a.probes ? withCi(points(a.probes.any_probe_rate_spread), a.probes.any_probe_rate_spread_ci, points) : '—', true));
    return h('tr', { className: i === state.attribute ? 'current' : null }, cells);
  })), h('p', { className: 'note' },
    `Gaps compare only the groups with at least ${settings.min_group_size} images. Resampling noise pushes max − min upwards, so a gap interval that starts near 0 is no evidence of a gap.`));
}
