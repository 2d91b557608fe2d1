// A separate process writing synthetic embeddings into a shared cache, for the concurrency and crash tests of
// embedding_cache.test.ts. Usage: cache_writer.ts CACHE FIRST COUNT BATCH up|down [wait]
// With `wait` it prints `ready` and starts on a line on stdin, so that two writers can be started together.
// Prints `committed FIRST END` after each batch's transaction, then `verified N mismatches M` when done.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import type { ImageScope } from '../../src/encode/cache/embedding_cache.js';
import { openSqliteCache as openEmbeddingCache } from '../../src/encode/cache/sqlite_cache.js';

export const WRITER_SCOPE: ImageScope = { modelFp: 'writer-model', preprocessFp: 'writer-preprocess' };
export const WRITER_DIM = 512;

export function itemHash(item: number): string {
  return createHash('sha256').update(`image ${item}`).digest('hex');
}

/** Every process derives the same embedding for an item, as real encoders give the same for the same bytes. */
export function itemEmbedding(item: number): Float32Array {
  return Float32Array.from({ length: WRITER_DIM }, (_, j) => Math.sin(item * 7.31 + j * 0.37) * (1 + item));
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

async function main(): Promise<void> {
  const [path, firstArg, countArg, batchArg, order, wait] = process.argv.slice(2);
  const [first, count, batchSize] = [firstArg, countArg, batchArg].map(Number);
  if (wait === 'wait') {
    process.stdout.write('ready\n');
    await once(process.stdin, 'data');
    process.stdin.destroy();
  }
  const cache = openEmbeddingCache(path, { onWarning: (message) => process.stderr.write(`warning: ${message}\n`) });
  if (!cache) process.exit(2);
  const starts = Array.from({ length: Math.ceil(count / batchSize) }, (_, b) => first + b * batchSize);
  if (order === 'down') starts.reverse();
  for (const start of starts) {
    const items = Array.from({ length: Math.min(batchSize, first + count - start) }, (_, i) => start + i);
    const cached = cache.getImageEmbeddings(WRITER_SCOPE, items.map(itemHash));
    const missing = items.filter((_, i) => !cached[i]);
    cache.putImageEmbeddings(WRITER_SCOPE, missing.map((item) => ({ contentHash: itemHash(item), embedding: itemEmbedding(item) })));
    cache.putTextEmbeddings(WRITER_SCOPE.modelFp, items.map((item) => ({ text: `prompt ${item}`, embedding: itemEmbedding(-item) })));
    process.stdout.write(`committed ${start} ${start + items.length}\n`);
  }
  const items = Array.from({ length: count }, (_, i) => first + i);
  const images = cache.getImageEmbeddings(WRITER_SCOPE, items.map(itemHash));
  const texts = cache.getTextEmbeddings(WRITER_SCOPE.modelFp, items.map((item) => `prompt ${item}`));
  const mismatches = items.filter((item, i) => !images[i] || !sameValues(images[i]!, itemEmbedding(item)) || !texts[i] || !sameValues(texts[i]!, itemEmbedding(-item)));
  cache.close();
  process.stdout.write(`verified ${items.length} mismatches ${mismatches.length}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
