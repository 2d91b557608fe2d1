import { open } from 'node:fs/promises';

/**
 * Bytes `[offset, offset + length)` of a file: a member of an uncompressed tar, read in place rather than
 * extracted. A plain object, so it crosses to a preprocessing thread as it is (which then reads it itself).
 */
export interface FileRange {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
}

/** Where an image's bytes are: a file path, the bytes themselves, or a range of a file. */
export type ImageBytesSource = string | Uint8Array | FileRange;

export const isFileRange = (source: ImageBytesSource): source is FileRange => typeof source === 'object' && !(source instanceof Uint8Array);

/** Reads a range; a file that ends inside it (a truncated tar) is an error saying how much is missing. */
export async function readFileRange(range: FileRange): Promise<Buffer> {
  const file = await open(range.path, 'r');
  try {
    const bytes = Buffer.allocUnsafe(range.length);
    let filled = 0;
    while (filled < range.length) {
      const { bytesRead } = await file.read(bytes, filled, range.length - filled, range.offset + filled);
      if (bytesRead === 0) {
        throw new Error(`'${range.path}' ends inside this member: ${filled} of its ${range.length} bytes (from byte ${range.offset}) are there; the tar is truncated`);
      }
      filled += bytesRead;
    }
    return bytes;
  } finally {
    await file.close();
  }
}

/** The source as a path or bytes: a range is read here (on the calling thread). */
export async function pathOrBytes(source: ImageBytesSource): Promise<string | Uint8Array> {
  return isFileRange(source) ? readFileRange(source) : source;
}
