/** koa-passport 6 + passport 0.7 + passport-local on the `ctx.session` view, over HTTP, on each kind of store. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import koaPassport from 'koa-passport';
import passportLocal from 'passport-local';
import type { Redis } from 'ioredis';
import { isSealedCookieStore, session, type SessionStore, type Store } from '../../src/index.js';
import { digestId } from '../../src/id.js';
import { CookieStore } from '../../stores/cookie.js';
import { MemoryStore } from '../../stores/memory.js';
import { PostgresStore } from '../../stores/postgres.js';
import { RedisStore } from '../../stores/redis.js';
import { client as http, cookiePair, CountingStore, setCookies } from '../helpers/app.js';
import { dropTable, testPool, uniqueTable } from '../helpers/postgres-store.js';
import { deleteKeys, fastFailClient, uniquePrefix } from '../helpers/redis-store.js';
import { postgresReachable, redisReachable } from '../helpers/services.js';

interface User {
  id: string;
  name: string;
}

/** The app's user table; a test may remove a user to see passport forget them. */
function userTable(): Map<string, User & { password: string }> {
  return new Map([['ada', { id: 'ada', name: 'Ada Lovelace', password: 'analytical-engine' }]]);
}

/**
 * An app set up as koa-passport's README says, with `ctxSession` on: a login form posted to
 * passport-local, a page only a logged-in user sees, and a logout form. Each app has its own
 * KoaPassport, so apps in one file share no strategy or serializer.
 */
function passportApp(store: SessionStore, users = userTable(), beforeRoutes?: Koa.Middleware): Koa {
  const app = new Koa();
  app.keys = ['passport-test-key-2026-32-characters-at-least'];
  app.silent = true;
  const passport = new koaPassport.KoaPassport();
  passport.use(
    new passportLocal.Strategy((username, password, done) => {
      const user = users.get(username);
      if (user === undefined || user.password !== password) return done(null, false, { message: 'Wrong username or password.' });
      done(null, { id: user.id, name: user.name });
    }),
  );
  passport.serializeUser((user, done) => done(null, (user as User).id));
  passport.deserializeUser((id: string, done) => {
    const user = users.get(id);
    done(null, user === undefined ? false : { id: user.id, name: user.name });
  });

  app.use(session({ store, ctxSession: true }));
  app.use(bodyParser());
  app.use(passport.initialize());
  app.use(passport.session());
  if (beforeRoutes !== undefined) app.use(beforeRoutes);

  const router = new Router();
  router.get('/', (ctx) => {
    // An anonymous visitor's session: what a login must not carry over under the old id.
    const session = ctx.session!;
    session.visits = ((session.visits as number | undefined) ?? 0) + 1;
    ctx.body = { visits: session.visits, user: (ctx.state.user as User | undefined) ?? null };
  });
  // failureMessage: passport pushes the message onto session.messages, an array it creates.
  router.post('/login', passport.authenticate('local', { successRedirect: '/me', failureRedirect: '/login', failureMessage: true }));
  router.get('/login', (ctx) => {
    ctx.body = { messages: ctx.session!.messages ?? [] };
  });
  // passport's own way back to the page that asked for a login: `returnTo`, kept across the
  // login's regenerate by `keepSessionInfo`.
  router.get('/account', (ctx) => {
    if (ctx.isAuthenticated()) return void (ctx.body = 'your account');
    ctx.session!.returnTo = '/account';
    ctx.redirect('/');
  });
  router.post(
    '/login-keeping-session',
    passport.authenticate('local', { successReturnToOrRedirect: '/me', failureRedirect: '/', keepSessionInfo: true }),
  );
  router.get('/me', (ctx) => {
    if (!ctx.isAuthenticated()) ctx.throw(401, 'log in first');
    ctx.body = { user: ctx.state.user as User, session: ctx.session!.toJSON() };
  });
  router.post('/logout', async (ctx) => {
    await ctx.logout();
    ctx.redirect('/');
  });
  app.use(router.routes());
  return app;
}

/** The store's id for a `koa.sid=<id>.<mac>` pair: the digest of the id. */
const recordId = (pair: string): string => digestId(pair.slice(pair.indexOf('=') + 1).split('.')[0]!);

