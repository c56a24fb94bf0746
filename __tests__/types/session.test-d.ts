/**
 * Type tests, checked by `tsc` in `npm test` (npm run typecheck): each `@ts-expect-error` must
 * be an error, or the build fails; each assignment must compile.
 */

import type { Context } from 'koa';
import Router from '@koa/router';
import { getSession, newSession, session, type Session, type SessionOptions, type Store } from '../../src/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(): T => true as T;

export async function typedSession(ctx: Context): Promise<void> {
  const s = await getSession<{ views: number; user?: { id: string } }>(ctx);
  const views = s.get('views');
  assertType<Equal<typeof views, number | undefined>>();
  s.set('views', 1).set('user', { id: 'u1' });
  // @ts-expect-error a number key does not take a string
  s.set('views', 'x');
  // @ts-expect-error the key is not part of the session's type
  s.get('nope');
  // @ts-expect-error nor can it be set
  s.set('nope', 1);
  // @ts-expect-error identity is read-only
  s.identity = 'x';
  s.maxAge = 1000;
  const created: number = s.created;
  void created;
}

export async function untypedSession(ctx: Context): Promise<void> {
  const s = await getSession(ctx);
  const anything = s.get('whatever');
  assertType<Equal<typeof anything, unknown>>();
  const fresh: Session<{ user: string }> = await newSession<{ user: string }>(ctx);
  fresh.set('user', 'ada');
}

export function stateIsTyped(ctx: Context): void {
  const state = ctx.state.session;
  assertType<Equal<typeof state, Session | undefined>>();
}

export function worksWithRouterContext(): void {
  const router = new Router();
  router.get('/', async (ctx) => {
    const s = await getSession<{ n: number }>(ctx);
    ctx.body = { n: s.get('n') ?? 0 };
  });
}

export function storeNeedsTouch(): void {
  class NoTouch {
    async get() {
      return undefined;
    }
    async create() {
      return true;
    }
    async update() {
      return 1;
    }
    async destroy() {}
  }
  // @ts-expect-error a store without touch() does not satisfy Store
  const store: Store = new NoTouch();
  void store;
}

export function optionsAreChecked(): void {
  session({ maxAge: 1000, cookie: { sameSite: 'strict' } });
  // @ts-expect-error sameSite takes only the three keywords or false
  session({ cookie: { sameSite: 'loose' } });
  // @ts-expect-error ttl is not an option (maxAge is)
  const options: SessionOptions = { ttl: 1000 };
  void options;
}
