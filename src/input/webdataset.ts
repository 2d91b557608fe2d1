// WebDataset shards: uncompressed tars whose members are grouped into samples by key. Listing streams each tar once
// through tar-stream and keeps only where each image member's bytes are (offset and size); the images are read later
// by offset, so no tar, and no image, is ever held in memory for the listing.
import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { extract, type Header } from 'tar-stream';
import { IMAGE_EXTENSIONS, type ImageEntry, type ImageListing, type SkippedEntry } from './images.js';
import type { AttachedLabels, LabelRow } from './labels.js';

/** Text members larger than this are not label values (a caption file of a megabyte is not a class). */
export const MAX_TEXT_MEMBER_BYTES = 64 * 1024;

export interface WebDatasetOptions {
  /** Keep the values of these label columns only (every column's name is still listed); default: all. */
  readonly columns?: readonly string[];
}

/** One tar to list: its path, and what its members' keys start with (its path relative to the listing's root). */
export interface TarShard {
  readonly path: string;
  readonly keyPrefix: string;
}

/** A tar's members grouped as WebDataset does: key = member path up to the first dot of its base name. */
export function sampleKeyOf(memberName: string): { sample: string; extension: string } | null {
  const name = memberName.replace(/^(\.\/)+/, '');
  const slash = name.lastIndexOf('/');
  const base = name.slice(slash + 1);
  const dot = base.indexOf('.');
  if (dot <= 0 || dot === base.length - 1) return null; // no extension, or a hidden file
  return { sample: name.slice(0, slash + 1) + base.slice(0, dot), extension: base.slice(dot + 1).toLowerCase() };
}

/** A member is an image when the last part of its extension is one (`seg.png` is a PNG, as WebDataset decodes it). */
const isImageExtension = (extension: string) => IMAGE_EXTENSIONS.has(extname(`x.${extension}`).toLowerCase());

/** Label values from a text member: `.json` gives its top-level fields, any other extension one column of that name. */
function textMemberColumns(extension: string, text: string): [string, string][] | null {
  if (extension !== 'json') return [[extension, text.trim()]];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  return Object.entries(value).map(([field, v]) => [field, v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)]);
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });
const asText = (bytes: Buffer): string | null => {
  if (bytes.includes(0)) return null;
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    return null;
  }
};

interface TarListing {
  readonly images: ImageEntry[];
  readonly rows: (LabelRow | null)[];
  ignored: number;
  readonly skipped: SkippedEntry[];
}

/**
 * Lists one tar: each image member becomes an entry keyed `<keyPrefix>/<member path>` that reads its bytes in
 * place; the sample's other small text members (`.cls`, `.txt`, `.json`'s fields, …) become its label row. A tar
 * that ends early or has a damaged header keeps the members before the damage; a member cut short keeps its
 * entry, whose read then fails with the truncation (errors.jsonl). `columnNames` collects every column seen.
 */
