import { afterAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { getSession } from '../../src/index.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, track } from '../helpers/app.js';

describe('hostile cookies (property)', () => {
  afterAll(closeStores);
  const store = track(new CountingStore());
  const app = makeApp(
    { store },
    {
      '/set': async (ctx) => void ((await getSession(ctx)).set('secret', 'mine'), (ctx.body = 'ok')),
      '/read': async (ctx) => {
        const s = await getSession(ctx);
        ctx.body = { isNew: s.isNew, secret: s.get('secret') ?? null };
      },
    },
  );

  it('answers 200 with a fresh session for any cookie value an attacker can send, without a store read', async () => {
    const genuine = cookiePair(await client(app).get('/set')).slice('koa.sid='.length);
    const cookieOctets = fc.string({
      unit: fc.constantFrom(..."!#$%&'()*+-./0123456789:<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~".split('')),
      maxLength: 200,
    });
    const mutated = fc
      .tuple(fc.nat({ max: genuine.length - 1 }), fc.constantFrom(...'AB_-.0z'.split('')))
      .map(([at, ch]) => genuine.slice(0, at) + ch + genuine.slice(at + 1));
    await fc.assert(
      fc.asyncProperty(fc.oneof(cookieOctets, mutated), async (value) => {
        fc.pre(value !== genuine);
        store.reset();
        const res = await client(app).get('/read').set('Cookie', `koa.sid=${value}`);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ isNew: true, secret: null });
        expect(store.calls.get).toBe(0);
      }),
      { numRuns: 150 },
    );
  });

  it('gives the store a SHA-256 digest of the id, never the id itself', async () => {
    const seen: string[] = [];
    class Spy extends CountingStore {
      override create(id: string, record: Parameters<CountingStore['create']>[1]): Promise<boolean> {
        seen.push(id);
        return super.create(id, record);
      }
    }
    const spy = track(new Spy());
    const spied = makeApp({ store: spy }, { '/': async (ctx) => void ((await getSession(ctx)).set('a', 1), (ctx.body = 'ok')) });
    const id = cookiePair(await client(spied).get('/'))
      .slice('koa.sid='.length)
      .split('.')[0]!;
    expect(seen).toEqual([createHash('sha256').update(id).digest('base64url')]);
    expect(seen[0]).not.toContain(id);
    // A stolen store key used as a cookie is just an unknown id.
    const res = await client(spied).get('/').set('Cookie', `koa.sid=${seen[0]}`);
    expect(res.status).toBe(200);
  });
});
