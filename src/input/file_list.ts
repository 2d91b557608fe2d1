// A list of image files (CSV, TSV or Parquet with a path column) as the images of a run; the other columns come
// with each image as its label row. Paths are local, relative to the list's folder; URLs are refused.
import { createReadStream } from 'node:fs';
import { dirname, extname, relative, resolve, sep } from 'node:path';
import { parse as parseCsv } from 'csv-parse';
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import type { ImageEntry, ImageListing, SkippedEntry } from './images.js';
import type { AttachedLabels, LabelRow } from './labels.js';

/** The path column when --image-column is not given: the first of these the list has. */
export const PATH_COLUMN_GUESSES = ['path', 'file', 'image', 'filename', 'file_name', 'image_path', 'url'];

export const FILE_LIST_EXTENSIONS: ReadonlySet<string> = new Set(['.csv', '.tsv', '.parquet']);

export interface FileListOptions {
  /** The column holding the image paths; default: the first of PATH_COLUMN_GUESSES. */
  readonly imageColumn?: string;
  /** Keep the values of these label columns only (every column's name is still listed); default: all. */
  readonly columns?: readonly string[];
}

/** Reads the list's header, asks which columns to read, then hands over each row's values of those columns. */
type RowReader = (pick: (header: readonly string[]) => readonly string[], onRow: (values: readonly string[]) => void) => Promise<void>;

function csvRows(path: string): RowReader {
  return async (pick, onRow) => {
    const input = createReadStream(path);
    const parser = parseCsv({ bom: true, skip_empty_lines: true, trim: true, delimiter: extname(path).toLowerCase() === '.tsv' ? '\t' : ',' });
    input.on('error', (error) => parser.destroy(error));
    let indices: number[] | null = null;
    try {
      for await (const record of input.pipe(parser) as AsyncIterable<string[]>) {
        if (indices === null) {
          indices = pick(record).map((column) => record.indexOf(column));
          continue;
        }
        onRow(indices.map((i) => record[i] ?? ''));
      }
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.code?.startsWith('CSV_')) throw new Error(`--images: '${path}' is not valid CSV: ${e.message}`);
      if (e.code) throw new Error(`--images: cannot read '${path}': ${e.code}`);
      throw error;
    } finally {
      input.destroy();
    }
    if (indices === null) throw new Error(`--images: '${path}' is empty; give a list with a header row and a path column`);
  };
}

const cellText = (value: unknown): string =>
  value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? String(v) : v)) : String(value);

/** Parquet, one row group at a time and only the columns asked for, so a list of millions of rows is never whole. */
function parquetRows(path: string): RowReader {
  return async (pick, onRow) => {
    let file, metadata;
    try {
      file = await asyncBufferFromFile(path);
      metadata = await parquetMetadataAsync(file);
    } catch (error) {
      throw new Error(`--images: '${path}' cannot be read as Parquet: ${(error as Error).message}`);
    }
    const columns = [...pick(parquetSchema(metadata).children.map((child) => child.element.name))];
    let rowStart = 0;
    for (const group of metadata.row_groups) {
      const rowEnd = rowStart + Number(group.num_rows);
      await parquetRead({ file, metadata, columns, rowStart, rowEnd, onComplete: (rows: unknown[][]) => rows.forEach((row) => onRow(row.map(cellText))) });
      rowStart = rowEnd;
    }
  };
}

const isUrl = (path: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(path);

/**
 * Lists the files a CSV/TSV/Parquet list names, in the list's order. Keys are the paths relative to the list's
 * folder (forward slashes), so `a/1.jpg` and `./a/1.jpg` are one image; a second row naming the same file is
 * skipped (and said). Files that do not exist are listed: their read fails and errors.jsonl says so.
 */
export async function listFileList(path: string, options: FileListOptions = {}): Promise<ImageListing & { labels: AttachedLabels }> {
  const root = dirname(resolve(path));
  const read = extname(path).toLowerCase() === '.parquet' ? parquetRows(path) : csvRows(path);
  const images: ImageEntry[] = [];
  const rowOfImage: (LabelRow | null)[] = [];
  const skipped: SkippedEntry[] = [];
  const rowOfKey = new Map<string, number>();
  let otherColumns: string[] = [];
  let labelColumns: string[] = [];
  let row = 0;
  await read(
    (columns) => {
      const repeated = columns.filter((column, c) => columns.indexOf(column) !== c);
      if (repeated.length) throw new Error(`--images: '${path}' has the column ${[...new Set(repeated)].map((c) => `'${c}'`).join(', ')} twice in its header; name each column once`);
      const chosen = options.imageColumn ?? PATH_COLUMN_GUESSES.find((c) => columns.includes(c));
      if (!chosen || !columns.includes(chosen)) {
        const asked = options.imageColumn ? `has no column '${options.imageColumn}'` : `has no path column (${PATH_COLUMN_GUESSES.join(', ')})`;
        throw new Error(`--images: '${path}' ${asked}; its columns are: ${columns.join(', ')}; choose one with --image-column`);
      }
      otherColumns = columns.filter((c) => c !== chosen);
      labelColumns = otherColumns.filter((c) => !options.columns || options.columns.includes(c));
      return [chosen, ...labelColumns];
    },
    ([raw, ...values]) => {
      row += 1;
      // The header is row 1 of a CSV, as a spreadsheet shows it; Parquet rows count from 1.
      const rowNumber = extname(path).toLowerCase() === '.parquet' ? row : row + 1;
      const where = `row ${rowNumber}`;
      if (isUrl(raw)) {
        throw new Error(`--images: '${path}' ${where}: '${raw}' is a URL; zeroshot reads local files only. Download the images first (img2dataset, for one, writes WebDataset tars, which --images reads)`);
      }
      if (!raw) return void skipped.push({ path: where, reason: 'its path is empty' });
      const file = resolve(root, raw.replace(/\\/g, '/'));
      const key = relative(root, file).split(sep).join('/');
      const earlier = rowOfKey.get(key);
      if (earlier !== undefined) return void skipped.push({ path: key, reason: `${where} names the file of row ${earlier} again (the first row is kept)` });
      rowOfKey.set(key, rowNumber);
      images.push({ key, path: file });
      // No row object where no label column is kept (a run labelled by a CSV, or not at all): a million lists rows.
      if (!labelColumns.length) return void rowOfImage.push(null);
      const labels: Record<string, string> = Object.create(null);
      labelColumns.forEach((column, c) => (labels[column] = values[c]));
      rowOfImage.push(labels);
    },
  );
  if (images.length === 0) throw new Error(`--images: '${path}' lists no images (${row} rows${skipped.length ? `, ${skipped.length} with an empty path` : ''})`);
  return { root, images, ignored: 0, skipped, labels: { origin: `'${path}'`, columns: otherColumns, rowOfImage } };
}
