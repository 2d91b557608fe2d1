import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from './atomic_write.js';
import { folderProblem, systemErrorWords } from './writable_path.js';

/**
 * One file of a results folder. Outputs are written one by one into a staging folder; a failing one is recorded
 * and the others still written. `afterRecord` outputs (the report) read the staged folder, run.json included.
 */
export interface ResultOutput {
  /** File name inside the results folder. */
  readonly name: string;
  /** Writes the whole file at `path` (inside the staging folder). */
  readonly write: (path: string) => Promise<void>;
  readonly afterRecord?: boolean;
}

/** An output whose content is one string or byte array, made when it is written. */
export function contentOutput(name: string, content: () => string | Uint8Array | Promise<string | Uint8Array>, afterRecord = false): ResultOutput {
  return { name, afterRecord, write: async (path) => writeFile(path, await content()) };
}

export interface WrittenFile {
  readonly bytes: number;
  readonly sha256: string;
}

export interface FailedOutput {
  readonly file: string;
  readonly error: string;
}

/** The record file, written last: the run, every file of the folder with its size and sha256, and what failed. */
export const RECORD_FILE = 'run.json';

/** A file zeroshot writes, or a temporary file its earlier versions left beside one (`name.<pid>.<time>.tmp`). */
const isResultFile = (name: string, known: ReadonlySet<string>) => known.has(name) || known.has(name.replace(/\.\d+\.\d+\.tmp$/, ''));

/** Some outputs could not be written; the folder holds this run's other files and a run.json that says so. */
export class ResultsWriteError extends Error {
  override readonly name = 'ResultsWriteError';
  constructor(message: string, readonly failed: readonly FailedOutput[]) {
    super(message);
  }
}

/**
 * Checks, before any work, that `outDir` can become a results folder: a folder (or nothing yet) in a writable,
 * real file system, holding nothing but files zeroshot writes (`knownFiles`): it is replaced as a whole.
 */
export async function checkResultsFolder(outDir: string, knownFiles: ReadonlySet<string>): Promise<void> {
  const out = await resultsFolderPath(outDir);
  const fail = (problem: string, fix: string) => {
    throw new Error(`--out '${outDir}': ${problem}; ${fix}`);
  };
  const info = await stat(out).catch(() => null);
  if (info && !info.isDirectory()) fail(`'${out}' is a file, not a folder`, 'give a folder (it is created if missing)');
  // The new results are staged beside the folder and renamed over it: its parent must take new entries.
  const parentProblem = folderProblem(dirname(out));
  if (parentProblem) fail(parentProblem, 'give a results folder in a place you can write to');
  if (!info) return;
  const ownProblem = folderProblem(out);
  if (ownProblem) fail(ownProblem, 'give a results folder you can write to');
  const foreign = (await readdir(out)).filter((name) => !isResultFile(name, knownFiles));
  if (foreign.length) {
    const listed = foreign.slice(0, 5).map((name) => `'${name}'`).join(', ') + (foreign.length > 5 ? `, … (${foreign.length})` : '');
    fail(`it holds files zeroshot did not write (${listed}), and a results folder is replaced as a whole`, 'give a new or empty folder, or move those files');
  }
}

/** After one file of a results folder is rebuilt in place (`zeroshot report`), run.json's size and sha256 for it follow. */
export async function updateRecordedFile(dir: string, name: string): Promise<void> {
  const recordPath = join(dir, RECORD_FILE);
  const record = JSON.parse(await readFile(recordPath, 'utf8')) as { files?: Record<string, WrittenFile> };
  if (!record.files) return; // written before run.json listed its files
  const path = join(dir, name);
  record.files[name] = { bytes: (await stat(path)).size, sha256: await sha256Of(path) };
  await writeFileAtomic(recordPath, JSON.stringify(record, null, 2) + '\n');
}

