/** The contract between the middleware and a storage backend: bytes in, bytes out. */

/**
 * One stored session as a store returns it. `data` is opaque: the middleware's envelope
 * (metadata + serialized user data); a store never decodes it.
 */
export interface StoredRecord {
  /** The bytes exactly as they were written. */
  data: Uint8Array;
  /** Expiry, in ms since the Unix epoch (the application's clock). */
  expires: number;
  /** Starts at 1 on create; every update adds 1. Touch leaves it alone. */
  version: number;
  /** Whose session it is, as last written; undefined for none (and from stores that keep no owner). */
  owner?: string | undefined;
}

/** One of an owner's records, as {@link Store.listOwned} gives it. */
export interface OwnedRecord {
  /** The store key (the digest of the session id, never the id). */
  id: string;
  data: Uint8Array;
  expires: number;
}

/**
 * What a store reports from outside any request (a scheduled prune, a connection it made
 * itself); the middleware adds the session's `name` and hands it to `onEvent`.
 */
export type StoreEvent =
  /** A scheduled prune ran to the end; `removed` expired records went. */
  | { readonly type: 'prune-finished'; readonly store: string; readonly removed: number }
  /** A scheduled prune failed; the next one tries again. */
  | { readonly type: 'prune-failed'; readonly store: string; readonly error: Error }
  /** A connection the store made itself failed outside any request (requests see their own errors). */
  | { readonly type: 'store-error'; readonly store: string; readonly operation: string; readonly error: Error };

/** Where a store sends its {@link StoreEvent}s: see {@link Store.setEventSink}. */
export type StoreEventSink = (event: StoreEvent) => void;

/** What the middleware writes: the store owns the version. */
export interface RecordWrite {
  data: Uint8Array;
  /** Expiry, in ms since the Unix epoch. */
  expires: number;
  /**
   * Whose session this is (`session.owner`, a user id), or undefined for none. Each create and
   * update states it: an update replaces the owner, and undefined removes it. Stores that list
   * and revoke a user's sessions index it; touch leaves it alone.
   */
  owner?: string | undefined;
}

/**
 * A server-side session store. Ids it receives are SHA-256 digests of the session id
 * (43 characters of base64url), never the id in the cookie, so a dump of a store holds no
 * usable cookie. Every method rejects with a {@link SessionStoreError} (or any error, which
 * the middleware wraps) when the backend fails; "not found" is a value, never an error.
 */
export interface Store {
  /** The record, or `undefined` when missing or expired. */
  get(id: string): Promise<StoredRecord | undefined>;
  /** Writes a new record at version 1; `false` (and nothing written) when the id already exists. */
  create(id: string, record: RecordWrite): Promise<boolean>;
  /**
   * Replaces the record if it exists and, when `expectedVersion` is given, only if its version
   * still equals it. Returns the new version, or `undefined` when nothing was written (missing,
   * expired, or another version).
   */
  update(id: string, record: RecordWrite, expectedVersion?: number): Promise<number | undefined>;
  /** Moves the expiry only (no data rewrite, version unchanged); `false` when missing or expired. */
  touch(id: string, expires: number): Promise<boolean>;
  /** Removes the record; a missing one is not an error. */
  destroy(id: string): Promise<void>;
  /**
   * The unexpired records whose owner is `owner`, in no particular order. With
   * {@link Store.destroyOwned}, what lets an app list and revoke a user's sessions; a store
   * without them still works, and `listSessions()` then says which store to use.
   */
  listOwned?(owner: string): Promise<OwnedRecord[]>;
  /** Removes every record of `owner` but the one with id `except`; resolves to how many went. */
  destroyOwned?(owner: string, except?: string): Promise<number>;
  /** Removes expired records now; resolves to how many were removed, when the store knows. */
  prune?(): Promise<number>;
  /**
   * Releases timers and connections the store made itself, never a client or pool it was given
   * (that one stays usable). `sessions.close()` calls it, at shutdown.
   */
  close?(): Promise<void>;
  /**
   * Where to report what happens outside any request, which no caller would otherwise see: a
   * scheduled prune that finished (`prune-finished`) or failed (`prune-failed`), an error of a
   * connection the store made itself (`store-error`). `session({ onEvent })` calls it once with a
   * sink that forwards to the subscriber; a later call replaces the sink, `undefined` removes it.
   * Without a sink, a store reports these to `NODE_DEBUG=koa-session-kit` only, as before. A store
   * calls the sink synchronously and never lets it throw into its own work (the sink never does).
   */
  setEventSink?(sink: StoreEventSink | undefined): void;
}

