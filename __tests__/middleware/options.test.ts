import { afterAll, describe, expect, it } from '@jest/globals';
import { getSession, session, type SessionOptions } from '../../src/index.js';
import { client, closeStores, CountingStore, makeApp, setCookies, track } from '../helpers/app.js';

describe('session(options)', () => {
  afterAll(closeStores);

  it('works with no options at all (MemoryStore, JSON)', async () => {
    const app = makeApp({}, { '/': async (ctx) => void ((await getSession(ctx)).set('a', 1), (ctx.body = 'ok')) });
    expect(setCookies(await client(app).get('/').expect(200))).toHaveLength(1);
  });

  it('accepts a frozen options object and never mutates it', () => {
    const options = Object.freeze({ maxAge: 1000, cookie: Object.freeze({ name: 'x' }) });
    expect(() => session(options)).not.toThrow();
    expect(options).toEqual({ maxAge: 1000, cookie: { name: 'x' } });
  });

  it('keeps the default when an option is undefined, and merges cookie options field by field', async () => {
    const app = makeApp(
      { store: track(new CountingStore()), maxAge: undefined, cookie: { name: 'x' } },
      {
        '/': async (ctx) => void ((await getSession(ctx)).set('a', 1), (ctx.body = 'ok')),
      },
    );
    const [line] = setCookies(await client(app).get('/'));
    expect(line).toMatch(/^x=.+; Max-Age=86400; .*HttpOnly; SameSite=Lax$/);
  });

  it.each([
    ['ttl', 'maxAge'],
    ['secret', 'keys'],
    ['key', 'cookie.name'],
    ['renew', 'rolling'],
    ['saveUninitialized', 'nothing'],
  ])('throws a TypeError for the foreign option %s, pointing at %s', (key, hint) => {
    expect(() => session({ [key]: 1 } as SessionOptions)).toThrow(TypeError);
    expect(() => session({ [key]: 1 } as SessionOptions)).toThrow(
      new RegExp(`\`${key}\` is not a session\\(\\) option; did you mean \`?${hint.replace('.', '\\.')}`),
    );
  });

  it.each([null, 'koa.sid', 42])('refuses options that are not an object (%p)', (options) => {
    expect(() => session(options as unknown as SessionOptions)).toThrow(TypeError);
    expect(() => session(options as unknown as SessionOptions)).toThrow('koa-session-kit: session() options must be an object');
  });

  it.each(['', 'has space', 'naïve', 'x'.repeat(256)])('refuses a serializer named %p: the name is written into every record', (name) => {
    const serializer = { name, serialize: () => new Uint8Array(), deserialize: () => ({}) };
    expect(() => session({ serializer })).toThrow('koa-session-kit: serializer `name` must be 1-255 printable ASCII characters');
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])(
    'refuses name: %p, which would replace or shadow a property of ctx.state',
    (name) => {
      expect(() => session({ name })).toThrow(
        new TypeError(`koa-session-kit: \`name\` must be a non-empty string that is not an Object.prototype property (received "${name}")`),
      );
    },
  );

  it('refuses a store without the methods of a Store, naming the missing ones', () => {
    const fn = async () => undefined;
    const rule =
      'a store instance such as new MemoryStore(), with methods get, create, update, touch, destroy (and, optionally, prune and close)';
    expect(() => session({ store: {} as SessionOptions['store'] })).toThrow(
      new TypeError(
        `koa-session-kit: \`store\` must be ${rule} (received Object without \`get\`, \`create\`, \`update\`, \`touch\`, \`destroy\`)`,
      ),
    );
    const almost = { get: fn, create: fn, update: fn, touch: fn };
    expect(() => session({ store: almost as unknown as SessionOptions['store'] })).toThrow(
      new TypeError(`koa-session-kit: \`store\` must be ${rule} (received Object without \`destroy\`)`),
    );
    const badPrune = { ...almost, destroy: fn, prune: 60_000 };
    expect(() => session({ store: badPrune as unknown as SessionOptions['store'] })).toThrow(
      /received Object whose `prune` is not a function\)$/,
    );
    expect(() => session({ store: { ...almost, destroy: fn } as unknown as SessionOptions['store'] })).not.toThrow();
  });

  it('refuses a sealed cookie store without seal or open', () => {
    const half = { kind: 'sealed-cookie' as const, seal: () => '' };
    expect(() => session({ store: half as unknown as SessionOptions['store'] })).toThrow(
      /^koa-session-kit: `store` must be a store instance such as new MemoryStore\(\), with methods seal, open .*\(received Object without `open`\)$/,
    );
  });

  it('throws for an unknown option without a known hint', () => {
    expect(() => session({ colour: 'red' } as SessionOptions)).toThrow(
      new TypeError('koa-session-kit: `colour` is not a session() option'),
    );
  });

  it.each([
    [{ maxAge: -1 }, RangeError, '`maxAge` must be more than 0'],
    [{ maxAge: 500 * 86_400_000 }, RangeError, '`maxAge` must be more than 0 and at most'],
    [{ maxAge: '1d' }, TypeError, '`maxAge` must be a number of milliseconds (received "1d")'],
    [{ absoluteTimeout: 0 }, RangeError, '`absoluteTimeout`'],
    [{ touchAfter: -5 }, RangeError, '`touchAfter`'],
    [{ maxAge: 1000, touchAfter: 1000 }, RangeError, '`touchAfter` must be at least 0 and less than `maxAge`'],
    [{ rolling: 'yes' }, TypeError, '`rolling` must be a boolean'],
    [{ keys: [] }, TypeError, '`keys` must be a non-empty array'],
    [{ keys: 'secret' }, TypeError, '`keys` must be a non-empty array'],
    [{ keys: [''] }, TypeError, '`keys` must hold only non-empty'],
    [{ name: '' }, TypeError, '`name` must be a non-empty string'],
    [{ store: 'redis' }, TypeError, '`store` must be a store instance'],
    [{ serializer: JSON }, TypeError, '`serializer` must be a serializer'],
  ] as [SessionOptions, typeof Error, string][])('refuses %j with a %p', (options, Type, message) => {
    expect(() => session(options)).toThrow(Type);
    expect(() => session(options)).toThrow(message);
  });
});
