/** `session()` options: their documentation, defaults, validation and resolution, all done once. */

import { resolveCookie, type CookieOptions, type ResolvedCookie } from './cookie.js';
import {
  checkBoolean,
  checkDuration,
  checkFunction,
  checkInteger,
  checkKeyLength,
  checkMaxAge,
  checkOptions,
  describeSecret,
  describeValue,
  optionError,
  outOfRange,
  wrongType,
  type ForeignOptions,
  type OptionRegistry,
} from './option-checks.js';
import type { SessionEventListener } from './events.js';
import type { Serializer } from './serializer.js';
import { isSealedCookieStore, type SessionStore } from './store.js';

/** Options of {@link session}. All are optional; `session()` alone gives a MemoryStore and JSON. */
export interface SessionOptions {
  /**
   * Where sessions live. A server-side {@link Store} keeps the data and puts only a signed id in
   * the cookie; a `CookieStore` seals the data into the cookie itself.
   * @default new MemoryStore()
   */
  store?: SessionStore | undefined;
  /**
   * Turns session values into bytes and back, refusing what it cannot bring back equal.
   * @default jsonSerializer()
   */
  serializer?: Serializer | undefined;
  /**
   * HMAC keys for the id cookie, newest first: the first signs, all verify, and a cookie verified
   * by an older key is re-signed with the first. Each must be at least 32 characters (a string) or
   * 32 bytes (a byte array): long random secrets, e.g. `openssl rand -base64 32`. `app.keys` must
   * follow the same rule, and be an array (a Keygrip instance hides its keys).
   * @default app.keys; with neither, the cookie carries the bare 256-bit id, unsigned
   * @example [process.env.SESSION_KEY_NEW!, process.env.SESSION_KEY_OLD!]
   */
  keys?: readonly (string | Uint8Array)[] | undefined;
  /**
   * Idle lifetime in ms: the store record and the cookie both expire this long after the last
   * write (or touch, with `rolling`). At most 400 days, the cap browsers put on cookie lifetime.
   * @default 86400000 (one day)
   */
  maxAge?: number | undefined;
  /**
   * Hard cap in ms on a session's life since it was created, however active it is.
   * @default undefined (no cap)
   */
  absoluteTimeout?: number | undefined;
  /**
   * Extend the expiry on every request that loads the session, even when nothing changed, through
   * the store's `touch` (no data rewrite) and a fresh cookie.
   * @default false
   */
  rolling?: boolean | undefined;
  /**
   * With `rolling`, skip the touch unless it would move the expiry by at least this many ms, so
   * a busy session is not written on every request.
   * @default maxAge / 10
   */
  touchAfter?: number | undefined;
  /** Cookie attributes; each field has its own default. */
  cookie?: CookieOptions | undefined;
  /**
   * Several independent sessions in one app: each `session({ name })` has its own cookie (set
   * `cookie.name` too), is read with `getSession(ctx, name)` and appears as `ctx.state[name]`.
   * Any name but an `Object.prototype` property (`__proto__`, `constructor`, ...).
   * @default 'session'
   */
  name?: string | undefined;
  /**
   * Also expose the session as a plain object on the context, for middleware written against
   * koa-session or express-session (koa-passport, koa-csrf, grant): `true` puts it at
   * `ctx.session` (at `ctx[name]` for a session with a `name`), a string at that property. The
   * session is then loaded before the downstream middleware runs (no store call without a cookie),
   * and `ctx.state[name]` holds the same view. Off, sessions load only when `getSession` is called.
   * @default false
   */
  ctxSession?: boolean | string | undefined;
  /**
   * The most bytes a session's serialized data may take. A commit over it fails with a
   * SessionTooLargeError (a 500) and the stored session stays as it was: a runaway session
   * would otherwise be read, decoded and written again on every request.
   * @default 262144 (256 KiB)
   */
  maxBytes?: number | undefined;
  /**
   * Hears every lifecycle event: sessions created, loaded, saved, regenerated, invalidated,
   * expired, cookies rejected (with the reason), conflicts retried, store errors, scheduled prunes
   * finished or failed. Each event is an object with a `type` and the session's `name`, and never
   * carries the cookie value, the id or the data (see docs/events.md for the list). Called
   * synchronously; an error it throws is caught and reported to `NODE_DEBUG=koa-session-kit`.
   * Without it, events are not even built.
   * @default undefined (no subscriber; `NODE_DEBUG=koa-session-kit` still logs)
   * @example onEvent: (event) => logger.info(event, `session ${event.type}`)
   */
  onEvent?: SessionEventListener | undefined;
}

