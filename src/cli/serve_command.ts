// `zeroshot serve`: the prompt lab over a results folder (or over a run made first from --images), served on the
// loopback address until SIGINT/SIGTERM.
import type { Command } from 'commander';
import { LabSession, type LabSessionOptions } from '../lab/lab_session.js';
import type { RunOptions } from '../pipeline.js';
import { DEFAULT_LAB_HOST, startLabServer } from '../server/lab_server.js';
import type { RunFlags } from './main.js';

interface ServeCommandHelpers {
  wholeNumber: (flag: string) => (value: string) => number;
  addModelOptions: (command: Command, modelFlag?: boolean) => Command;
  addRunOptions: (command: Command) => Command;
  runCommand: (flags: RunFlags, note?: string, extra?: Partial<RunOptions>) => Promise<void>;
}

interface ServeFlags extends Omit<RunFlags, 'images'> {
  images?: string;
  host: string;
  port: number;
  saveDir?: string;
}

export function addServeCommand(program: Command, helpers: ServeCommandHelpers): void {
  const { wholeNumber, addModelOptions, addRunOptions, runCommand } = helpers;
  addRunOptions(
    addModelOptions(
      program
        .command('serve')
        .description('the prompt lab: edit a spec in the browser and watch accuracy and fairness move (a local web server)')
        .argument('[results]', 'results folder of an earlier zeroshot run (its images come from the embedding cache)')
        .option('--images <dir>', 'start from nothing: run --spec on these images first (with --model, --labels, … into --out), then serve that')
        .option('--spec <name|file>', 'with --images: the first spec', 'fairface-race')
        .option('--host <address>', `address to listen on (default ${DEFAULT_LAB_HOST}; anything else lets whoever reaches it and has the URL use it)`, DEFAULT_LAB_HOST)
        .option('--port <n>', 'port (0: any free one)', wholeNumber('--port'), 0)
        .option('--save-dir <dir>', '"save as run" writes its results folders here (default: <results>-lab beside the results folder)'),
    ),
  ).action(async (results: string | undefined, flags: ServeFlags, command: Command) => {
    if (results && flags.images) throw new Error('serve: give a results folder or --images (to run first), not both');
    if (!results && !flags.images) throw new Error('serve: give a results folder of an earlier zeroshot run, or --images with --model and --labels to run first');
    let folder = results;
    if (!folder) {
      await runCommand({ ...flags, images: flags.images! });
      folder = flags.out;
    }
    // Model settings given on the command line override the run's; their defaults do not.
    const given = (name: string) => command.getOptionValueSource(name) === 'cli';
    const log = (line: string) => process.stderr.write(line + '\n');
    const options: LabSessionOptions = {
      cache: flags.cache,
      modelCacheDir: flags.modelCache,
      offline: flags.offline,
      threads: given('threads') ? flags.threads : undefined,
      device: given('device') ? flags.device : undefined,
      preprocessReference: given('preprocessReference') ? flags.preprocessReference : undefined,
      exifRotate: flags.exifRotate,
      logitScale: flags.logitScale,
      logitBias: flags.logitBias,
      batchSize: given('batchSize') ? flags.batchSize : undefined,
      maxImagePixels: flags.maxImagePixels,
      saveDir: flags.saveDir,
      onWarning: (message) => log(`zeroshot: ${message}`),
    };
    const session = await LabSession.open(folder, options);
    const server = await startLabServer(session, { host: flags.host, port: flags.port }).catch(async (error: unknown) => {
      await session.close();
      throw error;
    });
    if (flags.host !== DEFAULT_LAB_HOST && flags.host !== 'localhost') {
      log(`zeroshot: warning: listening on ${flags.host}: anyone who can reach this address and has the URL (its token) can use the lab, read its images and write results folders`);
    }
    process.stdout.write(`zeroshot lab on ${folder}: ${server.url}\n(save as run writes into ${session.saveDir}; Ctrl-C stops it)\n`);
    await new Promise<void>((resolve) => {
      // Once: a second Ctrl-C stops the process at once, as by default.
      const stop = async (signal: NodeJS.Signals) => {
        log(`zeroshot: ${signal}: stopping the lab`);
        // Text batches waiting are refused, the one in flight finishes; then requests drain, and the cache closes.
        await session.stopTextEncoding();
        await server.close();
        await session.close();
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  });
}
