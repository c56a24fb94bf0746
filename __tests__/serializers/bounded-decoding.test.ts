import { afterAll, describe, expect, it } from '@jest/globals';
import { Packr } from 'msgpackr';
import { msgpackSerializer } from '../../serializers/msgpack.js';
import { superjsonSerializer } from '../../serializers/superjson.js';
import { EnvelopeCodec } from '../../src/envelope.js';
import { digestId } from '../../src/id.js';
import { getSession, jsonSerializer, SerializationError, type Serializer } from '../../src/index.js';
import { MAX_BIGINT_DIGITS, MAX_SESSION_VALUES } from '../../src/strict.js';
import { client, closeStores, cookiePair, cookieValue, CountingStore, makeApp, track } from '../helpers/app.js';
import { refusalOf, roundTrip } from '../helpers/serializer-cases.js';

afterAll(closeStores);

const utf8 = new TextEncoder();

/**
 * superjson bytes for `levels` objects, each level's two properties made (by `referentialEqualities`)
 * the same object as the next level: about 50 bytes a level, 2^levels values once expanded.
 */
function superjsonDag(levels: number): Uint8Array {
  const json: Record<string, unknown> = {};
  const equalities: Record<string, string[]> = {};
  for (let i = 0; i < levels; i++) {
    json[`l${i}`] = { a: null, b: null };
    equalities[`l${i + 1}`] = [`l${i}.a`, `l${i}.b`];
  }
  json[`l${levels}`] = { x: 1 };
  return utf8.encode(JSON.stringify({ json, meta: { referentialEqualities: equalities, v: 1 } }));
}

/** `levels` objects, each holding the next one twice. */
function dag(levels: number): object {
  let node: object = { x: 1 };
  for (let i = 0; i < levels; i++) node = { a: node, b: node };
  return node;
}

/** An app counting views, with `/store` to write `value` and `/read` to show the session. */
function counterApp(serializer: Serializer, value: () => unknown = () => null) {
  const store = track(new CountingStore());
  const errors: unknown[] = [];
  const app = makeApp(
    { store, serializer },
    {
      '/count': async (ctx) => {
        const s = await getSession<{ views: number }>(ctx);
        s.set('views', (s.get('views') ?? 0) + 1);
        ctx.body = { views: s.get('views') };
      },
      '/store': async (ctx) => {
        (await getSession(ctx)).set('big', value());
        ctx.body = 'ok';
      },
      '/keys': async (ctx) => void (ctx.body = [...(await getSession(ctx)).keys()]),
    },
  );
  app.on('error', (error) => errors.push(error));
  return { app, store, errors };
}

/** Replaces the stored user data of the session behind `cookie` with `payload`, as a hostile or corrupt store would. */
async function plant(store: CountingStore, serializer: Serializer, cookie: string, payload: Uint8Array): Promise<void> {
  const digest = digestId(cookie.slice(cookie.indexOf('=') + 1).split('.')[0] as string);
  const data = new EnvelopeCodec(serializer.name).encode(Date.now(), undefined, payload);
  expect(await store.update(digest, { data, expires: Date.now() + 60_000 })).toBeDefined();
}

