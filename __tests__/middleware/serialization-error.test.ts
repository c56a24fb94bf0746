import { afterAll, describe, expect, it } from '@jest/globals';
import { getSession, SerializationError, isSerializationError } from '../../src/index.js';
import { appOn, client, closeStores, cookiePair, CountingStore, koaErrors, makeApp, setCookies } from '../helpers/app.js';

describe('session() commit with a value JSON cannot carry', () => {
  afterAll(closeStores);
  const { store, app } = appOn(new CountingStore(), {
    '/good': async (ctx) => {
      (await getSession(ctx)).set('cart', { items: [{ sku: 'a' }] });
      ctx.body = 'ok';
    },
    '/bad': async (ctx) => {
      const s = await getSession<{ cart: { items: { sku: string; addedAt?: Date }[] } }>(ctx);
      const items = s.get('cart')?.items ?? [{ sku: 'a' }];
      items.push({ sku: 'b' }, { sku: 'c', addedAt: new Date() });
      s.set('cart', { items });
      ctx.body = 'ok';
    },
    '/read': async (ctx) => void (ctx.body = (await getSession(ctx)).toJSON()),
  });
  const errors = koaErrors(app);

  it('fails the request with 500, reports the path and leaves the stored session as it was', async () => {
    const cookie = cookiePair(await client(app).get('/good'));
    store.reset();
    const res = await client(app).get('/bad').set('Cookie', cookie).expect(500, 'Internal Server Error');
    expect(setCookies(res)).toEqual([]);
    expect(store.calls.update).toBe(0);
    const error = errors.at(-1) as SerializationError;
    expect(error).toBeInstanceOf(SerializationError);
    expect(isSerializationError(error)).toBe(true);
    expect(error.code).toBe('ERR_SESSION_SERIALIZATION');
    expect(error.path).toBe('cart.items[2].addedAt');
    expect(error.message).toMatch(/Date/);
    expect(error.message).toMatch(/superjson|msgpack/);
    await client(app)
      .get('/read')
      .set('Cookie', cookie)
      .expect(200, { cart: { items: [{ sku: 'a' }] } });
  });

  it('refuses a top-level `__proto__` key at commit instead of dropping it or setting a prototype', async () => {
    const proto = makeApp(
      { store },
      {
        '/': async (ctx) => {
          (await getSession(ctx)).set('__proto__', { polluted: true });
          ctx.body = 'ok';
        },
      },
    );
    proto.on('error', (error) => errors.push(error));
    store.reset();
    await client(proto).get('/').expect(500);
    expect(store.calls.create).toBe(0);
    expect((errors.at(-1) as SerializationError).path).toBe('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('creates nothing and sets no cookie for a new session holding a bad value', async () => {
    store.reset();
    const res = await client(app).get('/bad').expect(500);
    expect(setCookies(res)).toEqual([]);
    expect(store.calls.create).toBe(0);
  });
});
