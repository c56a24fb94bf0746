/**
 * A user's sessions, from a handler or from outside any request (an admin tool, a password-reset
 * job): listing them and revoking one, all, or all but the current, through the store's owner index.
 */

import { SessionStoreError } from './errors.js';
import { emit, recordOf } from './events.js';
import { checkOwner } from './option-checks.js';
import { toPlainObject, type SessionData } from './session.js';
import type { SessionSetup } from './setup.js';
import { isSealedCookieStore, type Store } from './store.js';

/** One of a user's sessions, as `listSessions()` gives it. */
export interface SessionInfo<T extends object = SessionData> {
  /** Names the session to `revokeSession()`; safe to show in a page (it works as no cookie). */
  handle: string;
  /** When the session was first created, in ms since the epoch. */
  created: number;
  /** When it expires unless used again, in ms since the epoch. */
  expires: number;
  /** When it was last written or touched, in ms since the epoch; undefined where its expiry was capped by `absoluteTimeout`. */
  lastSeen: number | undefined;
  /** Its data, as `session.toJSON()` would show it. */
  data: Partial<T>;
}

/** A store key: what `session.handle` and `SessionInfo.handle` hold. */
const HANDLE = /^[A-Za-z0-9_-]{43}$/;

type OwnerStore = Store & Required<Pick<Store, 'listOwned' | 'destroyOwned'>>;

function ownerStore(setup: SessionSetup): OwnerStore {
  const store = setup.store;
  if (isSealedCookieStore(store)) {
    throw new TypeError(
      'koa-session-kit: CookieStore cannot list or revoke sessions (each lives only in its cookie); use any server-side store (MemoryStore, FileStore, PostgresStore, RedisStore, MySQLStore, SQLiteStore)',
    );
  }
  if (typeof store.listOwned !== 'function' || typeof store.destroyOwned !== 'function') {
    throw new TypeError(
      `koa-session-kit: ${store.constructor.name} keeps no owner index (listOwned and destroyOwned); use any server-side store (MemoryStore, FileStore, PostgresStore, RedisStore, MySQLStore, SQLiteStore), or add them (see docs/writing-a-store.md)`,
    );
  }
  return store as OwnerStore;
}

function checkHandle(option: string, handle: unknown): string {
  if (typeof handle !== 'string' || !HANDLE.test(handle)) {
    throw new TypeError(`koa-session-kit: \`${option}\` must be a session handle (session.handle, 43 characters of base64url)`);
  }
  return handle;
}

async function ownerCall<R>(operation: string, work: () => Promise<R>): Promise<R> {
  try {
    return await work();
  } catch (error) {
    throw new SessionStoreError(
      `koa-session-kit: store ${operation}() failed (${error instanceof Error ? error.message : String(error)}); no session was changed by this call`,
      { operation, cause: error },
    );
  }
}

/** The owner's live sessions, oldest first. */
export async function listSessions(setup: SessionSetup, owner: string): Promise<SessionInfo[]> {
  checkOwner('owner', owner);
  const store = ownerStore(setup);
  const records = await ownerCall('listOwned', () => store.listOwned(owner));
  const now = Date.now();
  const { absoluteTimeout, maxAge } = setup.options;
  const sessions: SessionInfo[] = [];
  for (const record of records) {
    if (record.expires <= now) continue;
    const decoded = setup.decode(record.data);
    if (typeof decoded === 'string') continue; // another format wrote it: not listable
    if (absoluteTimeout !== undefined && decoded.created + absoluteTimeout <= now) continue;
    const capped = absoluteTimeout !== undefined && record.expires === decoded.created + absoluteTimeout;
    sessions.push({
      handle: record.id,
      created: decoded.created,
      expires: record.expires,
      lastSeen: capped ? undefined : record.expires - (decoded.maxAge ?? maxAge),
      data: toPlainObject(decoded.data),
    });
  }
  return sessions.sort((a, b) => a.created - b.created);
}

/**
 * Revokes one session: its next request loads an empty one. With `owner`, only if the session is
 * that owner's (pass the current user, so a handle from a form cannot reach someone else's).
 * Resolves to whether a session was revoked.
 */
export async function revokeSession(setup: SessionSetup, handle: string, options: { owner?: string } = {}): Promise<boolean> {
  checkHandle('handle', handle);
  const store = ownerStore(setup);
  const record = await ownerCall('get', () => store.get(handle));
  if (record === undefined || record === null) return false;
  if (options.owner !== undefined && record.owner !== checkOwner('owner', options.owner)) return false;
  await ownerCall('destroy', () => store.destroy(handle));
  if (setup.onEvent !== undefined) {
    const event = { type: 'sessions-revoked', name: setup.name, revoked: 1, record: recordOf(handle) } as const;
    emit(setup, record.owner === undefined ? event : { ...event, owner: record.owner });
  }
  return true;
}

/** Revokes every session of `owner`, or all but `except` ("log out other devices"); resolves to how many. */
export async function revokeSessions(setup: SessionSetup, owner: string, options: { except?: string | undefined } = {}): Promise<number> {
  checkOwner('owner', owner);
  const except = options.except === undefined ? undefined : checkHandle('except', options.except);
  const store = ownerStore(setup);
  const revoked = await ownerCall('destroyOwned', () => store.destroyOwned(owner, except));
  if (setup.onEvent !== undefined) emit(setup, { type: 'sessions-revoked', name: setup.name, owner, revoked });
  return revoked;
}
