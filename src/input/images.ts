import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { systemErrorWords, virtualFileSystemName } from '../report/writable_path.js';
import { escapeInvalidUtf8, firstInvalidUtf8Byte } from './utf8.js';
import type { ImageBytesSource } from './file_range.js';

/** File extensions read as images; anything else in the folder is ignored (and counted). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.bmp', '.tif', '.tiff']);

export interface ImageEntry {
  /**
   * Path relative to the images folder, with forward slashes: the key in similarities.json. Bytes of a name
   * that are not UTF-8 are written `\xNN` (see escapeInvalidUtf8).
   */
  readonly key: string;
  /** The file's path; for a name that is not UTF-8, a readable stand-in: read the file through `rawPath`. */
  readonly path: string;
  /** The path's bytes, when they are not UTF-8 (the file can only be opened by them). */
  readonly rawPath?: Buffer;
  /** The image is these bytes of `path` (a member of an uncompressed tar), not the whole file. */
  readonly range?: { readonly offset: number; readonly length: number };
}

/** Something under the images folder that is neither read nor an ordinary ignored file, and why. */
export interface SkippedEntry {
  /** Relative to the images folder, escaped as keys are. */
  readonly path: string;
  readonly reason: string;
}

export interface ImageListing {
  /** Absolute folder the keys are relative to (for tars and file lists: see image_sources.ts). */
  readonly root: string;
  readonly images: ImageEntry[];
  /** Files that are not images by extension (ignored). */
  readonly ignored: number;
  /** FIFOs, sockets, devices, dangling or looping symbolic links, unreadable folders: listed in run.json. */
  readonly skipped: SkippedEntry[];
}

/**
 * What a listed image's bytes are read from: its path, its range of a tar, or the bytes themselves for a name only
 * its raw bytes open.
 */
export async function imageSource(image: ImageEntry): Promise<ImageBytesSource> {
  if (image.range) return { path: image.path, ...image.range };
  return image.rawPath ? readFile(image.rawPath) : image.path;
}

const SLASH = Buffer.from('/');
const join = (folder: Buffer, name: Buffer) => Buffer.concat([folder, SLASH, name]);
const decode = (bytes: Buffer) => (firstInvalidUtf8Byte(bytes) < 0 ? bytes.toString('utf8') : escapeInvalidUtf8(bytes));

function specialFileKind(entry: Dirent<Buffer> | Stats): string | null {
  if (entry.isFIFO()) return 'a FIFO (named pipe), not a file';
  if (entry.isSocket()) return 'a socket, not a file';
  if (entry.isCharacterDevice()) return 'a character device, not a file';
  if (entry.isBlockDevice()) return 'a block device, not a file';
  return null;
}

/**
 * Lists the images under `root` recursively, sorted by key so runs are reproducible. Symbolic links are
 * followed (to files and to folders; a link to a folder that holds it, `..` or `/` say, is a loop and skipped, as
 * is a link into /proc or /sys); names that are not UTF-8 are kept by their bytes.
 */
export async function listImages(root: string): Promise<ImageListing> {
  const absoluteRoot = resolve(root);
  const info = await stat(absoluteRoot).catch(() => null);
  if (!info) throw new Error(`--images: '${root}' does not exist; give a folder of images`);
  if (!info.isDirectory()) throw new Error(`--images: '${root}' is not a folder; give a folder of images`);
  const rootBytes = Buffer.from(absoluteRoot);
  const images: ImageEntry[] = [];
  const skipped: SkippedEntry[] = [];
  const keys = new Set<string>();
  let ignored = 0;

  const addFile = (path: Buffer, relative: Buffer, name: Buffer) => {
    const key = decode(relative);
    if (!IMAGE_EXTENSIONS.has(extname(decode(name)).toLowerCase()) || name[0] === 0x2e) return void (ignored += 1);
    // An escaped key can equal the real name of another file (`caf\xe9.jpg`): keep the first, say so.
    if (keys.has(key)) return void skipped.push({ path: key, reason: `its name, escaped, is the name of another file` });
    keys.add(key);
    const valid = firstInvalidUtf8Byte(path) < 0;
    images.push(valid ? { key, path: path.toString('utf8') } : { key, path: escapeInvalidUtf8(path), rawPath: path });
  };

  // `ancestors`: device:inode of the folders that hold this one, to tell a loop from a shared folder.
  const walk = async (folder: Buffer, relative: Buffer | null, ancestors: ReadonlySet<string>): Promise<void> => {
    let entries: Dirent<Buffer>[];
    try {
      entries = await readdir(folder, { withFileTypes: true, encoding: 'buffer' });
    } catch (error) {
      if (relative === null) throw new Error(`--images: cannot read '${root}': ${systemErrorWords(error)}`);
      return void skipped.push({ path: decode(relative), reason: `folder cannot be read: ${systemErrorWords(error)}` });
    }
    for (const entry of entries) {
      const path = join(folder, entry.name);
      const inner = relative === null ? entry.name : join(relative, entry.name);
      let kind: Dirent<Buffer> | Stats = entry;
      if (entry.isSymbolicLink()) {
        try {
          kind = await stat(path);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          const reason = code === 'ENOENT' ? 'a dangling symbolic link (its target does not exist)'
            : code === 'ELOOP' ? 'a symbolic link loop' : `a symbolic link whose target cannot be read: ${systemErrorWords(error)}`;
          skipped.push({ path: decode(inner), reason });
          continue;
        }
      }
      if (kind.isFile()) addFile(path, inner, entry.name);
      else if (kind.isDirectory()) {
        const folderInfo = entry.isSymbolicLink() ? (kind as Stats) : await stat(path).catch(() => null);
        const id = folderInfo && `${folderInfo.dev}:${folderInfo.ino}`;
        if (id !== null && ancestors.has(id)) {
          skipped.push({ path: decode(inner), reason: 'a symbolic link loop (it leads back to a folder it is in)' });
          continue;
        }
        // A link into /proc or /sys would walk the kernel's tables (and, through /proc/*/root, the whole disk).
        const pseudo = entry.isSymbolicLink() ? virtualFileSystemName(path) : null;
        if (pseudo) {
          skipped.push({ path: decode(inner), reason: `a symbolic link to a folder on ${pseudo}, a virtual file system` });
          continue;
        }
        await walk(path, inner, id === null ? ancestors : new Set([...ancestors, id]));
      } else {
        skipped.push({ path: decode(inner), reason: specialFileKind(kind) ?? 'not a file or folder' });
      }
    }
  };
  // The folders that hold the root count too: a link to `..` or `/` would lead back into the root.
  const holders = new Set([`${info.dev}:${info.ino}`]);
  for (let folder = await realpath(absoluteRoot); dirname(folder) !== folder; ) {
    folder = dirname(folder);
    const holder = await stat(folder);
    holders.add(`${holder.dev}:${holder.ino}`);
  }
  await walk(rootBytes, null, holders);

  if (images.length === 0) {
    const skippedNote = skipped.length ? `, ${skipped.length} skipped (${skipped.slice(0, 3).map((s) => `'${s.path}': ${s.reason}`).join('; ')}${skipped.length > 3 ? '; …' : ''})` : '';
    throw new Error(`--images: no images in '${root}' (${ignored} other files${skippedNote}); expected ${[...IMAGE_EXTENSIONS].join(' ')}`);
  }
  images.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { root: absoluteRoot, images, ignored, skipped };
}
