/** Committing a session after the response is built: what to write, where, and which cookie line to send. */

import { callStore, isSessionStoreError, SessionStoreError, SessionTooLargeError } from './errors.js';
import { emit, recordOf } from './events.js';
import { digestId, generateId } from './id.js';
import { queueUpdate, sameBytes } from './conflicts.js';
import { settleIdentity, toPlainObject, type SessionState } from './session.js';
import { clearingLine, cookieLine, loadedValue, signedValue } from './set-cookie.js';
import type { Loaded, Opened } from './load.js';
import { markReplaced, wasReplaced } from './replaced.js';
import type { RequestSlot } from './slot.js';
import { isSealedCookieStore, type SealedCookieStore, type Store } from './store.js';

/**
 * The Set-Cookie line to send, if any: at once when nothing needed the store (most read-only
 * requests), else once the store has answered. Kept apart so those requests skip a promise.
 */
export type CommitResult = string | undefined | Promise<string | undefined>;

/** Saves what changed in the slot's session; the Set-Cookie line to send, if any. */
export function commit(slot: RequestSlot): CommitResult {
  const opened = slot.opened;
  // A handler may have called getSession without awaiting it: its load settles first (and a
  // failed load rejects here).
  if (opened === undefined) return (slot.session as Promise<unknown>).then(() => commit(slot));
  const { state, loaded } = opened;
  // Untouched data is byte for byte what was loaded: no value was written, and none that could
  // be changed in place left the session. Otherwise serialize before any store call, so a
  // SerializationError leaves the stored session as it was.
  const reused = loaded !== undefined && !state.touched && !slot.replaced;
  const payload = reused ? loaded.payload : slot.setup.serializer.serialize(toPlainObject(state.data));
  const { maxBytes } = slot.setup.options;
  if (payload.length > maxBytes && !reused) throw new SessionTooLargeError(slot.setup.name, payload.length, maxBytes);
  const store = slot.setup.store;
  if (isSealedCookieStore(store)) return commitSealed(store, slot, opened, payload);
  const result = commitStored(store, slot, opened, payload);
  // The handler is attached only for a subscriber; the middleware still gets the rejection.
  if (slot.setup.onEvent !== undefined && typeof result === 'object') result.catch((error: unknown) => storeError(slot, error));
  return result;
}

/** A `store-error` event for a commit the store failed (other errors, e.g. a cookie too large, are the app's). */
function storeError(slot: RequestSlot, error: unknown): void {
  if (!isSessionStoreError(error)) return;
  const { name } = slot.setup;
  const digest = slot.opened?.loaded?.digest;
  const event = { type: 'store-error', name, operation: error.operation, error } as const;
  emit(slot.setup, digest === undefined ? event : { ...event, record: recordOf(digest) });
}

/**
 * The event for a session written under a new id (`created`, `regenerated`), or for the old one
 * dropped (`invalidated`); `digest` is the new record's, `previous` the old one's.
 */
function emitMoved(slot: RequestSlot, state: SessionState, digest: string, previous: string | undefined): void {
  const name = slot.setup.name;
  const record = recordOf(digest);
  if (previous === undefined) return emit(slot.setup, { type: 'created', name, record });
  if (!state.invalidated) return emit(slot.setup, { type: 'regenerated', name, record, previous: recordOf(previous) });
  emit(slot.setup, { type: 'invalidated', name, record: recordOf(previous) });
  emit(slot.setup, { type: 'created', name, record });
}

function commitSealed(store: SealedCookieStore, slot: RequestSlot, opened: Opened, payload: Uint8Array): string | undefined {
  const { setup, ctx } = slot;
  const { state, loaded } = opened;
  if (state.owner !== undefined) {
    throw new TypeError(
      'koa-session-kit: CookieStore keeps no owner, so its sessions cannot be listed or revoked; use any server-side store (MemoryStore, FileStore, PostgresStore, RedisStore, MySQLStore, SQLiteStore) to set session.owner',
    );
  }
  const now = Date.now();
  const fresh = loaded === undefined || state.invalidated || slot.replaced;
  if (fresh && state.data.size === 0 && !state.forced) {
    if (!opened.hadCookie || (loaded === undefined && !state.invalidated)) return undefined;
    if (loaded !== undefined && setup.onEvent !== undefined) emit(setup, { type: 'invalidated', name: setup.name });
    return clearingLine(setup, ctx);
  }
  const expires = setup.expiresAt(state.maxAge, state.created, now);
  let record: Uint8Array;
  let sealExpires = expires;
  if (fresh || state.forced || state.metaChanged || state.regenerated || !sameBytes(payload, loaded.payload)) {
    record = setup.codec.encode(state.created, state.maxAge, payload);
  } else if (setup.options.rolling && expires - loaded.expires >= setup.options.touchAfter) {
    record = loaded.record;
  } else if (opened.stale) {
    record = loaded.record;
    sealExpires = loaded.expires;
  } else {
    return undefined;
  }
  const line = cookieLine(setup, ctx, store.seal({ data: record, expires: sealExpires }, setup.options.cookie.name), sealExpires, now);
  if (setup.onEvent !== undefined) {
    if (loaded === undefined) emit(setup, { type: 'created', name: setup.name });
    else if (state.invalidated) {
      emit(setup, { type: 'invalidated', name: setup.name });
      emit(setup, { type: 'created', name: setup.name });
    } else if (fresh || state.regenerated) emit(setup, { type: 'regenerated', name: setup.name });
    else emit(setup, { type: 'saved', name: setup.name, touched: record === loaded.record });
  }
  return line;
}