async function listTar(shard: TarShard, columnNames: Set<string>, keep: ReadonlySet<string> | null, out: TarListing): Promise<void> {
  const input = createReadStream(shard.path);
  const members = extract();
  input.on('error', (error) => members.destroy(error));
  const keys = new Set<string>();
  let sample: string | null = null;
  let sampleImages: number[] = [];
  let sampleRow: Record<string, string> | null = null;
  const endSample = () => {
    for (const i of sampleImages) out.rows[i] = sampleRow;
    [sampleImages, sampleRow] = [[], null];
  };
  let lastMember = '';
  try {
    for await (const member of input.pipe(members)) {
      const header = member.header as Header & { byteOffset?: number };
      const name = header.name;
      lastMember = name;
      const size = header.size;
      const parsed = header.type === 'file' || header.type === 'contiguous-file' ? sampleKeyOf(name) : null;
      if (!parsed) {
        if (header.type !== 'directory') out.ignored += 1;
        member.resume();
        continue;
      }
      if (parsed.sample !== sample) {
        endSample();
        sample = parsed.sample;
      }
      if (isImageExtension(parsed.extension)) {
        member.resume();
        const key = `${shard.keyPrefix}/${name.replace(/^(\.\/)+/, '')}`;
        if (keys.has(key)) {
          out.skipped.push({ path: key, reason: 'a second member of this name in the tar (the first is read)' });
          continue;
        }
        if (header.byteOffset === undefined) throw new Error('tar-stream gave no byte offset for a member (header.byteOffset); this zeroshot needs tar-stream 3');
        keys.add(key);
        sampleImages.push(out.images.length);
        out.images.push({ key, path: shard.path, range: { offset: header.byteOffset, length: size } });
        out.rows.push(null);
        continue;
      }
      if (size > MAX_TEXT_MEMBER_BYTES) {
        out.ignored += 1;
        member.resume();
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of member) chunks.push(chunk as Buffer);
      const text = asText(Buffer.concat(chunks));
      const columns = text === null ? null : textMemberColumns(parsed.extension, text);
      if (!columns) {
        out.ignored += 1;
        continue;
      }
      for (const [column, value] of columns) {
        columnNames.add(column);
        if (keep !== null && !keep.has(column)) continue;
        sampleRow ??= Object.create(null) as Record<string, string>;
        // A member named for the column (`.cls`) wins over a `.json` field of that name, whatever their order.
        if (parsed.extension !== 'json' || !(column in sampleRow)) sampleRow[column] = value;
      }
    }
  } catch (error) {
    const at = lastMember ? `in or after member '${lastMember}'` : 'at its start';
    const words = (error as NodeJS.ErrnoException).code ? `cannot be read (${(error as Error).message})` : `is damaged ${at} (${(error as Error).message})`;
    out.skipped.push({ path: shard.keyPrefix, reason: `the tar ${words}: the members before are read, the rest of this tar is not` });
  } finally {
    input.destroy();
  }
  endSample();
}

/**
 * Lists WebDataset tars (uncompressed) as images with their label rows. Keys are `<tar path relative to root>/<member
 * path>`, e.g. `00003.tar/sample001.jpg`: unique across the tars, stable, and found again by `resolveTarMembers`.
 */
export async function listWebDataset(shards: readonly TarShard[], root: string, options: WebDatasetOptions = {}): Promise<ImageListing & { labels: AttachedLabels }> {
  const columnNames = new Set<string>();
  const keep = options.columns ? new Set(options.columns) : null;
  const out: TarListing = { images: [], rows: [], ignored: 0, skipped: [] };
  for (const shard of shards) await listTar(shard, columnNames, keep, out);
  const order = out.images.map((_, i) => i).sort((a, b) => (out.images[a].key < out.images[b].key ? -1 : out.images[a].key > out.images[b].key ? 1 : 0));
  if (order.length === 0) {
    const damaged = out.skipped.length ? `; ${out.skipped.slice(0, 3).map((s) => `'${s.path}': ${s.reason}`).join('; ')}` : '';
    throw new Error(`--images: no image members in ${shards.length === 1 ? `'${shards[0].path}'` : `${shards.length} tars`} (${out.ignored} other members${damaged}); expected members named <key>.jpg, .png, …`);
  }
  return {
    root,
    images: order.map((i) => out.images[i]),
    ignored: out.ignored,
    skipped: out.skipped,
    labels: { origin: 'the tar samples (their .cls, .txt, .json, … members)', columns: [...columnNames].sort(), rowOfImage: order.map((i) => out.rows[i]) },
  };
}

/** The tar part of a key: the first `….tar` segment prefix that `isTar` says is a tar file, and the member after it. */
export function splitTarKey(key: string, isTar: (prefix: string) => boolean): { tar: string; member: string } | null {
  for (let at = key.indexOf('.tar/'); at >= 0; at = key.indexOf('.tar/', at + 1)) {
    const tar = key.slice(0, at + 4);
    if (isTar(tar)) return { tar, member: key.slice(at + 5) };
  }
  return null;
}
