/** `session()`, the middleware, and `getSession()` / `newSession()`, the way handlers reach it. */

import type { Context, Middleware, Next } from 'koa';
import { listSessions, revokeSession, revokeSessions, type SessionInfo } from './owners.js';
import { commit } from './commit.js';
import { defineViewProperty } from './ctx-session.js';
import { SessionNotInstalledError } from './errors.js';
import type { SessionOptions } from './options.js';
import type { Session } from './session.js';
import type { SessionDataOf, SessionTypes } from './session-types.js';
import { appendSetCookie, attachToError, varyOnCookie } from './set-cookie.js';
import { SessionSetup } from './setup.js';
import { RequestSlot } from './slot.js';

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

/** What `session()` returns: the middleware, with the calls that manage a user's sessions. */
export interface SessionMiddleware extends Middleware {
  /** The owner's live sessions (`session.owner`), oldest first. */
  listSessions<T extends object = SessionDataOf<'session'>>(owner: string): Promise<SessionInfo<T>[]>;
  /** Revokes the session with this handle; with `owner`, only if it is that owner's. Resolves to whether one was revoked. */
  revokeSession(handle: string, options?: { owner?: string }): Promise<boolean>;
  /** Revokes every session of `owner`, or all but `except` (pass the current `session.handle`); resolves to how many. */
  revokeSessions(owner: string, options?: { except?: string | undefined }): Promise<number>;
  /**
   * Graceful shutdown: stops the store's timers and closes the connections the store made itself
   * (from a `url` or `connectionString`), so the process can exit once the server is closed. A
   * client or pool the app passed to the store is left open and usable. Call it after
   * `server.close()`; requests still in flight then fail.
   */
  close(): Promise<void>;
}

/**
 * Installs sessions: `app.use(session())`. Option work happens here, once; a request pays only
 * when its handler calls {@link getSession}. Commits run after the downstream middleware
 * resolves and before Koa writes the response, so the store write has finished when the client
 * sees the cookie.
 */
export function session(options: SessionOptions = {}): SessionMiddleware {
  const setup = new SessionSetup(options);
  const { name } = setup;
  const key = slotKey(name);
  const viewProperty = setup.options.ctxSession;
  /** App contexts that carry the view's property already. */
  const viewing = new WeakSet<object>();

  const middleware = async function session(ctx: Context, next: Next): Promise<void> {
    const holder = ctx as Context & SlotHolder;
    if (holder[key] !== undefined) {
      throw new Error(`koa-session-kit: two session() middlewares named \`${name}\` ran on one request; give each its own \`name\``);
    }
    const slot = new RequestSlot(setup, ctx);
    holder[key] = slot;
    if (viewProperty !== undefined) {
      const proto = ctx.app.context;
      if (!viewing.has(proto)) {
        defineViewProperty(proto, viewProperty, (c) => (c as SlotHolder)[key]);
        viewing.add(proto);
      }
      // Middleware reads ctx.session synchronously: load it now (a cookie-less request makes no store call).
      await slot.open();
    }
    try {
      await next();
    } catch (error) {
      // An HTTP error below 500 is an answer, not a failure: its session changes stand (a 401
      // after logout still logs out). Anything else discards them.
      if (statusOf(error) >= 500 || slot.session === undefined) throw error;
      const line = await commit(slot);
      attachToError(error, line);
      if (line !== undefined) appendSetCookie(ctx, line);
      varyOnCookie(ctx);
      throw error;
    }
    if (slot.session === undefined) return;
    const pending = commit(slot);
    // Most read-only requests settle without the store: no await, no extra tick.
    const line = typeof pending === 'object' ? await pending : pending;
    if (line !== undefined) appendSetCookie(ctx, line);
    varyOnCookie(ctx);
  } as Middleware;
  return Object.assign(middleware, {
    listSessions: (owner: string) => listSessions(setup, owner),
    revokeSession: (handle: string, options?: { owner?: string }) => revokeSession(setup, handle, options),
    revokeSessions: (owner: string, options?: { except?: string | undefined }) => revokeSessions(setup, owner, options),
    close: (): Promise<void> => setup.close(),
  }) as SessionMiddleware;
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
 * store fails. Its data type is the one declared in {@link SessionTypes}, unless given here.
 * @param name which session, when the app installed several (`session({ name })`)
 */
// Two type parameters, the second left to its constraint, so `getSession<MyData>(…)` (one) only ever means the overload below.
export function getSession<N extends keyof SessionTypes & string, D extends SessionDataOf<N>>(
  ctx: SessionContext,
  name: N,
): Promise<Session<D>>;
export function getSession<T extends object = SessionDataOf<'session'>>(ctx: SessionContext, name?: string): Promise<Session<T>>;
export function getSession(ctx: SessionContext, name = 'session'): Promise<unknown> {
  // Not an async function: every call after the first hands back the same promise, with no extra tick.
  const slot = slotOf(ctx, name);
  if (slot === undefined) return Promise.reject(new SessionNotInstalledError(name));
  // The slot holds the untyped session; the type is the caller's (or the app's) statement about its data.
  return slot.open();
}

/**
 * Replaces the request's session with a fresh, empty one under a new id (call it at login); the
 * previous record is destroyed at commit, so an id planted before login is worthless after it.
 */
export function newSession<N extends keyof SessionTypes & string, D extends SessionDataOf<N>>(
  ctx: SessionContext,
  name: N,
): Promise<Session<D>>;
export function newSession<T extends object = SessionDataOf<'session'>>(ctx: SessionContext, name?: string): Promise<Session<T>>;
export async function newSession(ctx: SessionContext, name = 'session'): Promise<unknown> {
  const slot = slotOf(ctx, name);
  if (slot === undefined) throw new SessionNotInstalledError(name);
  return slot.replace();
}
