/** A request that loaded the pre-login session and commits after the login: it must not log the user out. */

import { afterAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { digestId, getSession, newSession, type SessionOptions } from '../../src/index.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, setCookies, track } from '../helpers/app.js';
import { gate as gated, lateBehind } from '../helpers/gate.js';

afterAll(closeStores);

/** An app whose `/slow-*` routes load the session, wait for the gate, then change it. */
function gatedApp(options: Omit<SessionOptions, 'store'> = {}) {
  const store = track(new CountingStore());
  const { gate, release } = gated();
  const routes = {
    '/seed': async (ctx: Context) => void ((await getSession(ctx)).set('cart', 1), (ctx.body = 'ok')),
    '/slow-set': async (ctx: Context) => {
      const s = await getSession(ctx);
      await gate;
      s.set('late', true);
      ctx.body = 'ok';
    },
    '/slow-read': async (ctx: Context) => {
      await getSession(ctx);
      await gate;
      ctx.body = 'ok';
    },
    '/login': async (ctx: Context) => void ((await newSession(ctx)).set('user', 'ada'), (ctx.body = 'ok')),
    '/regenerate': async (ctx: Context) => {
      const s = await getSession(ctx);
      s.set('user', 'ada');
      s.regenerate();
      ctx.body = 'ok';
    },
    '/logout': async (ctx: Context) => void ((await getSession(ctx)).invalidate(), (ctx.body = 'ok')),
    '/all': async (ctx: Context) => void (ctx.body = (await getSession(ctx)).toJSON()),
  };
  return { store, release, app: client(makeApp({ store, ...options }, routes)) };
}

describe('a late write to a session that another request moved to a new id', () => {
  it.each(['/login', '/regenerate'])('sends no clearing cookie after %s, and the new login stays', async (login) => {
    const { app, release, store } = gatedApp();
    const old = cookiePair(await app.get('/seed'));
    const { late, meanwhile } = await lateBehind(app, release, old, '/slow-set', login);
    const fresh = cookiePair(meanwhile);
    expect(late.status).toBe(200);
    expect(setCookies(late)).toEqual([]);
    // The late changes went nowhere: the old id was not brought back, the new session is intact.
    expect(await store.get(digestId(old.slice('koa.sid='.length).split('.')[0]!))).toBeUndefined();
    expect((await app.get('/all').set('Cookie', fresh)).body).toEqual(login === '/login' ? { user: 'ada' } : { cart: 1, user: 'ada' });
    expect((await app.get('/all').set('Cookie', old)).body).toEqual({});
  });

  it('sends no clearing cookie for a rolling touch on the old id', async () => {
    const { app, release } = gatedApp({ rolling: true, touchAfter: 0 });
    const old = cookiePair(await app.get('/seed'));
    const { late } = await lateBehind(app, release, old, '/slow-read', '/login');
    expect(setCookies(late)).toEqual([]);
  });

  it('still clears the cookie when the session was logged out instead', async () => {
    const { app, release } = gatedApp();
    const old = cookiePair(await app.get('/seed'));
    const { late } = await lateBehind(app, release, old, '/slow-set', '/logout');
    expect(setCookies(late)[0]).toMatch(/^koa\.sid=; Max-Age=0/);
  });
});
