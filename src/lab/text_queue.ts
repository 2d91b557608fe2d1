// Text embeddings for the lab's edits: from memory, else the embedding cache, else the text tower, through ONE
// queue that runs one batch at a time, so a burst of edits waits in line instead of encoding side by side.
import { embedTexts } from '../encode/embed.js';
import type { EmbeddingCache } from '../encode/cache/embedding_cache.js';
import type { ClipModel } from '../encode/model.js';

/** The queue was closed (the server is stopping): the edit's prompts were not encoded. */
export class TextQueueClosedError extends Error {
  override readonly name = 'TextQueueClosedError';
}

export class TextEmbeddingQueue {
  /** Prompt → embedding (the tower's full dimension). */
  private readonly known = new Map<string, Float32Array>();
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Prompts sent through the text tower so far. */
  encoded = 0;

  constructor(
    private readonly model: ClipModel,
    private readonly cache: { readonly store: EmbeddingCache; readonly modelFp: string } | null,
  ) {}

  /** Keeps embeddings already made (e.g. read from the cache at start). */
  remember(prompts: readonly string[], embeddings: Float32Array, dim: number): void {
    prompts.forEach((prompt, j) => this.known.set(prompt, embeddings.slice(j * dim, (j + 1) * dim)));
  }

  /**
   * The embeddings of `prompts` (rows in order, the first `dim` coordinates of each, as stored: renormalising a
   * --dim cut is the caller's) and how many went through the tower for this call.
   */
  async embeddings(prompts: readonly string[]): Promise<{ rows: Float32Array[]; encoded: number }> {
    const missing = [...new Set(prompts.filter((p) => !this.known.has(p)))];
    const encoded = missing.length ? await this.enqueue(missing) : 0;
    return { rows: prompts.map((p) => this.known.get(p)!), encoded };
  }

  /** One job in line: what is still unknown when its turn comes goes through the cache and the tower as one batch. */
  private enqueue(prompts: readonly string[]): Promise<number> {
    const job = this.tail.then(async () => {
      if (this.closed) throw new TextQueueClosedError('the lab is shutting down: the new prompts were not encoded');
      const still = prompts.filter((p) => !this.known.has(p));
      if (still.length === 0) return 0;
      const text = await embedTexts(this.model, still, this.cache);
      this.remember(still, text.embeddings, text.dim);
      const encoded = still.length - text.cacheHits;
      this.encoded += encoded;
      return encoded;
    });
    this.tail = job.catch(() => {});
    return job;
  }

  /** Lets the batch in flight finish, refuses the ones waiting, and resolves once nothing runs. */
  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
  }
}
