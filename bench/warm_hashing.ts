/**
 * Warm re-runs at scale (issue 14): what listing and hashing cost when every embedding is already in the cache.
 *
 * Writes FILES small files (1 KB of random bytes each, named .jpg: a warm run never decodes them) in folders of 1,000,
 * puts an embedding for each one's content in a fresh SQLite cache, waits until the files have settled
 * (STAMP_SETTLE_MS), then times, in one process on the tiny fixture model (no tower is loaded: nothing is encoded):
 *   - listing the folder (listImages), the same before and after;
 *   - before: embedImages with a cache that keeps no file hashes, i.e. every file read and hashed (as zeroshot did
 *     before file stamps, and as --rehash does);
 *   - after, first run: the same, remembering each file's hash by its stamp;
 *   - after, warm: the hashes taken from the cache by stamp, no file read.
 * Before and warm alternate ROUNDS times; the medians go to bench/WARM_HASHING.md. The files are in the page cache
 * (just written), as on a re-run on the same machine: "before" is system calls and SHA-256, not the disk.
 *
 *   node --import tsx bench/warm_hashing.ts              # 100,000 files, 3 rounds
 *   WARM_FILES=10000 node --import tsx bench/warm_hashing.ts
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteCache, type SqliteEmbeddingCache } from '../src/encode/cache/sqlite_cache.js';
import type { EmbeddingCache, ImageScope } from '../src/encode/cache/embedding_cache.js';
import { STAMP_SETTLE_MS } from '../src/encode/cache/fingerprint.js';
import { embedImages, type EmbeddedImages } from '../src/encode/embed.js';
import { createImagePreprocessor } from '../src/encode/image/preprocess.js';
import { ClipModel } from '../src/encode/model.js';
import { listImages } from '../src/input/images.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = join(REPO, 'fixtures', 'tiny-clip');
const RESULTS_MD = join(REPO, 'bench', 'WARM_HASHING.md');
const FILES = Number(process.env.WARM_FILES ?? 100_000);
const ROUNDS = Number(process.env.WARM_ROUNDS ?? 3);
const PER_FOLDER = 1000;
const DIM = 32;
const SCOPE: ImageScope = { modelFp: 'bench-warm-hashing', preprocessFp: 'bench' };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = async <T>(work: () => Promise<T>): Promise<{ s: number; value: T }> => {
  const started = performance.now();
  const value = await work();
  return { s: (performance.now() - started) / 1000, value };
};

/** The cache as zeroshot used it before file stamps: embeddings, no file hashes. */
function withoutFileHashes(cache: SqliteEmbeddingCache): EmbeddingCache {
  return new Proxy(cache, { get: (target, key) => (key === 'fileHashes' ? undefined : Reflect.get(target, key, target)) });
}

