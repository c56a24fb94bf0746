import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { getSession } from '../../src/index.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, setCookies, track } from '../helpers/app.js';

type Data = { n: number; list: number[]; profile: { name: string; tags: string[] } };

describe('session() commit: only what changed is saved', () => {
  const store = track(new CountingStore());
  const at = (handler: (s: Awaited<ReturnType<typeof getSession<Data>>>, ctx: Context) => void) => async (ctx: Context) => {
    handler(await getSession<Data>(ctx), ctx);
    ctx.body = 'ok';
  };
  const app = makeApp(
    { store },
    {
      '/seed': at((s) =>
        s
          .set('n', 1)
          .set('list', [1])
          .set('profile', { name: 'ada', tags: ['a'] }),
      ),
      '/noop': at(() => undefined),
      '/same': at((s) => s.set('n', 1)),
      '/set': at((s) => s.set('n', 2)),
      '/delete': at((s) => s.delete('list')),
      '/clear': at((s) => s.clear()),
      '/changed': at((s) => s.changed()),
      '/push': at((s) => s.get('list')!.push(2)),
      '/deep': at((s) => s.get('profile')!.tags.push('b')),
      '/rename': at((s) => (s.get('profile')!.name = 'grace')),
      // Each hands out the stored objects themselves, so a change through them must be seen too.
      '/via-values': at((s) => {
        for (const value of s.values()) if (Array.isArray(value)) value.push(3);
      }),
      '/via-entries': at((s) => {
        for (const [key, value] of s) if (key === 'profile') (value as Data['profile']).tags.push('e');
      }),
      '/via-forEach': at((s) => s.forEach((value, key) => key === 'list' && (value as number[]).pop())),
      '/via-toJSON': at((s) => void s.toJSON().profile!.tags.splice(0)),
      '/read-primitives': at((s, ctx) => void ctx.set('X-Read', JSON.stringify([s.get('n'), s.has('list'), s.size, [...s.keys()]]))),
      '/read-object-untouched': at((s) => void s.get('profile')),
    },
  );
  let cookie: string;
  afterAll(closeStores);
  beforeEach(async () => {
    cookie = cookiePair(await client(app).get('/seed'));
    store.reset();
  });

  it('writes nothing and sets no cookie for a new session left empty', async () => {
    const res = await client(app).get('/noop').expect(200);
    expect(setCookies(res)).toEqual([]);
    expect(store.calls.create).toBe(0);
    expect(store.total).toBe(0); // no cookie: nothing to read either
  });

  it('makes one read and no write for a request that only reads', async () => {
    const res = await client(app).get('/noop').set('Cookie', cookie).expect(200);
    expect(setCookies(res)).toEqual([]);
    expect(store.calls).toEqual({ get: 1, create: 0, update: 0, touch: 0, destroy: 0 });
  });

  it('writes nothing when a value is set to what it already was', async () => {
    const res = await client(app).get('/same').set('Cookie', cookie).expect(200);
    expect(setCookies(res)).toEqual([]);
    expect(store.calls.update).toBe(0);
  });

  it.each([
    '/set',
    '/delete',
    '/clear',
    '/changed',
    '/push',
    '/deep',
    '/rename',
    '/via-values',
    '/via-entries',
    '/via-forEach',
    '/via-toJSON',
  ])('saves after %s', async (path) => {
    const res = await client(app).get(path).set('Cookie', cookie).expect(200);
    expect(store.calls.update).toBe(1);
    expect(cookiePair(res)).toBe(cookie); // same id, fresh expiry
  });

  it.each(['/read-primitives', '/read-object-untouched'])('writes nothing after %s, which reads without changing', async (path) => {
    const res = await client(app).get(path).set('Cookie', cookie).expect(200);
    if (path === '/read-primitives') expect(res.headers['x-read']).toBe('[1,true,3,["n","list","profile"]]');
    expect(setCookies(res)).toEqual([]);
    expect(store.calls).toEqual({ get: 1, create: 0, update: 0, touch: 0, destroy: 0 });
  });

  it('sees in-place mutations of nested values on the next request', async () => {
    await client(app).get('/deep').set('Cookie', cookie);
    await client(app).get('/rename').set('Cookie', cookie);
    const read = makeApp({ store }, { '/': async (ctx) => void (ctx.body = (await getSession(ctx)).get('profile')) });
    await client(read)
      .get('/')
      .set('Cookie', cookie)
      .expect(200, { name: 'grace', tags: ['a', 'b'] });
  });
});
