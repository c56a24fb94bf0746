/** Cookie tossing: a planted cookie of the session's name, sent first, must not reset the victim's session. */

import { afterAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
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
