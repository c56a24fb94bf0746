/**
 * An app that declares its sessions' data once (compiled on its own by declared-once.test.ts,
 * since the augmentation would retype every other file of the main compilation).
 */

import type { Context } from 'koa';
import { getSession, newSession, type Session } from 'koa-session-kit';

declare module 'koa-session-kit' {
  interface SessionTypes {
    session: { views: number; user?: { id: string } };
    admin: { token: string };
  }
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(): T => true as T;

export async function handler(ctx: Context): Promise<void> {
  const s = await getSession(ctx);
  const views = s.get('views');
  assertType<Equal<typeof views, number | undefined>>();
  s.set('views', 1).set('user', { id: 'u1' });
  // @ts-expect-error views is declared a number
  s.set('views', 'x');
  // @ts-expect-error nope is not a declared key
  s.get('nope');

  const admin = await getSession(ctx, 'admin');
  const token = admin.get('token');
  assertType<Equal<typeof token, string | undefined>>();
  // @ts-expect-error the admin session has no views
  admin.get('views');

  const fresh = await newSession(ctx);
  assertType<Equal<typeof fresh, Session<{ views: number; user?: { id: string } }>>>();

  // An explicit type still wins at the call, as before.
  const other = await getSession<{ n: number }>(ctx, 'other');
  assertType<Equal<ReturnType<typeof other.get<'n'>>, number | undefined>>();
}

export function stateAndView(ctx: Context): void {
  const state = ctx.state.session;
  assertType<Equal<typeof state, Session<{ views: number; user?: { id: string } }> | undefined>>();
  const view = ctx.session;
  if (view === undefined) return;
  const views = view.views;
  assertType<Equal<typeof views, number | undefined>>();
  view.views = 2;
  // @ts-expect-error views is declared a number
  view.views = 'x';
  void view.regenerate();
  ctx.session = null;
  ctx.session = { views: 1 };
  // @ts-expect-error a value of the wrong type cannot replace the data
  ctx.session = { views: 'x' };
}
