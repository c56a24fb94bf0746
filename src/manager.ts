/** Loading a session from its cookie and committing it after the response is built. */

import type { Context } from 'koa';
import { debuglog } from 'node:util';
import { formatClearingCookie, formatCookie, MAX_COOKIE_BYTES, readCookie } from './cookie.js';
import { EnvelopeCodec } from './envelope.js';
import { CookieTooLargeError, SessionStoreError, isSessionStoreError } from './errors.js';
import { digestId, generateId, isValidId } from './id.js';
import { reapplyChanges, sameBytes } from './merge.js';
import { checkKeys, type ResolvedOptions } from './options.js';
import type { Serializer } from './serializer.js';
import { emptyState, Session, type SessionState } from './session.js';
import { IdSigner } from './signature.js';
import { isSealedCookieStore, type SealedCookieStore, type SessionStore, type Store } from './store.js';

const debug = debuglog('koa-session-kit');

/** Retries of an update that lost a version race before giving up with a SessionStoreError. */
const MAX_CONFLICT_RETRIES = 8;

/** What was loaded for this request, kept to detect changes and to write at the right version. */
interface Loaded {
  /** The store key (digest of the id); undefined for a sealed cookie. */
  digest: string | undefined;
  version: number;
  expires: number;
  /** The whole stored envelope, resealed as is when only the expiry moves. */
  record: Uint8Array;
  /** The serialized user data inside it, compared with the new bytes at commit. */
  payload: Uint8Array;
}

/** One session's per-request bookkeeping, made by the middleware and filled in by `getSession`. */
export class RequestSlot {
  session: Promise<Session> | undefined;
  state: SessionState | undefined;
  loaded: Loaded | undefined;
  hadCookie = false;
  /** The cookie was verified by an older key: send it again signed or sealed with the newest. */
  stale = false;
  /** `newSession()` replaced a loaded session: its record is destroyed at commit. */
  replaced = false;

  constructor(
    readonly manager: SessionManager,
    readonly ctx: Context,
  ) {}
}

interface Decoded {
  created: number;
  maxAge: number | undefined;
  payload: Uint8Array;
  data: Map<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Everything one `session()` middleware knows, built once; the per-request work goes through it. */
export class SessionManager {
  readonly options: ResolvedOptions;
  readonly #store: SessionStore;
  readonly #serializer: Serializer;
  readonly #codec: EnvelopeCodec;
  readonly #signer: IdSigner | undefined;
  #appKeys: unknown;
  #appSigner: IdSigner | undefined;
  /** Commits of one id in this process run one at a time; the version check covers other processes. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(options: ResolvedOptions, store: SessionStore, serializer: Serializer) {
    this.options = options;
    this.#store = store;
    this.#serializer = serializer;
    this.#codec = new EnvelopeCodec(serializer.name);
    this.#signer = options.keys === undefined ? undefined : new IdSigner(options.keys, options.cookie.name);
  }

  /** Reads the cookie and the store once per request; resolves to the request's Session. */
  async load(slot: RequestSlot): Promise<Session> {
    const state = await this.#read(slot);
    slot.state = state;
    const session = new Session(state);
    slot.ctx.state[this.options.name] = session;
    return session;
  }

  /** A fresh empty session in place of the loaded one, whose record goes at commit. */
  replace(slot: RequestSlot): Session {
    slot.state = emptyState(this.options.maxAge, Date.now());
    slot.replaced = slot.loaded !== undefined;
    const session = new Session(slot.state);
    slot.ctx.state[this.options.name] = session;
    slot.session = Promise.resolve(session);
    return session;
  }

  /** Saves what changed; resolves to the Set-Cookie line to send, if any. */
  async commit(slot: RequestSlot): Promise<string | undefined> {
    const state = slot.state;
    if (state === undefined) return undefined;
    // Serialize before any store call, so a SerializationError leaves the stored session as it was.
    const payload = this.#serializer.serialize(Object.fromEntries(state.data));
    const store = this.#store;
    return isSealedCookieStore(store)
      ? this.#commitSealed(store, slot, state, payload)
      : this.#commitStored(store, slot, state, payload);
  }