const started = performance.now();
const root = mkdtempSync(join(tmpdir(), 'zs-warm-bench-'));
try {
  const images = join(root, 'images');
  const cache = openSqliteCache(join(root, 'cache.sqlite'))!;
  const embedding = new Float32Array(DIM).fill(1 / Math.sqrt(DIM));
  let batch: { contentHash: string; embedding: Float32Array }[] = [];
  for (let n = 0; n < FILES; n++) {
    const folder = join(images, String(Math.floor(n / PER_FOLDER)).padStart(4, '0'));
    if (n % PER_FOLDER === 0) mkdirSync(folder, { recursive: true });
    const bytes = randomBytes(1024);
    writeFileSync(join(folder, `${n}.jpg`), bytes);
    batch.push({ contentHash: createHash('sha256').update(bytes).digest('hex'), embedding });
    if (batch.length === 5000 || n === FILES - 1) {
      cache.putImageEmbeddings(SCOPE, batch);
      batch = [];
    }
  }
  const setupS = (performance.now() - started) / 1000;
  // Only settled files are remembered: wait out the last writes.
  await new Promise((resolveWait) => setTimeout(resolveWait, STAMP_SETTLE_MS + 200));

  const model = await ClipModel.load({ model: MODEL, offline: true });
  const preprocessor = createImagePreprocessor(model.family.preprocess, 0);
  const embed = (store: EmbeddingCache) =>
    seconds(() => embedImages(listing.images, { model, preprocessor, dim: DIM, batchSize: 32, cache: { store, scope: SCOPE } }));
  const check = (result: EmbeddedImages, read: number) => {
    if (result.cacheHits !== FILES || result.encoded !== 0 || result.hashesRead !== read) {
      throw new Error(`unexpected run: ${result.cacheHits} hits, ${result.encoded} encoded, ${result.hashesRead} files read (expected ${read})`);
    }
  };

  const listings: number[] = [];
  let listing = (await seconds(() => listImages(images))).value;
  const before: number[] = [];
  const warm: number[] = [];
  // Before: no memo; then the first run with one fills it.
  const firstBefore = await embed(withoutFileHashes(cache));
  check(firstBefore.value, FILES);
  before.push(firstBefore.s);
  const firstWithMemo = await embed(cache);
  check(firstWithMemo.value, FILES);
  for (let round = 0; round < ROUNDS; round++) {
    const listed = await seconds(() => listImages(images));
    listings.push(listed.s);
    listing = listed.value;
    const w = await embed(cache);
    check(w.value, 0);
    warm.push(w.s);
    if (round < ROUNDS - 1) {
      const b = await embed(withoutFileHashes(cache));
      check(b.value, FILES);
      before.push(b.s);
    }
  }
  await preprocessor.close();
  cache.close();

  const ms = (s: number) => ((1000 * s) / FILES).toFixed(4);
  const load = loadavg().map((x) => x.toFixed(2)).join(' / ');
  const lines = [
    '# Benchmark: warm re-runs at scale (listing and hashing)',
    '',
    `Generated by \`bench/warm_hashing.ts\` on ${new Date().toISOString()}; every figure below was measured in that one run.`,
    '',
    `- **Command:** \`node --import tsx bench/warm_hashing.ts\`${FILES !== 100_000 ? ` with WARM_FILES=${FILES}` : ''}`,
    `- **Machine:** ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores available to Node; Node ${process.version}; load average at the end ${load}`,
    `- **Files:** ${FILES.toLocaleString('en')} files of 1 KB (random bytes) in folders of ${PER_FOLDER}, in the page cache; every embedding already in the SQLite cache, so nothing is decoded or encoded: what is timed is listing, hashing (or the stamp lookups) and the cache reads and path records of a warm re-run. Setup ${setupS.toFixed(1)} s.`,
    `- **Rounds:** before and warm alternate ${ROUNDS} times; medians.`,
    '',
    '| step | s | ms per file |',
    '| --- | ---: | ---: |',
    `| listing (listImages), median | ${median(listings).toFixed(2)} | ${ms(median(listings))} |`,
    `| images stage, before (every file read and hashed; as --rehash), median of ${before.length} | ${median(before).toFixed(2)} | ${ms(median(before))} |`,
    `| images stage, first run that remembers the hashes (reads every file once more) | ${firstWithMemo.s.toFixed(2)} | ${ms(firstWithMemo.s)} |`,
    `| images stage, warm: hashes from the cache by stamp, no file read, median of ${warm.length} | ${median(warm).toFixed(2)} | ${ms(median(warm))} |`,
    `| warm ÷ before | ${(median(warm) / median(before)).toFixed(2)} | |`,
    '',
    `Per round, before: ${before.map((s) => s.toFixed(2)).join(' · ')} s; warm: ${warm.map((s) => s.toFixed(2)).join(' · ')} s; listing: ${listings.map((s) => s.toFixed(2)).join(' · ')} s.`,
    '',
    'The images stage of a warm run still stats every file (its stamp), looks the stamps and the embeddings up in',
    'SQLite and records each path seen (`image_paths`, for `cache export`); what the stamps save is opening, reading',
    'and hashing each file. On a network file system, where a read costs a round trip and the file\'s bytes, the',
    'saving is larger than here, where the files are in memory. The whole benchmark took',
    `${((performance.now() - started) / 1000).toFixed(0)} s.`,
    '',
  ];
  writeFileSync(RESULTS_MD, lines.join('\n'));
  process.stdout.write(lines.join('\n'));
} finally {
  rmSync(root, { recursive: true, force: true });
}
