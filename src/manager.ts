/** Loading a session from its cookie and committing it after the response is built. */

import type { Context } from 'koa';
import { debuglog } from 'node:util';
import { SessionCommitter, type CommitResult } from './commit.js';
import { MAX_COOKIE_BYTES, readCookie } from './cookie.js';
import { EnvelopeCodec } from './envelope.js';
import { digestId, isValidId } from './id.js';
import { checkKeys, type ResolvedOptions } from './options.js';
import type { Serializer } from './serializer.js';
import { emptyState, Session, type SessionState } from './session.js';
import { IdSigner } from './signature.js';
import { isSealedCookieStore, type SessionStore, type Store, type StoredRecord } from './store.js';
import { storeFailure } from './store-call.js';

const debug = debuglog('koa-session-kit');

/** What was loaded for this request, kept to detect changes and to write at the right version. */
export interface Loaded {
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
  /** The cookie value as received, when it is already what the newest key would sign: a commit
   * that keeps the id sends it back instead of computing the same HMAC again. */
  currentValue: string | undefined;

  constructor(
    readonly manager: SessionManager,
    readonly ctx: Context,
  ) {}
}

/** A stored envelope, opened and decoded. */
export interface Decoded {
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
  readonly store: SessionStore;
  readonly serializer: Serializer;
  readonly codec: EnvelopeCodec;
  readonly #signer: IdSigner | undefined;
  readonly #committer: SessionCommitter;
  #appKeys: unknown;
  #appSigner: IdSigner | undefined;

  constructor(options: ResolvedOptions, store: SessionStore, serializer: Serializer) {
    this.options = options;
    this.store = store;
    this.serializer = serializer;
    this.codec = new EnvelopeCodec(serializer.name);
    this.#signer = options.keys === undefined ? undefined : new IdSigner(options.keys, options.cookie.name);
    this.#committer = new SessionCommitter(this);
  }

  /** Reads the cookie and the store once per request; resolves to the request's Session. */
  async load(slot: RequestSlot): Promise<Session> {
    const now = Date.now();
    const read = this.#read(slot, now);
    // Only a server-side store makes the read asynchronous; everything else settles in this tick.
    const state = read instanceof Promise ? await read : read;
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

  /** Saves what changed; the Set-Cookie line to send, if any (see {@link CommitResult}). */
  commit(slot: RequestSlot): CommitResult {
    return this.#committer.commit(slot);
  }

  #read(slot: RequestSlot, now: number): SessionState | Promise<SessionState> {
    const { cookie, maxAge } = this.options;
    const raw = readCookie(slot.ctx.headers.cookie, cookie.name);
    if (raw === undefined) return emptyState(maxAge, now);
    slot.hadCookie = true;
    if (raw.length + cookie.name.length + 1 > MAX_COOKIE_BYTES) return this.#fresh(now, 'cookie oversized');
    const store = this.store;
    if (isSealedCookieStore(store)) {
      const opened = store.open(raw, now);
      // The store has logged why (one line per rejection); a second line here would only repeat it.
      if (opened === undefined) return emptyState(maxAge, now);
      return this.#adopt(slot, undefined, undefined, { ...opened, version: 0 }, now);
    }
    const id = this.#parseId(raw, slot);
    if (id === undefined) return emptyState(maxAge, now);
    return this.#fetch(slot, store, id, now);
  }

  async #fetch(slot: RequestSlot, store: Store, id: string, now: number): Promise<SessionState> {
    const digest = digestId(id);
    let record: StoredRecord | undefined;
    try {
      record = await store.get(digest);
    } catch (error) {
      throw storeFailure('get', digest, error);
    }
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
    const decoded = this.decode(record.data);
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
    const signer = this.signerFor(slot.ctx);
    let id = raw;
    if (signer !== undefined) {
      const dot = raw.indexOf('.');
      if (dot === -1) return this.#reject('cookie is not signed');
      id = raw.slice(0, dot);
      if (!isValidId(id)) return this.#reject('cookie malformed');
      const verified = signer.verify(id, raw.slice(dot + 1));
      if (verified === undefined) return this.#reject('signature matches no key');
      slot.stale = verified.stale;
      if (!verified.stale) slot.currentValue = raw;
      return id;
    }
    if (!isValidId(id)) return this.#reject('cookie malformed');
    slot.currentValue = raw;
    return id;
  }

  #reject(reason: string): undefined {
    debug('%s: %s; starting a fresh session', this.options.name, reason);
    return undefined;
  }

  /** The signer for this request: `keys` from the options, else `app.keys` (rebuilt when they change). */
  signerFor(ctx: Context): IdSigner | undefined {
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

  /** Opens an envelope and decodes its data; undefined (and one debug line) when it does not fit. */
  decode(bytes: Uint8Array): Decoded | undefined {
    const envelope = this.codec.decode(bytes);
    if (envelope === undefined) {
      debug('%s: record was written by another serializer or format; starting a fresh session', this.options.name);
      return undefined;
    }
    let value: unknown;
    try {
      value = this.serializer.deserialize(envelope.payload);
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
}
