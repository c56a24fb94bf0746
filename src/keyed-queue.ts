/** A queue per key: work for one key runs after the previous work for that key has settled. */

/**
 * Runs work for one key after the previous work for that key has settled; other keys run freely.
 * Work may leave a note for the work queued behind it on the same key (what it wrote, say); the
 * note lives only while that key's queue is busy.
 */
export class KeyedQueue<Note = never> {
  readonly #tails = new Map<string, Promise<unknown>>();
  readonly #notes = new Map<string, Note>();

  /**
   * Not an async function: the caller awaits the work's own promise, and one reaction clears
   * the key, where an async wrapper added a promise and an await to every commit.
   */
  run<R>(key: string, work: () => Promise<R>): Promise<R> {
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
