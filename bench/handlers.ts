/** The one request handler every scenario runs, written once per session API so the work is the same. */

import type { Context, Middleware } from 'koa';

/** What the benchmark keeps in a session: a counter and a small user record. */
export interface BenchData {
  views: number;
  user: { id: string; name: string; roles: string[]; cart?: CartItem[] };
}

/** A line of the cart that makes a session of a chosen size (see {@link sizedUser}). */
export interface CartItem {
  sku: string;
  qty: number;
  price: number;
  title: string;
}

/** The user every session carries; a fresh object per session, as a login would make. */
export function benchUser(): BenchData['user'] {
  return { id: 'u-1042', name: 'Ada Lovelace', roles: ['reader', 'writer'] };
}

/**
 * Makes user records with a cart long enough that the session (counter and user) takes about
 * `bytes` bytes as JSON: the size-scaling scenarios. Plain JSON values, so every serializer takes
 * them. The cart's length is found once; each call builds fresh objects, as a login would.
 */
export function sizedUser(bytes: number): () => BenchData['user'] {
  const item = (i: number): CartItem => ({
    sku: `sku-${String(i).padStart(5, '0')}`,
    qty: 1 + (i % 3),
    price: 499 + i * 10,
    title: `Item number ${i}`,
  });
  const withCart = (length: number): BenchData['user'] => ({ ...benchUser(), cart: Array.from({ length }, (_, i) => item(i + 1)) });
  let length = 0;
  while (JSON.stringify({ views: 1, user: withCart(length) }).length < bytes) length++;
  return () => withCart(length);
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
 * `/untouched` never asks for the session. Anything else is a 404. `newUser` makes the user record
 * (a bigger one for the size-scaling scenarios).
 */
export function routes(open: (ctx: Context) => Promise<SessionView>, newUser: () => BenchData['user'] = benchUser): Middleware {
  return async function routes(ctx: Context): Promise<void> {
    switch (ctx.path) {
      case '/write': {
        const session = await open(ctx);
        const views = (session.get('views') ?? 0) + 1;
        session.set('views', views);
        if (!session.hasUser()) session.setUser(newUser());
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
 *
 * The views are classes, made once per request, never object literals of arrow functions: the
 * bench runs under tsx, whose esbuild `keepNames` names every arrow function that gets a name from
 * its property with an `Object.defineProperty` call as it is made. Built per request, that is the
 * harness's own cost charged to whichever library the request measures.
 */
export class ObjectView implements SessionView {
  readonly #data: Record<string, unknown>;
  readonly #onWrite: (() => void) | undefined;

  constructor(data: Record<string, unknown>, onWrite?: () => void) {
    this.#data = data;
    this.#onWrite = onWrite;
  }

  get(key: 'views'): number | undefined {
    const value = this.#data[key];
    return typeof value === 'number' ? value : undefined;
  }

  set(key: 'views', value: number): void {
    this.#data[key] = value;
    this.#onWrite?.();
  }

  hasUser(): boolean {
    return this.#data.user !== undefined;
  }

  setUser(user: BenchData['user']): void {
    this.#data.user = user;
    this.#onWrite?.();
  }
}
