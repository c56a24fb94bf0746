import { afterAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { generateId, getSession } from '../../src/index.js';
import { client, closeStores, cookiePair, cookieValue, CountingStore, makeApp, track } from '../helpers/app.js';

describe('session.identity and setNewIdentity(id)', () => {
  afterAll(closeStores);
  const chosen = generateId();
  const store = track(new CountingStore());
  const app = makeApp(
    { store },
    {
      '/new': async (ctx: Context) => {
        const s = await getSession(ctx);
        const before = s.identity;
        s.setNewIdentity(chosen);
        s.set('a', 1);
        ctx.body = { before: before ?? null, after: s.identity };
      },
      '/set': async (ctx: Context) => void ((await getSession(ctx)).set('a', 1), (ctx.body = 'ok')),
      '/again': async (ctx: Context) => {
        const s = await getSession(ctx);
        try {
          s.setNewIdentity(generateId());
          ctx.body = 'allowed';
        } catch (error) {
          ctx.body = (error as Error).message;
        }
      },
      '/bad-id': async (ctx: Context) => {
        const s = await getSession(ctx);
        ctx.body = await Promise.resolve()
          .then(() => s.setNewIdentity('../../x'))
          .then(
            () => 'allowed',
            (error: Error) => `${error.name}: ${error.message}`,
          );
      },
      '/who': async (ctx: Context) => {
        const s = await getSession(ctx);
        ctx.body = { identity: s.identity ?? null, isNew: s.isNew };
      },
    },
  );

  it('is undefined on a new session and the cookie id once saved', async () => {
    await client(app).get('/who').expect(200, { identity: null, isNew: true });
  });

  it('uses the id given to setNewIdentity on a new session', async () => {
    const res = await client(app).get('/new').expect(200, { before: null, after: chosen });
    expect(cookieValue(res).split('.')[0]).toBe(chosen);
    await client(app).get('/who').set('Cookie', cookiePair(res)).expect(200, { identity: chosen, isNew: false });
  });

  it('refuses setNewIdentity on a session that already has an id', async () => {
    const cookie = cookiePair(await client(app).get('/set'));
    const res = await client(app).get('/again').set('Cookie', cookie);
    expect(res.text).toMatch(/setNewIdentity\(\) works only on a new session/);
  });

  it('fails the commit with a SessionStoreError when the chosen id is already in use', async () => {
    await client(app).get('/new').expect(500);
  });

  it('refuses an id of the wrong shape', async () => {
    const res = await client(app).get('/bad-id');
    expect(res.text).toMatch(/^TypeError: koa-session-kit: `id` must be 32 random bytes/);
  });
});
