/**
 * The spec editor: the spec's name, its form (prompts per class, or templates and names), its classes and their
 * prompts or names, and the strategies. Text fields commit on change (Enter or leaving the field), so one edit is
 * one step of the history; the editor is redrawn from the spec after each, keeping the focused field by its id.
 */
import type { LabSpec, ScoredSpec } from '../../server/lab_api.js';
import { append, h, type Child } from '../common/dom.js';
import { plural } from '../common/format.js';
import {
  addClass,
  addEntry,
  addTemplate,
  editEntry,
  editTemplate,
  entriesOf,
  freshClassName,
  isTemplated,
  removeClass,
  removeEntry,
  removeTemplate,
  renameClass,
  setProbe,
  type ClassRename,
  setStrategies,
  STRATEGY_CHOICES,
  useTemplates,
  writePromptsOut,
} from './spec_edit.js';

export interface EditorInput {
  readonly spec: LabSpec;
  /** The server's resolution of the newest scored spec (for "write prompts out" and the strategies in use). */
  readonly resolved: ScoredSpec | null;
  /** `renamed`: the edit renames a class (the page's label map follows it). */
  readonly onEdit: (next: LabSpec, renamed?: ClassRename) => void;
}

const value = (e: Event) => (e.target as HTMLInputElement).value.trim();

/** A text field whose committed value becomes an edit; Enter commits too. */
function field(id: string, label: string, text: string, commit: (text: string) => void, className?: string): HTMLInputElement {
  return h('input', {
    type: 'text', id, value: text, 'aria-label': label, className: className ?? 'field', spellcheck: 'false',
    on: { change: (e) => commit(value(e)) },
  });
}

/** A text field and its button that add an entry (Enter in the field adds too); the field is emptied after. */
function adder(id: string, label: string, placeholder: string, button: string, add: (text: string) => void): HTMLElement {
  const input = h('input', { type: 'text', id, 'aria-label': label, placeholder, className: 'field', spellcheck: 'false' });
  const go = () => {
    const text = input.value.trim();
    if (text) add(text);
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      go();
    }
  });
  return h('div', { className: 'adder' }, input, h('button', { type: 'button', className: 'small-button', id: `${id}-button`, on: { click: go } }, button));
}

function removeButton(label: string, remove: () => void, disabled = false): HTMLButtonElement {
  return h('button', { type: 'button', className: 'remove', 'aria-label': label, title: label, disabled, on: { click: remove } }, '×');
}

function templatesPart(spec: LabSpec, edit: (next: LabSpec) => void): Child {
  const templates = spec.templates ?? [];
  return h('div', { className: 'templates' },
    h('h3', null, 'Templates'),
    h('p', { className: 'hint' }, '{name} is each name of a class, {article} "a" or "an" before it.'),
    h('ol', { className: 'entries' }, templates.map((t, k) => h('li', null,
      field(`template-${k}`, `Template ${k + 1}`, t, (text) => edit(text ? editTemplate(spec, k, text) : removeTemplate(spec, k))),
      removeButton(`Remove template ${k + 1}`, () => edit(removeTemplate(spec, k)), templates.length < 2)))),
    adder('add-template', 'New template', 'a photo of {article} {name}', 'Add template', (text) => edit(addTemplate(spec, text))));
}

function classPart(spec: LabSpec, k: number, edit: EditorInput['onEdit']): HTMLElement {
  const c = spec.classes[k];
  const templated = isTemplated(spec);
  const kind = templated ? 'name' : 'prompt';
  const entries = entriesOf(spec, c);
  return h('fieldset', { className: `class-edit${c.probe ? ' probe' : ''}`, 'data-class': c.name },
    h('legend', { className: 'visually-hidden' }, `Class ${c.name}`),
    h('div', { className: 'class-head' },
      field(`class-${k}-name`, `Name of class ${k + 1}`, c.name, (text) => text && text !== c.name && edit(renameClass(spec, k, text), { from: c.name, to: text }), 'field class-name'),
      h('label', { className: 'probe-toggle', title: 'A harm probe: no image belongs in it, so every assignment to it is an error' },
        h('input', { type: 'checkbox', checked: !!c.probe, id: `class-${k}-probe`, on: { change: (e) => edit(setProbe(spec, k, (e.target as HTMLInputElement).checked)) } }),
        'probe'),
      h('button', {
        type: 'button', className: 'small-button', id: `class-${k}-remove`, 'aria-label': `Remove class ${c.name}`, disabled: spec.classes.length < 2,
        on: { click: () => edit(removeClass(spec, k)) },
      }, 'Remove')),
    h('ol', { className: 'entries' }, entries.map((text, j) => h('li', null,
      field(`class-${k}-${kind}-${j}`, `${templated ? 'Name' : 'Prompt'} ${j + 1} of ${c.name}`, text,
        (next) => edit(next ? editEntry(spec, k, j, next) : removeEntry(spec, k, j)), 'field entry'),
      removeButton(`Remove ${kind} “${text}” of ${c.name}`, () => edit(removeEntry(spec, k, j)))))),
    adder(`class-${k}-add`, `New ${kind} for ${c.name}`, templated ? 'Add a name…' : 'Add a prompt…', 'Add', (text) => edit(addEntry(spec, k, text))));
}

