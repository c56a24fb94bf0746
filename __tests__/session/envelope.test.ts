import { afterAll, describe, expect, it } from '@jest/globals';
import { getSession } from '../../src/index.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, sleep, track } from '../helpers/app.js';

describe('the stored envelope', () => {
  afterAll(closeStores);
  const app = makeApp(
    { store: track(new CountingStore()) },
    {
      '/': async (ctx) => {
        const s = await getSession(ctx);
        if (ctx.query.set) s.set(String(ctx.query.set), Number(ctx.query.v));
        ctx.body = { created: s.created, data: s.toJSON(), maxAge: s.maxAge };
      },
    },
  );

  it('keeps a user key named created apart from session.created', async () => {
    const first = await client(app).get('/?set=created&v=42').expect(200);
    const cookie = cookiePair(first);
    const second = await client(app).get('/').set('Cookie', cookie);
    expect(second.body.data).toEqual({ created: 42 });
    expect(second.body.created).toBe(first.body.created);
    expect(second.body.created).not.toBe(42);
  });

  it('keeps created at the first creation time across later saves', async () => {
    const before = Date.now();
    const first = await client(app).get('/?set=a&v=1');
    const cookie = cookiePair(first);
    expect(first.body.created).toBeGreaterThanOrEqual(before);
    await sleep(20);
    await client(app).get('/?set=b&v=2').set('Cookie', cookie);
    await sleep(20);
    const third = await client(app).get('/?set=c&v=3').set('Cookie', cookie);
    expect(third.body.created).toBe(first.body.created);
    expect(third.body.data).toEqual({ a: 1, b: 2, c: 3 });
  });
});
