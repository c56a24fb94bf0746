/** A queue per key: work for one key runs after the previous work for that key has settled. */

/**
 * Runs work for one key after the previous work for that key has settled; other keys run freely.
 * Work may leave a note for the work queued behind it on the same key (what it wrote, say); the
 * note lives only while that key's queue is busy.
 */
export class KeyedQueue<Note = never> {
  readonly #tails = new Map<string, Promise<unknown>>();
  readonly #notes = new Map<string, Note>();
  /** Per key, the batch still taking members: it waits behind busy work and has not started. */
  readonly #batches = new Map<string, { items: unknown[]; done: Promise<unknown[]> }>();

  /**
   * Not an async function: the caller awaits the work's own promise, and one reaction clears
   * the key, where an async wrapper added a promise and an await to every commit.
   */
  run<R>(key: string, work: () => Promise<R>): Promise<R> {
    // Work queued after a batch keeps its place: later callers start a batch behind it.
    if (this.#batches.size !== 0) this.#batches.delete(key);
    const previous = this.#tails.get(key);
    // A follower runs whether the previous work succeeded or failed; that failure is its owner's to report.
    const result = previous === undefined ? work() : previous.then(work, work);
    this.#tails.set(key, result);
    const release = (): void => {
      // The last one out removes the key, so the maps hold only keys with work in flight.
      if (this.#tails.get(key) !== result) return;
      this.#tails.delete(key);
      if (this.#notes.size !== 0) this.#notes.delete(key);
    };
    result.then(release, release);
    return result;
  }

  /**
   * Like {@link run}, for work that serves several callers in one go: a caller that finds the key
   * busy joins the batch waiting behind it, if one has not started yet, and the batch runs as one
   * piece of work when its turn comes. `work` gets the items in arrival order and answers one
   * result each; a failure fails every caller in the batch.
   */
  batch<T, R>(key: string, item: T, work: (items: readonly T[]) => Promise<R[]>): Promise<R> {
    const open = this.#batches.get(key);
    if (open !== undefined) {
      const index = open.items.push(item) - 1;
      // The open batch was made below by a caller passing items and results of this key's types.
      return open.done.then((results) => results[index] as R);
    }
    const items: T[] = [item];
    let started = false;
    const done = this.run(key, () => {
      started = true;
      this.#batches.delete(key); // who comes now waits for the next turn
      return work(items);
    });
    // On an idle key the work has started already: nobody may join it.
    if (!started) this.#batches.set(key, { items, done });
    return done.then((results) => results[0] as R);
  }

  /** Whether work for `key` is queued or running. */
  busy(key: string): boolean {
    return this.#tails.has(key);
  }

  /** Leaves `note` for the work queued behind on `key`; called from inside that key's work. */
  leaveNote(key: string, note: Note): void {
    if (this.#tails.has(key)) this.#notes.set(key, note);
  }

  /** The note the work ahead on `key` left, if its queue has stayed busy since. */
  noteFor(key: string): Note | undefined {
    return this.#notes.get(key);
  }

  /** Resolves once the work queued so far, on every key, has settled (success or failure): for `close()`. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#tails.values());
  }
}
