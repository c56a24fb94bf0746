/** The core session behaviour, end to end over HTTP, as one suite every store runs. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { getSession, newSession } from '../../../src/index.js';
import type { Serializer } from '../../../src/serializer.js';
import type { SessionStore } from '../../../src/store.js';
import { client, cookiePair, makeApp, setCookies, sleep, type Handler } from '../../helpers/app.js';

/** What a store's test file hands to {@link describeSessionBehaviour}. */
export interface BehaviourTarget {
  /** A store on a clean backend; called once per app the suite builds. */
  make(): Promise<SessionStore>;
  /** Runs after every store was closed. */
  cleanup?(): Promise<void>;
  /** False for a sealed cookie store: nothing on the server to destroy or to share between requests. */
  serverSide: boolean;
  serializer?: Serializer;
}

type Cart = { views: number; cart: { items: string[] }; stamp: string };

/**
 * The routes every store's `app.test.ts` serves, and {@link itSharesOneSession} needs: `/count`
 * bumps `views` and answers it, `/read` answers the whole session as JSON, `/key?k&v` sets one key.
 * A test file spreads them into its own table next to the routes only it uses.
 */
export const sessionRoutes = {
  '/count': async (ctx: Context) => {
    const s = await getSession<Cart>(ctx);
    s.set('views', (s.get('views') ?? 0) + 1);
    ctx.body = { views: s.get('views') };
  },
  '/read': async (ctx: Context) => {
    ctx.body = (await getSession(ctx)).toJSON();
  },
  '/key': async (ctx: Context) => {
    (await getSession(ctx)).set(String(ctx.query.k), Number(ctx.query.v));
    ctx.body = 'ok';
  },
} satisfies Record<string, Handler>;

// The suite's own table names the whole-session route `/all`; its `/read` answers a summary.
const routes = {
  '/count': sessionRoutes['/count'],
  '/key': sessionRoutes['/key'],
  '/all': sessionRoutes['/read'],
  '/read': async (ctx: Context) => {
    const s = await getSession<Cart>(ctx);
    ctx.body = { views: s.get('views') ?? 0, items: s.get('cart')?.items ?? [], isNew: s.isNew };
  },
  '/add': async (ctx: Context) => {
    const s = await getSession<Cart>(ctx);
    const cart = s.get('cart');
    if (cart === undefined) s.set('cart', { items: [String(ctx.query.item)] });
    else cart.items.push(String(ctx.query.item)); // in place: no set(), no changed()
    ctx.body = 'ok';
  },
  '/logout': async (ctx: Context) => {
    (await getSession(ctx)).invalidate();
    ctx.body = 'bye';
  },
  '/login': async (ctx: Context) => {
    const s = await newSession(ctx);
    s.set('user', 'ada');
    ctx.body = 'hello';
  },
  '/regenerate': async (ctx: Context) => {
    (await getSession(ctx)).regenerate();
    ctx.body = 'regenerated';
  },
};