describe('session({ serializer: superjsonSerializer() }) loading a record whose referentialEqualities expand', () => {
  it('starts a fresh session at once instead of re-encoding 2^21 values', async () => {
    const serializer = superjsonSerializer();
    const { app, store } = counterApp(serializer);
    const cookie = cookiePair(await client(app).get('/count').expect(200, { views: 1 }));
    const bytes = superjsonDag(21);
    expect(bytes.length).toBeLessThan(1200);
    await plant(store, serializer, cookie, bytes);
    const started = performance.now();
    await client(app).get('/count').set('Cookie', cookie).expect(200, { views: 1 });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('loads a record that shares objects within the limit', async () => {
    const serializer = superjsonSerializer();
    const { app, store } = counterApp(serializer);
    const cookie = cookiePair(await client(app).get('/count').expect(200));
    await plant(store, serializer, cookie, superjsonDag(8));
    await client(app)
      .get('/keys')
      .set('Cookie', cookie)
      .expect(
        200,
        Array.from({ length: 9 }, (_, i) => `l${i}`),
      );
  });
});

describe.each([
  ['jsonSerializer()', () => jsonSerializer()],
  ['superjsonSerializer()', () => superjsonSerializer()],
])('session({ serializer: %s }) storing shared objects that expand', (_name, make) => {
  it('answers 500 with SerializationError and keeps the stored session', async () => {
    const { app, store, errors } = counterApp(make(), () => dag(20));
    const cookie = cookiePair(await client(app).get('/count').expect(200));
    store.reset();
    const started = performance.now();
    await client(app).get('/store').set('Cookie', cookie).expect(500);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(store.calls.update).toBe(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SerializationError);
    expect(errors[0]).toMatchObject({ code: 'ERR_SESSION_SERIALIZATION', type: 'too many values' });
    expect((errors[0] as SerializationError).path).toMatch(/^big(\.[ab])+$/);
    await client(app).get('/count').set('Cookie', cookie).expect(200, { views: 2 });
  });
});

describe('the value limit', () => {
  const json = jsonSerializer();
  const superjson = superjsonSerializer();

  it('counts array elements, properties, Map entries and Set members, and accepts data at the limit', () => {
    // The session object, the array and its elements.
    const atLimit = { a: new Array<number>(MAX_SESSION_VALUES - 2).fill(0) };
    expect(roundTrip(json, atLimit)).toEqual(atLimit);
    expect(refusalOf(json, { a: [...atLimit.a, 0] })).toMatchObject({ path: '', type: 'too many values' });
    expect(refusalOf(json, { a: [...atLimit.a, 0, 0] })).toMatchObject({ path: 'a', type: 'too many values' });
    const map = new Map(Array.from({ length: MAX_SESSION_VALUES / 2 }, (_, i) => [i, i]));
    expect(refusalOf(superjson, { map }).type).toBe('too many values');
  });

  it('rejects stored JSON text past the limit, so what cannot be written cannot be read', () => {
    const text = JSON.stringify({ a: new Array<number>(MAX_SESSION_VALUES).fill(0) });
    expect(() => json.deserialize(utf8.encode(text))).toThrow(/too many values at `a`/);
  });

  it('does not limit msgpack, which writes a shared object once', () => {
    const value = { big: dag(40) };
    expect(() => msgpackSerializer().serialize(value)).not.toThrow();
  });
});

describe.each([
  ['superjsonSerializer()', () => superjsonSerializer()],
  ['msgpackSerializer()', () => msgpackSerializer()],
])('session({ serializer: %s }) and long bigints', (_name, make) => {
  const longest = 10n ** BigInt(MAX_BIGINT_DIGITS) - 1n;

  it(`keeps a bigint of ${MAX_BIGINT_DIGITS} digits, either sign`, () => {
    expect(roundTrip(make(), { n: longest, m: -longest })).toEqual({ n: longest, m: -longest });
  });

  it(`answers 500 with SerializationError for a bigint of ${MAX_BIGINT_DIGITS + 1} digits and keeps the stored session`, async () => {
    const { app, store, errors } = counterApp(make(), () => ({ n: -(longest + 1n) }));
    const cookie = cookiePair(await client(app).get('/count').expect(200));
    store.reset();
    await client(app).get('/store').set('Cookie', cookie).expect(500);
    expect(store.calls.update).toBe(0);
    expect(errors).toMatchObject([{ code: 'ERR_SESSION_SERIALIZATION', path: 'big.n', type: 'long bigint' }]);
    await client(app).get('/count').set('Cookie', cookie).expect(200, { views: 2 });
  });
});

describe('loading a stored bigint of a million digits', () => {
  const digits = '7'.repeat(1_000_000);
  const msgpackOptions = { structuredClone: true, useBigIntExtension: true, useRecords: true, mapsAsObjects: false };
  it.each<[string, () => Serializer, () => Uint8Array]>([
    [
      'superjson',
      () => superjsonSerializer(),
      () => utf8.encode(JSON.stringify({ json: { views: 5, n: digits }, meta: { values: { n: ['bigint'] }, v: 1 } })),
    ],
    [
      'superjson, digits escaped and padded',
      () => superjsonSerializer(),
      () =>
        utf8.encode(
          JSON.stringify({ json: { views: 5, n: ` ${digits} ` }, meta: { values: { n: ['bigint'] }, v: 1 } })
            .replace('"bigint"', '"\\u0062igint"')
            .replace(' 777', ' \\u003777'),
        ),
    ],
    ['msgpack', () => msgpackSerializer(), () => new Packr(msgpackOptions).pack({ views: 5, n: BigInt(digits) })],
  ])('starts a fresh session under %s, without parsing it', async (_name, make, payload) => {
    const serializer = make();
    const { app, store } = counterApp(serializer);
    const cookie = cookiePair(await client(app).get('/count').expect(200, { views: 1 }));
    await plant(store, serializer, cookie, payload());
    const started = performance.now();
    const res = await client(app).get('/count').set('Cookie', cookie).expect(200, { views: 1 });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(cookieValue(res)).not.toBe(cookie.slice(cookie.indexOf('=') + 1));
  });
});

describe('superjsonSerializer() and long digit strings', () => {
  const superjson = superjsonSerializer();
  const long = '1'.repeat(MAX_BIGINT_DIGITS + 1);

  it('keeps a long digit string in a session without bigints', () => {
    expect(roundTrip(superjson, { s: long })).toEqual({ s: long });
  });

  it('refuses one beside a bigint, with its path, as loading would reject it', () => {
    expect(refusalOf(superjson, { n: 1n, nested: { list: ['x', long] } })).toMatchObject({
      path: 'nested.list[1]',
      type: 'long decimal string',
    });
    const text = JSON.stringify({ json: { n: '1', s: long }, meta: { values: { n: ['bigint'] }, v: 1 } });
    expect(() => superjson.deserialize(utf8.encode(text))).toThrow(RangeError);
  });
});