/**
 * A store that keeps its records in this process may also answer a read synchronously, under
 * this key, with exactly what its `get` would resolve to. Loading then settles in the request's
 * own tick instead of waiting on a promise per read. Only for stores in this package: the
 * middleware asks it only while the store's `get` is the one defined beside it, so a subclass
 * that overrides `get` (to count, log or fall back) is always asked through its own `get`.
 */
export const readNow: unique symbol = Symbol('koa-session-kit.readNow');

/** A store with a synchronous read; see {@link readNow}. */
interface ReadsNow {
  [readNow](id: string): StoredRecord | undefined;
}

/** The object on `value`'s prototype chain that defines `key` itself. */
function definer(value: object, key: PropertyKey): object | null {
  let holder: object | null = value;
  while (holder !== null && !Object.prototype.hasOwnProperty.call(holder, key)) holder = Object.getPrototypeOf(holder) as object | null;
  return holder;
}

/** `store`'s synchronous read, bound, when it has one that stands for its `get`; see {@link readNow}. */
export function synchronousRead(store: Store): ((id: string) => StoredRecord | undefined) | undefined {
  const read = (store as Partial<ReadsNow>)[readNow];
  if (typeof read !== 'function' || definer(store, readNow) !== definer(store, 'get')) return undefined;
  return read.bind(store);
}

/** A session sealed into the cookie itself, as {@link SealedCookieStore.open} gives it back. */
export interface OpenedCookie {
  data: Uint8Array;
  /** Expiry sealed inside the value, in ms since the Unix epoch. */
  expires: number;
  /** True when it is not in the newest form (an older key, an older format): the middleware reseals it in the same response. */
  stale: boolean;
}

/**
 * A client-side store: nothing on the server, the whole record sealed into the cookie value.
 * Plugs into the same `store` option; the middleware recognises it by `kind`.
 */
export interface SealedCookieStore {
  readonly kind: 'sealed-cookie';
  /**
   * Seals a record into the value of the cookie called `name` (cookie-octet characters only),
   * bound to that name so it never opens as another cookie's value.
   */
  seal(record: RecordWrite, name: string): string;
  /**
   * Opens the value of the cookie called `name`; `undefined` for anything tampered, foreign,
   * malformed, expired at `now`, or sealed for another name.
   */
  open(value: string, now: number, name: string): OpenedCookie | undefined;
}

/** Anything the `store` option accepts. */
export type SessionStore = Store | SealedCookieStore;

/** Tells a sealed cookie store from a server-side one. */
export function isSealedCookieStore(store: SessionStore): store is SealedCookieStore {
  return (store as Partial<SealedCookieStore>).kind === 'sealed-cookie';
}

/**
 * Reports a scheduled prune to a store's sink: `prune-finished` with the count, or `prune-failed`
 * (after `log`, which keeps the `NODE_DEBUG` line stores have always written).
 */
export function reportPrune(
  store: string,
  pruning: Promise<number>,
  sink: StoreEventSink | undefined,
  log: (error: unknown) => void,
): void {
  pruning.then(
    (removed) => sink?.({ type: 'prune-finished', store, removed }),
    (error: unknown) => {
      log(error);
      sink?.({ type: 'prune-failed', store, error: error instanceof Error ? error : new Error(String(error)) });
    },
  );
}
