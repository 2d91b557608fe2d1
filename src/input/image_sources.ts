// What `--images` names, in one place: a folder, WebDataset tar shards ('data/{00000..00099}.tar', 'a.tar,b.tar',
// 'data/*.tar'), or a list of files (.csv, .tsv, .parquet). Every kind lists ImageEntry items that imageSource reads,
// so embedding, the cache, errors.jsonl and the shards need no case of their own.
import { readdir, stat } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import braces from 'braces';
import { listImages, type ImageEntry, type ImageListing } from './images.js';
import type { AttachedLabels } from './labels.js';
import { FILE_LIST_EXTENSIONS, listFileList } from './file_list.js';
import { listWebDataset, splitTarKey } from './webdataset.js';

export type ImagesInputKind = 'folder' | 'webdataset' | 'file-list';

/** run.json's `images_input`: what --images said and what it named. */
export interface ImagesInput {
  readonly kind: ImagesInputKind;
  /** --images as given. */
  readonly spec: string;
  /** The folder, the list, or the tars, as absolute paths (tars in key order); empty where not listed (collect). */
  readonly files: readonly string[];
}

export interface SourceListing extends ImageListing {
  readonly input: ImagesInput;
  /** The images' own label rows: tar samples' text members, a file list's other columns. */
  readonly labels?: AttachedLabels;
}

export interface ImageSourceOptions {
  /** A file list's path column (default: path, file, image, …). */
  readonly imageColumn?: string;
  /** Keep the values of these label columns only (tars and lists; every column's name is still listed); default all. */
  readonly columns?: readonly string[];
}

