import { afterAll, describe, expect, it } from '@jest/globals';
import type Koa from 'koa';
import { msgpackSerializer, MSGPACK_CARRIES } from '../../serializers/msgpack.js';
import { superjsonSerializer } from '../../serializers/superjson.js';
import { getSession, jsonSerializer, SerializationError, type Serializer } from '../../src/index.js';
import { assertCarries } from '../../src/strict.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, setCookies, track } from '../helpers/app.js';
import { refusalOf } from '../helpers/serializer-cases.js';

afterAll(closeStores);

/** A value whose property reads 1 the first time and `later` every time after. */
function changingGetter(later: unknown): { v: unknown } {
  let reads = 0;
  return {
    get v() {
      return reads++ === 0 ? 1 : later;
    },
  };
}

/** A Proxy over `{ a: 1 }` whose trap answers 1 to the first read of `a` and `later` after. */
function changingProxy(later: unknown): { a: unknown } {
  let reads = 0;
  return new Proxy(
    { a: 1 as unknown },
    {
      get(target, key, receiver) {
        if (key === 'a') return reads++ === 0 ? 1 : later;
        return Reflect.get(target, key, receiver) as unknown;
      },
    },
  );
}

/** An app whose `/good` stores a plain profile and `/bad` stores `bad()` under `profile.x`; errors are collected. */
function appStoring(serializer: Serializer, bad: () => unknown): { app: Koa; store: CountingStore; errors: unknown[] } {
  const store = track(new CountingStore());
  const errors: unknown[] = [];
  const app = makeApp(
    { store, serializer },
    {
      '/good': async (ctx) => {
        (await getSession(ctx)).set('profile', { x: 'ann' });
        ctx.body = 'ok';
      },
      '/bad': async (ctx) => {
        (await getSession(ctx)).set('profile', { x: bad() });
        ctx.body = 'ok';
      },
      '/read': async (ctx) => void (ctx.body = (await getSession(ctx)).toJSON()),
    },
  );
  app.on('error', (error) => errors.push(error));
  return { app, store, errors };
}

describe.each([
  ['jsonSerializer()', () => jsonSerializer()],
  ['superjsonSerializer()', () => superjsonSerializer()],
  ['msgpackSerializer()', () => msgpackSerializer()],
])('session({ serializer: %s }) with a value the encoder would read differently', (_name, make) => {
  it.each<[string, () => unknown, string, string]>([
    ['a getter that answers 1, then a Date', () => changingGetter(new Date(0)), 'profile.x.v', 'accessor property'],
    ['a Proxy that answers 1, then a bigint', () => changingProxy(10n ** 30n), 'profile.x', 'Proxy'],
    ['a Proxy over a Date', () => new Proxy(new Date(0), {}), 'profile.x', 'Proxy'],
    ['a Proxy over a Map', () => new Proxy(new Map([['k', 1]]), {}), 'profile.x', 'Proxy'],
  ])('answers 500 with SerializationError for %s and keeps the stored session', async (_label, bad, path, type) => {
    const { app, store, errors } = appStoring(make(), bad);
    const cookie = cookiePair(await client(app).get('/good').expect(200));
    store.reset();
    const res = await client(app).get('/bad').set('Cookie', cookie).expect(500);
    expect(setCookies(res)).toEqual([]);
    expect(store.calls.update).toBe(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SerializationError);
    expect(errors[0]).toMatchObject({ code: 'ERR_SESSION_SERIALIZATION', path, type });
    await client(app)
      .get('/read')
      .set('Cookie', cookie)
      .expect(200, { profile: { x: 'ann' } });
  });
});

describe('assertCarries(value, carries) reading each value once', () => {
  it('refuses a getter without calling it', () => {
    let calls = 0;
    const value = {
      get v() {
        calls++;
        return 1;
      },
    };
    expect(refusalOf(jsonSerializer(), { value })).toMatchObject({ path: 'value.v', type: 'accessor property' });
    expect(calls).toBe(0);
  });

  it('refuses a setter-only property, a getter on an array element and one on an Error', () => {
    const setterOnly = Object.defineProperty({}, 'v', { set: () => undefined, enumerable: true });
    const array = Object.defineProperty([1, 2], 1, { get: () => 2, enumerable: true });
    const error = Object.defineProperty(new Error('x'), 'message', { get: () => 'y' });
    expect(refusalOf(jsonSerializer(), { setterOnly }).path).toBe('setterOnly.v');
    expect(refusalOf(jsonSerializer(), { array }).path).toBe('array[1]');
    expect(refusalOf(msgpackSerializer(), { error })).toMatchObject({ path: 'error.message', type: 'accessor property' });
  });

  it.each([
    ['jsonSerializer()', () => jsonSerializer()],
    ['superjsonSerializer()', () => superjsonSerializer()],
    ['msgpackSerializer()', () => msgpackSerializer()],
  ])('refuses a getter on an array element without calling it, under %s', (_name, make) => {
    let calls = 0;
    const list = Object.defineProperty([1, 2], 1, {
      get: () => {
        calls++;
        return 2;
      },
      enumerable: true,
    });
    expect(refusalOf(make(), { list })).toMatchObject({ path: 'list[1]', type: 'accessor property' });
    expect(calls).toBe(0);
  });

  it('refuses a Proxy at the root, and one nested in a Map or an Error cause', () => {
    expect(refusalOf(jsonSerializer(), new Proxy({}, {})).path).toBe('');
    expect(() => assertCarries({ m: new Map([['k', new Proxy([], {})]]) }, MSGPACK_CARRIES)).toThrow(/`m\.get\("k"\)` is a Proxy/);
    expect(refusalOf(msgpackSerializer(), { e: new Error('x', { cause: new Proxy({}, {}) }) }).path).toBe('e.cause');
  });

  it('never runs a trap of a Proxy it refuses', () => {
    const traps: string[] = [];
    const spy = new Proxy(
      {},
      {
        getPrototypeOf: (target) => (traps.push('getPrototypeOf'), Object.getPrototypeOf(target) as object | null),
        ownKeys: (target) => (traps.push('ownKeys'), Reflect.ownKeys(target)),
        get: (target, key) => (traps.push('get'), Reflect.get(target, key) as unknown),
      },
    );
    expect(refusalOf(superjsonSerializer(), { spy }).type).toBe('Proxy');
    expect(traps).toEqual([]);
  });

  it('still accepts data properties defined by hand and a stack that is an accessor', () => {
    const defined = Object.defineProperty({}, 'v', { value: 1, enumerable: true });
    const error = new Error('x');
    Object.defineProperty(error, 'stack', { get: () => 'at somewhere', configurable: true });
    expect(() => jsonSerializer().serialize({ defined })).not.toThrow();
    expect(() => msgpackSerializer().serialize({ error })).not.toThrow();
  });
});
