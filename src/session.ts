/** `Session<T>`: the map-like view a handler gets; all its state lives in a record the middleware keeps. */

import { isValidId } from './id.js';
import { checkOwner } from './option-checks.js';
import { checkMaxAge } from './option-checks.js';

/** The shape of session data: string keys to serializable values. */
export type SessionData = Record<string, unknown>;

/** What the middleware and the Session share for one request. Not exported from the package. */
export interface SessionState {
  data: Map<string, unknown>;
  /** The id, once the session has one (loaded, set, or made at commit). */
  identity: string | undefined;
  isNew: boolean;
  created: number;
  /** The per-session maxAge in ms, or undefined to follow the app's. */
  maxAge: number | undefined;
  readonly defaultMaxAge: number;
  /** `changed()` was called: save even if the bytes look the same. */
  forced: boolean;
  /**
   * The data may differ from what was loaded: a key was written or removed, or an object value
   * was handed out and could have been changed in place. While false, commit skips serializing.
   */
  touched: boolean;
  /** maxAge was set in this request. */
  metaChanged: boolean;
  /** Whose session it is (a user id), kept in the store's metadata; undefined for none. */
  owner: string | undefined;
  /** owner was set in this request. */
  ownerChanged: boolean;
  /** The store key of the saved session (the digest of its id); undefined until saved, and for sealed cookies. */
  handle: string | undefined;
  /** `clear()` or `invalidate()` ran: a conflict retry starts from empty, not from the fresh copy. */
  cleared: boolean;
  /** `invalidate()` ran: destroy the loaded record and clear the cookie. */
  invalidated: boolean;
  /** `regenerate()` ran: move the data to a new id and destroy the old record. */
  regenerated: boolean;
}

/**
 * The data as a plain object, in the map's order. A loop rather than `Object.fromEntries`, whose
 * result V8 keeps in dictionary mode: slower to build, to walk and to stringify (bench: write).
 */
export function toPlainObject(data: ReadonlyMap<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of data) {
    // Assigning `__proto__` would set the prototype; defining it keeps it data, for the serializer to refuse.
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  return out;
}

/** Builds the state of a session with no stored record. */
export function emptyState(defaultMaxAge: number, now: number): SessionState {
  return {
    data: new Map(),
    identity: undefined,
    isNew: true,
    created: now,
    maxAge: undefined,
    defaultMaxAge,
    forced: false,
    touched: false,
    metaChanged: false,
    owner: undefined,
    ownerChanged: false,
    handle: undefined,
    cleared: false,
    invalidated: false,
    regenerated: false,
  };
}

/** Builds the state of a session loaded from its stored record. */
export function storedState(
  defaultMaxAge: number,
  identity: string | undefined,
  handle: string | undefined,
  stored: { created: number; maxAge: number | undefined; data: Map<string, unknown> },
  owner: string | undefined,
): SessionState {
  const state = emptyState(defaultMaxAge, stored.created);
  state.data = stored.data;
  state.identity = identity;
  state.handle = handle;
  state.isNew = false;
  state.maxAge = stored.maxAge;
  state.owner = owner;
  return state;
}

/** Records the id (and store key) a commit saved a new session under, so the session shows them. */
export function settleIdentity(state: SessionState, id: string, handle: string): void {
  state.identity = id;
  state.handle = handle;
}

/** A data key that the `ctx.session` view answers itself, refused through either face of the session. */
export function reservedKeyError(key: string): TypeError {
  return new TypeError(
    `koa-session-kit: \`${key}\` cannot be a session key while \`ctxSession\` is on: ctx.session.${key} is the view's own (rename the key)`,
  );
}

/**
 * One client's session: a mutable map of string keys to values, saved after the response is
 * built if (and only if) something changed. Get it with `getSession(ctx)`; never construct it.
 * Mutating a nested value in place is detected too (the serialized bytes are compared).
 */
export class Session<T extends object = SessionData> implements Iterable<[keyof T & string, T[keyof T]]> {
  readonly #state: SessionState;
  readonly #reserved: ReadonlySet<string> | undefined;

  /** @internal Made by the middleware only. */
  constructor(state: SessionState, reserved?: ReadonlySet<string>) {
    this.#state = state;
    this.#reserved = reserved;
  }

  get<K extends keyof T & string>(key: K): T[K] | undefined {
    const value = this.#state.data.get(key);
    if (typeof value === 'object' && value !== null) this.#state.touched = true;
    // The map holds T's values by construction: only `set` and the decoder write to it.
    return value as T[K] | undefined;
  }

