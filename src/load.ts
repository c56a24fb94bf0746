/** Loading a session: the cookie read and verified, the record fetched, decoded and checked for age. */

import type { Context } from 'koa';
import { MAX_COOKIE_BYTES, readCookie, readCookies } from './cookie.js';
import { storeFailure } from './errors.js';
import { emit, recordOf } from './events.js';
import type { CookieId } from './cookie-ids.js';
import { emptyState, storedState, type SessionState } from './session.js';
import type { SessionSetup } from './setup.js';
import { isSealedCookieStore, type Store, type StoredRecord } from './store.js';

/** What was loaded for this request, kept to detect changes and to write at the right version. */
export interface Loaded {
  /** The store key (digest of the id); undefined for a sealed cookie. */
  readonly digest: string | undefined;
  readonly version: number;
  readonly expires: number;
  /** The whole stored envelope, resealed as is when only the expiry moves. */
  readonly record: Uint8Array;
  /** The serialized user data inside it, compared with the new bytes at commit. */
  readonly payload: Uint8Array;
}

/** What loading found for this request. */
export interface Opened {
  /** The state the request's Session reads and writes. */
  readonly state: SessionState;
  /** The stored session behind it; undefined for a new one. */
  readonly loaded: Loaded | undefined;
  /** The request carried a cookie of this session's name, valid or not. */
  readonly hadCookie: boolean;
  /** The cookie was verified by an older key: send it again signed or sealed with the newest. */
  readonly stale: boolean;
  /** The cookie value as received, when it is already what the newest key would sign: a commit
   * that keeps the id sends it back instead of computing the same HMAC again. */
  readonly currentValue: string | undefined;
}

/** How many more values of the session's cookie name are tried after the first (a bound on the work a request can ask for). */
const MAX_SAME_NAME_COOKIES = 4;

/** What this request's cookie leads to; a Promise only when a server-side store must be asked. */
export function load(setup: SessionSetup, ctx: Context, now: number): Opened | Promise<Opened> {
  const header = ctx.headers.cookie;
  const raw = readCookie(header, setup.options.cookie.name);
  if (raw === undefined) return fresh(setup, now, false);
  const found = loadValue(setup, ctx, raw, now);
  if (found instanceof Promise) return found.then((opened) => opened ?? loadOthers(setup, ctx, header as string, now));
  return found ?? loadOthers(setup, ctx, header as string, now);
}

/**
 * Cookie tossing: a sibling subdomain or a more specific path can plant a cookie of the same
 * name, which browsers send first. When the first value leads nowhere, each later one is tried
 * in order, so planted garbage cannot reset the victim's session.
 */
function loadOthers(setup: SessionSetup, ctx: Context, header: string, now: number): Opened | Promise<Opened> {
  const values = readCookies(header, setup.options.cookie.name).slice(1, 1 + MAX_SAME_NAME_COOKIES);
  const next = (index: number): Opened | Promise<Opened> => {
    for (let i = index; i < values.length; i++) {
      const found = loadValue(setup, ctx, values[i] as string, now);
      if (found instanceof Promise) return found.then((opened) => opened ?? next(i + 1));
      if (found !== undefined) return found;
    }
    return fresh(setup, now, true);
  };
  return next(0);
}

/** The session one cookie value leads to, or undefined (one debug line) when it leads nowhere. */
function loadValue(setup: SessionSetup, ctx: Context, raw: string, now: number): Opened | Promise<Opened | undefined> | undefined {
  if (raw.length + setup.options.cookie.name.length + 1 > MAX_COOKIE_BYTES) return setup.reject('cookie-oversized');
  const store = setup.store;
  if (isSealedCookieStore(store)) {
    const opened = store.open(raw, now, setup.options.cookie.name);
    // The store has logged why (one line per rejection); a second line here would only repeat it.
    if (opened === undefined) {
      if (setup.onEvent !== undefined) emit(setup, { type: 'rejected', name: setup.name, reason: 'seal-rejected' });
      return undefined;
    }
    return adopt(setup, undefined, undefined, opened.stale === true, { ...opened, version: 0 }, now);
  }
  const found = setup.idsFor(ctx).read(raw);
  if (typeof found === 'string') return setup.reject(found);
  return fetch(setup, store, found, raw, now);
}

