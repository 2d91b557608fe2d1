/** The report's building blocks: data tables, values with intervals, inline meters, empty states. */
import { h, type Child } from './dom.js';
import { interval } from './format.js';

/** A grey box saying why a section is empty. */
export function empty(message: string): HTMLDivElement {
  return h('div', { className: 'empty' }, message);
}

/** A `table.data`; `head` is one row of header cells or a list of header rows. */
export function table(head: readonly Child[] | readonly (readonly Child[])[], rows: Child, extraClass?: string): HTMLTableElement {
  const headRows = (Array.isArray(head[0]) ? head : [head]) as readonly (readonly Child[])[];
  return h('table', { className: `data${extraClass ? ` ${extraClass}` : ''}` },
    h('thead', null, headRows.map((cells) => h('tr', null, cells))),
    h('tbody', null, rows));
}

export function th(text: Child, numeric?: boolean, title?: string): HTMLTableCellElement {
  return h('th', { className: numeric ? 'num' : null, scope: 'col', title }, text);
}

export function td(content: Child, numeric?: boolean): HTMLTableCellElement {
  return h('td', { className: numeric ? 'num' : null }, content);
}

/** A value with its interval below it, small. */
export function withCi(value: Child, ci: readonly [number, number] | null | undefined, format?: (x: number) => string): Child[] {
  return [value, ci ? h('div', { className: 'ci' }, interval(ci, format)) : null];
}

/** A value with a small bar scaled to the column's largest value. */
export function meter(label: string, x: number | null | undefined, max: number): HTMLDivElement {
  const width = x == null || !max ? 0 : Math.max(0, Math.min(1, x / max));
  return h('div', { className: 'meter' }, h('span', null, label),
    h('div', { className: 'track', 'aria-hidden': 'true' }, h('div', { className: 'fill', style: `width:${(100 * width).toFixed(1)}%` })));
}

export function setVisible(el: HTMLElement, visible: boolean): void {
  el.style.display = visible ? '' : 'none';
}

/** Fills an attribute picker when its options differ from `names`, and selects `index`. */
export function fillAttributeSelect(select: HTMLSelectElement, names: readonly string[], index: number): void {
  if (select.options.length !== names.length) {
    select.replaceChildren();
    names.forEach((name, i) => select.appendChild(h('option', { value: i }, name)));
  }
  select.value = String(index);
}
