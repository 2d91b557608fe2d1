import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseYaml } from 'yaml';
import type { ImageListing } from './images.js';

export type LabelRow = Readonly<Record<string, string>>;

export interface LabelTable {
  readonly source: string;
  readonly columns: readonly string[];
  /** The column holding image paths (`file` in FairFace's CSV). */
  readonly imageColumn: string;
  readonly rows: readonly LabelRow[];
}

const IMAGE_COLUMN_GUESSES = ['file', 'image', 'path', 'filename', 'file_name', 'image_path'];

/** Reads a labels CSV with a header row; the image column is given or guessed from common names. */
export async function readLabelTable(path: string, imageColumn?: string): Promise<LabelTable> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(`--labels: cannot read '${path}': ${error.code ?? error.message}`);
  });
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(text, { columns: true, bom: true, skip_empty_lines: true, trim: true });
  } catch (error) {
    throw new Error(`--labels: '${path}' is not valid CSV: ${(error as Error).message}`);
  }
  const columns = rows.length > 0 ? Object.keys(rows[0]) : [];
  const chosen = imageColumn ?? IMAGE_COLUMN_GUESSES.find((c) => columns.includes(c));
  if (!chosen || !columns.includes(chosen)) {
    const asked = imageColumn ? `has no column '${imageColumn}'` : 'has no image column (file, image, path, …)';
    throw new Error(`--labels: '${path}' ${asked}; its columns are: ${columns.join(', ')}; choose one with --image-column`);
  }
  return { source: path, columns, imageColumn: chosen, rows };
}

/** Fails with the list of columns when `column` is not one of them. */
export function requireColumn(table: LabelTable, column: string, flag: string): void {
  if (!table.columns.includes(column)) {
    throw new Error(`${flag}: '${table.source}' has no column '${column}'; its columns are: ${table.columns.join(', ')}`);
  }
}

export interface LabelMatch {
  /** The label row of each listed image, or null when the CSV has none. */
  readonly rowOfImage: (LabelRow | null)[];
  /** CSV rows whose image is not among the listed images. */
  readonly labelsWithoutImage: number;
}

/**
 * Pairs label rows with images. A row's path matches an image when it resolves (relative to the CSV's
 * folder) to the same file, or when it ends with the image's key (FairFace's `val/1.jpg` for `--images …/val`).
 */
export function matchLabelsToImages(table: LabelTable, listing: ImageListing): LabelMatch {
  const csvFolder = dirname(resolve(table.source));
  const byKey = new Map<string, LabelRow>();
  const bySuffix = new Map<string, LabelRow | null>(); // null marks an ambiguous suffix
  for (const row of table.rows) {
    const raw = (row[table.imageColumn] ?? '').replace(/\\/g, '/').replace(/^\.\//, '');
    if (!raw) continue;
    const inside = relative(listing.root, resolve(csvFolder, raw));
    if (!inside.startsWith('..') && !inside.startsWith(sep)) byKey.set(inside.split(sep).join('/'), row);
    const parts = raw.split('/');
    for (let i = 0; i < parts.length; i++) {
      const suffix = parts.slice(i).join('/');
      bySuffix.set(suffix, bySuffix.has(suffix) && bySuffix.get(suffix) !== row ? null : row);
    }
  }
  const used = new Set<LabelRow>();
  const rowOfImage = listing.images.map((image) => {
    const row = byKey.get(image.key) ?? bySuffix.get(image.key) ?? null;
    if (row) used.add(row);
    return row;
  });
  return { rowOfImage, labelsWithoutImage: table.rows.length - used.size };
}

/** Reads a label map (YAML or JSON: `{csv value: class name}`) for labels that are spelled differently from the spec. */
export async function readLabelMap(path: string): Promise<Map<string, string>> {
  const raw: unknown = parseYaml(await readFile(path, 'utf8'));
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(`--label-map: '${path}' must map each label value to a class name, e.g. "Male: man"`);
  }
  return new Map(Object.entries(raw).map(([k, v]) => [k, String(v)]));
}

export interface LabelIndices {
  /** Class index per image, -1 when the image has no label. */
  readonly truth: Int32Array;
  readonly labelled: number;
  readonly unlabelled: number;
}

/** Turns label values into class indices; values that name no class are an error that lists them. */
export function labelIndices(rows: readonly (LabelRow | null)[], column: string, classes: readonly string[], labelMap?: Map<string, string>): LabelIndices {
  const index = new Map(classes.map((c, i) => [c, i]));
  const truth = new Int32Array(rows.length).fill(-1);
  const unknown = new Map<string, number>();
  rows.forEach((row, i) => {
    const value = row?.[column];
    if (value === undefined || value === '') return;
    const className = labelMap?.get(value) ?? value;
    const c = index.get(className);
    if (c === undefined) unknown.set(value, (unknown.get(value) ?? 0) + 1);
    else truth[i] = c;
  });
  if (unknown.size > 0) {
    const listed = [...unknown].map(([v, n]) => `'${v}' (${n})`).join(', ');
    throw new Error(
      `--label-column ${column}: values that are no class of the spec: ${listed}; the classes are: ${classes.join(', ')}. ` +
        'Rename the classes in the spec or pass --label-map FILE mapping each value to a class.',
    );
  }
  const labelled = truth.reduce((n, t) => n + (t >= 0 ? 1 : 0), 0);
  return { truth, labelled, unlabelled: rows.length - labelled };
}
