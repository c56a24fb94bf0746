/** FileStore's input checks and its errors: each names the operation and the directory. */

import { debuglog } from 'node:util';
import { SessionStoreError } from '../../src/errors.js';
import { checkOwner } from '../../src/option-checks.js';
import type { RecordWrite } from '../../src/store.js';
import { MAX_DATA_BYTES } from './header.js';
import { errorCode } from './io.js';
import { LOCK_WAIT_MS } from './lock.js';

/** The ids a store is given: SHA-256 digests in base64url. Nothing else may become a file name. */
export const STORE_ID = /^[A-Za-z0-9_-]{43}$/;

const log = debuglog('koa-session-kit');

/** True for a store id; anything else is logged and refused before it reaches a path. */
export function isStoreId(operation: string, id: unknown): id is string {
  if (typeof id === 'string' && STORE_ID.test(id)) return true;
  log('FileStore: %s refused an id that is not a 43-character base64url digest', operation);
  return false;
}

/** A TypeError (the caller's mistake) for what no user id looks like. */

/** Throws (into the caller's rejection) before any file is touched when the input is not a store id and a record. */
export function checkWrite(operation: string, id: unknown, record: RecordWrite | undefined): void {
  if (!isStoreId(operation, id)) {
    throw new SessionStoreError(
      `koa-session-kit: FileStore refused to ${operation} a session: the id is not a 43-character base64url digest`,
      { operation },
    );
  }
  if (record === undefined) return;
  if (record.owner !== undefined) checkOwner('owner', record.owner);
  if (!(record.data instanceof Uint8Array) || record.data.length > MAX_DATA_BYTES || !Number.isFinite(record.expires)) {
    throw new SessionStoreError(
      `koa-session-kit: FileStore refused to ${operation} a session: it needs data bytes (at most 4 GiB) and a finite expiry`,
      { operation },
    );
  }
}

export function lockTimeout(dir: string, operation: string): SessionStoreError {
  return new SessionStoreError(
    `koa-session-kit: FileStore could not ${operation} a session in ${dir}: its lock stayed taken for ${LOCK_WAIT_MS} ms`,
    { operation },
  );
}

export function lostLock(dir: string, operation: string): SessionStoreError {
  return new SessionStoreError(
    `koa-session-kit: FileStore gave up on ${operation} in ${dir}: it held the lock so long that another process broke it`,
    { operation },
  );
}

/** A file system failure, with its code (`ENOSPC`, `EACCES`...) in the message and the error as `cause`. */
export function fsFailure(dir: string, operation: string, cause: unknown): SessionStoreError {
  const code = errorCode(cause);
  const why = typeof code === 'string' ? code : cause instanceof Error ? cause.message : String(cause);
  return new SessionStoreError(`koa-session-kit: FileStore could not ${operation} a session in ${dir} (${why})`, {
    operation,
    cause,
  });
}
