import { afterAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { digestId, getSession } from '../../src/index.js';
import type { RecordWrite } from '../../src/store.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, setCookies, sleep, track } from '../helpers/app.js';
import { gate as gated, lateBehind } from '../helpers/gate.js';

/** Holds every request at a barrier after loading, so all of them commit against the same version. */
function barrierRoutes(count: number) {
  let waiting: (() => void)[] = [];
  const barrier = () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length === count) {
        waiting.forEach((release) => release());
        waiting = [];
      }
    });
  return {
    '/seed': async (ctx: Context) => void ((await getSession(ctx)).set('seed', 0), (ctx.body = 'ok')),
    '/set': async (ctx: Context) => {
      const s = await getSession(ctx);
      await barrier();
      s.set(String(ctx.query.k), String(ctx.query.v));
      ctx.body = 'ok';
    },
    '/delete': async (ctx: Context) => {
      const s = await getSession(ctx);
      await barrier();
      s.delete(String(ctx.query.k));
      ctx.body = 'ok';
    },
    '/clear': async (ctx: Context) => {
      const s = await getSession(ctx);
      await barrier();
      s.clear();
      s.set('after', 'clear');
      ctx.body = 'ok';
    },
    '/logout': async (ctx: Context) => {
      const s = await getSession(ctx);
      await barrier();
      s.invalidate();
      ctx.body = 'ok';
    },
    '/all': async (ctx: Context) => void (ctx.body = (await getSession(ctx)).toJSON()),
  };
}

/** Two apps on one store, as two processes would be: separate middlewares, separate queues. */
function twoApps(store: CountingStore, count: number) {
  const routes = barrierRoutes(count);
  return [client(makeApp({ store }, routes)), client(makeApp({ store }, routes))] as const;
}

