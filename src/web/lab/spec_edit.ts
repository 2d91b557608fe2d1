/**
 * The edits of the spec editor, as pure functions from one LabSpec to the next (the history keeps every one, with
 * the label map that renames of labelled classes make).
 * A spec is in one of the spec file's two forms: explicit (each class lists its prompts) or templated (the spec
 * lists templates, each class the names put into them). What a spec may hold is the server's to check (it parses
 * the spec as a spec file): these only keep the shape, so an invalid spec is shown with the server's reason.
 */
import type { LabClass, LabSpec, ScoredSpec } from '../../server/lab_api.js';

/** Every strategy the editor offers, in the order `zeroshot run` lists them. */
export const STRATEGY_CHOICES = ['sum', 'mean', 'max', 'topk:2', 'topk:3', 'embedding-mean'] as const;

/** The template a spec switched to the templated form starts with. */
export const FIRST_TEMPLATE = 'a photo of {article} {name}';

export const isTemplated = (spec: LabSpec): boolean => spec.templates !== undefined;

/** The class's entries the editor lists: its prompts (explicit form) or its names (templated form). */
export function entriesOf(spec: LabSpec, c: LabClass): readonly string[] {
  return isTemplated(spec) ? (c.names ?? [c.name]) : (c.prompts ?? []);
}

function withClass(spec: LabSpec, index: number, change: (c: LabClass) => LabClass): LabSpec {
  return { ...spec, classes: spec.classes.map((c, k) => (k === index ? change(c) : c)) };
}

function withEntries(spec: LabSpec, index: number, change: (entries: string[]) => string[]): LabSpec {
  return withClass(spec, index, (c) => {
    const entries = change([...entriesOf(spec, c)]);
    return isTemplated(spec) ? { ...c, names: entries } : { ...c, prompts: entries };
  });
}

/** A class with one entry (its first prompt, or its first name for the templates). */
export function addClass(spec: LabSpec, name: string, firstEntry: string): LabSpec {
  const added: LabClass = isTemplated(spec) ? { name, names: [firstEntry || name] } : { name, prompts: firstEntry ? [firstEntry] : [] };
  return { ...spec, classes: [...spec.classes, added] };
}

export function removeClass(spec: LabSpec, index: number): LabSpec {
  return { ...spec, classes: spec.classes.filter((_, k) => k !== index) };
}

export function renameClass(spec: LabSpec, index: number, name: string): LabSpec {
  return withClass(spec, index, (c) => ({ ...c, name }));
}

/** Saved label value → class of the spec (the API's label_map), sent with every score. */
export type LabelMap = Readonly<Record<string, string>>;

/** What the page's history keeps: the spec, and the label map that keeps a renamed class's images in it. */
export interface LabDraft {
  readonly spec: LabSpec;
  readonly labelMap: LabelMap;
}

/** A class renamed by the editor: its name before and after. */
export interface ClassRename {
  readonly from: string;
  readonly to: string;
}

/**
 * The label map after a class is renamed: the saved labels that named it (the saved label `from` itself, unless
 * the map sends it elsewhere) name its new name. An entry back to its own label is no entry, so a rename back
 * leaves the map as it was.
 */
export function renamedLabelMap(labelMap: LabelMap, { from, to }: ClassRename, savedLabels: ReadonlySet<string>): LabelMap {
  const entries = Object.entries(labelMap).map(([value, className]): [string, string] => [value, className === from ? to : className]);
  if (savedLabels.has(from) && !Object.hasOwn(labelMap, from)) entries.push([from, to]);
  return Object.fromEntries(entries.filter(([value, className]) => value !== className));
}

export function setProbe(spec: LabSpec, index: number, probe: boolean): LabSpec {
  return withClass(spec, index, ({ probe: _probe, ...c }) => (probe ? { ...c, probe: true } : c));
}

export function addEntry(spec: LabSpec, index: number, text: string): LabSpec {
  return withEntries(spec, index, (entries) => [...entries, text]);
}

export function editEntry(spec: LabSpec, index: number, entry: number, text: string): LabSpec {
  return withEntries(spec, index, (entries) => entries.map((e, k) => (k === entry ? text : e)));
}

export function removeEntry(spec: LabSpec, index: number, entry: number): LabSpec {
  return withEntries(spec, index, (entries) => entries.filter((_, k) => k !== entry));
}

export function addTemplate(spec: LabSpec, template: string): LabSpec {
  return { ...spec, templates: [...(spec.templates ?? []), template] };
}

export function editTemplate(spec: LabSpec, index: number, template: string): LabSpec {
  return { ...spec, templates: (spec.templates ?? []).map((t, k) => (k === index ? template : t)) };
}

export function removeTemplate(spec: LabSpec, index: number): LabSpec {
  return { ...spec, templates: (spec.templates ?? []).filter((_, k) => k !== index) };
}

/** The templated form: one template, each class's own name put into it (its prompts are set aside). */
export function useTemplates(spec: LabSpec): LabSpec {
  return {
    ...spec,
    templates: [FIRST_TEMPLATE],
    classes: spec.classes.map(({ prompts: _prompts, ...c }) => ({ ...c, names: [c.name] })),
  };
}

/**
 * The explicit form, each class with the prompts its templates made: taken from the server's resolution of this
 * spec (`resolved`), so {article} and every other rule stay the spec parser's. Null when `resolved` is of
 * other classes (the spec has not been scored yet).
 */
export function writePromptsOut(spec: LabSpec, resolved: ScoredSpec): LabSpec | null {
  if (resolved.classes.length !== spec.classes.length || resolved.classes.some((name, k) => name !== spec.classes[k].name)) return null;
  const { templates: _templates, ...rest } = spec;
  return {
    ...rest,
    classes: spec.classes.map(({ names: _names, article: _article, ...c }, k) => ({
      ...c,
      prompts: resolved.prompts.filter((_, j) => resolved.prompt_class[j] === k),
    })),
  };
}

/** The strategies, in the editor's order; none given means the spec's defaults, as `zeroshot run` without --strategies. */
export function setStrategies(spec: LabSpec, strategies: readonly string[] | null): LabSpec {
  const { strategies: _strategies, ...rest } = spec;
  return strategies === null ? rest : { ...rest, strategies: [...strategies] };
}

/** A class name not yet taken: `base`, `base 2`, `base 3`, … */
export function freshClassName(spec: LabSpec, base: string): string {
  const taken = new Set(spec.classes.map((c) => c.name));
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base} ${n}`)) return `${base} ${n}`;
}
