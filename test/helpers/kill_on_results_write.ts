// Preloaded (node --import) into a `zeroshot collect` by queue.test.ts: SIGKILLs the process when it first writes a
// file of its results, i.e. into the staging folder beside $ZS_KILL_RESULTS (its --out), midway through writing.
import fsPromises from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { basename, dirname, join } from 'node:path';

const out = process.env.ZS_KILL_RESULTS;
const { writeFile } = fsPromises;
if (out) {
  const staging = join(dirname(out), `.${basename(out)}.staging-`);
  fsPromises.writeFile = ((path: Parameters<typeof writeFile>[0], ...rest: unknown[]) => {
    if (String(path).startsWith(staging)) process.kill(process.pid, 'SIGKILL');
    return (writeFile as (...args: unknown[]) => Promise<void>)(path, ...rest);
  }) as typeof writeFile;
  syncBuiltinESMExports();
}
