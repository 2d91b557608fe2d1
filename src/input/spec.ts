import { readFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { extname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, parseDocument, visit, type Document } from 'yaml';
import { z } from 'zod';
import { firstInvalidUtf8Byte } from './utf8.js';
import { readLabelSet } from './label_sets.js';

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
// The classes are validated one by one (classSchemas), from the document's own entries: a zod record would drop a
// class named `__proto__`, and a JavaScript object would put a class named `2` before one named `b`.
const explicitSpec = z.strictObject({ ...header, classes: z.record(z.string(), z.unknown()) });
const templatedSpec = z.strictObject({ ...header, templates: z.array(z.string()), classes: z.record(z.string(), z.unknown()) });
const classSchemas = { explicit: explicitClass, templated: templatedClass };
const PLACEHOLDERS = ['{name}', '{article}'];

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

/**
 * The spec file's document, read by the YAML parser for both forms (JSON is YAML): it keeps every key, in order.
 * A key given twice in one mapping is an error, in JSON as in YAML.
 */
function readDocument(text: string, source: string): Document.Parsed {
  const format = source.endsWith('.json') ? 'JSON' : 'YAML';
  if (format === 'JSON') {
    try {
      JSON.parse(text);
    } catch (error) {
      throw new SpecError(`${source}: not valid JSON: ${(error as Error).message}`);
    }
  }
  const doc = parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length) throw new SpecError(`${source}: not valid ${format}: ${doc.errors[0].message}`);
  const classesNode = doc.get('classes', true);
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (!seen.has(key)) seen.add(key);
        else if (map === classesNode) throw new SpecError(`${source}: class '${key}' is listed twice in 'classes'; list each class once (merge their prompts)`);
        else throw new SpecError(`${source}: key '${key}' appears twice in one mapping; give each key once`);
      }
    },
  });
  return doc;
}

/** Spec text from a file's bytes: UTF-8, with or without a byte-order mark; anything else names the first bad byte. */
export function decodeSpecBytes(bytes: Uint8Array, source: string): string {
  const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  const bad = firstInvalidUtf8Byte(body);
  if (bad >= 0) {
    const offset = bad + (body === bytes ? 0 : 3);
    throw new SpecError(
      `${source}: not UTF-8: byte ${offset} (0x${bytes[offset].toString(16).padStart(2, '0')}) is not valid UTF-8; save the file as UTF-8`,
    );
  }
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}

/**
 * A templated spec's `templates: <name|file>` and `classes: <name|file>`: a built-in label set (label_sets.ts) or a
 * text file of one entry a line, replaced by the list (and the class → name map) it stands for.
 */
function resolveLabelSets(doc: Document.Parsed, raw: Record<string, unknown>, source: string): void {
  const fail = (message: string): never => {
    throw new SpecError(`${source}: ${message}`);
  };
  if (typeof raw.templates === 'string') {
    raw.templates = readLabelSet('templates', raw.templates, source, fail).entries.map((e) => e.value);
  }
  if (typeof raw.classes === 'string') {
    const names = readLabelSet('classes', raw.classes, source, fail).entries.map((e) => e.value);
    raw.classes = Object.fromEntries(names.map((n) => [n, n]));
    // The node from a Map keeps the file's order (an object would put integer-like names such as "2" first).
    doc.set('classes', doc.createNode(new Map(names.map((n) => [n, n]))));
  }
}

