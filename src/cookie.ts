/** The session cookie: its options, reading it from the request, writing it to the response. */

import { checkBoolean, checkOneOf, checkOptions, wrongType, type ForeignOptions, type OptionRegistry } from './option-checks.js';

/** Attributes of the session cookie. Every field is optional; defaults are listed on each. */
export interface CookieOptions {
  /**
   * The cookie name. A `__Host-` name forces Path `/`, no Domain and Secure; a `__Secure-` name
   * forces Secure. Prefixes are matched in any case (`__host-` too), as browsers do.
   * @default 'koa.sid'
   */
  name?: string | undefined;
  /** @default '/' */
  path?: string | undefined;
  /** Domain attribute; leave unset to keep the cookie on the exact host (the safer default). */
  domain?: string | undefined;
  /**
   * Hide the cookie from `document.cookie`. Turning it off exposes the session id to any script.
   * @default true
   */
  httpOnly?: boolean | undefined;
  /**
   * `true` always sends Secure; `'auto'` sends it when `ctx.secure` (HTTPS, or a trusted
   * `X-Forwarded-Proto: https` when `app.proxy` is on); `false` never. With a `__Host-` or
   * `__Secure-` name, `sameSite: 'none'` or `partitioned`, `'auto'` always sends Secure: browsers
   * drop those cookies without it, and accept Secure cookies from `http://localhost`.
   * @default 'auto'
   */
  secure?: boolean | 'auto' | undefined;
  /** @default 'lax' */
  sameSite?: 'lax' | 'strict' | 'none' | false | undefined;
  /**
   * `false` sends no Max-Age/Expires, so the browser drops the cookie when it closes (the store
   * record still expires after `maxAge`).
   * @default true
   */
  persistent?: boolean | undefined;
  /** Adds the `Partitioned` attribute (CHIPS); requires Secure. */
  partitioned?: boolean | undefined;
  /** Adds `Priority=Low|Medium|High` (Chromium). */
  priority?: 'low' | 'medium' | 'high' | undefined;
}

/** RFC 6265 §6.1: user agents keep at least 4096 bytes per cookie; we count the whole Set-Cookie line. */
export const MAX_COOKIE_BYTES = 4096;

/** RFC 7230 token characters, the only ones allowed in a cookie name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A host name, optionally with RFC 6265's ignored leading dot. */
const DOMAIN = /^\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
/** RFC 6265 path-value: any CHAR except CTLs and `;`; we also refuse spaces and commas. */
const PATH = /^\/[\x21-\x2b\x2d-\x3a\x3c-\x7e]*$/;
const EXPIRED = 'Thu, 01 Jan 1970 00:00:00 GMT';

/** One entry per cookie option, so the compiler fails when an option is added to the type but not here. */
const COOKIE_KEYS: OptionRegistry<CookieOptions> = {
  name: true,
  path: true,
  domain: true,
  httpOnly: true,
  secure: true,
  sameSite: true,
  persistent: true,
  partitioned: true,
  priority: true,
};

/** Cookie settings of express-session, koa-session and the `cookies` module, and where they live here. */
const FOREIGN_COOKIE_OPTIONS: ForeignOptions = {
  maxAge: '`maxAge` on session() (ms)',
  expires: '`maxAge` on session() (ms)',
  signed: '`keys` on session() (signing is on whenever keys exist)',
  overwrite: 'nothing: the session cookie is always set once per response',
  key: '`cookie.name`',
};

/** RFC 6265bis §4.1.3: the prefixes are matched case-insensitively, as Chromium and Firefox do. */
const HOST_PREFIX = /^__host-/i;
const SECURE_PREFIX = /^__secure-/i;

/** Cookie options with every default filled in and the attribute text precomputed. */
export interface ResolvedCookie {
  readonly name: string;
  readonly persistent: boolean;
  /** `'auto'` only when plain HTTP may drop Secure: a prefix, SameSite=None or Partitioned make it `true`. */
  readonly secure: boolean | 'auto';
  /** Attributes after the value for a secure and an insecure response (Secure differs). */
  readonly secureAttributes: string;
  readonly plainAttributes: string;
  /** Formats the Expires date; every cookie set within one second shares the text. */
  readonly expiresText: HttpDates;
}

/**
 * Formats cookie dates (IMF-fixdate), remembering the last second formatted: under load every
 * cookie set within one second carries the same Expires, and `toUTCString()` showed in the
 * write scenario's profile.
 */
export class HttpDates {
  #second = Number.NaN;
  #text = '';

  /** `new Date(ms).toUTCString()`, which drops the milliseconds anyway. */
  format(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.#second) {
      this.#text = new Date(second * 1000).toUTCString();
      this.#second = second;
    }
    return this.#text;
  }
}

const fail = (option: string, rule: string, value: unknown): never => {
  throw wrongType(`cookie.${option}`, rule, value);
};

