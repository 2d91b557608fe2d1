// Preloaded (node --import) into a `zeroshot embed` process by shards.test.ts: SIGKILLs the process in the middle of
// writing its shard, at a point set by ZS_KILL_AT: `write` (inside the first file's data, before any rename) or
// `rename:N` (right after the N-th file was renamed into place).
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const at = process.env.ZS_KILL_AT ?? '';
const die = () => process.kill(process.pid, 'SIGKILL');
const { openSync, renameSync, writeSync } = fs;
// Only the shard files count: loading the model may write files of its own.
const isShardFile = (path: fs.PathLike) => String(path).includes('.shards/');
const shardFds = new Set<number>();
let renames = 0;
if (at === 'write') {
  fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
    const fd = (openSync as (...args: unknown[]) => number)(path, ...rest);
    if (isShardFile(path)) shardFds.add(fd);
    return fd;
  }) as typeof fs.openSync;
  fs.writeSync = ((fd: number, data: Uint8Array, offset?: number, length?: number) => {
    if (!shardFds.has(fd)) return (writeSync as (...args: unknown[]) => number)(fd, data, offset, length);
    // Half the bytes reach the temporary file, then the process dies.
    const half = Math.max(1, Math.floor((length ?? data.byteLength) / 2));
    writeSync(fd, data, offset ?? 0, half);
    die();
    return half;
  }) as typeof fs.writeSync;
} else if (at.startsWith('rename:')) {
  fs.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
    renameSync(from, to);
    if (isShardFile(to) && ++renames === Number(at.slice('rename:'.length))) die();
  }) as typeof fs.renameSync;
}
syncBuiltinESMExports();
