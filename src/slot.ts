/** One session's bookkeeping for one request: made by the middleware, opened by `getSession`. */

import type { Context } from 'koa';
import { load, type Opened } from './load.js';
import { emptyState, Session, type SessionState } from './session.js';
import type { SessionSetup } from './setup.js';

/** The per-request slot. Its fields are written here only; the Session writes its own state. */
export class RequestSlot {
  readonly setup: SessionSetup;
  readonly ctx: Context;
  /** `getSession`'s promise: every call in one request gets the same one. */
  session: Promise<Session> | undefined;
  /** Set once loading settles. */
  opened: Opened | undefined;
  /** `newSession()` replaced a loaded session: its record is destroyed at commit. */
  replaced = false;

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
    const session = new Session(state);
    this.ctx.state[this.setup.name] = session;
    return session;
  }
}