  async #read(slot: RequestSlot): Promise<SessionState> {
    const now = Date.now();
    const { cookie, maxAge } = this.options;
    const raw = readCookie(slot.ctx.headers.cookie, cookie.name);
    if (raw === undefined) return emptyState(maxAge, now);
    slot.hadCookie = true;
    if (raw.length + cookie.name.length + 1 > MAX_COOKIE_BYTES) return this.#fresh(now, 'cookie oversized');
    const store = this.#store;
    if (isSealedCookieStore(store)) {
      const opened = store.open(raw, now);
      if (opened === undefined) return this.#fresh(now, 'sealed cookie did not open (tampered, foreign key, malformed or expired)');
      return this.#adopt(slot, undefined, undefined, { ...opened, version: 0 }, now);
    }
    const id = this.#parseId(raw, slot);
    if (id === undefined) return emptyState(maxAge, now);
    const digest = digestId(id);
    const record = await this.#call('get', digest, () => store.get(digest));
    if (record === undefined || record.expires <= now) return this.#fresh(now, 'session id unknown to the store or expired');
    return this.#adopt(slot, id, digest, record, now);
  }

  #adopt(
    slot: RequestSlot,
    id: string | undefined,
    digest: string | undefined,
    record: { data: Uint8Array; expires: number; version: number; stale?: boolean },
    now: number,
  ): SessionState {
    const decoded = this.#decode(record.data);
    if (decoded === undefined) return emptyState(this.options.maxAge, now);
    const { absoluteTimeout } = this.options;
    if (absoluteTimeout !== undefined && decoded.created + absoluteTimeout <= now) {
      return this.#fresh(now, 'session passed its absoluteTimeout');
    }
    if (record.stale === true) slot.stale = true;
    slot.loaded = { digest, version: record.version, expires: record.expires, record: record.data, payload: decoded.payload };
    const state = emptyState(this.options.maxAge, now);
    state.data = decoded.data;
    state.identity = id;
    state.isNew = false;
    state.created = decoded.created;
    state.maxAge = decoded.maxAge;
    return state;
  }

  #fresh(now: number, reason: string): SessionState {
    debug('%s: %s; starting a fresh session', this.options.name, reason);
    return emptyState(this.options.maxAge, now);
  }

  /** The id in a cookie value, or undefined (and one debug line) for anything malformed or badly signed. */
  #parseId(raw: string, slot: RequestSlot): string | undefined {
    const signer = this.#signerFor(slot.ctx);
    let id = raw;
    if (signer !== undefined) {
      const dot = raw.indexOf('.');
      if (dot === -1) return this.#reject('cookie is not signed');
      id = raw.slice(0, dot);
      if (!isValidId(id)) return this.#reject('cookie malformed');
      const verified = signer.verify(id, raw.slice(dot + 1));
      if (verified === undefined) return this.#reject('signature matches no key');
      slot.stale = verified.stale;
      return id;
    }
    return isValidId(id) ? id : this.#reject('cookie malformed');
  }

  #reject(reason: string): undefined {
    debug('%s: %s; starting a fresh session', this.options.name, reason);
    return undefined;
  }

  #signerFor(ctx: Context): IdSigner | undefined {
    if (this.#signer !== undefined) return this.#signer;
    const keys: unknown = ctx.app.keys;
    if (keys === undefined || keys === null) return undefined;
    if (keys !== this.#appKeys) {
      checkKeys('app.keys', keys);
      this.#appSigner = new IdSigner(keys, this.options.cookie.name);
      this.#appKeys = keys;
    }
    return this.#appSigner;
  }

  #decode(bytes: Uint8Array): Decoded | undefined {
    const envelope = this.#codec.decode(bytes);
    if (envelope === undefined) {
      debug('%s: record was written by another serializer or format; starting a fresh session', this.options.name);
      return undefined;
    }
    let value: unknown;
    try {
      value = this.#serializer.deserialize(envelope.payload);
    } catch (error) {
      debug('%s: stored data does not decode (%s); starting a fresh session', this.options.name, (error as Error)?.name);
      return undefined;
    }
    if (!isPlainObject(value)) {
      debug('%s: stored data is not an object; starting a fresh session', this.options.name);
      return undefined;
    }
    const data = new Map<string, unknown>();
    for (const key of Object.keys(value)) data.set(key, value[key]);
    return { created: envelope.created, maxAge: envelope.maxAge, payload: envelope.payload, data };
  }

  #expires(state: SessionState, created: number, now: number): number {
    const expires = now + (state.maxAge ?? this.options.maxAge);
    const cap = this.options.absoluteTimeout;
    return cap === undefined ? expires : Math.min(expires, created + cap);
  }

  #secure(ctx: Context): boolean {
    const secure = this.options.cookie.secure;
    return secure === 'auto' ? ctx.secure : secure;
  }

  #cookieLine(ctx: Context, value: string, expires: number, now: number): string {
    const line = formatCookie(this.options.cookie, value, this.#secure(ctx), expires, now);
    if (line.length > MAX_COOKIE_BYTES) throw new CookieTooLargeError(this.options.cookie.name, line.length, MAX_COOKIE_BYTES);
    return line;
  }

  #clearing(ctx: Context): string {
    return formatClearingCookie(this.options.cookie, this.#secure(ctx));
  }

  #signed(ctx: Context, id: string): string {
    const signer = this.#signerFor(ctx);
    return signer === undefined ? id : signer.sign(id);
  }

  async #commitSealed(store: SealedCookieStore, slot: RequestSlot, state: SessionState, payload: Uint8Array): Promise<string | undefined> {
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
      record = this.#codec.encode(state.created, state.maxAge, payload);
    } else if (this.options.rolling && expires - loaded.expires >= this.options.touchAfter) {
      record = loaded.record;
    } else if (slot.stale) {
      record = loaded.record;
      sealExpires = loaded.expires;
    } else {
      return undefined;
    }
    return this.#cookieLine(ctx, store.seal({ data: record, expires: sealExpires }), sealExpires, now);
  }

  async #commitStored(store: Store, slot: RequestSlot, state: SessionState, payload: Uint8Array): Promise<string | undefined> {
    const { ctx, loaded } = slot;
    const dropOld = loaded?.digest !== undefined && (state.invalidated || slot.replaced || state.regenerated) ? loaded.digest : undefined;
    if (loaded === undefined || dropOld !== undefined) {
      if (state.data.size === 0 && !state.forced && !state.regenerated) {
        if (dropOld !== undefined) await this.#exclusive(dropOld, () => this.#call('destroy', dropOld, () => store.destroy(dropOld)));
        return slot.hadCookie && (dropOld !== undefined || state.invalidated) ? this.#clearing(ctx) : undefined;
      }
      const line = await this.#create(store, ctx, state, payload);
      if (dropOld !== undefined) await this.#exclusive(dropOld, () => this.#call('destroy', dropOld, () => store.destroy(dropOld)));
      return line;
    }
    const digest = loaded.digest as string; // server-side loads always carry a digest
    const now = Date.now();
    if (state.forced || state.metaChanged || !sameBytes(payload, loaded.payload)) {
      return this.#exclusive(digest, () => this.#update(store, slot, state, payload, digest));
    }
    const expires = this.#expires(state, state.created, now);
    if (this.options.rolling && expires - loaded.expires >= this.options.touchAfter) {
      const touched = await this.#exclusive(digest, () => this.#call('touch', digest, () => store.touch(digest, expires)));
      if (!touched) return this.#clearing(ctx);
      return this.#cookieLine(ctx, this.#signed(ctx, state.identity as string), expires, now);
    }
    if (slot.stale) return this.#cookieLine(ctx, this.#signed(ctx, state.identity as string), loaded.expires, now);
    return undefined;
  }

  async #create(store: Store, ctx: Context, state: SessionState, payload: Uint8Array): Promise<string> {
    const chosen = state.regenerated ? undefined : state.identity;
    const now = Date.now();
    const expires = this.#expires(state, state.created, now);
    const data = this.#codec.encode(state.created, state.maxAge, payload);
    // A collision of 256-bit random ids does not happen; the loop is for a setNewIdentity() id in use.
    for (let attempt = 0; attempt < 3; attempt++) {
      const id = chosen ?? generateId();
      const digest = digestId(id);
      const line = this.#cookieLine(ctx, this.#signed(ctx, id), expires, now);
      if (await this.#call('create', digest, () => store.create(digest, { data, expires }))) {
        state.identity = id;
        return line;
      }
      if (chosen !== undefined) {
        throw new SessionStoreError(`koa-session-kit: session id given to setNewIdentity() is already in use (record ${digest.slice(0, 8)}…); choose another`, {
          operation: 'create',
        });
      }
    }
    throw new SessionStoreError('koa-session-kit: the store refused three fresh random ids; check that its create() returns true on success', {
      operation: 'create',
    });
  }

  async #update(store: Store, slot: RequestSlot, state: SessionState, payload: Uint8Array, digest: string): Promise<string> {
    const { ctx } = slot;
    const loaded = slot.loaded as Loaded;
    let version = loaded.version;
    let created = state.created;
    let maxAge = state.maxAge;
    let bytes = payload;
    let original: Map<string, unknown> | undefined;
    for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt++) {
      const now = Date.now();
      const expires = this.#expires(state, created, now);
      const line = this.#cookieLine(ctx, this.#signed(ctx, state.identity as string), expires, now);
      const data = this.#codec.encode(created, maxAge, bytes);
      const written = await this.#call('update', digest, () => store.update(digest, { data, expires }, version));
      if (written !== undefined) return line;
      // Another request (here or in another process) saved first: reload, re-apply ours, retry.
      const fresh = await this.#call('get', digest, () => store.get(digest));
      if (fresh === undefined) {
        debug('%s: session was destroyed by another request; not resurrecting it', this.options.name);
        return this.#clearing(ctx);
      }
      const decoded = this.#decode(fresh.data);
      version = fresh.version;
      if (decoded === undefined) continue; // unreadable: overwrite it with this request's data
      original ??= this.#decode(loaded.record)?.data ?? new Map();
      const merged = reapplyChanges(this.#serializer, original, state.data, decoded.data, state.cleared);
      bytes = this.#serializer.serialize(Object.fromEntries(merged));
      created = decoded.created;
      maxAge = state.metaChanged ? state.maxAge : decoded.maxAge;
    }
    throw new SessionStoreError(
      `koa-session-kit: gave up saving session ${digest.slice(0, 8)}… after ${MAX_CONFLICT_RETRIES} conflicting writes; the stored session is unchanged`,
      { operation: 'update' },
    );
  }

  /** Runs store work for one id after the previous commit of that id in this process. */
  async #exclusive<R>(digest: string, work: () => Promise<R>): Promise<R> {
    const previous = this.#queues.get(digest);
    const run = previous === undefined ? work() : previous.then(work, work);
    const tail = run.catch(() => undefined);
    this.#queues.set(digest, tail);
    try {
      return await run;
    } finally {
      if (this.#queues.get(digest) === tail) this.#queues.delete(digest);
    }
  }

  /** Wraps a store failure in a SessionStoreError that names the operation and the record. */
  async #call<R>(operation: string, digest: string, work: () => Promise<R>): Promise<R> {
    try {
      return await work();
    } catch (error) {
      if (isSessionStoreError(error)) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new SessionStoreError(
        `koa-session-kit: store ${operation}() failed for session ${digest.slice(0, 8)}… (${message}); the stored session was left as it was`,
        { operation, cause: error },
      );
    }
  }
}
