/** `session.owner`: stored metadata, never data; kept, moved and cleared as the session is. */

import { afterAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { getSession, newSession } from '../../src/index.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, track } from '../helpers/app.js';

afterAll(closeStores);

function ownerApp() {
  const store = track(new CountingStore());
  const routes = {
    '/login': async (ctx: Context) => {
      const s = await newSession(ctx);
      s.set('seen', 1);
      s.owner = 'ada';
      ctx.body = 'ok';
    },
    '/set-owner': async (ctx: Context) => void (((await getSession(ctx)).owner = String(ctx.query.owner)), (ctx.body = 'ok')),
    '/same-owner': async (ctx: Context) => void (((await getSession(ctx)).owner = 'ada'), (ctx.body = 'ok')),
    '/bad-owner': async (ctx: Context) => {
      const s = await getSession(ctx);
      const errors: string[] = [];
      for (const value of ['', 'x'.repeat(256), 42 as unknown as string]) {
        try {
          s.owner = value;
        } catch (error) {
          errors.push((error as Error).name);
        }
      }
      ctx.body = errors;
    },
    '/logout': async (ctx: Context) => void ((await getSession(ctx)).invalidate(), (ctx.body = 'ok')),
    '/fresh': async (ctx: Context) => void ((await newSession(ctx)).set('other', 1), (ctx.body = 'ok')),
    '/me': async (ctx: Context) => {
      const s = await getSession(ctx);
      ctx.body = { owner: s.owner ?? null, data: s.toJSON() };
    },
  };
  return { store, app: client(makeApp({ store }, routes)) };
}

describe('session.owner', () => {
  it('is kept in the store’s metadata, not in the data, across requests', async () => {
    const { app } = ownerApp();
    const cookie = cookiePair(await app.get('/login'));
    expect((await app.get('/me').set('Cookie', cookie)).body).toEqual({ owner: 'ada', data: { seen: 1 } });
  });

  it('writes when only the owner changes, and not when it is set to what it was', async () => {
    const { app, store } = ownerApp();
    const cookie = cookiePair(await app.get('/login'));
    store.reset();
    await app.get('/same-owner').set('Cookie', cookie);
    expect(store.calls.update).toBe(0);
    await app.get('/set-owner?owner=bob').set('Cookie', cookie);
    expect(store.calls.update).toBe(1);
    expect((await app.get('/me').set('Cookie', cookie)).body.owner).toBe('bob');
  });

  it('is cleared by invalidate() and by newSession()', async () => {
    const { app } = ownerApp();
    let cookie = cookiePair(await app.get('/login'));
    cookie = cookiePair(await app.get('/fresh').set('Cookie', cookie));
    expect((await app.get('/me').set('Cookie', cookie)).body).toEqual({ owner: null, data: { other: 1 } });
    cookie = cookiePair(await app.get('/login'));
    await app.get('/logout').set('Cookie', cookie);
    expect((await app.get('/me').set('Cookie', cookie)).body.owner).toBeNull();
  });

  it('refuses an empty string, over 255 bytes, or a non-string, with a TypeError', async () => {
    const { app } = ownerApp();
    expect((await app.get('/bad-owner')).body).toEqual(['TypeError', 'TypeError', 'TypeError']);
  });
});
