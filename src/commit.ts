/** Committing a session after the response is built: what to write, where, and which cookie to send. */

import type { Context } from 'koa';
import { debuglog } from 'node:util';
import { formatClearingCookie, formatCookie, MAX_COOKIE_BYTES } from './cookie.js';
import { CookieTooLargeError, SessionStoreError } from './errors.js';
import { digestId, generateId } from './id.js';
import type { Loaded, RequestSlot, SessionManager } from './manager.js';
import { reapplyChanges, sameBytes } from './merge.js';
import { toPlainObject, type SessionState } from './session.js';
import { isSealedCookieStore, type SealedCookieStore, type Store } from './store.js';
import { KeyedQueue } from './keyed-queue.js';
import { callStore, storeFailure } from './store-call.js';

const debug = debuglog('koa-session-kit');

/**
 * The Set-Cookie line to send, if any: at once when nothing needed the store (most read-only
 * requests), else once the store has answered. Kept apart so those requests skip a promise.
 */
export type CommitResult = string | undefined | Promise<string | undefined>;

/** Retries of an update that lost a version race before giving up with a SessionStoreError. */
const MAX_CONFLICT_RETRIES = 8;

/** The commit half of a SessionManager. */
export class SessionCommitter {
  readonly #manager: SessionManager;
  /** Commits of one id in this process run one at a time; the version check covers other processes. */
  readonly #queue = new KeyedQueue();

  constructor(manager: SessionManager) {
    this.#manager = manager;
  }

  /** Saves what changed; the Set-Cookie line to send, if any. */
  commit(slot: RequestSlot): CommitResult {
    const state = slot.state;
    if (state === undefined) return undefined;
    // Untouched data is byte for byte what was loaded: no value was written, and none that could
    // be changed in place left the session. Otherwise serialize before any store call, so a
    // SerializationError leaves the stored session as it was.
    const loaded = slot.loaded;
    const payload =
      loaded !== undefined && !state.touched && !slot.replaced
        ? loaded.payload
        : this.#manager.serializer.serialize(toPlainObject(state.data));
    const store = this.#manager.store;
    return isSealedCookieStore(store) ? this.#commitSealed(store, slot, state, payload) : this.#commitStored(store, slot, state, payload);
  }

  #expires(state: SessionState, created: number, now: number): number {
    const expires = now + (state.maxAge ?? this.#manager.options.maxAge);
    const cap = this.#manager.options.absoluteTimeout;
    return cap === undefined ? expires : Math.min(expires, created + cap);
  }

