import { afterAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { getSession, jsonSerializer, MemoryStore, type Serializer } from '../../src/index.js';
import { msgpackSerializer } from '../../serializers/msgpack.js';
import { superjsonSerializer } from '../../serializers/superjson.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, setCookies, track } from '../helpers/app.js';

afterAll(closeStores);

/** What the typed routes report about the values they read back, so the test sees types, not JSON. */
async function describeRich(ctx: Context): Promise<void> {
  const s = await getSession(ctx);
  const at = s.get('at');
  const tags = s.get('tags');
  const big = s.get('big');
  const seen = s.get('seen');
  ctx.body = {
    at: at instanceof Date ? at.toISOString() : typeof at,
    tags: tags instanceof Set ? [...(tags as Set<string>)] : typeof tags,
    big: typeof big === 'bigint' ? `${big}n` : typeof big,
    seen: seen instanceof Map ? Object.fromEntries(seen as Map<string, number>) : typeof seen,
  };
}

function richApp(serializer: Serializer, store: MemoryStore) {
  return makeApp(
    { store, serializer },
    {
      '/set': async (ctx) => {
        const s = await getSession(ctx);
        s.set('at', new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)));
        s.set('tags', new Set(['a', 'b']));
        s.set('big', 2n ** 70n);
        s.set('seen', new Map([['home', 1]]));
        ctx.body = 'ok';
      },
      '/mutate': async (ctx) => {
        const s = await getSession(ctx);
        (s.get('tags') as Set<string>).add('c');
        (s.get('seen') as Map<string, number>).set('cart', 2);
        s.set('big', (s.get('big') as bigint) + 1n);
        ctx.body = 'ok';
      },
      '/read': describeRich,
    },
  );
}

describe.each([
  ['superjsonSerializer()', () => superjsonSerializer()],
  ['msgpackSerializer()', () => msgpackSerializer()],
])('session({ serializer: %s })', (_name, make) => {
  const store = track(new CountingStore());
  const app = richApp(make(), store);

  it('keeps Date, Set, Map and BigInt across requests, including in-place changes', async () => {
    const cookie = cookiePair(await client(app).get('/set').expect(200));
    await client(app)
      .get('/read')
      .set('Cookie', cookie)
      .expect(200, {
        at: '2026-01-02T03:04:05.006Z',
        tags: ['a', 'b'],
        big: `${2n ** 70n}n`,
        seen: { home: 1 },
      });
    await client(app).get('/mutate').set('Cookie', cookie).expect(200);
    await client(app)
      .get('/read')
      .set('Cookie', cookie)
      .expect(200, {
        at: '2026-01-02T03:04:05.006Z',
        tags: ['a', 'b', 'c'],
        big: `${2n ** 70n + 1n}n`,
        seen: { home: 1, cart: 2 },
      });
  });

  it('encodes the same data to the same bytes, so a read-only request writes nothing', async () => {
    const cookie = cookiePair(await client(app).get('/set').expect(200));
    store.reset();
    const res = await client(app).get('/read').set('Cookie', cookie).expect(200);
    expect(store.calls).toEqual({ get: 1, create: 0, update: 0, touch: 0, destroy: 0 });
    expect(setCookies(res)).toEqual([]);
  });
});

describe('two apps in one process, one on superjson and one on msgpack', () => {
  it('each keep their own rich values', async () => {
    const sj = richApp(superjsonSerializer(), track(new MemoryStore()));
    const mp = richApp(msgpackSerializer(), track(new MemoryStore()));
    const sjCookie = cookiePair(await client(sj).get('/set'));
    const mpCookie = cookiePair(await client(mp).get('/set'));
    await client(mp).get('/mutate').set('Cookie', mpCookie).expect(200);
    const sjBody = (await client(sj).get('/read').set('Cookie', sjCookie).expect(200)).body as { tags: string[] };
    const mpBody = (await client(mp).get('/read').set('Cookie', mpCookie).expect(200)).body as { tags: string[] };
    expect(sjBody.tags).toEqual(['a', 'b']);
    expect(mpBody.tags).toEqual(['a', 'b', 'c']);
  });
});

describe('switching serializer over one MemoryStore', () => {
  const store = track(new CountingStore());
  const counter = (serializer: Serializer) =>
    makeApp(
      { store, serializer },
      {
        '/count': async (ctx) => {
          const s = await getSession<{ views: number }>(ctx);
          s.set('views', (s.get('views') ?? 0) + 1);
          ctx.body = { views: s.get('views') };
        },
      },
    );
  const apps = { json: counter(jsonSerializer()), superjson: counter(superjsonSerializer()), msgpack: counter(msgpackSerializer()) };

  it.each([
    ['json', 'superjson'],
    ['json', 'msgpack'],
    ['superjson', 'json'],
    ['superjson', 'msgpack'],
    ['msgpack', 'json'],
    ['msgpack', 'superjson'],
  ] as const)('turns a %s session into a fresh one under %s, with status 200 and a new cookie', async (from, to) => {
    const first = await client(apps[from]).get('/count').expect(200, { views: 1 });
    const cookie = cookiePair(first);
    await client(apps[from]).get('/count').set('Cookie', cookie).expect(200, { views: 2 });
    const switched = await client(apps[to]).get('/count').set('Cookie', cookie).expect(200, { views: 1 });
    expect(cookiePair(switched)).not.toBe(cookie);
  });
});

describe('a value the chosen serializer cannot carry, through the middleware', () => {
  it.each([
    ['msgpack', () => msgpackSerializer(), 'profile.nick', 'a\ud800', 'lone surrogate'],
    ['superjson', () => superjsonSerializer(), 'profile.nick', new Date(Number.NaN), 'Invalid Date'],
  ] as const)('fails the request under %s with the path and leaves the session as it was', async (_name, make, path, bad, type) => {
    const store = track(new CountingStore());
    const errors: unknown[] = [];
    const app = makeApp(
      { store, serializer: make() },
      {
        '/good': async (ctx) => {
          (await getSession(ctx)).set('profile', { nick: 'ann' });
          ctx.body = 'ok';
        },
        '/bad': async (ctx) => {
          (await getSession(ctx)).set('profile', { nick: bad });
          ctx.body = 'ok';
        },
        '/read': async (ctx) => void (ctx.body = (await getSession(ctx)).toJSON()),
      },
    );
    app.on('error', (error) => errors.push(error));
    const cookie = cookiePair(await client(app).get('/good').expect(200));
    await client(app).get('/bad').set('Cookie', cookie).expect(500);
    expect(errors).toMatchObject([{ code: 'ERR_SESSION_SERIALIZATION', path, type }]);
    await client(app)
      .get('/read')
      .set('Cookie', cookie)
      .expect(200, { profile: { nick: 'ann' } });
  });
});
