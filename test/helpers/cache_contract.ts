// The EmbeddingCache contract, checked the same way for every backend (SQLite in embedding_cache.test.ts,
// PostgreSQL in postgres_cache.test.ts). `open` opens the backend's cache at one location, again on each call.
import assert from 'node:assert/strict';
import type { EmbeddingCache, ImageScope } from '../../src/encode/cache/embedding_cache.js';
import { fingerprint } from '../../src/encode/cache/fingerprint.js';

export type OpenAt = (options?: { readOnly?: boolean }) => Promise<{ cache: EmbeddingCache; warnings: string[] }>;

export const CONTRACT_SCOPE: ImageScope = { modelFp: 'a'.repeat(64), preprocessFp: 'b'.repeat(64) };

export function randomEmbedding(dim: number): Float32Array {
  return Float32Array.from({ length: dim }, () => (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 8 - 4));
}

export function imageEntries(count: number, dim: number, tag = 'img'): { contentHash: string; embedding: Float32Array }[] {
  return Array.from({ length: count }, (_, i) => ({ contentHash: fingerprint([tag, i]), embedding: randomEmbedding(dim) }));
}

/** Images and texts: put, get back exact copies (by scope and key), hits and misses counted, kept after reopening. */
export async function checkPutAndGet(open: OpenAt): Promise<void> {
  const SCOPE = CONTRACT_SCOPE;
  const { cache, warnings } = await open();
  const images = imageEntries(40, 512);
  await cache.putImageEmbeddings(SCOPE, images.slice(0, 32));
  await cache.putTextEmbeddings('m', [{ text: 'a photo of a cat', embedding: Float32Array.of(1, -2.5, 3e-8) }]);

  const got = await cache.getImageEmbeddings(SCOPE, images.map((e) => e.contentHash));
  got.slice(0, 32).forEach((embedding, i) => assert.deepEqual(embedding, images[i].embedding));
  assert.deepEqual(got.slice(32), Array(8).fill(undefined));
  // Another model or preprocessing: another key.
  assert.equal((await cache.getImageEmbeddings({ ...SCOPE, preprocessFp: 'other' }, [images[0].contentHash]))[0], undefined);
  assert.deepEqual(await cache.getTextEmbeddings('m', ['a photo of a cat', 'a photo of a dog']), [Float32Array.of(1, -2.5, 3e-8), undefined]);
  // Copies: changing what was returned changes nothing cached.
  got[0]![0] = 42;
  assert.deepEqual((await cache.getImageEmbeddings(SCOPE, [images[0].contentHash]))[0], images[0].embedding);
  // Written twice, the first embedding stays.
  await cache.putImageEmbeddings(SCOPE, [{ contentHash: images[1].contentHash, embedding: randomEmbedding(512) }]);
  assert.deepEqual((await cache.getImageEmbeddings(SCOPE, [images[1].contentHash]))[0], images[1].embedding);

  assert.deepEqual(cache.stats(), { image_hits: 34, image_misses: 9, text_hits: 1, text_misses: 1, writes_disabled: false });
  await cache.close();
  const reopened = (await open()).cache;
  assert.deepEqual((await reopened.getImageEmbeddings(SCOPE, [images[5].contentHash]))[0], images[5].embedding);
  await reopened.close();
  assert.deepEqual(warnings, []);
}

/** Read-only: cached embeddings are used, nothing is written, no warning. */
export async function checkReadOnly(open: OpenAt): Promise<void> {
  const SCOPE = CONTRACT_SCOPE;
  const images = imageEntries(3, 16, 'read-only');
  const writer = (await open()).cache;
  await writer.putImageEmbeddings(SCOPE, images.slice(0, 2));
  await writer.close();

  const { cache, warnings } = await open({ readOnly: true });
  assert.equal(cache.stats().writes_disabled, true);
  assert.deepEqual(await cache.getImageEmbeddings(SCOPE, images.map((e) => e.contentHash)), [images[0].embedding, images[1].embedding, undefined]);
  await cache.putImageEmbeddings(SCOPE, images.slice(2));
  await cache.putTextEmbeddings('m', [{ text: 'never stored', embedding: Float32Array.of(1) }]);
  await cache.recordImagePaths(SCOPE, [{ contentHash: images[2].contentHash, path: 'x.jpg' }]);
  await cache.close();
  assert.deepEqual(warnings, []);

  const after = (await open()).cache;
  assert.deepEqual(await after.getImageEmbeddings(SCOPE, [images[2].contentHash]), [undefined]);
  assert.deepEqual(await after.getTextEmbeddings('m', ['never stored']), [undefined]);
  await after.close();
}
