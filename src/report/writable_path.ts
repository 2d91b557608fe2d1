import { accessSync, constants, statSync, statfsSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';

// Kernel pseudo file systems (statfs f_type, linux/magic.h): their folders hold no files of ours, and Node's
// recursive mkdir spins forever on procfs, which answers ENOENT to every mkdir.
const VIRTUAL_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'], [0x62656572, 'sysfs'], [0x27e0eb, 'cgroup'], [0x63677270, 'cgroup2'], [0x1cd1, 'devpts'],
  [0x64626720, 'debugfs'], [0x74726163, 'tracefs'], [0x73636673, 'securityfs'], [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'], [0xde5e81e4, 'efivarfs'], [0x6165676c, 'pstore'], [0x42494e4d, 'binfmt_misc'],
]);

/** The words of a system error ("no space left on device"), without its code, syscall and path. */
export function systemErrorWords(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.match(/^[A-Z][A-Z0-9_]+: ([^,]+)/)?.[1] ?? message;
}

/** The path's stat, or null when nothing is there (`throwIfNoEntry` still throws ENOTDIR under a file). */
function statOrNull(path: string): Stats | null {
  try {
    return statSync(path, { throwIfNoEntry: false }) ?? null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw error;
  }
}

/** The deepest existing path on the way from `path` up to the root, and whether `path` itself exists. */
function nearestExisting(path: string): { existing: string; isDirectory: boolean } {
  for (let current = resolve(path); ; current = dirname(current)) {
    const info = statOrNull(current);
    if (info) return { existing: current, isDirectory: info.isDirectory() };
    if (dirname(current) === current) return { existing: current, isDirectory: true };
  }
}

/** The name of the kernel pseudo file system `path` is on (proc, sysfs, …), or null for one that stores files. */
export function virtualFileSystemName(path: string | Buffer): string | null {
  return VIRTUAL_FILE_SYSTEMS.get(Number(statfsSync(path).type)) ?? null;
}

/** "is on proc, a virtual file system", or null for a file system that stores files. */
function virtualFileSystem(path: string): string | null {
  const name = virtualFileSystemName(path);
  return name ? `'${path}' is on ${name}, a virtual file system that cannot hold files` : null;
}

/** Null when files can be created in `folder`, else why not: the existing folder must be writable. */
function writableProblem(folder: string): string | null {
  try {
    accessSync(folder, constants.W_OK | constants.X_OK);
    return null;
  } catch (error) {
    return `'${folder}' is not writable (${systemErrorWords(error)})`;
  }
}

/**
 * Why a folder at `folder` cannot be used to write files into, creating it if missing, or null when it can.
 * Nothing is created: this runs before a long job so it fails in a second, with the path and the problem in words.
 */
export function folderProblem(folder: string): string | null {
  const absolute = resolve(folder);
  const { existing, isDirectory } = nearestExisting(absolute);
  if (!isDirectory) {
    return existing === absolute ? `'${existing}' is a file, not a folder` : `'${existing}' is a file, so no folder can be made inside it`;
  }
  return virtualFileSystem(existing) ?? writableProblem(existing);
}

/** Why a file cannot be created or replaced at `file`, or null when it can (its folder is created if missing). */
export function fileLocationProblem(file: string): string | null {
  const absolute = resolve(file);
  const info = statOrNull(absolute);
  if (info?.isDirectory()) return `'${absolute}' is a folder, not a file`;
  if (info) return virtualFileSystem(dirname(absolute));
  return folderProblem(dirname(absolute));
}