  /** Sets a value; returns the session so calls chain. */
  set<K extends keyof T & string>(key: K, value: T[K]): this {
    if (typeof key !== 'string') throw new TypeError(`koa-session-kit: session keys must be strings (received ${typeof key})`);
    if (this.#reserved?.has(key)) throw reservedKeyError(key);
    this.#state.data.set(key, value);
    this.#state.touched = true;
    return this;
  }

  has(key: keyof T & string): boolean {
    return this.#state.data.has(key);
  }

  /** Removes a key; true when it was there. */
  delete(key: keyof T & string): boolean {
    this.#state.touched = true;
    return this.#state.data.delete(key);
  }

  /** Removes every key; the session itself (its id and record) stays. */
  clear(): void {
    this.#state.data.clear();
    this.#state.cleared = true;
    this.#state.touched = true;
  }

  get size(): number {
    return this.#state.data.size;
  }

  keys(): IterableIterator<keyof T & string> {
    return this.#state.data.keys() as IterableIterator<keyof T & string>;
  }

  values(): IterableIterator<T[keyof T]> {
    this.#state.touched = true;
    return this.#state.data.values() as IterableIterator<T[keyof T]>;
  }

  entries(): IterableIterator<[keyof T & string, T[keyof T]]> {
    this.#state.touched = true;
    return this.#state.data.entries() as IterableIterator<[keyof T & string, T[keyof T]]>;
  }

  [Symbol.iterator](): IterableIterator<[keyof T & string, T[keyof T]]> {
    return this.entries();
  }

  forEach(callback: (value: T[keyof T], key: keyof T & string, session: this) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this);
  }

  /** The data as a plain object (what `JSON.stringify(session)` shows). */
  toJSON(): Partial<T> {
    this.#state.touched = true;
    return toPlainObject(this.#state.data) as Partial<T>;
  }

  /** The session id, or undefined until the session is first saved. Read-only. */
  get identity(): string | undefined {
    return this.#state.identity;
  }

  /** True when no stored session was loaded for this request. */
  get isNew(): boolean {
    return this.#state.isNew;
  }

  /** When the session was first created, in ms since the epoch; never reset by later saves. */
  get created(): number {
    return this.#state.created;
  }

  /** This session's idle lifetime in ms; setting it ("remember me") persists with the session. */
  get maxAge(): number {
    return this.#state.maxAge ?? this.#state.defaultMaxAge;
  }

  set maxAge(value: number) {
    this.#state.maxAge = checkMaxAge('session.maxAge', value, RangeError);
    this.#state.metaChanged = true;
  }

  /**
   * Whose session this is: set it to the user's id after login, so the app can list and revoke
   * a user's sessions (`sessions.listSessions(owner)`). Kept in the store's metadata, never in the
   * data; survives `regenerate()`, cleared by `invalidate()` and by a new session. `undefined` removes it.
   */
  get owner(): string | undefined {
    return this.#state.owner;
  }

  set owner(value: string | undefined) {
    const owner = value === undefined ? undefined : checkOwner('session.owner', value);
    if (owner === this.#state.owner) return;
    this.#state.owner = owner;
    this.#state.ownerChanged = true;
  }

  /**
   * This session's handle, safe to show in a page (it names the session to `revokeSession()` but
   * works as no cookie); undefined until the session is saved, and for sealed-cookie sessions.
   */
  get handle(): string | undefined {
    return this.#state.handle;
  }

  /** Forces a save at the end of the request, even if the data looks unchanged. */
  changed(): void {
    this.#state.forced = true;
  }

  /** Logout: clears the data, destroys the stored record and clears the cookie at commit. */
  invalidate(): void {
    const state = this.#state;
    // An empty session again, remembering that the stored one must go and nothing loaded may come back.
    Object.assign(state, emptyState(state.defaultMaxAge, Date.now()), { cleared: true, touched: true, invalidated: true });
  }

  /** Moves the data to a new id at commit and destroys the old record (session fixation defence). */
  regenerate(): void {
    this.#state.regenerated = true;
  }

  /** Chooses the id of a new session; throws on a session that already has one or an id of the wrong shape. */
  setNewIdentity(id: string): void {
    if (!this.#state.isNew || this.#state.identity !== undefined) {
      throw new Error('koa-session-kit: setNewIdentity() works only on a new session; this one already has an id');
    }
    if (typeof id !== 'string' || !isValidId(id)) {
      throw new TypeError('koa-session-kit: `id` must be 32 random bytes in base64url (43 characters), as generateId() makes');
    }
    this.#state.identity = id;
  }
}
