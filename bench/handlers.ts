/** The one request handler every scenario runs, written once per session API so the work is the same. */

import type { Context, Middleware } from 'koa';

/** What the benchmark keeps in a session: a counter and a small user record. */
export interface BenchData {
  views: number;
  user: { id: string; name: string; roles: string[] };
}

/** The user every session carries; a fresh object per session, as a login would make. */
export function benchUser(): BenchData['user'] {
  return { id: 'u-1042', name: 'Ada Lovelace', roles: ['reader', 'writer'] };
}

/** A session as each library exposes it: read a key, write a key. */
export interface SessionView {
  get(key: 'views'): number | undefined;
  set(key: 'views', value: number): void;
  hasUser(): boolean;
  setUser(user: BenchData['user']): void;
}

/**
 * `/write` bumps the counter (and adds the user on a first visit), `/read` only reads it,
 * `/untouched` never asks for the session. Anything else is a 404.
 */
export function routes(open: (ctx: Context) => Promise<SessionView>): Middleware {
  return async function routes(ctx: Context): Promise<void> {
    switch (ctx.path) {
      case '/write': {
        const session = await open(ctx);
        const views = (session.get('views') ?? 0) + 1;
        session.set('views', views);
        if (!session.hasUser()) session.setUser(benchUser());
        ctx.body = { views };
        return;
      }
      case '/read': {
        const session = await open(ctx);
        ctx.body = { views: session.get('views') ?? 0 };
        return;
      }
      case '/untouched':
        ctx.body = { views: 0 };
        return;
      default:
        ctx.status = 404;
    }
  };
}

/** Bare Koa: the same routes and bodies, no session at all. */
export function bareRoutes(): Middleware {
  return async function routes(ctx: Context): Promise<void> {
    if (ctx.path === '/write' || ctx.path === '/read' || ctx.path === '/untouched') ctx.body = { views: 1 };
    else ctx.status = 404;
  };
}

/**
 * A plain-object session (koa-session's `ctx.session`, the baselines' parsed JSON) as a SessionView;
 * `onWrite` runs after each write, for a baseline that saves only what changed.
 */
export function objectView(data: Record<string, unknown>, onWrite: () => void = () => {}): SessionView {
  return {
    get: (key) => {
      const value = data[key];
      return typeof value === 'number' ? value : undefined;
    },
    set: (key, value) => {
      data[key] = value;
      onWrite();
    },
    hasUser: () => data.user !== undefined,
    setUser: (user) => {
      data.user = user;
      onWrite();
    },
  };
}
