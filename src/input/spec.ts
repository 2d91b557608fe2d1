import { readFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { extname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** One class of a spec: its name (the label it predicts), its prompts in order, and whether it is a harm probe. */
export interface SpecClass {
  readonly name: string;
  readonly prompts: readonly string[];
  /** Probe classes (e.g. "animal", "criminal") measure harmful assignments; they never count as correct. */
  readonly probe: boolean;
}

/** A resolved spec: classes in spec order and the flat prompt list that the text encoder sees. */
export interface Spec {
  readonly name: string;
  /** Where it came from: a file path or `builtin:<name>`. */
  readonly source: string;
  readonly classes: readonly SpecClass[];
  /** Every prompt, class by class, in spec order: the columns of the similarity matrix. */
  readonly prompts: readonly string[];
  /** promptClass[j] is the index of the class that prompt j belongs to. */
  readonly promptClass: Int32Array;
}

/** A spec that cannot be used; the message names the file, the entry and what to do. */
export class SpecError extends Error {
  override readonly name = 'SpecError';
}

const SPEC_DIR = fileURLToPath(new URL('../../specs/', import.meta.url));

const explicitClass = z.union([
  z.array(z.string()),
  z.strictObject({ prompts: z.array(z.string()), probe: z.boolean().optional() }),
]);
const templatedClass = z.union([
  z.string(),
  z.array(z.string()),
  z.strictObject({
    name: z.union([z.string(), z.array(z.string())]),
    probe: z.boolean().optional(),
    article: z.enum(['a', 'an']).optional(),
  }),
]);
const header = { name: z.string().min(1).optional(), description: z.string().optional() };
const explicitSpec = z.strictObject({ ...header, classes: z.record(z.string(), explicitClass) });
const templatedSpec = z.strictObject({
  ...header,
  templates: z.array(z.string()),
  classes: z.record(z.string(), templatedClass),
});

const FIXES: Record<string, string> = {
  explicit: 'give each class a list of prompts, e.g. `White: [a photo of a white man]`, or `{prompts: [...], probe: true}`',
  templated: 'give each class a name to put in the templates, e.g. `White: white`, a list of names, or `{name: white, probe: true}`',
};

/** "a" or "an" by the first letter, which is right for the class names specs use; `article:` overrides it. */
export function indefiniteArticle(word: string): 'a' | 'an' {
  return /^[aeiou]/i.test(word.trim()) ? 'an' : 'a';
}

function fillTemplate(template: string, name: string, article?: 'a' | 'an'): string {
  return template.replaceAll('{article}', article ?? indefiniteArticle(name)).replaceAll('{name}', name);
}

function describeIssue(issue: z.core.$ZodIssue, form: 'explicit' | 'templated'): string {
  const entry = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const allowed = issue.path.length
      ? form === 'templated' ? 'name, probe, article' : 'prompts, probe'
      : form === 'templated' ? 'name, description, templates, classes' : 'name, description, classes';
    const where = issue.path.length ? `in ${entry}` : 'at the top level';
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')} ${where}; allowed here: ${allowed}`;
  }
  if (issue.path[0] === 'classes' && issue.path.length >= 2) return `class '${String(issue.path[1])}' is malformed; ${FIXES[form]}`;
  return `${entry}: ${issue.message}`;
}

/** Parses and validates spec text (YAML or JSON); `source` names the file in error messages. */
export function parseSpec(text: string, source: string): Spec {
  let raw: unknown;
  try {
    raw = source.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true });
  } catch (error) {
    throw new SpecError(`${source}: not valid ${source.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SpecError(`${source}: a spec must be a mapping with a 'classes' entry (and optionally 'templates', 'name')`);
  }
  const form = 'templates' in raw ? 'templated' : 'explicit';
  const parsed = (form === 'templated' ? templatedSpec : explicitSpec).safeParse(raw);
  if (!parsed.success) {
    throw new SpecError(`${source}: ${parsed.error.issues.map((issue) => describeIssue(issue, form)).join('; ')}`);
  }
  const data = parsed.data;
  const name = data.name ?? basename(source, extname(source));
  const classEntries = Object.entries(data.classes);
  if (classEntries.length === 0) throw new SpecError(`${source}: 'classes' is empty; list at least one class with its prompts`);

  let classes: SpecClass[];
  if ('templates' in data) {
    if (data.templates.length === 0) throw new SpecError(`${source}: 'templates' is empty; give at least one template containing {name}`);
    data.templates.forEach((template, i) => {
      if (!template.includes('{name}')) {
        throw new SpecError(`${source}: templates[${i}] "${template}" has no {name}; add {name} where the class name goes (and {article} for a/an)`);
      }
    });
    classes = classEntries.map(([className, value]) => {
      const entry = typeof value === 'string' || Array.isArray(value) ? { name: value } : value;
      const names: string[] = Array.isArray(entry.name) ? entry.name : [entry.name];
      const article = 'article' in entry ? entry.article : undefined;
      const prompts = names.flatMap((n) => data.templates.map((t) => fillTemplate(t, n, article)));
      return { name: className, prompts, probe: ('probe' in entry && entry.probe) || false };
    });
  } else {
    classes = classEntries.map(([className, value]) =>
      Array.isArray(value) ? { name: className, prompts: value, probe: false } : { name: className, prompts: value.prompts, probe: value.probe ?? false },
    );
  }

  const owner = new Map<string, string>();
  for (const cls of classes) {
    if (cls.prompts.length === 0) throw new SpecError(`${source}: class '${cls.name}' has no prompts; give it at least one`);
    for (const prompt of cls.prompts) {
      if (prompt.trim() === '') throw new SpecError(`${source}: class '${cls.name}' has an empty prompt; remove it`);
      const first = owner.get(prompt);
      if (first !== undefined) {
        const where = first === cls.name ? `twice in class '${cls.name}'` : `in classes '${first}' and '${cls.name}'`;
        throw new SpecError(`${source}: prompt "${prompt}" appears ${where}; each prompt must belong to exactly one class`);
      }
      owner.set(prompt, cls.name);
    }
  }
  if (classes.every((c) => c.probe)) throw new SpecError(`${source}: every class is a probe; at least one class must be a real label`);

  const prompts = classes.flatMap((c) => c.prompts);
  const promptClass = Int32Array.from(classes.flatMap((c, index) => c.prompts.map(() => index)));
  return { name, source, classes, prompts, promptClass };
}

/** Names of the specs shipped with zeroshot (`specs/*.yaml`). */
export function builtInSpecNames(): string[] {
  return readdirSync(SPEC_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'))
    .sort();
}

/** Loads a spec by built-in name (e.g. `fairface-race`) or by path to a YAML/JSON file. */
export async function loadSpec(nameOrPath: string): Promise<Spec> {
  const builtIn = `${SPEC_DIR}${nameOrPath}.yaml`;
  if (!/[\\/]/.test(nameOrPath) && existsSync(builtIn)) {
    const spec = parseSpec(await readFile(builtIn, 'utf8'), builtIn);
    return { ...spec, source: `builtin:${nameOrPath}` };
  }
  if (!existsSync(nameOrPath)) {
    throw new SpecError(`spec '${nameOrPath}' is neither a file nor a built-in spec; built-ins: ${builtInSpecNames().join(', ')}`);
  }
  return parseSpec(await readFile(nameOrPath, 'utf8'), nameOrPath);
}

/** Number of prompts in each class, in spec order. */
export function promptCounts(spec: Spec): Int32Array {
  return Int32Array.from(spec.classes, (c) => c.prompts.length);
}
