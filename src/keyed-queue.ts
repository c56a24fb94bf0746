/** A queue per key: work for one key runs after the previous work for that key has settled. */

/** Runs work for one key after the previous work for that key has settled; other keys run freely. */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

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
      // The last one out removes the key, so the map holds only ids with commits in flight.
      if (this.#tails.get(key) === result) this.#tails.delete(key);
    };
    result.then(release, release);
    return result;
  }
}
