/** What one `session()` builds once: options with every default applied, the codec, the signer and decoding. */

import type { Context } from 'koa';
import { debuglog } from 'node:util';
import { jsonSerializer } from '../serializers/json.js';
import { MemoryStore } from '../stores/memory.js';
import { EnvelopeCodec } from './envelope.js';
import { KeyedQueue } from './keyed-queue.js';
import { checkKeys, resolveOptions, type ResolvedOptions, type SessionOptions } from './options.js';
import type { Serializer } from './serializer.js';
import { IdSigner } from './signature.js';
import type { SessionStore } from './store.js';

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
  /**
   * Commits of one id in this process run one at a time; the version check covers other
   * processes. Each leaves the record it wrote for the next, which then need not reload it.
   */
  readonly queue = new KeyedQueue<Written>();
  readonly #signer: IdSigner | undefined;
  #appKeys: unknown;
  #appSigner: IdSigner | undefined;

  constructor(options: SessionOptions) {
    const resolved = resolveOptions(options);
    this.options = resolved;
    this.name = resolved.name;
    this.store = resolved.store ?? new MemoryStore();
    this.serializer = resolved.serializer ?? jsonSerializer();
    this.codec = new EnvelopeCodec(this.serializer.name);
    this.#signer = resolved.keys === undefined ? undefined : new IdSigner(resolved.keys, resolved.cookie.name);
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

  /** When a session saved now expires: its idle lifetime from now, within its absolute timeout. */
  expiresAt(maxAge: number | undefined, created: number, now: number): number {
    const expires = now + (maxAge ?? this.options.maxAge);
    const cap = this.options.absoluteTimeout;
    return cap === undefined ? expires : Math.min(expires, created + cap);
  }

  /** One debug line saying why this request starts a fresh session. */
  reject(reason: string): undefined {
    debug('%s: %s; starting a fresh session', this.name, reason);
    return undefined;
  }

  /** Opens an envelope and decodes its data; undefined (and one debug line) when it does not fit. */
  decode(bytes: Uint8Array): Decoded | undefined {
    const envelope = this.codec.decode(bytes);
    if (envelope === undefined) return this.reject('record was written by another serializer or format');
    let value: unknown;
    try {
      value = this.serializer.deserialize(envelope.payload);
    } catch (error) {
      return this.reject(`stored data does not decode (${(error as Error)?.name})`);
    }
    if (!isPlainObject(value)) return this.reject('stored data is not an object');
    const data = new Map<string, unknown>();
    for (const key of Object.keys(value)) data.set(key, value[key]);
    return { created: envelope.created, maxAge: envelope.maxAge, payload: envelope.payload, data };
  }
}