/** Parses and validates spec text (YAML or JSON); `source` names the file in error messages. */
export function parseSpec(text: string, source: string): Spec {
  const doc = readDocument(text.replace(/^\uFEFF/, ''), source);
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SpecError(`${source}: a spec must be a mapping with a 'classes' entry (and optionally 'templates', 'name')`);
  }
  const form = 'templates' in raw ? 'templated' : 'explicit';
  if (form === 'templated') resolveLabelSets(doc, raw as Record<string, unknown>, source);
  const parsed = (form === 'templated' ? templatedSpec : explicitSpec).safeParse(raw);
  if (!parsed.success) {
    throw new SpecError(`${source}: ${parsed.error.issues.map((issue) => describeIssue(issue, form)).join('; ')}`);
  }
  const data = parsed.data;
  const name = data.name ?? basename(source, extname(source));
  const classesNode = doc.get('classes', true);
  const rawClasses = (raw as { classes: object }).classes;
  const issues: string[] = [];
  const classEntries = (isMap(classesNode) ? classesNode.items : []).flatMap((pair) => {
    const className = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const value: unknown = Object.getOwnPropertyDescriptor(rawClasses, className)?.value;
    if (className.trim() === '') issues.push(`a class has an empty name; give each class the label it predicts`);
    const checked = classSchemas[form].safeParse(value);
    if (!checked.success) {
      issues.push(...checked.error.issues.map((issue) => describeIssue({ ...issue, path: ['classes', className, ...issue.path] }, form)));
      return [];
    }
    return [[className, checked.data] as const];
  });
  if (issues.length) throw new SpecError(`${source}: ${[...new Set(issues)].join('; ')}`);
  if (classEntries.length === 0) throw new SpecError(`${source}: 'classes' is empty; list at least one class with its prompts`);

  let classes: SpecClass[];
  if (form === 'templated') {
    const { templates } = data as z.infer<typeof templatedSpec>;
    if (templates.length === 0) throw new SpecError(`${source}: 'templates' is empty; give at least one template containing {name}`);
    templates.forEach((template, i) => {
      if (!template.includes('{name}')) {
        throw new SpecError(`${source}: templates[${i}] "${template}" has no {name}; add {name} where the class name goes (and {article} for a/an)`);
      }
      const unknown = (template.match(/\{[^{}]*\}/g) ?? []).filter((p) => !PLACEHOLDERS.includes(p));
      if (unknown.length) {
        throw new SpecError(`${source}: templates[${i}] "${template}" has unknown placeholder${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the placeholders are ${PLACEHOLDERS.join(' and ')}`);
      }
    });
    classes = classEntries.map(([className, checked]) => {
      const value = checked as z.infer<typeof templatedClass>;
      const entry = typeof value === 'string' || Array.isArray(value) ? { name: value } : value;
      const names: string[] = Array.isArray(entry.name) ? entry.name : [entry.name];
      const article = 'article' in entry ? entry.article : undefined;
      const prompts = names.flatMap((n) => templates.map((t) => fillTemplate(t, n, article)));
      return { name: className, prompts, probe: ('probe' in entry && entry.probe) || false };
    });
  } else {
    classes = classEntries.map(([className, checked]) => {
      const value = checked as z.infer<typeof explicitClass>;
      return Array.isArray(value) ? { name: className, prompts: value, probe: false } : { name: className, prompts: value.prompts, probe: value.probe ?? false };
    });
  }
  // One spelling per prompt (as ftfy's NFC in CLIP's tokenizer): "é" typed either way is the same prompt.
  classes = classes.map((c) => ({ ...c, prompts: c.prompts.map((p) => p.normalize('NFC')) }));

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
    const spec = parseSpec(decodeSpecBytes(await readFile(builtIn), builtIn), builtIn);
    return { ...spec, source: `builtin:${nameOrPath}` };
  }
  if (!existsSync(nameOrPath)) {
    throw new SpecError(`spec '${nameOrPath}' is neither a file nor a built-in spec; built-ins: ${builtInSpecNames().join(', ')}`);
  }
  return parseSpec(decodeSpecBytes(await readFile(nameOrPath), nameOrPath), nameOrPath);
}

/** Number of prompts in each class, in spec order. */
export function promptCounts(spec: Spec): Int32Array {
  return Int32Array.from(spec.classes, (c) => c.prompts.length);
}

/**
 * Groups (indices, two or more each) of prompts whose token ids are the same: prompts that differ only beyond the
 * tokenizer's cut (77 tokens for CLIP) get the same embedding. `encode` is the model's tokenizer, ids truncated.
 */
export function duplicateAfterTruncation(prompts: readonly string[], encode: (prompt: string) => ArrayLike<number | bigint>): number[][] {
  const byIds = new Map<string, number[]>();
  prompts.forEach((prompt, j) => {
    const ids = Array.from(encode(prompt), String).join(',');
    byIds.set(ids, [...(byIds.get(ids) ?? []), j]);
  });
  return [...byIds.values()].filter((group) => group.length > 1);
}

/** Throws a SpecError naming the prompts (and their classes) that the tokenizer's cut makes identical. */
export function checkPromptsAfterTruncation(spec: Spec, encode: (prompt: string) => ArrayLike<number | bigint>): void {
  const groups = duplicateAfterTruncation(spec.prompts, encode);
  if (groups.length === 0) return;
  const named = groups.map((group) => group.map((j) => `"${spec.prompts[j]}" (class '${spec.classes[spec.promptClass[j]].name}')`).join(' and '));
  throw new SpecError(
    `${spec.source}: prompts that are the same once cut to the model's context length (77 tokens for CLIP): ${named.join('; ')}; ` +
      'shorten them so that they differ within the first tokens',
  );
}