/** True when a Set-Cookie line removes the session cookie (empty value, expiry in the past). */
const clearsCookie = (lines: string[]): boolean => lines.some((line) => /^koa\.sid=;/.test(line) && /expires=Thu, 01 Jan 1970/i.test(line));

const form = { username: 'ada', password: 'analytical-engine' };

interface StoreCase {
  label: string;
  make(): Promise<SessionStore>;
}

const redisUp = await redisReachable();
const postgresUp = await postgresReachable();

const redisPrefix = uniquePrefix('passport');
const postgresTable = uniqueTable('passport');
let redis: Redis | undefined;
const pool = postgresUp ? testPool() : undefined;
const stores: SessionStore[] = [];

const cases: StoreCase[] = [
  { label: 'MemoryStore', make: async () => new MemoryStore() },
  {
    label: 'RedisStore',
    make: async () => new RedisStore({ client: (redis ??= await fastFailClient()), prefix: redisPrefix }),
  },
  {
    label: 'PostgresStore',
    make: async () => new PostgresStore({ pool: pool!, table: postgresTable, pruneInterval: false }),
  },
  { label: 'CookieStore', make: async () => new CookieStore({ keys: ['passport-sealing-secret-0123456789-abcdef'] }) },
];
const reachable = (label: string): boolean => (label !== 'RedisStore' || redisUp) && (label !== 'PostgresStore' || postgresUp);

afterAll(async () => {
  await Promise.all(stores.map((store) => (isSealedCookieStore(store) ? undefined : store.close?.())));
  if (redis !== undefined) {
    await deleteKeys(redis, redisPrefix);
    await redis.quit();
  }
  if (pool !== undefined) {
    await dropTable(pool, postgresTable);
    await pool.end();
  }
});

describe.each(cases.filter((c) => reachable(c.label)))('koa-passport login and logout on $label', ({ make }) => {
  let app: ReturnType<typeof http>;
  /** The store's records, for a server-side store (a sealed cookie has none to look at or revoke). */
  let records: Store | undefined;

  beforeAll(async () => {
    const store = await make();
    stores.push(store);
    records = isSealedCookieStore(store) ? undefined : store;
    app = http(passportApp(store));
  });

  /** Visits as an anonymous user (so there is a session before login), then logs in; the two cookies. */
  async function logIn(): Promise<{ before: string; after: string }> {
    const before = cookiePair(await app.get('/').expect(200, { visits: 1, user: null }));
    const login = await app.post('/login').set('Cookie', before).type('form').send(form).expect(302);
    expect(login.headers.location).toBe('/me');
    return { before, after: cookiePair(login) };
  }

  it('logs in through a POST form under a new session id, with empty data but the user', async () => {
    const { before, after } = await logIn();
    expect(after).not.toBe(before);
    // passport regenerates at login: the anonymous visit count stays behind with the old id.
    const me = await app.get('/me').set('Cookie', after).expect(200);
    expect(me.body).toEqual({ user: { id: 'ada', name: 'Ada Lovelace' }, session: { passport: { user: 'ada' } } });
    if (records !== undefined) {
      expect(await records.get(recordId(before))).toBeUndefined();
      expect(await records.get(recordId(after))).toBeDefined();
    }
  });

  it('shows the user on every later request, and keeps the pre-login id anonymous', async () => {
    const { before, after } = await logIn();
    for (let i = 0; i < 3; i++) {
      expect((await app.get('/me').set('Cookie', after).expect(200)).body.user).toEqual({ id: 'ada', name: 'Ada Lovelace' });
    }
    if (records !== undefined) {
      await app.get('/me').set('Cookie', before).expect(401);
      expect((await app.get('/').set('Cookie', before).expect(200)).body).toEqual({ visits: 1, user: null });
    }
  });

  it("answers a wrong password with the form and passport's message, the visitor still anonymous", async () => {
    let cookie = cookiePair(await app.get('/').expect(200));
    for (const shown of [1, 2]) {
      const failed = await app.post('/login').set('Cookie', cookie).type('form').send({ username: 'ada', password: 'wrong' }).expect(302);
      expect(failed.headers.location).toBe('/login');
      // A server-side session keeps its id (the cookie comes again with a fresh expiry); a sealed
      // cookie is sealed again with the new data.
      if (records !== undefined) expect(cookiePair(failed)).toBe(cookie);
      cookie = cookiePair(failed);
      // The second push goes onto the array loaded from the store: a nested change the view saves.
      const { messages } = (await app.get('/login').set('Cookie', cookie).expect(200)).body;
      expect(messages).toEqual(Array(shown).fill('Wrong username or password.'));
    }
    expect((await app.get('/').set('Cookie', cookie).expect(200)).body).toEqual({ visits: 2, user: null });
  });

  it('logs out through a POST form: clears the cookie, and the logged-in cookie is anonymous afterwards', async () => {
    const { after } = await logIn();
    const logout = await app.post('/logout').set('Cookie', after).expect(302);
    expect(logout.headers.location).toBe('/');
    expect(clearsCookie(setCookies(logout))).toBe(true);
    if (records !== undefined) {
      expect(await records.get(recordId(after))).toBeUndefined();
      await app.get('/me').set('Cookie', after).expect(401);
      expect((await app.get('/').set('Cookie', after).expect(200)).body).toEqual({ visits: 1, user: null });
    } else {
      // A sealed cookie carries the session itself: nothing server-side can revoke a copy kept
      // from before logout, so it stays valid until it expires (use a server-side store when
      // logout must be final).
      await app.get('/me').set('Cookie', after).expect(200);
    }
  });
});

