/** `session()` options: their documentation, defaults, validation and resolution, all done once. */

import { resolveCookie, type CookieOptions, type ResolvedCookie } from './cookie.js';
import type { Serializer } from './serializer.js';
import type { SessionStore } from './store.js';

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
   * by an older key is re-signed with the first. Use long random strings (32+ characters).
   * @default app.keys; with neither, the cookie carries the bare 256-bit id, unsigned
   * @example ['2026-11-key', '2026-05-key']
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
}

/** One entry per option, so the compiler fails when an option is added here but not there. */
const OPTION_KEYS: { readonly [K in keyof Required<SessionOptions>]: true } = {
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
};

/** Spellings from express-session, koa-session and others, and what we call them. */
const FOREIGN_OPTIONS: Readonly<Record<string, string>> = {
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
/** RFC 6265bis §5.5: user agents cap cookie lifetime at 400 days. */
const MAX_COOKIE_LIFETIME_MS = 400 * 86_400_000;

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
}

const describe = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value) : typeof value === 'function' ? 'a function' : String(value);

function checkDuration(option: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`koa-session-kit: \`${option}\` must be a number of milliseconds (received ${describe(value)})`);
  }
  if (value <= 0 || value > max) {
    throw new RangeError(`koa-session-kit: \`${option}\` must be more than 0 and at most ${max} ms (received ${value})`);
  }
  return value;
}

/** Validates and fills in options; never mutates the caller's object. Throws on the first problem. */
export function resolveOptions(options: SessionOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`koa-session-kit: \`options\` must be an object (received ${describe(options)})`);
  }
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(OPTION_KEYS, key)) continue;
    const hint = FOREIGN_OPTIONS[key];
    throw new TypeError(`koa-session-kit: unknown option \`${key}\`${hint ? `; did you mean ${hint}?` : ''}`);
  }

  const name = options.name ?? 'session';
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`koa-session-kit: \`name\` must be a non-empty string (received ${describe(name)})`);
  }
  const maxAge = checkDuration('maxAge', options.maxAge ?? DEFAULT_MAX_AGE_MS, MAX_COOKIE_LIFETIME_MS);
  const absoluteTimeout =
    options.absoluteTimeout === undefined ? undefined : checkDuration('absoluteTimeout', options.absoluteTimeout, Number.MAX_SAFE_INTEGER);
  const rolling = options.rolling ?? false;
  if (typeof rolling !== 'boolean') throw new TypeError(`koa-session-kit: \`rolling\` must be a boolean (received ${describe(rolling)})`);
  const touchAfter = options.touchAfter ?? maxAge / 10;
  if (typeof touchAfter !== 'number' || !(touchAfter >= 0) || touchAfter >= maxAge) {
    throw new RangeError(`koa-session-kit: \`touchAfter\` must be at least 0 and less than \`maxAge\` (received ${describe(touchAfter)})`);
  }

  const keys = options.keys;
  if (keys !== undefined) checkKeys('keys', keys);

  const store = options.store;
  if (store !== undefined && (typeof store !== 'object' || store === null)) {
    throw new TypeError(`koa-session-kit: \`store\` must be a store instance such as new MemoryStore() (received ${describe(store)})`);
  }
  const serializer = options.serializer;
  if (
    serializer !== undefined &&
    (typeof serializer !== 'object' ||
      serializer === null ||
      typeof serializer.serialize !== 'function' ||
      typeof serializer.deserialize !== 'function')
  ) {
    throw new TypeError(`koa-session-kit: \`serializer\` must be a serializer such as jsonSerializer() (received ${describe(serializer)})`);
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
  };
}

/** Keys must be a non-empty array of non-empty strings or byte arrays. */
export function checkKeys(option: string, keys: unknown): asserts keys is readonly (string | Uint8Array)[] {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new TypeError(`koa-session-kit: \`${option}\` must be a non-empty array of strings, newest first (received ${describe(keys)})`);
  }
  for (const key of keys) {
    if (!((typeof key === 'string' || key instanceof Uint8Array) && key.length > 0)) {
      throw new TypeError(`koa-session-kit: \`${option}\` must hold only non-empty strings or byte arrays (received ${describe(key)})`);
    }
  }
}

/** The view's property: `true` names it after the session, a string names it. */
function resolveCtxSession(value: unknown, name: string): string | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return name;
  if (typeof value !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(value) || value in Object.prototype) {
    throw new TypeError(
      `koa-session-kit: \`ctxSession\` must be a boolean or a property name such as 'session' (received ${describe(value)})`,
    );
  }
  return value;
}