describe('concurrent requests on one session', () => {
  afterAll(closeStores);

  it('lands every key when 20 parallel requests over two apps change different keys', async () => {
    const store = track(new CountingStore());
    const [a, b] = twoApps(store, 20);
    const cookie = cookiePair(await a.get('/seed'));
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).get(`/set?k=k${i}&v=${i}`).set('Cookie', cookie).expect(200)));
    const all = (await a.get('/all').set('Cookie', cookie)).body as Record<string, string>;
    expect(Object.keys(all).sort()).toEqual(['seed', ...Array.from({ length: 20 }, (_, i) => `k${i}`)].sort());
    expect(store.calls.get).toBeGreaterThan(21); // conflicts between the apps happened: reloads beyond the 20 loads and /all
  });

  it('lets each request win the keys it changed itself, the last commit winning a key both changed', async () => {
    const store = track(new CountingStore());
    const [a, b] = twoApps(store, 2);
    const cookie = cookiePair(await a.get('/seed'));
    await Promise.all([a.get('/set?k=seed&v=from-a').set('Cookie', cookie), b.get('/set?k=other&v=from-b').set('Cookie', cookie)]);
    const all = (await a.get('/all').set('Cookie', cookie)).body;
    expect(all).toEqual({ seed: 'from-a', other: 'from-b' });
  });

  it('applies a concurrent delete and a concurrent set together', async () => {
    const store = track(new CountingStore());
    const [a, b] = twoApps(store, 2);
    const cookie = cookiePair(await a.get('/seed'));
    await Promise.all([a.get('/delete?k=seed').set('Cookie', cookie), b.get('/set?k=x&v=1').set('Cookie', cookie)]);
    expect((await a.get('/all').set('Cookie', cookie)).body).toEqual({ x: '1' });
  });

  it('re-applies clear() as a statement about every key', async () => {
    const store = track(new CountingStore());
    const routes = barrierRoutes(2);
    const slowFirst = makeApp({ store }, routes);
    const fast = client(makeApp({ store }, routes));
    const cookie = cookiePair(await fast.get('/seed'));
    // The set lands first; the clear commits second and still removes the key set meanwhile.
    const setDone = fast.get('/set?k=x&v=1').set('Cookie', cookie);
    const clearDone = client(slowFirst).get('/clear').set('Cookie', cookie);
    await Promise.all([setDone, clearDone]);
    const all = (await fast.get('/all').set('Cookie', cookie)).body;
    // Whichever committed last decides: either x survived and clear ran first, or clear won.
    expect([{ after: 'clear' }, { after: 'clear', x: '1' }]).toContainEqual(all);
  });

  it("keeps another request's change to an object value this request only read", async () => {
    const store = track(new CountingStore());
    const { gate, release } = gated();
    const app = client(
      makeApp(
        { store },
        {
          '/seed': async (ctx) => void ((await getSession(ctx)).set('profile', { name: 'Ada' }), (ctx.body = 'ok')),
          '/slow-read-and-set': async (ctx) => {
            const s = await getSession(ctx);
            const profile = s.get('profile') as { name: string }; // handed out: it could have been changed in place
            await gate;
            s.set('greeting', `hello ${profile.name}`);
            ctx.body = 'ok';
          },
          '/rename': async (ctx) => void ((await getSession(ctx)).set('profile', { name: 'Ada Lovelace' }), (ctx.body = 'ok')),
          '/all': async (ctx) => void (ctx.body = (await getSession(ctx)).toJSON()),
        },
      ),
    );
    const cookie = cookiePair(await app.get('/seed'));
    store.reset();
    await lateBehind(app, release, cookie, '/slow-read-and-set', '/rename');
    expect(store.calls.update).toBe(3); // the rename, the late write that lost the race, its retry
    expect((await app.get('/all').set('Cookie', cookie)).body).toEqual({ profile: { name: 'Ada Lovelace' }, greeting: 'hello Ada' });
  });

  it('never resurrects a session another request destroyed', async () => {
    const store = track(new CountingStore());
    const { gate, release } = gated();
    const app = client(
      makeApp(
        { store },
        {
          '/seed': async (ctx) => void ((await getSession(ctx)).set('a', 1), (ctx.body = 'ok')),
          '/slow-set': async (ctx) => {
            const s = await getSession(ctx);
            await gate; // loaded before the logout, commits after it
            s.set('b', 2);
            ctx.body = 'ok';
          },
          '/logout': async (ctx) => void ((await getSession(ctx)).invalidate(), (ctx.body = 'ok')),
          '/all': async (ctx) => void (ctx.body = (await getSession(ctx)).toJSON()),
        },
      ),
    );
    const cookie = cookiePair(await app.get('/seed'));
    const { late } = await lateBehind(app, release, cookie, '/slow-set', '/logout');
    expect(setCookies(late)[0]).toMatch(/^koa\.sid=; Max-Age=0/);
    expect(await store.get(digestId(cookie.slice('koa.sid='.length).split('.')[0]!))).toBeUndefined();
    expect((await app.get('/all').set('Cookie', cookie)).body).toEqual({});
  });
});

describe('in one process', () => {
  afterAll(closeStores);

  it('runs the commits of one id one at a time', async () => {
    let active = 0;
    let peak = 0;
    class SerialCheckStore extends CountingStore {
      override async update(id: string, record: RecordWrite, expectedVersion?: number): Promise<number | undefined> {
        active++;
        peak = Math.max(peak, active);
        await sleep(5);
        active--;
        return super.update(id, record, expectedVersion);
      }
    }
    const store = track(new SerialCheckStore());
    const app = client(makeApp({ store }, barrierRoutes(10)));
    const cookie = cookiePair(await app.get('/seed'));
    await Promise.all(Array.from({ length: 10 }, (_, i) => app.get(`/set?k=k${i}&v=${i}`).set('Cookie', cookie)));
    expect(peak).toBe(1);
    expect(Object.keys((await app.get('/all').set('Cookie', cookie)).body)).toHaveLength(11);
  });

  it('writes the commits queued behind one in flight together, in one write starting from what it wrote, with no reload', async () => {
    const store = track(new CountingStore());
    const app = client(makeApp({ store }, barrierRoutes(10)));
    const cookie = cookiePair(await app.get('/seed'));
    store.reset();
    await Promise.all(Array.from({ length: 10 }, (_, i) => app.get(`/set?k=k${i}&v=${i}`).set('Cookie', cookie).expect(200)));
    // Ten loads, two writes: the first commit alone, the nine queued behind it together; no version race lost.
    expect(store.calls).toEqual({ get: 10, create: 0, update: 2, touch: 0, destroy: 0 });
    expect(Object.keys((await app.get('/all').set('Cookie', cookie)).body)).toHaveLength(11);
  });
});