/** Validates cookie options once, at `session()` time, and precomputes the attribute strings. */
export function resolveCookie(options: CookieOptions): ResolvedCookie {
  checkOptions('session()', options, COOKIE_KEYS, FOREIGN_COOKIE_OPTIONS, 'cookie.');
  const name = options.name ?? 'koa.sid';
  const path = options.path ?? '/';
  const domain = options.domain;
  const httpOnly = checkBoolean('cookie.httpOnly', options.httpOnly ?? true);
  const requested = checkOneOf('cookie.secure', options.secure ?? 'auto', [true, false, 'auto'] as const);
  const sameSite = checkOneOf('cookie.sameSite', options.sameSite ?? 'lax', ['lax', 'strict', 'none', false] as const);
  const persistent = checkBoolean('cookie.persistent', options.persistent ?? true);
  const partitioned = checkBoolean('cookie.partitioned', options.partitioned ?? false);
  const priority =
    options.priority === undefined ? undefined : checkOneOf('cookie.priority', options.priority, ['low', 'medium', 'high'] as const);

  if (typeof name !== 'string' || !TOKEN.test(name))
    fail('name', 'a cookie token (no spaces, `;`, `=`, quotes or control characters)', name);
  if (typeof path !== 'string' || !PATH.test(path))
    fail('path', 'a path starting with `/` without `;`, spaces, commas or control characters', path);
  if (domain !== undefined && (typeof domain !== 'string' || !DOMAIN.test(domain)))
    fail('domain', 'a host name such as `example.com`', domain);

  // Browsers drop these combinations silently; refusing them at startup saves a day of debugging.
  const host = HOST_PREFIX.test(name);
  const needsSecure = host || SECURE_PREFIX.test(name) || sameSite === 'none' || partitioned;
  if (requested === false && needsSecure) {
    const why = host
      ? 'a `__Host-` cookie'
      : SECURE_PREFIX.test(name)
        ? 'a `__Secure-` cookie'
        : sameSite === 'none'
          ? "`sameSite: 'none'` (browsers reject SameSite=None without Secure)"
          : '`partitioned` (Partitioned requires Secure)';
    fail('secure', `true or 'auto' for ${why}`, requested);
  }
  if (host && domain !== undefined) fail('domain', 'unset for a `__Host-` cookie', domain);
  if (host && path !== '/') fail('path', "'/' for a `__Host-` cookie", path);
  // Without Secure the browser drops the cookie whatever the scheme, so 'auto' sends it always.
  const secure = requested === 'auto' && needsSecure ? true : requested;

  let tail = '';
  if (domain !== undefined) tail += `; Domain=${domain}`;
  if (httpOnly) tail += '; HttpOnly';
  const sameSiteText = sameSite === false ? '' : `; SameSite=${sameSite[0]!.toUpperCase()}${sameSite.slice(1)}`;
  const after = `${sameSiteText}${partitioned ? '; Partitioned' : ''}${priority ? `; Priority=${priority[0]!.toUpperCase()}${priority.slice(1)}` : ''}`;
  return {
    name,
    persistent,
    secure,
    secureAttributes: `; Path=${path}${tail}; Secure${after}`,
    plainAttributes: `; Path=${path}${tail}${after}`,
    expiresText: new HttpDates(),
  };
}

/**
 * The first value of cookie `name` in a Cookie header, or undefined: browsers send the most
 * specific one first.
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length === 0) return undefined;
  const at = findValue(header, name, 0);
  return at === -1 ? undefined : valueAt(header, at);
}

/** Every value of cookie `name` in a Cookie header, in the order sent (a name can repeat: sibling domains, paths). */
export function readCookies(header: string, name: string): string[] {
  const values: string[] = [];
  for (let at = findValue(header, name, 0); at !== -1; at = findValue(header, name, header.indexOf(';', at) + 1 || header.length)) {
    values.push(valueAt(header, at));
  }
  return values;
}

/** Where the value of the next `name=` pair at or after `from` starts, or -1. */
function findValue(header: string, name: string, from: number): number {
  let start = from;
  const length = header.length;
  while (start < length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = length;
    let i = start;
    while (i < end && header.charCodeAt(i) === 0x20) i++;
    if (header.startsWith(name, i) && header.charCodeAt(i + name.length) === 0x3d /* = */) return i + name.length + 1;
    start = end + 1;
  }
  return -1;
}

/** The value starting at `at`, up to the next `;`, trailing spaces and surrounding quotes removed. */
function valueAt(header: string, at: number): string {
  const end = header.indexOf(';', at);
  const value = header.slice(at, end === -1 ? header.length : end).trimEnd();
  return value.length >= 2 && value.charCodeAt(0) === 0x22 && value.charCodeAt(value.length - 1) === 0x22 ? value.slice(1, -1) : value;
}

/** A Set-Cookie line carrying `value`; `expires` (ms since epoch) sets Max-Age/Expires when persistent. */
export function formatCookie(cookie: ResolvedCookie, value: string, secure: boolean, expires: number, now: number): string {
  const attributes = secure ? cookie.secureAttributes : cookie.plainAttributes;
  if (!cookie.persistent) return `${cookie.name}=${value}${attributes}`;
  // Same number as the store's expiry. Rounding up keeps a sub-second remainder from becoming
  // Max-Age=0 (an instant deletion); a browser outliving the record by under a second only
  // costs a fresh session.
  const maxAgeSeconds = Math.max(0, Math.ceil((expires - now) / 1000));
  return `${cookie.name}=${value}; Max-Age=${maxAgeSeconds}; Expires=${cookie.expiresText.format(expires)}${attributes}`;
}

/** A Set-Cookie line that deletes the cookie, with the same Path, Domain, SameSite, Secure and HttpOnly. */
export function formatClearingCookie(cookie: ResolvedCookie, secure: boolean): string {
  const attributes = secure ? cookie.secureAttributes : cookie.plainAttributes;
  return `${cookie.name}=; Max-Age=0; Expires=${EXPIRED}${attributes}`;
}