/** More shards than anyone lists by hand, fewer than would make the expansion itself a problem. */
const MAX_EXPANDED_PATHS = 1_000_000;
const COMPRESSED_TAR = /\.(tar\.(gz|bz2|xz|zst|lz4)|tgz|tbz2?|txz)$/i;
const GLOB_CHARACTERS = /[*?[]/;

/** Splits on the commas outside braces: 'a.tar,b/{1,2}.tar' → 'a.tar', 'b/{1,2}.tar'. */
function topLevelParts(spec: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < spec.length; i++) {
    if (spec[i] === '{') depth += 1;
    else if (spec[i] === '}') depth = Math.max(0, depth - 1);
    else if (spec[i] === ',' && depth === 0) {
      parts.push(spec.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(spec.slice(start));
  return parts.map((part) => part.trim()).filter(Boolean);
}

/** `*` and `?` (and `[…]`) in the file name only: the folder's entries that match, sorted. */
async function globFileName(pattern: string, spec: string): Promise<string[]> {
  const folder = dirname(pattern);
  if (GLOB_CHARACTERS.test(folder)) throw new Error(`--images '${spec}': wildcards work in the file name only ('data/*.tar'), not in '${folder}'`);
  const source = basename(pattern).replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  const matcher = new RegExp(`^${source}$`);
  const names = await readdir(folder).catch((error) => {
    throw new Error(`--images '${spec}': cannot read the folder '${folder}': ${(error as Error).message}`);
  });
  const matched = names.filter((name) => matcher.test(name) && !name.startsWith('.')).sort();
  if (!matched.length) throw new Error(`--images '${spec}': no file in '${folder}' matches '${basename(pattern)}'`);
  return matched.map((name) => join(folder, name));
}

/**
 * The paths `--images` names: itself when it exists; else its comma-separated parts, each brace-expanded
 * ('{00000..00099}' keeps the zero padding) and globbed in its file name. zeroshot expands, not the shell, so the
 * pattern works quoted and does not hit the shell's argument limit.
 */
export async function expandImagesSpec(spec: string): Promise<string[]> {
  if (await stat(spec).then(() => true, () => false)) return [spec];
  const paths: string[] = [];
  for (const part of topLevelParts(spec)) {
    let expanded: string[];
    try {
      expanded = braces(part, { expand: true, rangeLimit: MAX_EXPANDED_PATHS });
    } catch (error) {
      throw new Error(`--images '${spec}': ${(error as Error).message}`);
    }
    for (const path of expanded) paths.push(...(GLOB_CHARACTERS.test(path) ? await globFileName(path, spec) : [path]));
    if (paths.length > MAX_EXPANDED_PATHS) throw new Error(`--images '${spec}': names more than ${MAX_EXPANDED_PATHS} paths`);
  }
  return [...new Set(paths)];
}

/** The deepest folder holding all of `paths` (absolute). */
function commonFolder(paths: readonly string[]): string {
  let common = dirname(paths[0]);
  for (const path of paths) while (relative(common, path).startsWith('..')) common = dirname(common);
  return common;
}

const keyOf = (root: string, path: string) => relative(root, path).split(sep).join('/');

type PathKind = 'folder' | 'tar' | 'list' | 'other' | 'missing';

async function kindOf(path: string): Promise<PathKind> {
  const info = await stat(path).catch(() => null);
  if (info?.isDirectory()) return 'folder';
  if (COMPRESSED_TAR.test(path)) {
    throw new Error(
      `--images: '${path}' is a compressed tar: zeroshot reads tar members in place by their offset, which a compressed stream does not have; ` +
        'decompress it (e.g. gunzip -k) or write the shards uncompressed (WebDataset\'s default, .tar)',
    );
  }
  if (!info) return 'missing';
  if (/\.tar$/i.test(path)) return 'tar';
  const extension = path.slice(path.lastIndexOf('.')).toLowerCase();
  return FILE_LIST_EXTENSIONS.has(extension) ? 'list' : 'other';
}

/** Lists what `--images` names (see expandImagesSpec), as one listing whatever its kind. */
export async function listImageSource(spec: string, options: ImageSourceOptions = {}): Promise<SourceListing> {
  const paths = (await expandImagesSpec(spec)).map((path) => resolve(path));
  const kinds = await Promise.all(paths.map(kindOf));
  const missing = paths.filter((_, i) => kinds[i] === 'missing');
  const namedLikeTarOrList = (path: string) => /\.(tar|csv|tsv|parquet)$/i.test(path);
  if (paths.length === 1 && (kinds[0] === 'folder' || (kinds[0] === 'missing' && !namedLikeTarOrList(paths[0])))) {
    // A folder, or nothing at all: listImages says what is wrong in the words it always has.
    return { ...(await listImages(spec)), input: { kind: 'folder', spec, files: [resolve(spec)] } };
  }
  if (paths.length === 1 && kinds[0] === 'other') {
    throw new Error(`--images: '${spec}' is not a folder, an uncompressed .tar shard or a list of files (.csv, .tsv, .parquet)`);
  }
  if (missing.length) {
    if (paths.length === 1) throw new Error(`--images: '${paths[0]}' does not exist`);
    throw new Error(`--images '${spec}': ${missing.length} of the ${paths.length} paths it names do not exist (${missing.slice(0, 3).map((p) => `'${p}'`).join(', ')}${missing.length > 3 ? ', …' : ''})`);
  }
  if (kinds.every((kind) => kind === 'tar')) {
    const root = commonFolder(paths);
    const shards = paths.map((path) => ({ path, keyPrefix: keyOf(root, path) })).sort((a, b) => (a.keyPrefix < b.keyPrefix ? -1 : a.keyPrefix > b.keyPrefix ? 1 : 0));
    const listing = await listWebDataset(shards, root, { columns: options.columns });
    return { ...listing, input: { kind: 'webdataset', spec, files: shards.map((shard) => shard.path) } };
  }
  if (paths.length === 1 && kinds[0] === 'list') {
    return { ...(await listFileList(paths[0], options)), input: { kind: 'file-list', spec, files: paths } };
  }
  const described = paths.slice(0, 4).map((path, i) => `'${path}' (${kinds[i] === 'other' ? 'not a folder, .tar or list' : kinds[i]})`).join(', ');
  throw new Error(`--images '${spec}': give one folder, one list (.csv, .tsv, .parquet) or uncompressed .tar shards, not a mix: ${described}${paths.length > 4 ? ', …' : ''}`);
}

/**
 * `entries` (a shard plan's images, as files under `root`, on the machine that embeds them) with those whose key
 * names a tar member made that member, read in place: a key whose prefix up to a `.tar/` is a tar file under `root`.
 * Only the tars the keys name are read. A key its tar no longer holds is an error.
 */
export async function resolveTarMembers(root: string, entries: readonly ImageEntry[]): Promise<ImageEntry[]> {
  const tarFiles = new Map<string, boolean>();
  const isTar = (prefix: string) => {
    let known = tarFiles.get(prefix);
    if (known === undefined) tarFiles.set(prefix, (known = statSync(join(root, prefix), { throwIfNoEntry: false })?.isFile() ?? false));
    return known;
  };
  const tarOfKey = entries.map((entry) => splitTarKey(entry.key, isTar)?.tar);
  const tars = [...new Set(tarOfKey.filter((tar): tar is string => tar !== undefined))];
  if (!tars.length) return [...entries];
  const members = new Map<string, ImageEntry>();
  const listing = await listWebDataset(tars.map((tar) => ({ path: join(root, tar), keyPrefix: tar })), root, { columns: [] });
  for (const image of listing.images) members.set(image.key, image);
  const lost = entries.filter((entry, i) => tarOfKey[i] !== undefined && !members.has(entry.key));
  if (lost.length) throw new Error(`${lost.length} images are no longer in their tars under '${root}' (e.g. '${lost[0].key}'); make a new plan`);
  return entries.map((entry, i) => (tarOfKey[i] !== undefined ? members.get(entry.key)! : entry));
}

/** `--images` with its paths made absolute, to be listed again from another folder (a shard plan's collect). */
export async function absoluteImagesSpec(spec: string): Promise<string> {
  if (await stat(spec).then(() => true, () => false)) return resolve(spec);
  return topLevelParts(spec).map((part) => resolve(part)).join(',');
}
