import { afterAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { digestId, getSession } from '../../src/index.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, setCookies, sleep, track } from '../helpers/app.js';

const maxAgeOf = (line: string): number => Number(/Max-Age=(\d+)/.exec(line)![1]);
const routes = {
  '/count': async (ctx: Context) => {
    const s = await getSession<{ n: number }>(ctx);
    s.set('n', (s.get('n') ?? 0) + 1);
    ctx.body = { n: s.get('n'), maxAge: s.maxAge };
  },
  '/read': async (ctx: Context) => {
    const s = await getSession<{ n: number }>(ctx);
    ctx.body = { n: s.get('n') ?? 0, maxAge: s.maxAge };
  },
  '/remember': async (ctx: Context) => {
    const s = await getSession(ctx);
    s.maxAge = 30 * 86_400_000;
    ctx.body = 'remembered';
  },
};
const recordOf = async (store: CountingStore, cookie: string) => store.get(digestId(cookie.slice('koa.sid='.length).split('.')[0]!));

describe('session expiry', () => {
  afterAll(closeStores);

  it('gives the store record and the cookie the same expiry, from maxAge', async () => {
    const store = track(new CountingStore());
    const before = Date.now();
    const res = await client(makeApp({ store, maxAge: 120_000 }, routes)).get('/count');
    const record = await recordOf(store, cookiePair(res));
    expect(record!.expires).toBeGreaterThanOrEqual(before + 120_000);
    expect(record!.expires).toBeLessThanOrEqual(Date.now() + 120_000);
    expect(maxAgeOf(setCookies(res)[0]!)).toBe(120);
    expect(Date.parse(/Expires=([^;]+)/.exec(setCookies(res)[0]!)![1]!)).toBe(Math.floor(record!.expires / 1000) * 1000);
  });

  it('persists session.maxAge set in a handler ("remember me") with the session', async () => {
    const store = track(new CountingStore());
    const app = makeApp({ store }, routes);
    const cookie = cookiePair(await client(app).get('/count'));
    const remembered = await client(app).get('/remember').set('Cookie', cookie);
    expect(maxAgeOf(setCookies(remembered)[0]!)).toBe(30 * 86_400);
    const again = await client(app)
      .get('/count')
      .set('Cookie', cookie)
      .expect(200, { n: 2, maxAge: 30 * 86_400_000 });
    expect(maxAgeOf(setCookies(again)[0]!)).toBe(30 * 86_400);
    expect((await recordOf(store, cookie))!.expires).toBeGreaterThan(Date.now() + 29 * 86_400_000);
  });

  it('ends a busy session at absoluteTimeout after its creation', async () => {
    const app = makeApp({ store: track(new CountingStore()), maxAge: 10_000, absoluteTimeout: 400 }, routes);
    const first = await client(app).get('/count');
    const cookie = cookiePair(first);
    expect(maxAgeOf(setCookies(first)[0]!)).toBe(1); // capped by the absolute timeout, rounded up
    await sleep(200);
    await client(app).get('/count').set('Cookie', cookie).expect(200, { n: 2, maxAge: 10_000 });
    await sleep(300);
    await client(app).get('/count').set('Cookie', cookie).expect(200, { n: 1, maxAge: 10_000 });
  });

  it('applies a lowered absoluteTimeout to sessions stored before the change', async () => {
    const store = track(new CountingStore());
    const cookie = cookiePair(await client(makeApp({ store, maxAge: 10_000 }, routes)).get('/count'));
    await sleep(30);
    // The record is still live in the store, but older than the new app's absoluteTimeout.
    await client(makeApp({ store, maxAge: 10_000, absoluteTimeout: 20 }, routes))
      .get('/read')
      .set('Cookie', cookie)
      .expect(200, { n: 0, maxAge: 10_000 });
    await client(makeApp({ store, maxAge: 10_000 }, routes))
      .get('/read')
      .set('Cookie', cookie)
      .expect(200, { n: 1, maxAge: 10_000 });
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1d'])(
    'refuses session.maxAge = %p with a RangeError, leaving maxAge as it was',
    async (value) => {
      const app = makeApp(
        { store: track(new CountingStore()), maxAge: 5_000 },
        {
          '/': async (ctx: Context) => {
            const s = await getSession(ctx);
            expect(() => {
              s.maxAge = value as number;
            }).toThrow(RangeError);
            ctx.body = { maxAge: s.maxAge };
          },
        },
      );
      await client(app).get('/').expect(200, { maxAge: 5_000 });
    },
  );

  it.each([1e300, 401 * 86_400_000])(
    'refuses session.maxAge = %p as the maxAge option does (at most 400 days), and the session is saved as it was',
    async (value) => {
      const store = track(new CountingStore());
      const app = makeApp(
        { store },
        {
          '/': async (ctx: Context) => {
            const s = await getSession(ctx);
            s.set('n', 1);
            try {
              s.maxAge = value;
            } catch (error) {
              ctx.body = { error: `${(error as Error).name}: ${(error as Error).message}`, maxAge: s.maxAge };
            }
          },
        },
      );
      const res = await client(app)
        .get('/')
        .expect(200, {
          error: `RangeError: koa-session-kit: \`session.maxAge\` must be more than 0 and at most 34560000000 ms (received ${value})`,
          maxAge: 86_400_000,
        });
      const [line] = setCookies(res);
      expect(maxAgeOf(line!)).toBe(86_400);
      expect(line).not.toMatch(/Invalid Date/);
    },
  );

  it('accepts session.maxAge of exactly 400 days, the most a browser keeps a cookie', async () => {
    const app = makeApp(
      { store: track(new CountingStore()) },
      {
        '/': async (ctx: Context) => {
          const s = await getSession(ctx);
          s.set('n', 1).maxAge = 400 * 86_400_000;
          ctx.body = 'ok';
        },
      },
    );
    expect(maxAgeOf(setCookies(await client(app).get('/').expect(200))[0]!)).toBe(400 * 86_400);
  });

  it('touches a rolling session without rewriting its data, throttled by touchAfter', async () => {
    const store = track(new CountingStore());
    const app = makeApp({ store, maxAge: 2000, rolling: true, touchAfter: 300 }, routes);
    const cookie = cookiePair(await client(app).get('/count'));
    store.reset();
    const early = await client(app).get('/read').set('Cookie', cookie);
    expect(setCookies(early)).toEqual([]); // expiry would move by less than touchAfter
    expect(store.calls.touch).toBe(0);
    await sleep(350);
    const before = (await recordOf(store, cookie))!.expires;
    const late = await client(app).get('/read').set('Cookie', cookie);
    expect(setCookies(late)).toHaveLength(1);
    expect(store.calls).toMatchObject({ touch: 1, update: 0, create: 0 });
    expect((await recordOf(store, cookie))!.expires).toBeGreaterThan(before + 300);
  });

  it('does not extend a session that is not rolling when it is only read', async () => {
    const store = track(new CountingStore());
    const app = makeApp({ store, maxAge: 300 }, routes);
    const cookie = cookiePair(await client(app).get('/count'));
    await sleep(200);
    await client(app).get('/read').set('Cookie', cookie).expect(200, { n: 1, maxAge: 300 });
    await sleep(200);
    await client(app).get('/read').set('Cookie', cookie).expect(200, { n: 0, maxAge: 300 });
  });

  it('clears the cookie when a rolling touch finds the session gone', async () => {
    const store = track(new CountingStore());
    const app = makeApp({ store, maxAge: 2000, rolling: true, touchAfter: 0 }, routes);
    const cookie = cookiePair(await client(app).get('/count'));
    const loaded = await recordOf(store, cookie);
    // Destroy between load and commit: the handler reads, then the record vanishes.
    const racing = makeApp(
      { store, maxAge: 2000, rolling: true, touchAfter: 0 },
      {
        '/': async (ctx) => {
          await getSession(ctx);
          await store.destroy(digestId(cookie.slice('koa.sid='.length).split('.')[0]!));
          ctx.body = 'ok';
        },
      },
    );
    expect(loaded).toBeDefined();
    const res = await client(racing).get('/').set('Cookie', cookie);
    expect(setCookies(res)[0]).toMatch(/^koa\.sid=; Max-Age=0/);
  });
});
