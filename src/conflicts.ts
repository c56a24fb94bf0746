/**
 * The conflict policy: when another request saved the session first, this request's own
 * key-level changes are re-applied on the fresh copy and the write is tried again, a bounded
 * number of times. No deep merge, and a session destroyed meanwhile is never brought back.
 */

import { debuglog } from 'node:util';
import { callStore, SessionStoreError, storeFailure } from './errors.js';
import { emit, recordOf } from './events.js';
import type { Serializer } from './serializer.js';
import { toPlainObject, type SessionState } from './session.js';
import { clearingLine, cookieLine, loadedValue } from './set-cookie.js';
import type { Loaded } from './load.js';
import type { RequestSlot } from './slot.js';
import { wasReplaced } from './replaced.js';
import type { Written } from './setup.js';
import type { Store } from './store.js';

const debug = debuglog('koa-session-kit');

/** Retries of an update that lost a version race before giving up with a SessionStoreError. */
export const MAX_CONFLICT_RETRIES = 32;
/** The first retry waits up to this long; each later one up to twice the one before, up to the cap. */
const BACKOFF_BASE_MS = 1;
const BACKOFF_CAP_MS = 50;

/**
 * A random wait before retry `attempt` ("full jitter"): writers from several processes that
 * collided once would collide again if they all retried at once. Only a conflict waits, so an
 * uncontended write never does.
 */
function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/** Equal bytes; the same view (an untouched session's loaded payload) needs no comparison. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a === b || (a.length === b.length && Buffer.compare(a, b) === 0);
}

/** Serialized form of one key's value, so "changed" means what the store would see change. */
function encodeEntry(serializer: Serializer, key: string, value: unknown): Uint8Array {
  const single: Record<string, unknown> = Object.create(null);
  single[key] = value;
  return serializer.serialize(single);
}

/**
 * The data this request should write when another request saved first. Keys this request set,
 * changed in place or deleted (compared with what it loaded) are applied on top of `fresh`; every
 * other key keeps the fresh value. After `clear()` the request's own data wins whole, since
 * clearing is a statement about every key, the ones added meanwhile included.
 */
export function reapplyChanges(
  serializer: Serializer,
  loaded: ReadonlyMap<string, unknown>,
  current: ReadonlyMap<string, unknown>,
  fresh: ReadonlyMap<string, unknown>,
  cleared: boolean,
): Map<string, unknown> {
  if (cleared) return new Map(current);
  const merged = new Map(fresh);
  for (const [key, value] of current) {
    // A primitive that is the very value loaded serializes the same: no need to encode it twice.
    if ((typeof value !== 'object' || value === null) && loaded.has(key) && Object.is(value, loaded.get(key))) continue;
    if (!loaded.has(key) || !sameBytes(encodeEntry(serializer, key, value), encodeEntry(serializer, key, loaded.get(key)))) {
      merged.set(key, value);
    }
  }
  for (const key of loaded.keys()) if (!current.has(key)) merged.delete(key);
  return merged;
}

/** One request's commit of a loaded session's data. */
interface Pending {
  readonly slot: RequestSlot;
  readonly state: SessionState;
  readonly payload: Uint8Array;
}

const firstLine = (lines: (string | undefined)[]): string | undefined => lines[0];

/**
 * Queues a loaded session's update behind this process's writes of the same id. An idle id (the
 * usual case) is written at once. Commits that arrive while a write is in flight wait together and
 * are written in one go when their turn comes: each one's key-level changes applied in arrival
 * order on what the write ahead stored, as if they had run one after another, so one session's
 * parallel requests cost one store write per turn instead of one each. A commit that changes
 * maxAge or the owner, which the whole record shares, is written alone in its place.
 */
export function queueUpdate(
  slot: RequestSlot,
  store: Store,
  state: SessionState,
  payload: Uint8Array,
  digest: string,
): Promise<string | undefined> {
  const { queue } = slot.setup;
  const pending: Pending = { slot, state, payload };
  if (state.metaChanged || state.ownerChanged || !queue.busy(digest)) {
    return queue.run(digest, () => writeWithRetries(store, digest, [pending])).then(firstLine);
  }
  return queue.batch(digest, pending, (batch) => writeWithRetries(store, digest, batch));
}

/**
 * Writes the members' data at the version the first loaded; on a conflict, waits a jittered
 * backoff, reloads, re-applies every member's changes and tries again. Resolves to each member's
 * Set-Cookie line: the session's, or one clearing the cookie when another request destroyed the
 * session meanwhile.
 */
