/** Cookie tossing: a planted cookie of the session's name, sent first, must not reset the victim's session. */

import { afterAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { Context } from 'koa';
import { readCookie, readCookies } from '../../src/cookie.js';
import { generateId, getSession } from '../../src/index.js';
import { CookieStore } from '../../stores/cookie.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, track } from '../helpers/app.js';

afterAll(closeStores);

const routes = {
  '/login': async (ctx: Context) => void ((await getSession(ctx)).set('user', 'ada'), (ctx.body = 'ok')),
  '/me': async (ctx: Context) => void (ctx.body = (await getSession(ctx)).toJSON()),
};

describe('several cookies of the session name in one request', () => {
  const planted = [
    ['garbage', 'koa.sid=garbage'],
    ['a well-formed id signed with another key', `koa.sid=${generateId()}.${'A'.repeat(43)}`],
    ['an oversized value', `koa.sid=${'x'.repeat(5000)}`],
  ];

  it.each(planted)('finds the session behind %s planted first', async (_label, bad) => {
    const store = track(new CountingStore());
    const app = client(makeApp({ store }, routes));
    const good = cookiePair(await app.get('/login'));
    expect((await app.get('/me').set('Cookie', `${bad}; ${good}`)).body).toEqual({ user: 'ada' });
  });

  it('starts a fresh session when no value of the name verifies', async () => {
    const store = track(new CountingStore());
    const app = client(makeApp({ store }, routes));
    expect((await app.get('/me').set('Cookie', 'koa.sid=garbage; koa.sid=more-garbage')).body).toEqual({});
    expect(store.calls.get).toBe(0);
  });

  it('finds it behind a planted cookie whose id the store does not know (unsigned ids)', async () => {
    const store = track(new CountingStore());
    const app = client(makeApp({ store }, routes, null));
    const good = cookiePair(await app.get('/login'));
    expect((await app.get('/me').set('Cookie', `koa.sid=${generateId()}; ${good}`)).body).toEqual({ user: 'ada' });
  });

  it('finds it behind a planted sealed cookie that does not open (CookieStore)', async () => {
    const store = new CookieStore({ keys: ['cookie-tossing-test-secret-0123456789'] });
    const app = client(makeApp({ store }, routes));
    const good = cookiePair(await app.get('/login'));
    expect((await app.get('/me').set('Cookie', `koa.sid=AAAA; ${good}`)).body).toEqual({ user: 'ada' });
  });

  it('tries a bounded number of them: planted cookies past the bound leave a fresh session', async () => {
    const store = track(new CountingStore());
    const app = client(makeApp({ store }, routes, null));
    const good = cookiePair(await app.get('/login'));
    const many = Array.from({ length: 8 }, () => `koa.sid=${generateId()}`).join('; ');
    store.reset();
    expect((await app.get('/me').set('Cookie', `${many}; ${good}`)).body).toEqual({});
    expect(store.calls.get).toBe(5);
  });
});

describe('readCookies(header, name)', () => {
  it('returns every value of the name, in order, and readCookie the first of them', () => {
    const token = fc.stringMatching(/^[A-Za-z0-9._-]{0,12}$/);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('koa.sid', 'other', 'koa.sidx', 'x.koa.sid'), token, fc.boolean()), { maxLength: 8 }),
        (pairs) => {
          const header = pairs.map(([n, v, quoted]) => `${n}=${quoted ? `"${v}"` : v}`).join('; ');
          const expected = pairs.filter(([n]) => n === 'koa.sid').map(([, v]) => v);
          expect(readCookies(header, 'koa.sid')).toEqual(expected);
          expect(readCookie(header, 'koa.sid')).toBe(expected[0]);
        },
      ),
    );
  });
});
