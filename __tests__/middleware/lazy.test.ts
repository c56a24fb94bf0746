import { afterAll, describe, expect, it } from '@jest/globals';
import Koa from 'koa';
import { getSession, session } from '../../src/index.js';
import { client, closeStores, cookiePair, CountingStore, setCookies, track } from '../helpers/app.js';

describe('session() on a route that never calls getSession', () => {
  afterAll(closeStores);

  it('returns a middleware function named session', () => {
    expect(session().name).toBe('session');
  });

  it('reads no key, makes no store call and sends no Set-Cookie, even with a cookie present', async () => {
    const store = track(new CountingStore());
    const app = new Koa();
    let keyReads = 0;
    const keys = ['lazy-key-0123456789abcdefghijklmnopqrstuv'];
    Object.defineProperty(app, 'keys', { get: () => (keyReads++, keys), set: () => undefined });
    app.use(session({ store }));
    app.use(async (ctx) => {
      if (ctx.path === '/session') (await getSession(ctx)).set('a', 1);
      ctx.body = 'ok';
    });
    const cookie = cookiePair(await client(app).get('/session'));
    store.reset();
    keyReads = 0;

    const untouched = await client(app).get('/plain').set('Cookie', cookie).expect(200, 'ok');
    expect(setCookies(untouched)).toEqual([]);
    expect(store.total).toBe(0);
    expect(keyReads).toBe(0); // the signature was never checked
  });
});