async function writeWithRetries(store: Store, digest: string, members: readonly Pending[]): Promise<(string | undefined)[]> {
  const lead = members[0] as Pending;
  const { setup } = lead.slot;
  const loadedOf = (p: Pending): Loaded => p.slot.opened?.loaded as Loaded; // only a loaded session is updated
  let version = loadedOf(lead).version;
  let created = lead.state.created;
  let maxAge = lead.state.maxAge;
  let owner = lead.state.owner;
  /** What each member loaded, decoded when a re-apply first needs it. */
  const originals: (Map<string, unknown> | undefined)[] = [];
  const originalOf = (i: number): Map<string, unknown> => {
    let original = originals[i];
    if (original === undefined) {
      const before = setup.decode(loadedOf(members[i] as Pending).record);
      original = typeof before === 'string' ? new Map() : before.data;
      originals[i] = original;
    }
    return original;
  };
  /** The members' changes from `from` on, in arrival order, on `base`. */
  const fold = (base: ReadonlyMap<string, unknown>, from: number): Uint8Array => {
    let data = new Map(base);
    for (let i = from; i < members.length; i++) {
      const p = members[i] as Pending;
      data = reapplyChanges(setup.serializer, originalOf(i), p.state.data, data, p.state.cleared);
    }
    return setup.serializer.serialize(toPlainObject(data));
  };
  let bytes = members.length === 1 ? lead.payload : fold(lead.state.data, 1);
  /** Takes a newer copy of the record as the base: every member's changes re-applied on it. */
  const rebase = (fresh: Written): void => {
    version = fresh.version;
    const decoded = setup.decode(fresh.data);
    if (typeof decoded === 'string') return; // unreadable: overwrite it with this write's data
    bytes = fold(decoded.data, 0);
    created = decoded.created;
    maxAge = lead.state.metaChanged ? lead.state.maxAge : decoded.maxAge;
    owner = lead.state.ownerChanged ? lead.state.owner : (fresh.owner ?? undefined);
  };
  // A write queued behind another of this process starts from what that one wrote, not from a
  // version it already knows is gone: no failed write, no reload.
  const ahead = setup.queue.noteFor(digest);
  if (ahead !== undefined && ahead.version > version) rebase(ahead);
  for (let attempt = 0; ; attempt++) {
    const now = Date.now();
    const expires = setup.expiresAt(maxAge, created, now);
    // Formatted before the write: a cookie too large to send must not leave a record behind.
    const lines = members.map((p) => cookieLine(setup, p.slot.ctx, loadedValue(p.slot, p.state.identity as string), expires, now));
    const data = setup.codec.encode(created, maxAge, bytes);
    let written: number | undefined;
    try {
      written = await store.update(digest, { data, expires, owner }, version);
    } catch (error) {
      throw storeFailure('update', digest, error);
    }
    if (written !== undefined) {
      setup.queue.leaveNote(digest, { version: written, data, owner });
      if (setup.onEvent !== undefined) {
        for (let i = 0; i < members.length; i++) emit(setup, { type: 'saved', name: setup.name, record: recordOf(digest), touched: false });
      }
      return lines;
    }
    if (attempt === MAX_CONFLICT_RETRIES) break;
    if (setup.onEvent !== undefined) {
      // One event per commit, as `saved`: a batch's members each lost the race.
      for (let i = 0; i < members.length; i++) {
        emit(setup, { type: 'conflict-retried', name: setup.name, record: recordOf(digest), attempt: attempt + 1 });
      }
    }
    await backoff(attempt);
    const fresh = await callStore('get', digest, () => store.get(digest));
    if (fresh === undefined) {
      // Never resurrected; the cookie is cleared only when the session was logged out, not moved.
      const moved = await wasReplaced(store, digest);
      debug('%s: session was %s by another request; not resurrecting it', setup.name, moved ? 'moved to a new id' : 'destroyed');
      return members.map((p) => (moved ? undefined : clearingLine(setup, p.slot.ctx)));
    }
    rebase(fresh);
  }
  throw new SessionStoreError(
    `koa-session-kit: gave up saving session ${digest.slice(0, 8)}… after ${MAX_CONFLICT_RETRIES} conflicting writes; the stored session is unchanged`,
    { operation: 'update' },
  );
}
