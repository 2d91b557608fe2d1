import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import { parse as parseCsv } from 'csv-parse';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { ImageListing } from './images.js';

/** One CSV row, column → value. Null-prototype: a column named `__proto__` or `constructor` is a column like any other. */
export type LabelRow = Readonly<Record<string, string>>;

/** What to do when several rows label one image with different values: keep the first, the last, or stop. */
export type DuplicateLabelPolicy = 'first' | 'last' | 'error';
export const DUPLICATE_LABEL_POLICIES: readonly DuplicateLabelPolicy[] = ['first', 'last', 'error'];

export interface LabelOptions {
  /** The column holding image paths; default: the first of file, image, path, filename, file_name, image_path. */
  readonly imageColumn?: string;
  /** The column holding the class (checked to exist; duplicate rows are compared on it). */
  readonly labelColumn: string;
  /** Columns to audit by (checked to exist; duplicate rows are compared on them too). */
  readonly groupColumns?: readonly string[];
  /** Default 'error'. */
  readonly duplicates?: DuplicateLabelPolicy;
}

export interface LabelMatch {
  readonly source: string;
  readonly columns: readonly string[];
  readonly imageColumn: string;
  /** The label row of each listed image, or null when the CSV has none. */
  readonly rowOfImage: (LabelRow | null)[];
  /** Data rows in the CSV. */
  readonly rows: number;
  /** CSV rows whose image is not among the listed images. */
  readonly labelsWithoutImage: number;
  /** Rows for an image that another row already labels (the same values, or dropped by --duplicate-labels first|last). */
  readonly duplicateRows: number;
}

const IMAGE_COLUMN_GUESSES = ['file', 'image', 'path', 'filename', 'file_name', 'image_path'];

/** A matched row, with its row number (the header is row 1, as a spreadsheet shows it) and its path as written. */
interface Candidate {
  readonly row: LabelRow;
  readonly rowNumber: number;
  readonly path: string;
}

function columnError(source: string, flag: string, column: string, columns: readonly string[]): Error {
  return new Error(`${flag}: '${source}' has no column '${column}'; its columns are: ${columns.join(', ')}`);
}

/**
 * Reads a labels CSV (header row first) and pairs its rows with the listed images, streaming: only the rows of
 * listed images are kept, so a CSV of millions of rows costs its parsing time, not its size in memory. A row's
 * path matches an image when it resolves (relative to the CSV's folder) to the same file, or when it ends with
 * the image's key (FairFace's `val/1.jpg` for `--images …/val`); a key that rows of different paths end with is
 * ambiguous and left unlabelled. Several rows for one image must agree on the label and group columns, unless
 * `duplicates` says which one to keep.
 */
