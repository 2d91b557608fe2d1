/** A number of the newest score against the saved run: the difference, marked when the saved value is outside the new interval. */
import type { LabChange } from '../../server/lab_api.js';
import { h } from '../common/dom.js';
import { fixed, pct, pp } from '../common/format.js';

/** How a metric's saved value reads: shares as percentages, ratios as plain numbers. */
export type Scale = 'share' | 'ratio';

const savedText = (saved: number | null, scale: Scale) => (scale === 'share' ? pct(saved) : fixed(saved, 3));
const differenceText = (d: number | null, scale: Scale) => {
  if (scale === 'share') return pp(d);
  if (d == null) return '—';
  const v = Math.round(1000 * d) / 1000;
  return `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v).toFixed(3)}`;
};

/**
 * "+4.3 pp vs saved 35.7%", with a mark (and words for screen readers) when the saved value lies outside the new
 * value's interval; "new" when the saved run has no such number.
 */
/** What a difference needs: the saved value, the difference, and whether the saved value is outside the new interval. */
export type Difference = Pick<LabChange, 'saved' | 'difference' | 'outside_interval'>;

export function delta(change: Difference | null, scale: Scale = 'share'): HTMLElement {
  if (!change) return h('span', { className: 'delta zero' }, '');
  if (change.saved === null) return h('span', { className: 'delta new', title: 'The saved run has no such number' }, 'new');
  const d = change.difference ?? 0;
  const kind = Math.abs(d) < 0.0005 ? 'zero' : d > 0 ? 'up' : 'down';
  const outside = change.outside_interval === true;
  return h('span', {
    className: `delta ${kind}${outside ? ' outside' : ''}`,
    'data-difference': change.difference ?? '',
    'data-outside': outside ? 'true' : 'false',
    title: outside
      ? `The saved run's ${savedText(change.saved, scale)} is outside this score's 95% interval`
      : `Saved run: ${savedText(change.saved, scale)}${change.outside_interval === false ? ', inside this score’s 95% interval' : ''}`,
  },
  differenceText(change.difference, scale),
  h('span', { className: 'saved' }, ` vs ${savedText(change.saved, scale)}`),
  outside ? h('span', { className: 'badge outside-mark' }, 'outside interval') : null);
}
