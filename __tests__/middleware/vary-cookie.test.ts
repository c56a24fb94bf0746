/** Responses that depend on the session say so to caches: `Vary: Cookie`. */

import { afterAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { getSession } from '../../src/index.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, track } from '../helpers/app.js';

afterAll(closeStores);

const store = track(new CountingStore());
const app = client(
  makeApp(
    { store },
    {
      '/read': async (ctx: Context) => void (ctx.body = (await getSession(ctx)).toJSON()),
      '/write': async (ctx: Context) => void ((await getSession(ctx)).set('a', 1), (ctx.body = 'ok')),
      '/vary-origin': async (ctx: Context) => {
        ctx.vary('Origin');
        ctx.body = (await getSession(ctx)).toJSON();
      },
      '/static': (ctx: Context) => void (ctx.body = 'static'),
      '/deny': async (ctx: Context) => {
        await getSession(ctx);
        ctx.throw(403);
      },
    },
  ),
);

describe('Vary: Cookie', () => {
  it('is on every response whose handler read the session, with or without a cookie set', async () => {
    expect((await app.get('/read')).headers.vary).toBe('Cookie');
    const written = await app.get('/write');
    expect(written.headers.vary).toBe('Cookie');
    expect((await app.get('/read').set('Cookie', cookiePair(written))).headers.vary).toBe('Cookie');
  });

  it('joins a Vary the handler set', async () => {
    expect((await app.get('/vary-origin')).headers.vary).toBe('Origin, Cookie');
  });

  it('rides on a thrown 4xx through Koa’s default handler', async () => {
    expect((await app.get('/deny').expect(403)).headers.vary).toBe('Cookie');
  });

  it('is absent where the session was never read', async () => {
    expect((await app.get('/static')).headers.vary).toBeUndefined();
  });
});
