/** Calling a store: failures wrapped with what failed. */

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
