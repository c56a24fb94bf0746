/** CookieStore binds each sealed value to its cookie's name: two session()s sharing keys cannot replay each other's cookies. */

import { describe, expect, it } from '@jest/globals';
import Koa, { type Context } from 'koa';
import { getSession, session } from '../../../src/index.js';
import { CookieStore } from '../../../stores/cookie.js';
import { client as http, cookieValue, makeApp } from '../../helpers/app.js';

const SECRET = 'shared-secret-0123456789-0123456789-abcd';

/** A user session (`koa.sid`) and an admin session (`admin.sid`), each with its own CookieStore on the same keys. */
function twoSessionsApp(): ReturnType<typeof http> {
  const app = new Koa();
  app.silent = true;
  app.use(session({ store: new CookieStore({ keys: [SECRET] }) }));
  app.use(session({ name: 'admin', store: new CookieStore({ keys: [SECRET] }), cookie: { name: 'admin.sid' } }));
  app.use(async (ctx: Context) => {
    if (ctx.path === '/user/login') {
      (await getSession(ctx)).set('role', 'admin');
      ctx.body = 'ok';
    } else if (ctx.path === '/admin/login') {
      (await getSession(ctx, 'admin')).set('role', 'user');
      ctx.body = 'ok';
    } else if (ctx.path === '/whoami') {
      ctx.body = { user: (await getSession(ctx)).toJSON(), admin: (await getSession(ctx, 'admin')).toJSON() };
    }
  });
  return http(app);
}

describe('session() on CookieStore with two cookie names sharing keys', () => {
  it('gives a fresh, empty session to a koa.sid value replayed as admin.sid, and the other way round', async () => {
    const app = twoSessionsApp();
    const user = cookieValue(await app.get('/user/login').expect(200));
    const admin = cookieValue(await app.get('/admin/login').expect(200), 'admin.sid');

    await app
      .get('/whoami')
      .set('Cookie', `koa.sid=${user}; admin.sid=${admin}`)
      .expect(200, { user: { role: 'admin' }, admin: { role: 'user' } });
    await app.get('/whoami').set('Cookie', `admin.sid=${user}`).expect(200, { user: {}, admin: {} });
    await app.get('/whoami').set('Cookie', `koa.sid=${admin}`).expect(200, { user: {}, admin: {} });
  });
});

describe('session() on CookieStore and a cookie sealed in format 1 (before names were bound)', () => {
  const V1_SECRET = 'fixture-secret-for-format-v1-0123456789';
  /** A session `{ views: 3 }` (JSON, created 2026-01-01, expiring 2100-01-01) as the first release sealed it. */
  const V1_SEALED = 'AQ6xAZw2eSvT-QRuFrs-4lIvmg1E_icqOLy1IO8o0OfRbnYxZHE7ekMOTEMQj0acVkknrXBtB_KIUhus95VszqIh5agSYXok5JY';

  it('loads it and reseals it in format 2, bound to the cookie name, in the same response', async () => {
    const routes = { '/read': async (ctx: Context) => void (ctx.body = (await getSession(ctx)).toJSON()) };
    const app = http(makeApp({ store: new CookieStore({ keys: [V1_SECRET] }) }, routes));
    const response = await app.get('/read').set('Cookie', `koa.sid=${V1_SEALED}`).expect(200, { views: 3 });
    const resealed = cookieValue(response);
    expect(Buffer.from(resealed, 'base64url')[0]).toBe(2);
    const store = new CookieStore({ keys: [V1_SECRET] });
    expect(store.open(resealed, Date.now(), 'koa.sid')).toMatchObject({ stale: false });
    expect(store.open(resealed, Date.now(), 'admin.sid')).toBeUndefined();
  });
});
