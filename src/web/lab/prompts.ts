/** The prompt analysis of the newest score: how often each prompt wins its own class, and what leaving it out changes. */
import { empty, meter, table, td, th } from '../common/blocks.js';
import { fill, h } from '../common/dom.js';
import { int, pct } from '../common/format.js';
import { promptChange } from '../common/prompt_change.js';
import { lab } from './context.js';
import { delta, type Difference } from './delta.js';

function ownClassRateChange(value: number | null | undefined, saved: number | null | undefined): Difference {
  const known = saved ?? null;
  return { saved: known, difference: value == null || known === null ? null : value - known, outside_interval: null };
}

export function renderPrompts(): void {
  const { scored, session, strategy } = lab();
  const analysis = scored?.metrics?.groups?.prompts ?? null;
  if (!analysis) {
    const omitted = scored?.metrics?.groups?.prompts_omitted;
    fill('prompt-table', empty(omitted ? `No prompt analysis: ${omitted}.` : 'The prompt analysis is part of the group audit, which the saved run does not have.'));
    return;
  }
  // The saved run's analysis of the same prompt text, for its own-class top rate (no interval: no mark).
  const saved = new Map((session.metrics?.groups?.prompts?.prompts ?? []).map((p) => [p.prompt, p]));
  const shown = strategy && analysis.strategies.includes(strategy) ? strategy : analysis.strategies[0];
  const maxRate = Math.max(0.0001, ...analysis.prompts.map((p) => p.own_class_top_rate ?? 0));
  fill('prompt-table', table(
    [th('Prompt'), th('Class'), th('Own-class top rate', true, 'How often the prompt is the best of all for images of its own class'),
      th('vs saved', true),
      th('Top prompt for', true, 'Images of any class whose best-scoring prompt this is'),
      th(`Left out (${shown ?? '—'})`, true, 'The change in accuracy when the prompt is removed (negative: the prompt helps), with its 95% interval; ✱: the interval excludes 0')],
    analysis.prompts.map((p) => {
      return h('tr', { 'data-prompt': p.prompt },
        h('td', { className: 'prompt-cell' }, p.prompt),
        td(p.class),
        td(meter(pct(p.own_class_top_rate), p.own_class_top_rate, maxRate), true),
        td(delta(ownClassRateChange(p.own_class_top_rate, saved.get(p.prompt)?.own_class_top_rate)), true),
        td(int(p.top_count), true),
        td(promptChange(shown ? p.accuracy_change[shown] : null, shown ? p.accuracy_change_ci?.[shown] : null), true));
    })));
}