/** Registers the end-to-end behaviour suite for one store under `describe(name)`. */
export function describeSessionBehaviour(name: string, target: BehaviourTarget): void {
  describe(`session() on ${name}`, () => {
    const stores: SessionStore[] = [];
    const appWith = async (options: { maxAge?: number; rolling?: boolean; touchAfter?: number } = {}) => {
      const store = await target.make();
      stores.push(store);
      return client(makeApp({ store, ...(target.serializer ? { serializer: target.serializer } : {}), ...options }, routes));
    };
    let http: Awaited<ReturnType<typeof appWith>>;

    beforeAll(async () => {
      http = await appWith();
    });
    afterAll(async () => {
      for (const store of stores) if ('close' in store) await store.close?.();
      await target.cleanup?.();
    });

    it('counts visits across requests with the cookie it sets', async () => {
      const first = await http.get('/count').expect(200, { views: 1 });
      const cookie = cookiePair(first);
      const second = await http.get('/count').set('Cookie', cookie).expect(200, { views: 2 });
      // A sealed cookie carries the data, so the browser sends the one it was given last.
      const latest = target.serverSide ? cookie : cookiePair(second);
      const third = await http.get('/count').set('Cookie', latest).expect(200, { views: 3 });
      if (target.serverSide) expect(cookiePair(third)).toBe(cookie);
    });

    it('sends no cookie for a read-only request', async () => {
      const cookie = cookiePair(await http.get('/count'));
      const read = await http.get('/read').set('Cookie', cookie).expect(200);
      expect(read.body).toMatchObject({ views: 1, isNew: false });
      expect(setCookies(read)).toEqual([]);
    });

    it('saves a nested value mutated in place', async () => {
      let cookie = cookiePair(await http.get('/add?item=apple'));
      const second = await http.get('/add?item=pear').set('Cookie', cookie).expect(200);
      if (!target.serverSide) cookie = cookiePair(second);
      const read = await http.get('/read').set('Cookie', cookie);
      expect(read.body.items).toEqual(['apple', 'pear']);
    });

    it('logs out with invalidate(): a clearing cookie, and the old cookie no longer works', async () => {
      const cookie = cookiePair(await http.get('/count'));
      const out = await http.get('/logout').set('Cookie', cookie).expect(200);
      expect(setCookies(out)[0]).toMatch(/^koa\.sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=\/; HttpOnly; SameSite=Lax$/);
      if (target.serverSide) {
        await http.get('/read').set('Cookie', cookie).expect(200, { views: 0, items: [], isNew: true });
      }
    });

    it('gives a fresh id at login with newSession() and destroys the old record', async () => {
      const before = cookiePair(await http.get('/count'));
      const after = cookiePair(await http.get('/login').set('Cookie', before).expect(200));
      expect(after).not.toBe(before);
      expect((await http.get('/all').set('Cookie', after)).body).toEqual({ user: 'ada' });
      if (target.serverSide) expect((await http.get('/all').set('Cookie', before)).body).toEqual({});
    });

    it('moves the data to a new id with regenerate() and kills the old id', async () => {
      const before = cookiePair(await http.get('/count'));
      const after = cookiePair(await http.get('/regenerate').set('Cookie', before).expect(200));
      expect(after).not.toBe(before);
      expect((await http.get('/read').set('Cookie', after)).body.views).toBe(1);
      if (target.serverSide) expect((await http.get('/read').set('Cookie', before)).body.isNew).toBe(true);
    });

    it('forgets a session once maxAge has passed without activity', async () => {
      const short = await appWith({ maxAge: 300 });
      const cookie = cookiePair(await short.get('/count'));
      await short.get('/count').set('Cookie', cookie).expect(200, { views: 2 });
      await sleep(450);
      await short.get('/count').set('Cookie', cookie).expect(200, { views: 1 });
    });

    it('keeps a rolling session alive through read-only requests', async () => {
      const rolling = await appWith({ maxAge: 400, rolling: true, touchAfter: 0 });
      let cookie = cookiePair(await rolling.get('/count'));
      for (let i = 0; i < 3; i++) {
        await sleep(250);
        const read = await rolling.get('/read').set('Cookie', cookie).expect(200);
        expect(read.body.views).toBe(1);
        expect(setCookies(read)).toHaveLength(1); // the renewed expiry goes to the browser too
        cookie = cookiePair(read);
      }
    });

    if (target.serverSide) {
      it('keeps every key when parallel requests change different keys', async () => {
        const cookie = cookiePair(await http.get('/count'));
        await Promise.all(Array.from({ length: 10 }, (_, i) => http.get(`/key?k=k${i}&v=${i}`).set('Cookie', cookie).expect(200)));
        const all = (await http.get('/all').set('Cookie', cookie)).body as Record<string, number>;
        for (let i = 0; i < 10; i++) expect(all[`k${i}`]).toBe(i);
        expect(all.views).toBe(1);
      });
    }
  });
}

/** A supertest client as `client(app)` returns it. */
type Client = ReturnType<typeof client>;

/**
 * Two app instances on one backend, as two processes would be: one session serves from either,
 * and 20 parallel requests over both that change different keys all land. `apps` is read when the
 * tests run (after the caller's beforeAll); their routes must include {@link sessionRoutes}.
 */
export function itSharesOneSession(apps: () => readonly Client[]): void {
  it('share one session, whichever instance serves the request', async () => {
    const [a, b] = apps() as [Client, Client];
    const cookie = cookiePair(await a.get('/count').expect(200, { views: 1 }));
    await b.get('/count').set('Cookie', cookie).expect(200, { views: 2 });
    await a.get('/count').set('Cookie', cookie).expect(200, { views: 3 });
  });

  it('lose no update when 20 parallel requests on both change different keys of one session', async () => {
    const both = apps();
    const cookie = cookiePair(await both[0]!.get('/count'));
    await Promise.all(Array.from({ length: 20 }, (_, i) => both[i % 2]!.get(`/key?k=k${i}&v=${i}`).set('Cookie', cookie).expect(200)));
    const all = (await both[1]!.get('/read').set('Cookie', cookie).expect(200)).body as Record<string, number>;
    for (let i = 0; i < 20; i++) expect(all[`k${i}`]).toBe(i);
    expect(all.views).toBe(1);
  });
}