/** The folder itself: a symbolic link to a results folder has its target replaced, not the link. */
async function resultsFolderPath(outDir: string): Promise<string> {
  return realpath(resolve(outDir)).catch(() => resolve(outDir));
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Writes a whole results folder so that a reader sees the previous run or this one, never a mix: every output
 * goes into a staging folder beside `outDir`, run.json last (with each file's size and sha256 and the outputs
 * that failed), then the staging folder takes the place of `outDir`. An output that fails (a full disk, say) is
 * named with the reason and the others are still written; the folder is then this run's, with run.json saying
 * what is missing, and a ResultsWriteError is thrown. If run.json itself cannot be written, `outDir` is left as
 * it was and the staging folder, with whatever was written, is named in the error. `outDir` is first checked as
 * checkResultsFolder does, so a file or a folder of other files is never replaced.
 */
export async function writeResultsFolder(
  outDir: string,
  outputs: readonly ResultOutput[],
  record: object,
  knownFiles: ReadonlySet<string>,
  /** The record's file name: run.json for a run, comparison.json for a comparison. */
  recordFile: string = RECORD_FILE,
): Promise<string[]> {
  await checkResultsFolder(outDir, knownFiles);
  const out = await resultsFolderPath(outDir);
  await recoverInterruptedWrites(out);
  const stamp = `${process.pid}-${Date.now()}`;
  const staging = join(dirname(out), `.${basename(out)}.staging-${stamp}`);
  await mkdir(dirname(out), { recursive: true });
  await mkdir(staging).catch((error: unknown) => {
    throw new Error(`--out '${outDir}': cannot create the staging folder '${staging}' (${systemErrorWords(error)})`);
  });

  const files: Record<string, WrittenFile> = Object.create(null);
  const failed: FailedOutput[] = [];
  const writeOne = async (output: ResultOutput) => {
    const path = join(staging, output.name);
    try {
      await output.write(path);
      files[output.name] = { bytes: (await stat(path)).size, sha256: await sha256Of(path) };
    } catch (error) {
      failed.push({ file: output.name, error: `${systemErrorWords(error)} writing ${output.name}` });
      await rm(path, { force: true });
    }
  };
  const writeRecord = async () => {
    const path = join(staging, recordFile);
    try {
      await writeFile(path, JSON.stringify({ ...record, files, failed_outputs: failed }, null, 2) + '\n');
    } catch (error) {
      await rm(path, { force: true });
      const others = failed.length ? `; also failed: ${failed.map((f) => f.error).join('; ')}` : '';
      const kept = Object.keys(files).length ? `; what was written is in '${staging}'` : '';
      if (!kept) await rm(staging, { recursive: true, force: true });
      throw new ResultsWriteError(
        `${systemErrorWords(error)} writing ${recordFile}${others}. The results in '${out}' are unchanged${kept}`,
        [...failed, { file: recordFile, error: systemErrorWords(error) }],
      );
    }
  };

  for (const output of outputs.filter((o) => !o.afterRecord)) await writeOne(output);
  const later = outputs.filter((o) => o.afterRecord);
  if (later.length) {
    await writeRecord(); // what the later outputs read
    for (const output of later) await writeOne(output);
  }
  await writeRecord();
  await swapIn(staging, out, stamp);

  const written = [...Object.keys(files), recordFile].map((name) => join(outDir, name));
  if (failed.length) {
    throw new ResultsWriteError(
      `${failed.map((f) => f.error).join('; ')}. '${outDir}' holds this run's other files; ${recordFile} lists them and what failed`,
      failed,
    );
  }
  return written;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
};

/**
 * What a writer killed mid-way left beside `out`: its staging folder is deleted; its previous folder, renamed
 * aside just before the new one came in, is put back when `out` is missing (else deleted). Writers still
 * running are left alone.
 */
export async function recoverInterruptedWrites(out: string): Promise<void> {
  const pattern = new RegExp(`^\\.${basename(out).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(staging|previous)-(\\d+)-\\d+$`);
  const leftovers = (await readdir(dirname(out)).catch(() => [])).flatMap((name) => {
    const match = pattern.exec(name);
    return match && !isAlive(Number(match[2])) ? [{ path: join(dirname(out), name), kind: match[1] }] : [];
  });
  // Previous folders first: one may have to become `out` again.
  for (const { path, kind } of [...leftovers.filter((l) => l.kind === 'previous'), ...leftovers.filter((l) => l.kind === 'staging')]) {
    const restore = kind === 'previous' && !(await stat(out).then(() => true, () => false));
    if (restore) await rename(path, out);
    else await rm(path, { recursive: true, force: true });
  }
}

/** Puts `staging` where `out` is: rename the old folder aside, the new one in, then delete the old one. */
async function swapIn(staging: string, out: string, stamp: string): Promise<void> {
  const previous = join(dirname(out), `.${basename(out)}.previous-${stamp}`);
  const hadPrevious = await stat(out).then(() => true, () => false);
  try {
    if (hadPrevious) await rename(out, previous);
  } catch (error) {
    throw new Error(`cannot move the previous results '${out}' aside (${systemErrorWords(error)}); the new results are complete in '${staging}'`);
  }
  try {
    await rename(staging, out);
  } catch (error) {
    if (hadPrevious) await rename(previous, out).catch(() => {});
    throw new Error(`cannot move the new results into '${out}' (${systemErrorWords(error)}); they are complete in '${staging}'`);
  }
  if (hadPrevious) await rm(previous, { recursive: true, force: true });
}