/**
 * The stored session `cookie` names; `raw` is the value it came in. A store that holds its
 * records in this process answers in this tick; any other is awaited.
 */
function fetch(
  setup: SessionSetup,
  store: Store,
  cookie: CookieId,
  raw: string,
  now: number,
): Opened | Promise<Opened | undefined> | undefined {
  const readNow = setup.readNow;
  if (readNow === undefined) return fetchLater(setup, store, cookie, raw, now);
  let record: StoredRecord | undefined;
  try {
    record = readNow(cookie.digest);
  } catch (error) {
    throw getFailed(setup, cookie.digest, error);
  }
  return found(setup, cookie, raw, record, now);
}

async function fetchLater(setup: SessionSetup, store: Store, cookie: CookieId, raw: string, now: number): Promise<Opened | undefined> {
  let record: StoredRecord | null | undefined;
  try {
    record = await store.get(cookie.digest);
  } catch (error) {
    throw getFailed(setup, cookie.digest, error);
  }
  return found(setup, cookie, raw, record, now);
}

/** A failed read as the SessionStoreError the request sees, after a `store-error` event. */
function getFailed(setup: SessionSetup, digest: string, error: unknown): Error {
  const failure = storeFailure('get', digest, error);
  if (setup.onEvent !== undefined) {
    emit(setup, { type: 'store-error', name: setup.name, operation: 'get', error: failure, record: recordOf(digest) });
  }
  return failure;
}

/** What the store gave for `cookie`: the session, or undefined when it had none or it expired. */
function found(
  setup: SessionSetup,
  cookie: CookieId,
  raw: string,
  record: StoredRecord | null | undefined,
  now: number,
): Opened | undefined {
  const digest = cookie.digest;
  // `null` too: a hand-written store may say "not found" that way.
  if (record === undefined || record === null) return setup.reject('unknown-id', undefined, digest);
  if (record.expires <= now) return setup.expired('idle', digest);
  return adopt(setup, cookie, raw, cookie.stale, record, now);
}

/**
 * The loaded session, or undefined (one debug line) when its record does not decode or is past
 * its absolute timeout. `cookie` and `raw` (the value it came in) are undefined for a sealed cookie.
 */
function adopt(
  setup: SessionSetup,
  cookie: CookieId | undefined,
  raw: string | undefined,
  stale: boolean,
  record: StoredRecord,
  now: number,
): Opened | undefined {
  const digest = cookie?.digest;
  const decoded = setup.decode(record.data);
  if (typeof decoded === 'string') return setup.reject('record-undecodable', decoded, digest);
  const { absoluteTimeout, maxAge } = setup.options;
  if (absoluteTimeout !== undefined && decoded.created + absoluteTimeout <= now) return setup.expired('absolute-timeout', digest);
  const loaded: Loaded = { digest, version: record.version, expires: record.expires, record: record.data, payload: decoded.payload };
  if (setup.onEvent !== undefined) {
    emit(
      setup,
      digest === undefined ? { type: 'loaded', name: setup.name } : { type: 'loaded', name: setup.name, record: recordOf(digest) },
    );
  }
  return {
    state: storedState(maxAge, cookie?.id, digest, decoded, record.owner ?? undefined),
    loaded,
    hadCookie: true,
    stale,
    currentValue: stale ? undefined : raw,
  };
}

function fresh(setup: SessionSetup, now: number, hadCookie: boolean): Opened {
  return { state: emptyState(setup.options.maxAge, now), loaded: undefined, hadCookie, stale: false, currentValue: undefined };
}