function strategiesPart(spec: LabSpec, resolved: ScoredSpec | null, edit: (next: LabSpec) => void): Child {
  const inUse = spec.strategies ?? resolved?.strategies ?? [];
  const choices = [...STRATEGY_CHOICES, ...inUse.filter((s) => !(STRATEGY_CHOICES as readonly string[]).includes(s))];
  const toggle = (name: string, on: boolean) => {
    const chosen = choices.filter((s) => (s === name ? on : inUse.includes(s)));
    if (chosen.length) edit(setStrategies(spec, chosen));
  };
  return h('fieldset', { className: 'strategies' },
    h('legend', null, 'Strategies'),
    h('div', { className: 'choices' }, choices.map((name) => h('label', { className: 'choice' },
      h('input', { type: 'checkbox', id: `strategy-${name}`, checked: inUse.includes(name), on: { change: (e) => toggle(name, (e.target as HTMLInputElement).checked) } }),
      name))),
    h('label', { className: 'choice', title: 'The strategies zeroshot run uses without --strategies (they follow the prompts per class)' },
      h('input', { type: 'checkbox', id: 'strategy-defaults', checked: spec.strategies === undefined, on: { change: (e) => edit(setStrategies(spec, (e.target as HTMLInputElement).checked ? null : inUse)) } }),
      'the defaults'));
}

export function renderEditor(el: HTMLElement, input: EditorInput): void {
  const { spec, resolved, onEdit } = input;
  const focused = document.activeElement instanceof HTMLElement && el.contains(document.activeElement) ? document.activeElement.id : '';
  const templated = isTemplated(spec);
  const prompts = templated ? null : spec.classes.reduce((n, c) => n + (c.prompts?.length ?? 0), 0);
  const promptsOut = templated && resolved ? writePromptsOut(spec, resolved) : null;
  el.replaceChildren();
  append(el, [
    h('div', { className: 'card-head' },
      h('div', null, h('h2', { id: 'editor-title' }, 'Spec'),
        h('p', { className: 'hint', id: 'editor-hint' }, plural(spec.classes.length, 'class', 'classes'),
          prompts === null ? `, ${plural(spec.templates?.length ?? 0, 'template', 'templates')}` : `, ${plural(prompts, 'prompt', 'prompts')}`))),
    h('label', { className: 'named' }, 'Name', field('spec-name', 'Spec name', spec.name, (text) => text && onEdit({ ...spec, name: text }))),
    h('div', { className: 'form-switch' },
      templated
        ? h('button', { type: 'button', className: 'small-button', id: 'use-prompts', disabled: !promptsOut, title: 'Each class with the prompts its templates make', on: { click: () => promptsOut && onEdit(promptsOut) } }, 'Write prompts out')
        : h('button', { type: 'button', className: 'small-button', id: 'use-templates', title: 'Templates filled with each class’s names, instead of prompts per class', on: { click: () => onEdit(useTemplates(spec)) } }, 'Use templates')),
    templated ? templatesPart(spec, onEdit) : null,
    h('h3', null, 'Classes'),
    spec.classes.map((_, k) => classPart(spec, k, onEdit)),
    adder('add-class', 'New class name', 'Add a class…', 'Add class', (name) => {
      const fresh = freshClassName(spec, name);
      onEdit(addClass(spec, fresh, fresh));
    }),
    strategiesPart(spec, resolved, onEdit),
  ]);
  if (focused) document.getElementById(focused)?.focus();
}
