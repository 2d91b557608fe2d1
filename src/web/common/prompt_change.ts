/** A prompt's leave-one-out accuracy change with its interval, as the report's and the lab's prompt tables show it. */
import { h } from './dom.js';
import { pp } from './format.js';

/** A value and its unit kept on one line: the interval may wrap only at its dash. */
const unbroken = (text: string) => text.replace(/ /g, '\u00a0');

export function promptChange(change: number | null | undefined, ci: readonly [number, number] | null | undefined): HTMLElement[] {
  const kind = change == null || Math.abs(change) < 0.0005 ? 'zero' : change < 0 ? 'helps' : 'hurts';
  // An interval that excludes 0: the resamples agree the prompt helps (or hurts).
  const clear = ci != null && (ci[1] < 0 || ci[0] > 0);
  return [
    h('span', { className: `delta ${kind}` }, pp(change)),
    ...(ci ? [h('div', { className: 'ci wraps', title: clear ? '95% interval, excluding 0' : '95% interval' }, `${unbroken(pp(ci[0]))} – ${unbroken(pp(ci[1]))}${clear ? '\u00a0✱' : ''}`)] : []),
  ];
}
