import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';

/** File extensions read as images; anything else in the folder is ignored (and counted). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.bmp', '.tif', '.tiff']);

export interface ImageEntry {
  /** Path relative to the images folder, with forward slashes: the key in similarities.json. */
  readonly key: string;
  readonly path: string;
}

export interface ImageListing {
  readonly root: string;
  readonly images: ImageEntry[];
  /** Files that are not images by extension (ignored). */
  readonly ignored: number;
}

/** Lists the images under `root` recursively, sorted by key so runs are reproducible. */
export async function listImages(root: string): Promise<ImageListing> {
  const absoluteRoot = resolve(root);
  const info = await stat(absoluteRoot).catch(() => null);
  if (!info) throw new Error(`--images: '${root}' does not exist; give a folder of images`);
  if (!info.isDirectory()) throw new Error(`--images: '${root}' is not a folder; give a folder of images`);
  const images: ImageEntry[] = [];
  let ignored = 0;
  const entries = await readdir(absoluteRoot, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase()) && !entry.name.startsWith('.')) {
      images.push({ key: relative(absoluteRoot, path).split(sep).join('/'), path });
    } else {
      ignored += 1;
    }
  }
  if (images.length === 0) {
    throw new Error(`--images: no images in '${root}' (${ignored} other files); expected ${[...IMAGE_EXTENSIONS].join(' ')}`);
  }
  images.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { root: absoluteRoot, images, ignored };
}
