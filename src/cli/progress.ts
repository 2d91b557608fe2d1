import cliProgress from 'cli-progress';
import type { RunProgress } from '../pipeline.js';

export type ProgressReporter = { update(progress: RunProgress): void; stop(): void };

/**
 * A live bar on a terminal, a plain line every few seconds otherwise (logs, CI), nothing when quiet; for the
 * images stage (img/s, cached, failed) or the text stage (prompts/s, cached).
 */
export function progressReporter(stream: NodeJS.WriteStream, quiet: boolean, stage: 'images' | 'texts' = 'images'): ProgressReporter {
  if (quiet) return { update() {}, stop() {} };
  // The rate counts from the first report, not from the reporter's creation: model loading and listing come
  // before it and would make it read low for the whole run.
  // A single report (a run of one batch) has nothing to count from but the creation.
  const created = performance.now();
  let first: { at: number; done: number } | undefined;
  const rate = (done: number) => {
    const now = performance.now();
    first ??= { at: now, done };
    const [since, counted] = done > first.done ? [first.at, done - first.done] : [created, done];
    return counted / Math.max((now - since) / 1000, 1e-3);
  };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: stage === 'images'
          ? 'images {bar} {value}/{total} | {rate} img/s | ETA {eta_formatted} | cached {cacheHits} | failed {failed}'
          : 'texts  {bar} {value}/{total} | {rate} prompts/s | ETA {eta_formatted} | cached {cacheHits}',
        stream,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let barStarted = false;
    return {
      update({ done, total, failed, cacheHits }) {
        if (!barStarted) bar.start(total, 0, { rate: '0', failed: 0, cacheHits: 0 });
        barStarted = true;
        bar.update(done, { rate: rate(done).toFixed(1), failed, cacheHits });
      },
      stop: () => bar.stop(),
    };
  }
  let lastLine = 0;
  return {
    update({ done, total, failed, cacheHits }) {
      const now = performance.now();
      if (done < total && now - lastLine < 5000) return;
      lastLine = now;
      stream.write(stage === 'images'
        ? `images ${done}/${total} (${rate(done).toFixed(1)} img/s, ${cacheHits} cached, ${failed} failed)\n`
        : `texts ${done}/${total} (${rate(done).toFixed(1)} prompts/s, ${cacheHits} cached)\n`);
    },
    stop() {},
  };
}
