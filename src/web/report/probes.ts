/** "Harm probes": the share of each group's images assigned to a probe class. */
import { setVisible, table, td, th, withCi } from '../common/blocks.js';
import { showChartMessage } from '../common/charts.js';
import { byId, fill, h } from '../common/dom.js';
import { int, interval, pct } from '../common/format.js';
import { drawIntervalBars, groupTooltip, TOO_SMALL } from '../common/interval_bars.js';
import { PROBE_BAR } from '../common/palette.js';
import { audit, currentAttribute, state } from './context.js';

export function renderProbes(): void {
  const overall = audit && state.strategy ? audit.strategies[state.strategy]?.probes_overall ?? null : null;
  const visible = !!(audit && audit.probe_classes.length && overall);
  setVisible(byId('probes-section'), visible);
  if (!audit || !overall || !visible) return;
  const probes = audit.probe_classes;
  byId('probes-hint').textContent = `Share of each group's images that ${state.strategy} assigns to a harm probe (${probes.join(', ')}). ` +
    `No one belongs in these classes, so every such assignment is an error. Over all images: ${int(overall.any_probe.count)} (${pct(overall.any_probe.rate, 2)}).`;
  const chartEl = byId('probe-chart');
  const attribute = currentAttribute();
  if (!attribute || !attribute.probes) {
    showChartMessage(chartEl, 'No group attributes: only the overall rate is known.');
    fill('probe-table');
    return;
  }
  const groups = attribute.probes.groups;
  const names = Object.keys(groups);
  drawIntervalBars(chartEl, names.map((name) => {
    const g = groups[name];
    return {
      name, value: g.any_probe.rate, ci: g.any_probe.rate_ci, tooSmall: g.too_small, n: g.n,
      tooltip: groupTooltip(name, g, `${int(g.any_probe.count)} assigned to a probe: ${pct(g.any_probe.rate, 2)}${g.any_probe.rate_ci ? ` (${interval(g.any_probe.rate_ci)})` : ''}`),
    };
  }), { color: PROBE_BAR, reference: overall.any_probe.rate, referenceLabel: 'all images' });
  fill('probe-table', table(
    [th(attribute.attribute), th('Images', true), th('Any probe', true), ...probes.map((p) => th(p, true))],
    names.map((name) => {
      const g = groups[name];
      return h('tr', null,
        td([name, g.too_small ? [' ', h('span', { className: 'badge small' }, TOO_SMALL)] : null]),
        td(int(g.n), true),
        td(withCi(`${int(g.any_probe.count)} · ${pct(g.any_probe.rate, 2)}`, g.any_probe.rate_ci), true),
        probes.map((p) => {
          const r = g.per_probe[p];
          return td(r ? `${int(r.count)} · ${pct(r.rate, 2)}` : '—', true);
        }));
    })));
}