/** One entry per option, so the compiler fails when an option is added here but not there. */
const OPTION_KEYS: OptionRegistry<SessionOptions> = {
  store: true,
  serializer: true,
  keys: true,
  maxAge: true,
  absoluteTimeout: true,
  rolling: true,
  touchAfter: true,
  cookie: true,
  name: true,
  ctxSession: true,
  maxBytes: true,
  onEvent: true,
};

/** Spellings from express-session, koa-session and others, and what we call them. */
const FOREIGN_OPTIONS: ForeignOptions = {
  ttl: '`maxAge` (ms)',
  expires: '`maxAge` (ms)',
  expiry: '`maxAge` (ms)',
  secret: '`keys` (an array, newest first)',
  secrets: '`keys` (an array, newest first)',
  signed: '`keys` (signing is on whenever keys exist)',
  key: '`cookie.name`',
  cookieName: '`cookie.name`',
  renew: '`rolling`',
  resave: 'nothing: only changed sessions are saved',
  saveUninitialized: 'nothing: an empty new session is never saved',
  genid: 'nothing: ids always come from the CSPRNG',
};

const DEFAULT_MAX_AGE_MS = 86_400_000;
/** Far above what a session needs (ids, a user reference, a cart), far below what hurts per request. */
const DEFAULT_MAX_BYTES = 256 * 1024;
/** What a server-side store must implement; `prune` and `close` are optional. */
const STORE_METHODS = ['get', 'create', 'update', 'touch', 'destroy'] as const;
const SEALED_COOKIE_METHODS = ['seal', 'open'] as const;

/** Options after validation, every default applied. */
export interface ResolvedOptions {
  readonly name: string;
  readonly store: SessionStore | undefined;
  readonly serializer: Serializer | undefined;
  readonly keys: readonly (string | Uint8Array)[] | undefined;
  readonly maxAge: number;
  readonly absoluteTimeout: number | undefined;
  readonly rolling: boolean;
  readonly touchAfter: number;
  readonly cookie: ResolvedCookie;
  /** The context property of the `ctx.session` view, or undefined when it is off. */
  readonly ctxSession: string | undefined;
  readonly maxBytes: number;
  readonly onEvent: SessionEventListener | undefined;
}

