/** An upstream error page answering a thrown 4xx: the session cookie reaches the client exactly once. */

import { afterAll, describe, expect, it } from '@jest/globals';
import Koa, { type Context } from 'koa';
import { getSession, session, type SessionStore } from '../../src/index.js';
import { CookieStore } from '../../stores/cookie.js';
import { client, closeStores, cookiePair, CountingStore, setCookies, track } from '../helpers/app.js';

afterAll(closeStores);

/** An app with the usual Koa error page above `session()` (or Koa's default handler when `page` is false). */
function appWith(page: boolean, store: SessionStore = track(new CountingStore())) {
  const app = new Koa();
  app.keys = ['error-page-test-key-0123456789abcdef'];
  app.silent = true;
  if (page) {
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        ctx.status = (error as { status?: number }).status ?? 500;
        ctx.body = { error: (error as Error).message };
      }
    });
  }
  app.use(session({ store }));
  const routes: Record<string, (ctx: Context) => Promise<void>> = {
    '/new-then-403': async (ctx) => {
      (await getSession(ctx)).set('cart', 1);
      ctx.throw(403, 'no');
    },
    '/seed': async (ctx) => void ((await getSession(ctx)).set('user', 'ada'), (ctx.body = 'ok')),
    '/regenerate-then-403': async (ctx) => {
      (await getSession(ctx)).regenerate();
      ctx.throw(403, 'no');
    },
    '/logout-then-401': async (ctx) => {
      (await getSession(ctx)).invalidate();
      ctx.throw(401, 'bye');
    },
    '/me': async (ctx) => void (ctx.body = (await getSession(ctx)).toJSON()),
  };
  app.use(async (ctx) => routes[ctx.path]!(ctx));
  return client(app);
}

describe.each([
  ['an app error page', true],
  ["Koa's default error handler", false],
])('a thrown 4xx answered by %s', (_label, page) => {
  it('sends the new session’s cookie once, and the data is there next time', async () => {
    const app = appWith(page);
    const response = await app.get('/new-then-403').expect(403);
    expect(setCookies(response)).toHaveLength(1);
    expect((await app.get('/me').set('Cookie', cookiePair(response))).body).toEqual({ cart: 1 });
  });

  it('sends the regenerated id once, so the user stays logged in', async () => {
    const app = appWith(page);
    const seeded = await app.get('/seed');
    const response = await app.get('/regenerate-then-403').set('Cookie', cookiePair(seeded)).expect(403);
    expect(setCookies(response)).toHaveLength(1);
    expect((await app.get('/me').set('Cookie', cookiePair(response))).body).toEqual({ user: 'ada' });
  });

  it('clears a CookieStore cookie once on invalidate() then a 401', async () => {
    const app = appWith(page, new CookieStore({ keys: ['error-page-test-secret-0123456789abcdef'] }));
    const seeded = await app.get('/seed');
    const response = await app.get('/logout-then-401').set('Cookie', cookiePair(seeded)).expect(401);
    expect(setCookies(response)).toEqual([expect.stringMatching(/^koa\.sid=; Max-Age=0/)]);
  });
});
