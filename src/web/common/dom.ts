/**
 * The DOM builder every page uses. Text always goes in as text nodes (never innerHTML): class names, prompts and
 * file names are user data.
 */

/** What can be appended: nodes, text (numbers as their string), nothing (null, undefined, false), or lists of these. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

/** Attributes by name (`className` is `class`; true is an empty attribute; null, undefined and false are left out), `on` its event listeners. */
export interface Attributes {
  readonly className?: string | null;
  readonly style?: string | null;
  readonly on?: { readonly [event: string]: (event: Event) => void };
  readonly [attribute: string]: string | number | boolean | null | undefined | { readonly [event: string]: (event: Event) => void };
}

export function append(parent: Node, child: Child): void {
  if (child == null || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child as readonly Child[]) append(parent, c);
    return;
  }
  parent.appendChild(typeof child === 'object' ? (child as Node) : document.createTextNode(String(child)));
}

/** `<tag attributes>children</tag>`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes?: Attributes | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value == null || value === false) continue;
    if (name === 'on') {
      for (const [event, listener] of Object.entries(value as NonNullable<Attributes['on']>)) el.addEventListener(event, listener);
    } else {
      el.setAttribute(name === 'className' ? 'class' : name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/** The element with this id, of the expected kind; a page whose markup lacks it is a bug, said at once. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no element #${id}`);
  return el as T;
}

/** Replaces the children of #id. */
export function fill(id: string, ...children: Child[]): HTMLElement {
  const el = byId(id);
  el.replaceChildren();
  append(el, children);
  return el;
}

/** The JSON a page was written with, from its `<script type="application/json" id=…>` element. */
export function pageData<T>(id: string): T {
  return JSON.parse(byId(id).textContent ?? '') as T;
}

/** Escapes text for the HTML strings ECharts tooltips take. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
