/**
 * Label sets as data (specs/label_sets/, sources in its SOURCES.md): template sets (`openai-imagenet-80`, …) and
 * class lists (`imagenet-1k`, `cifar10`, `cifar100`), one entry a line. A spec names one, or gives a text file of
 * its own in the same layout.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const LABEL_SET_DIR = fileURLToPath(new URL('../../specs/label_sets/', import.meta.url));

export type LabelSetKind = 'templates' | 'classes';

/** Names of the built-in sets of one kind. */
export function builtInLabelSets(kind: LabelSetKind): string[] {
  return readdirSync(join(LABEL_SET_DIR, kind))
    .filter((f) => f.endsWith('.txt'))
    .map((f) => basename(f, '.txt'))
    .sort();
}

/** One entry a line: surrounding spaces trimmed, blank lines and `#` comment lines skipped; each with its line number. */
export function labelSetLines(text: string): { readonly value: string; readonly line: number }[] {
  return text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((raw, i) => ({ value: raw.trim(), line: i + 1 }))
    .filter(({ value }) => value !== '' && !value.startsWith('#'));
}

/**
 * The entries of a label set named in a spec: a built-in name, or a text file (relative to the spec's folder).
 * `fail` throws the spec's error with the message given.
 */
export function readLabelSet(kind: LabelSetKind, nameOrPath: string, specSource: string, fail: (message: string) => never): { readonly path: string; readonly entries: { value: string; line: number }[] } {
  const builtIn = join(LABEL_SET_DIR, kind, `${nameOrPath}.txt`);
  const specDir = specSource.startsWith('builtin:') ? LABEL_SET_DIR : dirname(resolve(specSource));
  const path = !/[\\/]/.test(nameOrPath) && existsSync(builtIn) ? builtIn : isAbsolute(nameOrPath) ? nameOrPath : join(specDir, nameOrPath);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    fail(`${kind} '${nameOrPath}' is neither a built-in ${kind === 'templates' ? 'template set' : 'class list'} (${builtInLabelSets(kind).join(', ')}) nor a readable text file ('${path}'); give one of those names or a file with one entry a line`);
  }
  const entries = labelSetLines(text);
  if (entries.length === 0) fail(`${kind} file '${path}' lists nothing; give one entry a line`);
  const firstLine = new Map<string, number>();
  for (const { value, line } of entries) {
    const first = firstLine.get(value);
    if (first !== undefined) fail(`'${value}' is on lines ${first} and ${line} of '${path}'; list each ${kind === 'templates' ? 'template' : 'class'} once`);
    firstLine.set(value, line);
  }
  return { path, entries };
}
