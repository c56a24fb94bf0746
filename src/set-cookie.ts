/** The Set-Cookie line a commit sends (which value, which expiry, the size guard) and its delivery to the response. */

import type { Context } from 'koa';
import { formatClearingCookie, formatCookie, MAX_COOKIE_BYTES } from './cookie.js';
import { CookieTooLargeError } from './errors.js';
import type { SessionSetup } from './setup.js';
import type { RequestSlot } from './slot.js';

function secureFor(setup: SessionSetup, ctx: Context): boolean {
  const secure = setup.options.cookie.secure;
  return secure === 'auto' ? ctx.secure : secure;
}

/** A line setting `value` until `expires`; throws CookieTooLargeError, before any store write, when browsers would drop it. */
export function cookieLine(setup: SessionSetup, ctx: Context, value: string, expires: number, now: number): string {
  const line = formatCookie(setup.options.cookie, value, secureFor(setup, ctx), expires, now);
  if (line.length > MAX_COOKIE_BYTES) throw new CookieTooLargeError(setup.options.cookie.name, line.length, MAX_COOKIE_BYTES);
  return line;
}

/** A line deleting the cookie, with the attributes it was set with. */
export function clearingLine(setup: SessionSetup, ctx: Context): string {
  return formatClearingCookie(setup.options.cookie, secureFor(setup, ctx));
}

/**
 * The cookie value for an id: signed with the newest key when there are keys, the bare id
 * otherwise. With the id's digest (a new record), the value is remembered for the next request.
 */
export function signedValue(setup: SessionSetup, ctx: Context, id: string, digest?: string): string {
  return setup.idsFor(ctx).valueFor(id, digest);
}

/** The cookie value for the loaded id: the one received when it is current, else signed anew. */
export function loadedValue(slot: RequestSlot, id: string): string {
  return slot.opened?.currentValue ?? signedValue(slot.setup, slot.ctx, id);
}

/**
 * `ctx.append('Set-Cookie', line)` without Koa's delegate and getter layers, which sit on every
 * write request. Like Koa, it keeps lines other middleware set and does nothing once the headers
 * are out (a handler that wrote the response itself).
 */
export function appendSetCookie(ctx: Context, line: string): void {
  const res = ctx.res;
  if (res.headersSent) return;
  const previous = res.getHeader('set-cookie');
  res.setHeader('Set-Cookie', previous === undefined ? line : Array.isArray(previous) ? [...previous, line] : [String(previous), line]);
}

/**
 * Marks a response that depends on the session as varying by Cookie, so no shared cache serves
 * one client's page to another (as Django does).
 */
export function varyOnCookie(ctx: Context): void {
  const res = ctx.res;
  if (res.headersSent) return;
  if (res.getHeader('vary') === undefined) res.setHeader('Vary', 'Cookie');
  else ctx.vary('Cookie');
}

/**
 * Puts the session's headers on an HTTP error (4xx) thrown past the middleware. Koa's default
 * handler clears the response's headers and applies only `err.headers`; an app's own error page
 * usually keeps the response's headers and ignores `err.headers`. The caller sets both, so the
 * cookie reaches the client exactly once with either.
 */
export function attachToError(error: unknown, line: string | undefined): void {
  if (typeof error !== 'object' || error === null) return;
  const carrier = error as { headers?: Record<string, string | string[]> };
  const headers = { ...carrier.headers };
  if (line !== undefined) {
    const existing = headers['Set-Cookie'] ?? headers['set-cookie'];
    delete headers['set-cookie'];
    headers['Set-Cookie'] = existing === undefined ? [line] : [...(Array.isArray(existing) ? existing : [existing]), line];
  }
  const vary = headers['Vary'] ?? headers['vary'];
  delete headers['vary'];
  const varyText = vary === undefined ? '' : Array.isArray(vary) ? vary.join(', ') : vary;
  headers['Vary'] = /(^|,)\s*(cookie|\*)\s*(,|$)/i.test(varyText) ? varyText : varyText === '' ? 'Cookie' : `${varyText}, Cookie`;
  carrier.headers = headers;
}
