/** "Prompts": how often each prompt wins its own class's images, and each strategy's accuracy without it. */
import { empty, meter, table, td, th } from '../common/blocks.js';
import { byId, fill, h } from '../common/dom.js';
import { int, pct } from '../common/format.js';
import { promptChange } from '../common/prompt_change.js';
import { audit, data } from './context.js';

export function renderPrompts(): void {
  const hint = byId('prompts-hint');
  if (!audit || !audit.prompts) {
    hint.textContent = '';
    fill('prompt-table', empty(audit ? `No prompt analysis: ${audit.prompts_omitted}.` : 'The prompt analysis is part of the group audit, which metrics.json does not have.'));
    return;
  }
  const analysis = audit.prompts;
  const strategies = analysis.strategies;
  hint.textContent = 'Own-class top rate: how often a prompt is the best-scoring prompt of all for images of its own class. ' +
    'Left out: the change in each strategy\'s accuracy when the prompt is removed; negative means the prompt helps. Below it, its 95% interval over the audit\'s resamples; ✱ marks an interval that excludes 0.';
  const maxRate = Math.max(...analysis.prompts.map((p) => p.own_class_top_rate || 0), 0.0001);
  const spanned = (text: string, title?: string) => h('th', { scope: 'col', rowspan: 2, title, className: 'num' }, text);
  const head = [
    [h('th', { scope: 'col', rowspan: 2 }, 'Prompt'), h('th', { scope: 'col', rowspan: 2 }, 'Class'), spanned('Own-class images'), spanned('Own-class top rate'),
      spanned('Top prompt for', 'Images of any class whose best-scoring prompt this is'),
      h('th', { scope: 'colgroup', colspan: strategies.length, className: 'group' }, 'Accuracy change when left out')],
    strategies.map((s) => th(s, true, `Accuracy with every prompt: ${pct(analysis.accuracy_all_prompts[s])}`)),
  ];
  fill('prompt-table', table(head, analysis.prompts.map((p) => {
    const cls = data.classes.indexOf(p.class);
    return h('tr', null,
      h('td', { className: 'prompt-cell' }, p.prompt, p.removes_class
        ? [' ', h('span', { className: 'badge only', title: 'The only prompt of its class: leaving it out makes the class impossible to predict' }, 'only prompt')]
        : null),
      td([p.class, cls >= 0 && data.probe[cls] ? [' ', h('span', { className: 'badge probe' }, 'probe')] : null]),
      td(int(p.own_class_images), true),
      td(meter(pct(p.own_class_top_rate), p.own_class_top_rate, maxRate), true),
      td(int(p.top_count), true),
      strategies.map((s) => td(promptChange(p.accuracy_change[s], p.accuracy_change_ci?.[s]), true)));
  })));
}
