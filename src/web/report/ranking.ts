/** "Ranking bias": per prompt, how skewed toward one group the top of its image ranking is. */
import { fillAttributeSelect, meter, setVisible, table, td, th } from '../common/blocks.js';
import { byId, fill, h } from '../common/dom.js';
import { fixed, int, pct } from '../common/format.js';
import { audit, state } from './context.js';

export function renderRanking(): void {
  const audits = audit ? audit.ranking_bias : [];
  setVisible(byId('ranking-section'), audits.length > 0);
  if (!audits.length) return;
  fillAttributeSelect(byId<HTMLSelectElement>('ranking-attribute-select'), audits.map((a) => a.attribute), state.rankingAttribute);
  const a = audits[state.rankingAttribute];
  const shares = Object.entries(a.share).map(([g, share]) => `${g} ${pct(share, 0)}`).join(', ');
  byId('ranking-hint').textContent = `Each prompt ranks the ${int(a.n)} images with a ${a.attribute} value by score. ` +
    `MaxSkew@${a.k}: how over-represented the most favoured group is in the top ${int(a.k)} (0 = not at all); NDKL: how far the top of the ranking drifts from the overall mix (${shares}), 0 = never.`;
  const maxSkew = Math.max(...a.prompts.map((p) => p.max_skew || 0), 0.0001);
  const maxNdkl = Math.max(...a.prompts.map((p) => p.ndkl || 0), 0.0001);
  fill('ranking-table', table(
    [th('Prompt'), th('Class'), th(`MaxSkew@${a.k}`, true), th('Most over-represented', true), th(`Its share: top ${a.k} vs all`, true), th('NDKL', true)],
    a.prompts.map((p) => {
      const g = p.max_skew_group;
      return h('tr', null,
        h('td', { className: 'prompt-cell' }, p.prompt), td(p.class),
        td(meter(fixed(p.max_skew, 3), p.max_skew, maxSkew), true),
        td(g == null ? '—' : g, true),
        td(g == null ? '—' : `${pct(p.top_k_share[g])} vs ${pct(a.share[g])}`, true),
        td(meter(fixed(p.ndkl, 3), p.ndkl, maxNdkl), true));
    })));
}