/** Validates and fills in options; never mutates the caller's object. Throws on the first problem. */
export function resolveOptions(options: SessionOptions): ResolvedOptions {
  checkOptions('session()', options, OPTION_KEYS, FOREIGN_OPTIONS);

  const name = options.name ?? 'session';
  // The name keys `ctx.state`: `__proto__` would replace its prototype, `constructor` shadow it.
  if (typeof name !== 'string' || name.length === 0 || Object.hasOwn(Object.prototype, name)) {
    throw wrongType('name', 'a non-empty string that is not an Object.prototype property', name);
  }
  const maxAge = checkMaxAge('maxAge', options.maxAge ?? DEFAULT_MAX_AGE_MS);
  const absoluteTimeout =
    options.absoluteTimeout === undefined ? undefined : checkDuration('absoluteTimeout', options.absoluteTimeout, Number.MAX_SAFE_INTEGER);
  const rolling = checkBoolean('rolling', options.rolling ?? false);
  const touchAfter = options.touchAfter ?? maxAge / 10;
  if (typeof touchAfter !== 'number' || !(touchAfter >= 0) || touchAfter >= maxAge) {
    throw outOfRange('touchAfter', 'at least 0 and less than `maxAge`', touchAfter);
  }

  const keys = options.keys;
  if (keys !== undefined) checkKeys('keys', keys);

  const store = options.store;
  if (store !== undefined) checkStore(store);
  const serializer = options.serializer;
  if (
    serializer !== undefined &&
    (typeof serializer !== 'object' ||
      serializer === null ||
      typeof serializer.serialize !== 'function' ||
      typeof serializer.deserialize !== 'function')
  ) {
    throw wrongType('serializer', 'a serializer such as jsonSerializer()', serializer);
  }

  return {
    name,
    store,
    serializer,
    keys,
    maxAge,
    absoluteTimeout,
    rolling,
    touchAfter,
    cookie: resolveCookie(options.cookie ?? {}),
    ctxSession: resolveCtxSession(options.ctxSession, name),
    maxBytes: checkInteger('maxBytes', options.maxBytes ?? DEFAULT_MAX_BYTES, 1),
    onEvent: checkFunction('onEvent', options.onEvent, 'a function (event) => void'),
  };
}

/** A server-side store needs every method of `Store`; a sealed cookie store, `seal` and `open`. */
function checkStore(store: unknown): asserts store is SessionStore {
  const rule = 'a store instance such as new MemoryStore()';
  if (typeof store !== 'object' || store === null) throw wrongType('store', rule, store);
  const methods = isSealedCookieStore(store as SessionStore) ? SEALED_COOKIE_METHODS : STORE_METHODS;
  const has = store as Record<string, unknown>;
  const missing = methods.filter((method) => typeof has[method] !== 'function').map((m) => `\`${m}\``);
  const odd = ['prune', 'close', 'setEventSink']
    .filter((method) => has[method] !== undefined && typeof has[method] !== 'function')
    .map((m) => `\`${m}\``);
  if (missing.length + odd.length > 0) {
    const needs = `be ${rule}, with methods ${methods.join(', ')} (and, optionally, prune and close)`;
    const lacks = missing.length > 0 ? ` without ${missing.join(', ')}` : ` whose ${odd.join(', ')} is not a function`;
    throw optionError(TypeError, 'store', needs, `${describeValue(store)}${lacks}`);
  }
}

/**
 * HMAC keys: a non-empty array of strings or byte arrays, each at least 32 characters or
 * bytes (`MIN_KEY_LENGTH`). `option` is `keys` or `app.keys`, which the core checks when it signs.
 */
export function checkKeys(option: string, keys: unknown): asserts keys is readonly (string | Uint8Array)[] {
  if (!Array.isArray(keys) || keys.length === 0) {
    // Koa allows `app.keys = new Keygrip([...])`, but Keygrip keeps its keys out of reach.
    const keygrip =
      typeof (keys as { index?: unknown } | null)?.index === 'function' && typeof (keys as { sign?: unknown }).sign === 'function';
    const rule = 'a non-empty array of strings, newest first';
    throw wrongType(option, keygrip ? `${rule}; a Keygrip hides its keys, so set \`${option}\` to the array you gave it` : rule, keys);
  }
  keys.forEach((key: unknown, index) => {
    if (!((typeof key === 'string' || key instanceof Uint8Array) && key.length > 0)) {
      throw optionError(TypeError, option, 'hold only non-empty strings or byte arrays', describeSecret(key));
    }
    checkKeyLength(`${option}[${index}]`, key);
  });
}

/** The view's property: `true` names it after the session, a string names it. */
function resolveCtxSession(value: unknown, name: string): string | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return name;
  if (typeof value !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(value) || value in Object.prototype) {
    throw wrongType('ctxSession', "a boolean or a property name such as 'session'", value);
  }
  return value;
}
