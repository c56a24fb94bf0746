/** Calling a store: failures wrapped with what failed, and commits of one id kept in line. */

import { SessionStoreError, isSessionStoreError } from './errors.js';

/** A store operation's failure as a SessionStoreError naming the operation and record (one already wrapped passes through). */
export function storeFailure(operation: string, digest: string, error: unknown): SessionStoreError {
  if (isSessionStoreError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SessionStoreError(
    `koa-session-kit: store ${operation}() failed for session ${digest.slice(0, 8)}… (${message}); the stored session was left as it was`,
    { operation, cause: error },
  );
}

/** Runs a store operation; any failure, thrown or rejected, becomes a {@link storeFailure}. */
export async function callStore<R>(operation: string, digest: string, work: () => Promise<R>): Promise<R> {
  try {
    return await work();
  } catch (error) {
    throw storeFailure(operation, digest, error);
  }
}

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
