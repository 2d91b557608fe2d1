/**
 * Debounced requests where only the newest answer counts: each edit restarts a short timer; when it fires the
 * request is sent and any request still in flight is aborted. An answer is delivered only if no newer request
 * was issued or scheduled since, so a slow, stale response never overwrites the numbers of a later edit.
 */
export interface LatestOptions<Q, A> {
  readonly delayMs: number;
  readonly send: (request: Q, signal: AbortSignal) => Promise<A>;
  /** Called with the answer of the newest request only. */
  readonly onAnswer: (answer: A, request: Q) => void;
  readonly onError: (error: unknown, request: Q) => void;
  /** true while a request is waiting or in flight (for a "scoring…" state). */
  readonly onBusy: (busy: boolean) => void;
}

export class LatestRequest<Q, A> {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: AbortController | null = null;
  private issued = 0;

  constructor(private readonly options: LatestOptions<Q, A>) {}

  /** Schedules `request` after the delay; a later call within the delay replaces it. */
  schedule(request: Q): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.options.onBusy(true);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.send(request);
    }, this.options.delayMs);
  }

  /** Sends `request` at once (undo, redo, the first load). */
  now(request: Q): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.options.onBusy(true);
    return this.send(request);
  }

  /** No request was sent after this one, and none waits to be. */
  private isNewest(ticket: number): boolean {
    return ticket === this.issued && this.timer === null;
  }

  private async send(request: Q): Promise<void> {
    const ticket = ++this.issued;
    this.inFlight?.abort();
    const controller = new AbortController();
    this.inFlight = controller;
    let answer: A;
    try {
      answer = await this.options.send(request, controller.signal);
    } catch (error) {
      if (this.isNewest(ticket) && !controller.signal.aborted) this.options.onError(error, request);
      return;
    } finally {
      if (this.isNewest(ticket)) {
        this.inFlight = null;
        this.options.onBusy(false);
      }
    }
    // Outside the try: a failure to draw the answer is the page's bug, not a refused request.
    if (this.isNewest(ticket)) this.options.onAnswer(answer, request);
  }
}