function commitStored(store: Store, slot: RequestSlot, opened: Opened, payload: Uint8Array): CommitResult {
  const { setup, ctx } = slot;
  const { state, loaded } = opened;
  const dropOld = loaded?.digest !== undefined && (state.invalidated || slot.replaced || state.regenerated) ? loaded.digest : undefined;
  if (loaded === undefined || dropOld !== undefined) {
    if (state.data.size > 0 || state.forced || state.regenerated) return replaceRecord(store, slot, opened, payload, dropOld);
    // Nothing to keep: no record to write, and a cookie to clear only where one pointed at a session.
    if (dropOld === undefined) return opened.hadCookie && state.invalidated ? clearingLine(setup, ctx) : undefined;
    return destroy(slot, store, dropOld).then(() => {
      if (setup.onEvent !== undefined) emit(setup, { type: 'invalidated', name: setup.name, record: recordOf(dropOld) });
      return opened.hadCookie ? clearingLine(setup, ctx) : undefined;
    });
  }
  const digest = loaded.digest as string; // server-side loads always carry a digest
  if (state.forced || state.metaChanged || state.ownerChanged || !sameBytes(payload, loaded.payload)) {
    return queueUpdate(slot, store, state, payload, digest);
  }
  const now = Date.now();
  const expires = setup.expiresAt(state.maxAge, state.created, now);
  if (setup.options.rolling && expires - loaded.expires >= setup.options.touchAfter) {
    return touch(store, slot, state, digest, expires, now);
  }
  if (opened.stale) return cookieLine(setup, ctx, signedValue(setup, ctx, state.identity as string), loaded.expires, now);
  return undefined;
}

async function touch(
  store: Store,
  slot: RequestSlot,
  state: SessionState,
  digest: string,
  expires: number,
  now: number,
): Promise<string | undefined> {
  const touched = await slot.setup.queue.run(digest, () => callStore('touch', digest, () => store.touch(digest, expires)));
  if (!touched) return (await wasReplaced(store, digest)) ? undefined : clearingLine(slot.setup, slot.ctx);
  if (slot.setup.onEvent !== undefined) emit(slot.setup, { type: 'saved', name: slot.setup.name, record: recordOf(digest), touched: true });
  return cookieLine(slot.setup, slot.ctx, loadedValue(slot, state.identity as string), expires, now);
}

/**
 * A new record (first save, or the data moving to a new id), the old one destroyed after. A move
 * (not a logout) leaves a marker first, so a late write to the old id does not log the user out.
 */
async function replaceRecord(
  store: Store,
  slot: RequestSlot,
  opened: Opened,
  payload: Uint8Array,
  dropOld: string | undefined,
): Promise<string> {
  const { state, loaded } = opened;
  const line = await create(store, slot, state, payload);
  if (dropOld !== undefined) {
    if (!state.invalidated) await markReplaced(store, dropOld, (loaded as Loaded).expires);
    await destroy(slot, store, dropOld);
  }
  // The new digest is computed again only for a subscriber.
  if (slot.setup.onEvent !== undefined) emitMoved(slot, state, digestId(state.identity as string), dropOld);
  return line;
}

function destroy(slot: RequestSlot, store: Store, digest: string): Promise<void> {
  return slot.setup.queue.run(digest, () => callStore('destroy', digest, () => store.destroy(digest)));
}

async function create(store: Store, slot: RequestSlot, state: SessionState, payload: Uint8Array): Promise<string> {
  const { setup, ctx } = slot;
  const chosen = state.regenerated ? undefined : state.identity;
  const now = Date.now();
  const expires = setup.expiresAt(state.maxAge, state.created, now);
  const data = setup.codec.encode(state.created, state.maxAge, payload);
  // A collision of 256-bit random ids does not happen; the loop is for a setNewIdentity() id in use.
  for (let attempt = 0; attempt < 3; attempt++) {
    const id = chosen ?? generateId();
    const digest = digestId(id);
    const line = cookieLine(setup, ctx, signedValue(setup, ctx, id, digest), expires, now);
    if (await callStore('create', digest, () => store.create(digest, { data, expires, owner: state.owner }))) {
      settleIdentity(state, id, digest);
      return line;
    }
    if (chosen !== undefined) {
      throw new SessionStoreError(
        `koa-session-kit: session id given to setNewIdentity() is already in use (record ${digest.slice(0, 8)}…); choose another`,
        { operation: 'create' },
      );
    }
  }
  throw new SessionStoreError(
    'koa-session-kit: the store refused three fresh random ids; check that its create() returns true on success',
    {
      operation: 'create',
    },
  );
}
