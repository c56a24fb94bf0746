/** One session's bookkeeping for one request: made by the middleware, opened by `getSession`. */

import type { Context } from 'koa';
import { createView, RESERVED_VIEW_KEYS, type SessionView, type ViewHost } from './ctx-session.js';
import { load, type Opened } from './load.js';
import { emptyState, Session, type SessionState } from './session.js';
import type { SessionSetup } from './setup.js';

/** The per-request slot. Its fields are written here only; the Session writes its own state. */
export class RequestSlot implements ViewHost {
  readonly setup: SessionSetup;
  readonly ctx: Context;
  /** `getSession`'s promise: every call in one request gets the same one. */
  session: Promise<Session> | undefined;
  /** Set once loading settles. */
  opened: Opened | undefined;
  /** `newSession()` replaced a loaded session: its record is destroyed at commit. */
  replaced = false;
  #current: Session | undefined;
  #view: SessionView | undefined;

  constructor(setup: SessionSetup, ctx: Context) {
    this.setup = setup;
    this.ctx = ctx;
  }

  /** The request's Session, loading it on the first call. */
  open(): Promise<Session> {
    return (this.session ??= this.#load());
  }

  /** A fresh empty session in place of the loaded one, whose record goes at commit. */
  async replace(): Promise<Session> {
    await this.open();
    return this.#replaceOpened();
  }

  /** The loaded Session, for the `ctx.session` view (the middleware loads it before `next()`). */
  current(): Session {
    if (this.#current === undefined) throw new Error('koa-session-kit: the session is not loaded yet; await getSession(ctx) first');
    return this.#current;
  }

  /** The view's `regenerate()`: as `newSession()`, on a session already loaded. */
  regenerate(): void {
    this.current();
    this.#replaceOpened();
  }

  /** The view's `reload()`: this request's changes dropped, the session read again from its cookie. */
  reload(): Promise<Session> {
    this.replaced = false;
    this.session = this.#load();
    return this.session;
  }

  /** This request's `ctx.session` view, made on first use. */
  get view(): SessionView {
    return (this.#view ??= createView(this, this.current()));
  }

  #replaceOpened(): Session {
    const opened = this.opened as Opened; // set once open() has settled
    const state = emptyState(this.setup.options.maxAge, Date.now());
    this.opened = { ...opened, state };
    this.replaced = opened.loaded !== undefined;
    const session = this.#expose(state);
    this.session = Promise.resolve(session);
    return session;
  }

  async #load(): Promise<Session> {
    const found = load(this.setup, this.ctx, Date.now());
    // Only a server-side store makes loading asynchronous; everything else settles in this tick.
    const opened = found instanceof Promise ? await found : found;
    this.opened = opened;
    return this.#expose(opened.state);
  }

  #expose(state: SessionState): Session {
    const viewing = this.setup.options.ctxSession !== undefined;
    const session = new Session(state, viewing ? RESERVED_VIEW_KEYS : undefined);
    this.#current = session;
    // A regenerated or reloaded session gets a view of its own; the earlier view keeps its session.
    this.#view = undefined;
    // With the view on, middleware that looks in ctx.state first (koa-passport) finds the view too.
    this.ctx.state[this.setup.name] = viewing ? this.view : session;
    return session;
  }
}