describe('koa-passport login with keepSessionInfo', () => {
  it('carries the anonymous data and returnTo over to the new id, and sends the user back where they were going', async () => {
    const store = new MemoryStore();
    stores.push(store);
    const app = http(passportApp(store));
    const before = cookiePair(await app.get('/').expect(200, { visits: 1, user: null }));
    await app.get('/account').set('Cookie', before).expect(302);
    const login = await app.post('/login-keeping-session').set('Cookie', before).type('form').send(form).expect(302);
    expect(login.headers.location).toBe('/account');
    const after = cookiePair(login);
    expect(after).not.toBe(before);
    expect(await store.get(recordId(before))).toBeUndefined();
    // passport deletes returnTo once it has redirected there; the rest came over from before login.
    expect((await app.get('/me').set('Cookie', after).expect(200)).body.session).toEqual({ visits: 1, passport: { user: 'ada' } });
    await app.get('/account').set('Cookie', after).expect(200, 'your account');
  });
});

describe('koa-passport with a user the deserializer no longer finds', () => {
  it('forgets the user on the next request (passport deletes session.passport.user in place; the view saves it)', async () => {
    const users = userTable();
    const store = new MemoryStore();
    stores.push(store);
    const app = http(passportApp(store, users));
    const cookie = cookiePair(await app.post('/login').type('form').send(form).expect(302));
    await app.get('/me').set('Cookie', cookie).expect(200);
    users.delete('ada');
    await app.get('/me').set('Cookie', cookie).expect(401);
    users.set('ada', userTable().get('ada')!);
    // The nested delete reached the store: the session no longer names a user even though one exists again.
    await app.get('/me').set('Cookie', cookie).expect(401);
    expect((await app.get('/').set('Cookie', cookie).expect(200)).body).toEqual({ visits: 1, user: null });
  });
});

describe('session({ ctxSession: true }) store calls under passport.session()', () => {
  it('makes no store call for a request without a cookie, and one read (before the handler) for one with a cookie', async () => {
    const store = new CountingStore();
    stores.push(store);
    const seen: number[] = [];
    // Runs after session(), the body parser and passport.session(): the store calls the handler sees.
    const agent = http(
      passportApp(store, userTable(), async (_ctx, next) => {
        seen.push(store.calls.get);
        await next();
      }),
    );

    await agent.get('/me').expect(401);
    expect(store.total).toBe(0);

    const cookie = cookiePair(await agent.post('/login').type('form').send(form).expect(302));
    store.reset();
    seen.length = 0;
    await agent.get('/me').set('Cookie', cookie).expect(200);
    expect(seen).toEqual([1]);
    expect(store.calls.get).toBe(1);
    expect(store.calls.create + store.calls.update + store.calls.destroy).toBe(0);
  });
});
