import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathOrBytes, type ImageBytesSource } from '../../input/file_range.js';

/** sha256 (hex) of a file's bytes, or of bytes already read: the cache key of an image, whatever its name. */
export async function hashFileContent(source: ImageBytesSource): Promise<string> {
  // Images are a few hundred KB: one read beats a stream's per-chunk overhead.
  const read = await pathOrBytes(source);
  const bytes = typeof read === 'string' ? await readFile(read) : read;
  return createHash('sha256').update(bytes).digest('hex');
}

/** sha256 (hex) over the canonical JSON of `parts`: equal values give equal fingerprints, whatever their key order. */
export function fingerprint(parts: unknown): string {
  return createHash('sha256').update(canonicalJson(parts)).digest('hex');
}

/**
 * JSON with object keys sorted. Values JSON cannot represent faithfully (NaN, typed arrays, Maps, dates…) are
 * rejected rather than silently turned into `null` or `{}`, which would let different settings share a fingerprint.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`fingerprint: ${value} has no JSON form`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (typeof value === 'object' && isPlainObject(value)) {
    const fields = Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`);
    return `{${fields.join(',')}}`;
  }
  const kind = typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
  throw new TypeError(`fingerprint: cannot fingerprint a ${kind}; convert it to plain JSON values first`);
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

export interface ModelIdentity {
  /** Hub id or local folder. */
  id: string;
  revision: string;
  dtype: string;
  /** Local model files (ONNX, and whatever else changes the embeddings); when given, their bytes identify the model. */
  onnxFiles?: readonly string[];
  /** The model family's settings that change embeddings beyond the weights (tokenizer, padding, graphs). */
  settings?: Record<string, unknown>;
}

/**
 * The model part of a cache key. With local files it is their content hashes + dtype, so the same weights share
 * cached embeddings under any id or path; without, it is id + revision + dtype.
 */
export async function modelFingerprint(model: ModelIdentity, memo?: FileHashMemo): Promise<string> {
  // Undefined fields are left out of the canonical JSON: no settings, the fingerprint of older versions.
  const settings = model.settings;
  if (!model.onnxFiles?.length) return fingerprint({ kind: 'zeroshot-model', id: model.id, revision: model.revision, dtype: model.dtype, settings });
  const hashes = await Promise.all(model.onnxFiles.map((file) => hashLargeFile(file, memo)));
  // Sorted: the set of files identifies the model, not the order the caller listed them in.
  return fingerprint({ kind: 'zeroshot-model-files', files: hashes.sort(), dtype: model.dtype, settings });
}

// ONNX files are hundreds of MB: hash each once per process, again only when its stamp changes.
const largeFileHashes = new Map<string, Promise<string>>();

/**
 * A file as a hash memo knows it. A remembered hash holds while every field is unchanged: a file rewritten in place
 * gets a new mtime and ctime, a file replaced by a rename a new inode, and `touch -r` or `cp -p` cannot set ctime back.
 */
export interface FileStamp {
  /** Absolute path. */
  readonly path: string;
  readonly size: number;
  /** Modification and status-change times, in nanoseconds (as precise as the file system keeps them). */
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly dev: bigint;
  readonly ino: bigint;
}

/** Remembers file hashes across processes (the embedding cache provides one). Batches: one transaction each. */
export interface FileHashMemo {
  /** The remembered hash of each file, or undefined where none is remembered for exactly this stamp. */
  get(files: readonly FileStamp[]): (string | undefined)[] | Promise<(string | undefined)[]>;
  set(entries: readonly { readonly file: FileStamp; readonly sha256: string }[]): void | Promise<void>;
}

/**
 * How old a file's last change must be before its hash is remembered. Two writes within one tick of the file
 * system's clock (a jiffy on Linux, 1 s on HFS+ and ext3, 2 s on FAT) can leave the same mtime: a hash taken between
 * them would be remembered for the second content too. Taken at least this long after the change, any later write
 * gets another time. Assumes the file server's clock is within this margin of ours (NFS); a file dated in the future
 * is never remembered.
 */
export const STAMP_SETTLE_MS = 2000;

/** The file's stamp, and whether it is settled (last changed STAMP_SETTLE_MS or more before now). */
export async function fileStamp(path: string): Promise<{ stamp: FileStamp; settled: boolean }> {
  const absolute = resolve(path);
  const now = BigInt(Date.now()) * 1_000_000n;
  const info = await stat(absolute, { bigint: true });
  const stamp: FileStamp = { path: absolute, size: Number(info.size), mtimeNs: info.mtimeNs, ctimeNs: info.ctimeNs, dev: info.dev, ino: info.ino };
  const changed = info.mtimeNs > info.ctimeNs ? info.mtimeNs : info.ctimeNs;
  return { stamp, settled: now - changed >= BigInt(STAMP_SETTLE_MS) * 1_000_000n };
}

/** The stamp as one string: what a memo compares. */
export const stampKey = (file: FileStamp): string => `${file.size}:${file.mtimeNs}:${file.ctimeNs}:${file.dev}:${file.ino}`;

async function hashLargeFile(path: string, memo?: FileHashMemo): Promise<string> {
  const { stamp, settled } = await fileStamp(path);
  const key = `${stamp.path}\0${stampKey(stamp)}`;
  let hash = largeFileHashes.get(key);
  if (!hash) {
    const computeAndRemember = async () => {
      const sha256 = await streamSha256(stamp.path);
      if (settled) await memo?.set([{ file: stamp, sha256 }]);
      return sha256;
    };
    hash = (async () => (memo ? (await memo.get([stamp]))[0] : undefined) ?? computeAndRemember())();
    largeFileHashes.set(key, hash);
    hash.catch(() => largeFileHashes.delete(key));
  }
  return hash;
}

async function streamSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