  #secure(ctx: Context): boolean {
    const secure = this.#manager.options.cookie.secure;
    return secure === 'auto' ? ctx.secure : secure;
  }

  #cookieLine(ctx: Context, value: string, expires: number, now: number): string {
    const line = formatCookie(this.#manager.options.cookie, value, this.#secure(ctx), expires, now);
    if (line.length > MAX_COOKIE_BYTES) throw new CookieTooLargeError(this.#manager.options.cookie.name, line.length, MAX_COOKIE_BYTES);
    return line;
  }

  #clearing(ctx: Context): string {
    return formatClearingCookie(this.#manager.options.cookie, this.#secure(ctx));
  }

  #signed(ctx: Context, id: string): string {
    const signer = this.#manager.signerFor(ctx);
    return signer === undefined ? id : signer.sign(id);
  }

  /** The cookie value for the loaded id: the one received when it is current, else signed anew. */
  #loadedValue(slot: RequestSlot, state: SessionState): string {
    return slot.currentValue ?? this.#signed(slot.ctx, state.identity as string);
  }

  #commitSealed(store: SealedCookieStore, slot: RequestSlot, state: SessionState, payload: Uint8Array): string | undefined {
    const { ctx, loaded } = slot;
    const now = Date.now();
    const fresh = loaded === undefined || state.invalidated || slot.replaced;
    if (fresh && state.data.size === 0 && !state.forced) {
      return slot.hadCookie && (loaded !== undefined || state.invalidated) ? this.#clearing(ctx) : undefined;
    }
    const expires = this.#expires(state, state.created, now);
    let record: Uint8Array;
    let sealExpires = expires;
    if (fresh || state.forced || state.metaChanged || state.regenerated || !sameBytes(payload, loaded.payload)) {
      record = this.#manager.codec.encode(state.created, state.maxAge, payload);
    } else if (this.#manager.options.rolling && expires - loaded.expires >= this.#manager.options.touchAfter) {
      record = loaded.record;
    } else if (slot.stale) {
      record = loaded.record;
      sealExpires = loaded.expires;
    } else {
      return undefined;
    }
    return this.#cookieLine(ctx, store.seal({ data: record, expires: sealExpires }), sealExpires, now);
  }

  #commitStored(store: Store, slot: RequestSlot, state: SessionState, payload: Uint8Array): CommitResult {
    const { ctx, loaded } = slot;
    const dropOld = loaded?.digest !== undefined && (state.invalidated || slot.replaced || state.regenerated) ? loaded.digest : undefined;
    if (loaded === undefined || dropOld !== undefined) {
      if (state.data.size > 0 || state.forced || state.regenerated) return this.#replaceRecord(store, ctx, state, payload, dropOld);
      // Nothing to keep: no record to write, and a cookie to clear only where one pointed at a session.
      if (dropOld === undefined) return slot.hadCookie && state.invalidated ? this.#clearing(ctx) : undefined;
      return this.#destroy(store, dropOld).then(() => (slot.hadCookie ? this.#clearing(ctx) : undefined));
    }
    const digest = loaded.digest as string; // server-side loads always carry a digest
    const now = Date.now();
    if (state.forced || state.metaChanged || !sameBytes(payload, loaded.payload)) {
      return this.#queue.run(digest, () => this.#update(store, slot, state, payload, digest));
    }
    const expires = this.#expires(state, state.created, now);
    if (this.#manager.options.rolling && expires - loaded.expires >= this.#manager.options.touchAfter) {
      return this.#touch(store, slot, state, digest, expires, now);
    }
    if (slot.stale) return this.#cookieLine(ctx, this.#signed(ctx, state.identity as string), loaded.expires, now);
    return undefined;
  }

  async #touch(store: Store, slot: RequestSlot, state: SessionState, digest: string, expires: number, now: number): Promise<string> {
    const touched = await this.#queue.run(digest, () => callStore('touch', digest, () => store.touch(digest, expires)));
    if (!touched) return this.#clearing(slot.ctx);
    return this.#cookieLine(slot.ctx, this.#loadedValue(slot, state), expires, now);
  }

  /** A new record (first save, or the data moving to a new id), the old one destroyed after. */
  async #replaceRecord(store: Store, ctx: Context, state: SessionState, payload: Uint8Array, dropOld: string | undefined): Promise<string> {
    const line = await this.#create(store, ctx, state, payload);
    if (dropOld !== undefined) await this.#destroy(store, dropOld);
    return line;
  }

  #destroy(store: Store, digest: string): Promise<void> {
    return this.#queue.run(digest, () => callStore('destroy', digest, () => store.destroy(digest)));
  }

  async #create(store: Store, ctx: Context, state: SessionState, payload: Uint8Array): Promise<string> {
    const chosen = state.regenerated ? undefined : state.identity;
    const now = Date.now();
    const expires = this.#expires(state, state.created, now);
    const data = this.#manager.codec.encode(state.created, state.maxAge, payload);
    // A collision of 256-bit random ids does not happen; the loop is for a setNewIdentity() id in use.
    for (let attempt = 0; attempt < 3; attempt++) {
      const id = chosen ?? generateId();
      const digest = digestId(id);
      const line = this.#cookieLine(ctx, this.#signed(ctx, id), expires, now);
      if (await callStore('create', digest, () => store.create(digest, { data, expires }))) {
        state.identity = id;
        return line;
      }
      if (chosen !== undefined) {
        throw new SessionStoreError(
          `koa-session-kit: session id given to setNewIdentity() is already in use (record ${digest.slice(0, 8)}…); choose another`,
          {
            operation: 'create',
          },
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

  async #update(store: Store, slot: RequestSlot, state: SessionState, payload: Uint8Array, digest: string): Promise<string> {
    const { ctx } = slot;
    const loaded = slot.loaded as Loaded; // #update runs only for a loaded session
    let version = loaded.version;
    let created = state.created;
    let maxAge = state.maxAge;
    let bytes = payload;
    let original: Map<string, unknown> | undefined;
    for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt++) {
      const now = Date.now();
      const expires = this.#expires(state, created, now);
      const line = this.#cookieLine(ctx, this.#loadedValue(slot, state), expires, now);
      const data = this.#manager.codec.encode(created, maxAge, bytes);
      let written: number | undefined;
      try {
        written = await store.update(digest, { data, expires }, version);
      } catch (error) {
        throw storeFailure('update', digest, error);
      }
      if (written !== undefined) return line;
      // Another request (here or in another process) saved first: reload, re-apply ours, retry.
      const fresh = await callStore('get', digest, () => store.get(digest));
      if (fresh === undefined) {
        debug('%s: session was destroyed by another request; not resurrecting it', this.#manager.options.name);
        return this.#clearing(ctx);
      }
      const decoded = this.#manager.decode(fresh.data);
      version = fresh.version;
      if (decoded === undefined) continue; // unreadable: overwrite it with this request's data
      original ??= this.#manager.decode(loaded.record)?.data ?? new Map();
      const merged = reapplyChanges(this.#manager.serializer, original, state.data, decoded.data, state.cleared);
      bytes = this.#manager.serializer.serialize(toPlainObject(merged));
      created = decoded.created;
      maxAge = state.metaChanged ? state.maxAge : decoded.maxAge;
    }
    throw new SessionStoreError(
      `koa-session-kit: gave up saving session ${digest.slice(0, 8)}… after ${MAX_CONFLICT_RETRIES} conflicting writes; the stored session is unchanged`,
      { operation: 'update' },
    );
  }
}