export async function matchLabelFile(path: string, listing: ImageListing, options: LabelOptions): Promise<LabelMatch> {
  const csvFolder = dirname(resolve(path));
  const keys = new Set(listing.images.map((image) => image.key));
  // Both rules need the row's last path segment to be an image's file name: a cheap test that skips the path
  // arithmetic for the rows of other images (all but a few, for a big CSV and a small folder).
  const lastSegment = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  const fileNames = new Set(listing.images.map((image) => lastSegment(image.key)));
  const exact = new Map<string, Candidate[]>();
  const bySuffix = new Map<string, Candidate[]>();
  const add = (index: Map<string, Candidate[]>, key: string, candidate: Candidate) => {
    const list = index.get(key);
    if (list) list.push(candidate);
    else index.set(key, [candidate]);
  };

  let columns: string[] | null = null;
  let imageIndex = -1;
  let rows = 0;
  const input = createReadStream(path);
  // No `info` option: it costs three times the parsing itself (an object per record).
  const parser = parseCsv({ bom: true, skip_empty_lines: true, trim: true });
  input.on('error', (error) => parser.destroy(error));
  try {
    for await (const record of input.pipe(parser) as AsyncIterable<string[]>) {
      if (columns === null) {
        columns = record;
        imageIndex = checkHeader(path, columns, options);
        continue;
      }
      rows += 1;
      const raw = (record[imageIndex] ?? '').replace(/\\/g, '/').replace(/^\.\//, '');
      const name = lastSegment(raw);
      if (!raw || (!fileNames.has(name) && name !== '.' && name !== '..' && name !== '')) continue;
      const inside = relative(listing.root, resolve(csvFolder, raw));
      const insideKey = !inside.startsWith('..') && !inside.startsWith(sep) ? inside.split(sep).join('/') : null;
      const parts = raw.split('/');
      const suffixes: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        const suffix = i === 0 ? raw : parts.slice(i).join('/');
        if (keys.has(suffix)) suffixes.push(suffix);
      }
      const isExact = insideKey !== null && keys.has(insideKey);
      if (!isExact && suffixes.length === 0) continue;
      const row: Record<string, string> = Object.create(null);
      columns.forEach((column, c) => (row[column] = record[c] ?? ''));
      const candidate = { row, rowNumber: rows + 1, path: raw };
      if (isExact) add(exact, insideKey!, candidate);
      for (const suffix of suffixes) add(bySuffix, suffix, candidate);
    }
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code?.startsWith('CSV_')) throw new Error(`--labels: '${path}' is not valid CSV: ${e.message}`);
    if (e.code) throw new Error(`--labels: cannot read '${path}': ${e.code}`);
    throw error;
  } finally {
    input.destroy(); // stopped early (a bad header, a parse error): the file is not left open
  }
  if (columns === null) throw new Error(`--labels: '${path}' is empty; give a CSV with a header row (an image column and a label column)`);
  if (rows === 0) throw new Error(`--labels: '${path}' has no rows, only the header (${columns.join(', ')})`);

  const policy = options.duplicates ?? 'error';
  const compared = [options.labelColumn, ...(options.groupColumns ?? [])];
  const conflicts: string[] = [];
  const used = new Set<Candidate>();
  let duplicateRows = 0;
  const rowOfImage = listing.images.map((image) => {
    let candidates = exact.get(image.key);
    if (!candidates) {
      const suffixed = bySuffix.get(image.key) ?? [];
      if (new Set(suffixed.map((c) => c.path)).size !== 1) return null; // none, or ambiguous
      candidates = suffixed;
    }
    // Compared as the values are used (labelIndices, groupValuesOf): NFC-normalised.
    const agree = candidates.every((c) => compared.every((column) => c.row[column].normalize('NFC') === candidates[0].row[column].normalize('NFC')));
    if (!agree && policy === 'error') {
      const described = candidates.map((c) => `row ${c.rowNumber} (${compared.map((column) => `${column}=${c.row[column]}`).join(', ')})`);
      conflicts.push(`'${image.key}': ${described.join(', ')}`);
    }
    const chosen = agree || policy !== 'last' ? candidates[0] : candidates[candidates.length - 1];
    duplicateRows += candidates.length - 1;
    candidates.forEach((c) => used.add(c));
    return chosen.row;
  });
  if (conflicts.length > 0) {
    const shown = conflicts.slice(0, 10).join('; ') + (conflicts.length > 10 ? `; … (${conflicts.length} images in all)` : '');
    throw new Error(
      `--labels: '${path}' labels ${conflicts.length === 1 ? 'an image' : `${conflicts.length} images`} twice, differently: ${shown}. ` +
        'Keep one row per image, or pass --duplicate-labels first (or last) to keep the first (or last) row.',
    );
  }
  return { source: path, columns, imageColumn: columns[imageIndex], rowOfImage, rows, labelsWithoutImage: rows - used.size, duplicateRows };
}

/** Label rows that come with the images themselves: a tar sample's `.cls`/`.json`/… members, a file list's other columns. */
export interface AttachedLabels {
  /** What they were read from, for messages. */
  readonly origin: string;
  /** Every label column seen, kept or not. */
  readonly columns: readonly string[];
  /** Each listed image's row, in listing order; null when it has none. */
  readonly rowOfImage: readonly (LabelRow | null)[];
}

/** The images' own label rows as a match (every image is its own row), the label and group columns checked to exist. */
export function attachedLabelMatch(labels: AttachedLabels, options: Pick<LabelOptions, 'labelColumn' | 'groupColumns'>): LabelMatch {
  const asked: [string, string][] = [['--label-column', options.labelColumn], ...(options.groupColumns ?? []).map((c): [string, string] => ['--groups', c])];
  for (const [flag, column] of asked) {
    if (!labels.columns.includes(column)) {
      throw new Error(`${flag}: no column '${column}' in ${labels.origin}; the columns are: ${labels.columns.join(', ') || '(none)'}. Name one of them, or give a labels CSV with --labels`);
    }
  }
  const rows = labels.rowOfImage.reduce((n, row) => n + (row ? 1 : 0), 0);
  return { source: labels.origin, columns: labels.columns, imageColumn: '', rowOfImage: [...labels.rowOfImage], rows, labelsWithoutImage: 0, duplicateRows: 0 };
}

/** Checks the header's columns against the options; returns the index of the image column. */
function checkHeader(source: string, columns: readonly string[], options: LabelOptions): number {
  const repeated = columns.filter((column, c) => columns.indexOf(column) !== c);
  if (repeated.length) throw new Error(`--labels: '${source}' has the column${repeated.length > 1 ? 's' : ''} ${[...new Set(repeated)].map((c) => `'${c}'`).join(', ')} twice in its header; name each column once`);
  const chosen = options.imageColumn ?? IMAGE_COLUMN_GUESSES.find((c) => columns.includes(c));
  if (!chosen || !columns.includes(chosen)) {
    const asked = options.imageColumn ? `has no column '${options.imageColumn}'` : 'has no image column (file, image, path, …)';
    throw new Error(`--labels: '${source}' ${asked}; its columns are: ${columns.join(', ')}; choose one with --image-column`);
  }
  if (!columns.includes(options.labelColumn)) throw columnError(source, '--label-column', options.labelColumn, columns);
  for (const column of options.groupColumns ?? []) if (!columns.includes(column)) throw columnError(source, '--groups', column, columns);
  return columns.indexOf(chosen);
}

