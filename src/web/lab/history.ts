/**
 * The lab's undo/redo: a linear history of immutable values (specs). A new value after an undo drops the
 * redo branch, as every editor does; a value equal to the current one is not a step (typing a name back
 * to what it was, or a no-op edit, should not cost an undo).
 */
export class History<T> {
  private readonly past: T[] = [];
  private readonly future: T[] = [];

  constructor(
    private present: T,
    private readonly same: (a: T, b: T) => boolean = (a, b) => JSON.stringify(a) === JSON.stringify(b),
  ) {}

  get current(): T {
    return this.present;
  }
  get canUndo(): boolean {
    return this.past.length > 0;
  }
  get canRedo(): boolean {
    return this.future.length > 0;
  }

  /** Makes `next` the current value; false (and nothing recorded) when it equals the current one. */
  push(next: T): boolean {
    if (this.same(next, this.present)) return false;
    this.past.push(this.present);
    this.future.length = 0;
    this.present = next;
    return true;
  }

  undo(): T | null {
    const previous = this.past.pop();
    if (previous === undefined) return null;
    this.future.push(this.present);
    this.present = previous;
    return previous;
  }

  redo(): T | null {
    const next = this.future.pop();
    if (next === undefined) return null;
    this.past.push(this.present);
    this.present = next;
    return next;
  }
}
