/** What one `session()` builds once: options with every default applied, the codec, the signer and decoding. */

import type { Context } from 'koa';
import { debuglog } from 'node:util';
import { jsonSerializer } from '../serializers/json.js';
import { MemoryStore } from '../stores/memory.js';
import { EnvelopeCodec } from './envelope.js';
import { emit, recordOf, type RejectReason, type SessionEventListener, type StoreEvent } from './events.js';
import { KeyedQueue } from './keyed-queue.js';
import { checkKeys, resolveOptions, type ResolvedOptions, type SessionOptions } from './options.js';
import type { Serializer } from './serializer.js';
import { CookieIds } from './cookie-ids.js';
import { IdSigner } from './signature.js';
import { isSealedCookieStore, synchronousRead, type SessionStore, type StoredRecord } from './store.js';

const debug = debuglog('koa-session-kit');

/** A record this process has just written, at the version the store gave it. */
export interface Written {
  readonly version: number;
  readonly data: Uint8Array;
  readonly owner?: string | undefined;
}

/** A stored envelope, opened and decoded. */
export interface Decoded {
  created: number;
  maxAge: number | undefined;
  /** The serialized user data, a view into the stored bytes. */
  payload: Uint8Array;
  data: Map<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Everything one `session()` middleware knows, resolved at startup. Loading and committing read
 * it; nothing in it changes per request except the `app.keys` signer, rebuilt when the keys change.
 */
export class SessionSetup {
  readonly options: ResolvedOptions;
  readonly name: string;
  readonly store: SessionStore;
  readonly serializer: Serializer;
  readonly codec: EnvelopeCodec;
  /** The `onEvent` subscriber: every emit site checks it first, so no subscriber means no event built. */
  readonly onEvent: SessionEventListener | undefined;
  /**
   * Commits of one id in this process run one at a time; the version check covers other
   * processes. Each leaves the record it wrote for the next, which then need not reload it.
   */
  readonly queue = new KeyedQueue<Written>();
  /**
   * The store's synchronous read, when it keeps its records in this process (MemoryStore); chosen
   * here, once, so a `get` replaced on the store after `session()` is called is not seen.
   */
  readonly readNow: ((id: string) => StoredRecord | undefined) | undefined;
  /** From `keys` in the options; undefined when the ids follow `app.keys`. */
  readonly #ids: CookieIds | undefined;
  #appKeys: unknown;
  #appIds: CookieIds = new CookieIds(undefined);

  constructor(options: SessionOptions) {
    const resolved = resolveOptions(options);
    this.options = resolved;
    this.name = resolved.name;
    this.store = resolved.store ?? new MemoryStore();
    this.serializer = resolved.serializer ?? jsonSerializer();
    this.codec = new EnvelopeCodec(this.serializer.name);
    this.#ids = resolved.keys === undefined ? undefined : new CookieIds(new IdSigner(resolved.keys, resolved.cookie.name));
    this.onEvent = resolved.onEvent;
    this.readNow = isSealedCookieStore(this.store) ? undefined : synchronousRead(this.store);
    if (this.onEvent !== undefined && !isSealedCookieStore(this.store)) {
      this.store.setEventSink?.((event: StoreEvent) => emit(this, { ...event, name: this.name }));
    }
  }

  /** `sessions.close()`: the store's own timers and connections (each store closes only what it made). */
  async close(): Promise<void> {
    const store = this.store;
    if (isSealedCookieStore(store)) return;
    if (this.onEvent !== undefined) store.setEventSink?.(undefined);
    await store.close?.();
  }

  /**
   * Cookie values and ids for this request: signed with `keys` from the options, else with
   * `app.keys` (everything remembered goes when they change), else unsigned.
   */
  idsFor(ctx: Context): CookieIds {
    if (this.#ids !== undefined) return this.#ids;
    let keys: unknown = ctx.app.keys;
    if (keys === null) keys = undefined;
    if (keys !== this.#appKeys) {
      if (keys !== undefined) checkKeys('app.keys', keys);
      this.#appIds = new CookieIds(keys === undefined ? undefined : new IdSigner(keys, this.options.cookie.name));
      this.#appKeys = keys;
    }
    return this.#appIds;
  }

  /** When a session saved now expires: its idle lifetime from now, within its absolute timeout. */
  expiresAt(maxAge: number | undefined, created: number, now: number): number {
    const expires = now + (maxAge ?? this.options.maxAge);
    const cap = this.options.absoluteTimeout;
    return cap === undefined ? expires : Math.min(expires, created + cap);
  }

  /**
   * One debug line saying why this request starts a fresh session, and a `rejected` event.
   * @param detail what the debug line adds to the reason, e.g. which decoding step failed
   * @param digest the store key, when the cookie led that far (the event carries its prefix)
   */
  reject(reason: RejectReason, detail?: string, digest?: string): undefined {
    debug('%s: %s%s; starting a fresh session', this.name, reason, detail === undefined ? '' : ` (${detail})`);
    if (this.onEvent !== undefined) {
      emit(
        this,
        digest === undefined
          ? { type: 'rejected', name: this.name, reason }
          : { type: 'rejected', name: this.name, reason, record: recordOf(digest) },
      );
    }
    return undefined;
  }

  /** One debug line and an `expired` event: a loaded session was past its expiry or its absolute timeout. */
  expired(cause: 'idle' | 'absolute-timeout', digest: string | undefined): undefined {
    debug('%s: session passed its %s; starting a fresh session', this.name, cause === 'idle' ? 'maxAge' : 'absoluteTimeout');
    if (this.onEvent !== undefined) {
      const event = { type: 'expired', name: this.name, cause } as const;
      emit(this, digest === undefined ? event : { ...event, record: recordOf(digest) });
    }
    return undefined;
  }

  /** Opens an envelope and decodes its data; a string saying what does not fit when it does not. */
  decode(bytes: Uint8Array): Decoded | string {
    const envelope = this.codec.decode(bytes);
    if (envelope === undefined) return 'record was written by another serializer or format';
    let value: unknown;
    try {
      value = this.serializer.deserialize(envelope.payload);
    } catch (error) {
      return `stored data does not decode (${(error as Error)?.name})`;
    }
    if (!isPlainObject(value)) return 'stored data is not an object';
    const data = new Map<string, unknown>();
    for (const key of Object.keys(value)) data.set(key, value[key]);
    return { created: envelope.created, maxAge: envelope.maxAge, payload: envelope.payload, data };
  }
}