/** Reads a label map (YAML or JSON: `{csv value: class name}`) for labels that are spelled differently from the spec. */
export async function readLabelMap(path: string): Promise<Map<string, string>> {
  const raw: unknown = parseYaml(await readFile(path, 'utf8'));
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(`--label-map: '${path}' must map each label value to a class name, e.g. "Male: man"`);
  }
  // Object.entries sees own keys, `__proto__` included (the YAML parser defines them as own properties).
  return new Map(Object.entries(raw).map(([k, v]) => [k, String(v)]));
}

/**
 * What to do with label values that name no class of the spec (after the label map): stop with the list
 * (`error`), or leave those images out of the metrics and the audit as if unlabelled (`skip`).
 */
export type UnmatchedLabelPolicy = 'error' | 'skip';
export const UNMATCHED_LABEL_POLICIES: readonly UnmatchedLabelPolicy[] = ['error', 'skip'];

/** A label map as the file --label-map reads, its values in code-point order of the label values (one text per map). */
export function labelMapYaml(labelMap: ReadonlyMap<string, string>): string {
  return stringifyYaml(new Map([...labelMap].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

export interface LabelIndices {
  /** Class index per image, -1 when the image has no label (or, skipped, one that names no class). */
  readonly truth: Int32Array;
  readonly labelled: number;
  readonly unlabelled: number;
  /** Label value as written → images whose value names no class (skipped; empty with `error`, which throws). */
  readonly unmatched: ReadonlyMap<string, number>;
}

/**
 * Turns label values into class indices; values that name no class are an error that lists them, or with
 * `unmatched: 'skip'` are counted and their images left unlabelled. Label values, label-map keys and values, and
 * class names are compared NFC-normalised (as prompts are): an "é" typed as one code point or as "e" and a
 * combining accent is the same letter, whichever the CSV, the map and the spec used.
 */
export function labelIndices(
  rows: readonly (LabelRow | null)[],
  column: string,
  classes: readonly string[],
  labelMap?: ReadonlyMap<string, string>,
  unmatchedPolicy: UnmatchedLabelPolicy = 'error',
): LabelIndices {
  const index = new Map<string, number>();
  classes.forEach((name, i) => {
    const key = name.normalize('NFC');
    const first = index.get(key);
    if (first !== undefined) {
      throw new Error(`spec: classes '${classes[first]}' and '${name}' are the same name in different Unicode forms (NFC); give them different names or merge them`);
    }
    index.set(key, i);
  });
  const map = labelMap && nfcLabelMap(labelMap);
  const truth = new Int32Array(rows.length).fill(-1);
  const unmatched = new Map<string, number>();
  rows.forEach((row, i) => {
    const value = row?.[column];
    if (value === undefined || value === '') return;
    const written = value.normalize('NFC');
    const className = map?.get(written) ?? written;
    const c = index.get(className);
    if (c === undefined) unmatched.set(value, (unmatched.get(value) ?? 0) + 1);
    else truth[i] = c;
  });
  if (unmatched.size > 0 && unmatchedPolicy === 'error') {
    throw new Error(
      `--label-column ${column}: values that are no class of the spec: ${describeUnmatched(unmatched)}; the classes are: ${classes.join(', ')}. ` +
        'Rename the classes in the spec, pass --label-map FILE mapping each value to a class, or --unmatched-labels skip to leave those images out of the metrics.',
    );
  }
  const labelled = truth.reduce((n, t) => n + (t >= 0 ? 1 : 0), 0);
  return { truth, labelled, unlabelled: rows.length - labelled, unmatched };
}

/** `'warm' (8), 'hot' (1)`: unmatched label values with their image counts, for messages. */
export function describeUnmatched(unmatched: ReadonlyMap<string, number>): string {
  return [...unmatched].map(([v, n]) => `'${v}' (${n})`).join(', ');
}

/**
 * Each group column's value per image, NFC-normalised as label values are (an "é" typed either way is one group);
 * null where the image has no row or the value is empty.
 */
export function groupValuesOf(rows: readonly (LabelRow | null)[], columns: readonly string[]): { name: string; values: (string | null)[] }[] {
  return columns.map((name) => ({ name, values: rows.map((row) => row?.[name]?.normalize('NFC') || null) }));
}

/** The label map with NFC keys and values; two keys that are one spelling once normalised must map alike. */
function nfcLabelMap(labelMap: ReadonlyMap<string, string>): Map<string, string> {
  const normalised = new Map<string, string>();
  const keyOf = new Map<string, string>();
  for (const [key, className] of labelMap) {
    const k = key.normalize('NFC');
    const v = className.normalize('NFC');
    const earlier = normalised.get(k);
    if (earlier !== undefined && earlier !== v) {
      throw new Error(`--label-map: '${keyOf.get(k)}' and '${key}' are the same value in different Unicode forms (NFC) but map to '${earlier}' and '${v}'; keep one of them`);
    }
    if (earlier === undefined) {
      normalised.set(k, v);
      keyOf.set(k, key);
    }
  }
  return normalised;
}
