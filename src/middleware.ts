/** `session()`, the middleware, and `getSession()` / `newSession()`, the way handlers reach it. */

import type { Context, Middleware, Next } from 'koa';
import { jsonSerializer } from '../serializers/json.js';
import { MemoryStore } from '../stores/memory.js';
import { SessionNotInstalledError } from './errors.js';
import type { CommitResult } from './commit.js';
import { RequestSlot, SessionManager } from './manager.js';
import { resolveOptions, type SessionOptions } from './options.js';
import type { Session, SessionData } from './session.js';

/**
 * Where a request keeps each session's slot: one Symbol per session name, so nothing collides
 * with user properties and a request that never opens its session allocates no lookup table.
 */
const SLOT_KEYS = new Map<string, symbol>();

function slotKey(name: string): symbol {
  let key = SLOT_KEYS.get(name);
  if (key === undefined) {
    key = Symbol(`koa-session-kit:${name}`);
    SLOT_KEYS.set(name, key);
  }
  return key;
}

type SlotHolder = Record<symbol, RequestSlot | undefined>;

/** An error's HTTP status, or 500 when it has none (a plain exception). */
function statusOf(error: unknown): number {
  const status =
    (error as { status?: unknown; statusCode?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 100 && status < 600 ? status : 500;
}

/**
 * Installs sessions: `app.use(session())`. Option work happens here, once; a request pays only
 * when its handler calls {@link getSession}. Commits run after the downstream middleware
 * resolves and before Koa writes the response, so the store write has finished when the client
 * sees the cookie.
 */
export function session(options: SessionOptions = {}): Middleware {
  const resolved = resolveOptions(options);
  const manager = new SessionManager(resolved, resolved.store ?? new MemoryStore(), resolved.serializer ?? jsonSerializer());
  const { name } = resolved;
  const key = slotKey(name);

  return async function session(ctx: Context, next: Next): Promise<void> {
    const holder = ctx as Context & SlotHolder;
    if (holder[key] !== undefined) {
      throw new Error(`koa-session-kit: two session() middlewares named \`${name}\` ran on one request; give each its own \`name\``);
    }
    const slot = new RequestSlot(manager, ctx);
    holder[key] = slot;
    try {
      await next();
    } catch (error) {
      // An HTTP error below 500 is an answer, not a failure: its session changes stand (a 401
      // after logout still logs out). Anything else discards them.
      if (statusOf(error) >= 500 || slot.session === undefined) throw error;
      const line = await commitSlot(slot);
      if (line !== undefined) attachCookie(error, line);
      throw error;
    }
    if (slot.session === undefined) return;
    const pending = commitSlot(slot);
    // Most read-only requests settle without the store: no await, no extra tick.
    const line = typeof pending === 'object' ? await pending : pending;
    if (line !== undefined) appendSetCookie(ctx, line);
  } as Middleware;
}

function commitSlot(slot: RequestSlot): CommitResult {
  // A handler may have called getSession without awaiting it; its load must settle first (and a
  // failed load rejects here).
  if (slot.state === undefined) return (slot.session as Promise<unknown>).then(() => slot.manager.commit(slot));
  return slot.manager.commit(slot);
}

/**
 * `ctx.append('Set-Cookie', line)` without Koa's delegate and getter layers, which cost half a
 * microsecond a request (measured). Like Koa, it keeps lines other middleware set and does
 * nothing once the headers are out (a handler that wrote the response itself).
 */
function appendSetCookie(ctx: Context, line: string): void {
  const res = ctx.res;
  if (res.headersSent) return;
  const previous = res.getHeader('set-cookie');
  res.setHeader('Set-Cookie', previous === undefined ? line : Array.isArray(previous) ? [...previous, line] : [String(previous), line]);
}

/** Koa's default error handler drops every header but `err.headers`; the cookie rides there. */
function attachCookie(error: unknown, line: string): void {
  if (typeof error !== 'object' || error === null) return;
  const carrier = error as { headers?: Record<string, string | string[]> };
  const headers = { ...carrier.headers };
  const existing = headers['Set-Cookie'] ?? headers['set-cookie'];
  delete headers['set-cookie'];
  headers['Set-Cookie'] = existing === undefined ? [line] : [...(Array.isArray(existing) ? existing : [existing]), line];
  carrier.headers = headers;
}

/** Any Koa context (plain, router, or custom): only its identity and `state` are used. */
export interface SessionContext {
  readonly state: object;
}

function slotOf(ctx: SessionContext, name: string): RequestSlot | undefined {
  return (ctx as (SessionContext & SlotHolder) | undefined)?.[slotKey(name)];
}

/**
 * The request's session, loaded on first call and the same object on every later call; also
 * set as `ctx.state.session` (or `ctx.state[name]`). Rejects with a SessionNotInstalledError
 * when no `session()` middleware ran for this request, and with a SessionStoreError when the
 * store fails.
 * @param name which session, when the app installed several (`session({ name })`)
 */
export function getSession<T extends object = SessionData>(ctx: SessionContext, name = 'session'): Promise<Session<T>> {
  // Not an async function: every call after the first hands back the same promise, with no extra tick.
  const slot = slotOf(ctx, name);
  if (slot === undefined) return Promise.reject(new SessionNotInstalledError(name));
  slot.session ??= slot.manager.load(slot);
  // The slot holds the untyped session; T is the caller's statement about its data.
  return slot.session as unknown as Promise<Session<T>>;
}

/**
 * Replaces the request's session with a fresh, empty one under a new id (call it at login); the
 * previous record is destroyed at commit, so an id planted before login is worthless after it.
 */
export async function newSession<T extends object = SessionData>(ctx: SessionContext, name = 'session'): Promise<Session<T>> {
  const slot = slotOf(ctx, name);
  if (slot === undefined) throw new SessionNotInstalledError(name);
  slot.session ??= slot.manager.load(slot);
  await slot.session;
  return slot.manager.replace(slot) as unknown as Session<T>;
}
