// Temporary folders for the tests of one file: each new, under the system's temporary folder, and removed when
// that file's tests end, with any tmpfs mounted on one unmounted first.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

const folders: string[] = [];
const mounts: string[] = [];

// Registered when the test file imports this module: a hook of the file's run, not of the test that first asks.
after(() => {
  for (const dir of mounts) spawnSync('umount', [dir]);
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

export interface ScratchFolders {
  /** A new empty folder, `zs-<label>-…` under the temporary folder. */
  scratch(): string;
  /** A small tmpfs (mount options such as `size=5m`) on a new scratch folder; null where mounting is refused (not root). */
  smallTmpfs(options: string): string | null;
}

/** Scratch folders named after `label` (the test file's subject), removed when the file's tests end. */
export function scratchFolders(label: string): ScratchFolders {
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), `zs-${label}-`));
    folders.push(dir);
    return dir;
  };
  return {
    scratch,
    smallTmpfs: (options) => {
      const dir = scratch();
      if (spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]).status !== 0) return null;
      mounts.push(dir);
      return dir;
    },
  };
}
