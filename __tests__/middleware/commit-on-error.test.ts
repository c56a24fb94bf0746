import { afterAll, describe, expect, it } from '@jest/globals';
import { getSession } from '../../src/index.js';
import type { RecordWrite } from '../../src/store.js';
import { appOn, client, closeStores, cookiePair, CountingStore, makeApp, setCookies, sleep, track } from '../helpers/app.js';

/** A store whose writes take a while, to show the response waits for them. */
class SlowStore extends CountingStore {
  override async create(id: string, record: RecordWrite): Promise<boolean> {
    await sleep(80);
    return super.create(id, record);
  }
}

describe('session() commit timing and errors', () => {
  afterAll(closeStores);
  const { store, app } = appOn(new CountingStore(), {
    '/set': async (ctx) => {
      (await getSession(ctx)).set('v', String(ctx.query.v));
      ctx.body = 'ok';
    },
    '/read': async (ctx) => void (ctx.body = (await getSession(ctx)).get('v') ?? 'none'),
    '/401': async (ctx) => {
      (await getSession(ctx)).set('v', 'after-401');
      ctx.throw(401, 'log in again');
    },
    '/500': async (ctx) => {
      (await getSession(ctx)).set('v', 'after-500');
      throw new Error('boom');
    },
    '/redirect': async (ctx) => {
      (await getSession(ctx)).set('v', 'redirected');
      ctx.redirect('/read');
    },
  });

  it('finishes the store write before the response reaches the client', async () => {
    const slow = track(new SlowStore());
    const slowApp = makeApp({ store: slow }, { '/': async (ctx) => void (await getSession(ctx)).set('a', 1) });
    const res = await client(slowApp).get('/');
    expect(slow.size).toBe(1);
    expect(setCookies(res)).toHaveLength(1);
  });

  it('commits the changes of a request that throws a 4xx and sends the cookie with the error', async () => {
    const res = await client(app).get('/401').expect(401, 'log in again');
    const cookie = cookiePair(res);
    await client(app).get('/read').set('Cookie', cookie).expect(200, 'after-401');
  });

  it('discards the changes of a request that throws a 500 and sends no cookie', async () => {
    const cookie = cookiePair(await client(app).get('/set?v=kept'));
    const res = await client(app).get('/500').set('Cookie', cookie).expect(500);
    expect(setCookies(res)).toEqual([]);
    await client(app).get('/read').set('Cookie', cookie).expect(200, 'kept');
  });

  it('carries the cookie on a redirect', async () => {
    const res = await client(app).get('/redirect').expect(302);
    await client(app).get('/read').set('Cookie', cookiePair(res)).expect(200, 'redirected');
  });

  it('keeps other Set-Cookie headers a 4xx error carried', async () => {
    const withHeaders = makeApp(
      { store },
      {
        '/': async (ctx) => {
          (await getSession(ctx)).set('a', 1);
          ctx.throw(403, { headers: { 'Set-Cookie': 'other=1; Path=/' } });
        },
      },
    );
    const res = await client(withHeaders).get('/').expect(403);
    expect(setCookies(res)).toHaveLength(2);
    expect(setCookies(res)[0]).toBe('other=1; Path=/');
  });
});
