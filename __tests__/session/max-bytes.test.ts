/** `maxBytes`: a session's serialized data has a size cap, refused at commit with the stored session unchanged. */

import { afterAll, describe, expect, it } from '@jest/globals';
import Koa, { type Context } from 'koa';
import { getSession, isSessionTooLargeError, session } from '../../src/index.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, track } from '../helpers/app.js';

afterAll(closeStores);

describe('session({ maxBytes })', () => {
  const routes = {
    '/put': async (ctx: Context) => void ((await getSession(ctx)).set('blob', 'x'.repeat(Number(ctx.query.n))), (ctx.body = 'ok')),
    '/read': async (ctx: Context) => void (ctx.body = (await getSession(ctx)).toJSON()),
  };

  it('refuses a commit over the cap with a 500 and leaves the stored session as it was', async () => {
    const store = track(new CountingStore());
    const app = client(makeApp({ store, maxBytes: 1000 }, routes));
    const cookie = cookiePair(await app.get('/put?n=100').expect(200));
    store.reset();
    await app.get('/put?n=2000').set('Cookie', cookie).expect(500);
    expect(store.calls.update).toBe(0);
    expect(((await app.get('/read').set('Cookie', cookie)).body as { blob: string }).blob).toHaveLength(100);
  });

  it('has a default of 256 KiB and names the error with a code, the size and the limit', async () => {
    const errors: unknown[] = [];
    const app = new Koa();
    app.keys = ['max-bytes-test-key-0123456789abcdef'];
    app.silent = true;
    app.on('error', (error) => errors.push(error));
    app.use(session({ store: track(new CountingStore()) }));
    app.use(routes['/put']);
    await client(app)
      .get(`/put?n=${256 * 1024}`)
      .expect(500);
    expect(errors).toHaveLength(1);
    const error = errors[0] as { code: string; size: number; limit: number };
    expect(isSessionTooLargeError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'ERR_SESSION_TOO_LARGE', limit: 262_144 });
    expect(error.size).toBeGreaterThan(262_144);
    await client(app).get('/put?n=1000').expect(200);
  });

  it('is checked at startup', () => {
    expect(() => session({ maxBytes: 0 })).toThrow(RangeError);
    expect(() => session({ maxBytes: 1.5 as number })).toThrow(/`maxBytes` must/);
  });
});
