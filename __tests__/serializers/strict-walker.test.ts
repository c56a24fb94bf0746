import { describe, expect, it } from '@jest/globals';
import { jsonSerializer, JSON_CARRIES } from '../../serializers/json.js';
import { msgpackSerializer, MSGPACK_CARRIES } from '../../serializers/msgpack.js';
import { superjsonSerializer } from '../../serializers/superjson.js';
import { SerializationError } from '../../src/errors.js';
import { assertCarries, MAX_DEPTH, resolveMaxDepth } from '../../src/strict.js';
import { refusalOf, roundTrip } from '../helpers/serializer-cases.js';

const json = jsonSerializer();
const msgpack = msgpackSerializer();

describe('assertCarries(value, carries)', () => {
  it.each<[string, unknown, string]>([
    ['identifier keys with dots', { cart: { items: [0, 1, { addedAt: new Date(0) }] } }, 'cart.items[2].addedAt'],
    ['other keys in brackets, quoted as JSON', { 'a b': { 'x-y': { '': { $ok_1: new Date(0) } } } }, '["a b"]["x-y"][""].$ok_1'],
    ['a key that starts with a digit', { '1st': new Date(0) }, '["1st"]'],
    ['an index at the root', [new Date(0)], '[0]'],
  ])('writes the path of %s', (_label, value, path) => {
    expect(refusalOf(json, value).path).toBe(path);
  });

  it.each<[string, unknown, string]>([
    ['a Map value under a string key', { prefs: new Map([['theme', () => 1]]) }, 'prefs.get("theme")'],
    ['a Map value under a number key', { prefs: new Map([[7, Symbol('x')]]) }, 'prefs.get(7)'],
    ['a Map value under an object key', { prefs: new Map([[{}, () => 1]]) }, 'prefs[Map value 0]'],
    [
      'a Map key',
      {
        prefs: new Map<unknown, number>([
          ['ok', 1],
          [() => 1, 1],
        ]),
      },
      'prefs[Map key 1]',
    ],
    ['a Set member', { tags: new Set(['a', 'b', Symbol('c')]) }, 'tags[Set member 2]'],
    ['an Error cause', { e: new Error('x', { cause: { f: () => 1 } }) }, 'e.cause.f'],
  ])('writes the path of %s', (_label, value, path) => {
    expect(refusalOf(msgpack, value).path).toBe(path);
  });

  it('names the root as "the session data" in the message', () => {
    expect(refusalOf(json, new Date(0)).message).toMatch(/^koa-session-kit: the session data is a Date/);
  });

  it('accepts a shared, acyclic object under JSON (it comes back as two equal copies)', () => {
    const shared = { n: 1 };
    const back = roundTrip(json, { a: shared, b: shared }) as { a: object; b: object };
    expect(back.a).toEqual(back.b);
    expect(back.a).not.toBe(back.b);
  });

  it('walks a DAG of shared references in linear time when references are carried', () => {
    let node: unknown[] = [1];
    for (let i = 0; i < 64; i++) node = [node, node]; // 2^64 paths, 65 distinct arrays
    const started = performance.now();
    expect(() => assertCarries({ node }, MSGPACK_CARRIES, 1000)).not.toThrow();
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('counts Maps, Sets and arrays as levels of nesting', () => {
    const ok = { m: new Map([['k', new Set([[1]])]]) }; // levels: root, Map, Set, array
    expect(() => assertCarries(ok, MSGPACK_CARRIES, 4)).not.toThrow();
    expect(() => assertCarries(ok, MSGPACK_CARRIES, 3)).toThrow(SerializationError);
  });

  it(`defaults to ${MAX_DEPTH} levels`, () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < MAX_DEPTH; i++) deep = [deep];
    expect(() => assertCarries(deep, JSON_CARRIES)).not.toThrow();
    expect(() => assertCarries([deep], JSON_CARRIES)).toThrow(/deeper than 100 levels/);
  });

  it('refuses a non-enumerable property with its name', () => {
    const user = Object.defineProperty({ name: 'ann' }, 'token', { value: 'x', enumerable: false });
    expect(refusalOf(superjsonSerializer(), { user })).toMatchObject({ path: 'user.token', type: 'non-enumerable property' });
  });

  it('refuses an enumerable property inherited from a polluted Object.prototype', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.injected = 1;
    try {
      expect(refusalOf(json, { a: 1 })).toMatchObject({ path: 'injected', type: 'inherited property' });
    } finally {
      delete proto.injected;
    }
  });

  it('never calls a toJSON method and refuses it as a function', () => {
    let called = false;
    const value = { money: { amount: 1, toJSON: () => ((called = true), 'x') } };
    expect(refusalOf(json, value).path).toBe('money.toJSON');
    expect(called).toBe(false);
  });
});

describe('resolveMaxDepth(options, known)', () => {
  it('returns the default for no options and for maxDepth: undefined', () => {
    expect(resolveMaxDepth(undefined, [])).toBe(MAX_DEPTH);
    expect(resolveMaxDepth({ maxDepth: undefined }, [])).toBe(MAX_DEPTH);
  });

  it('accepts a frozen options object', () => {
    expect(resolveMaxDepth(Object.freeze({ maxDepth: 12 }), [])).toBe(12);
  });

  it.each<[unknown, ErrorConstructor, RegExp]>([
    [{ maxDepth: 0 }, RangeError, /`maxDepth` must be from 1 to 1000 \(received 0\)/],
    [{ maxDepth: 1001 }, RangeError, /received 1001/],
    [{ maxDepth: '10' }, TypeError, /`maxDepth` must be an integer \(received "10"\)/],
    [{ maxDepth: Number.NaN }, TypeError, /must be an integer/],
    [{ depth: 3 }, TypeError, /`depth` is not a serializer option; did you mean `maxDepth`\?/],
    ['deep', TypeError, /serializer options must be an object/],
  ])('rejects %p', (options, type, message) => {
    expect(() => resolveMaxDepth(options as object, [])).toThrow(type);
    expect(() => resolveMaxDepth(options as object, [])).toThrow(message);
  });
});

describe('assertCarries(value, carries) on cycles', () => {
  it('refuses under msgpack a cycle back to an Error (msgpackr rebuilds it as a plain object)', () => {
    const error = new Error('loop') as Error & { cause?: unknown };
    error.cause = { back: error };
    expect(refusalOf(msgpack, { error })).toMatchObject({ path: 'error.cause.back', type: 'cycle' });
  });

  it('carries under msgpack an Error shared by two places', () => {
    const shared = new RangeError('once');
    const back = roundTrip(msgpack, { a: shared, b: [shared] }) as { a: Error; b: Error[] };
    expect(back.b[0]).toBe(back.a);
  });

  it('refuses under superjson a cycle through a registered class instance (superjson copies it first)', async () => {
    const { SuperJSON } = await import('superjson');
    class Node {
      next: unknown = null;
    }
    const instance = new SuperJSON();
    instance.registerClass(Node, 'Node');
    const serializer = superjsonSerializer({ instance });
    const head = { node: new Node() };
    head.node.next = head;
    expect(refusalOf(serializer, { head })).toMatchObject({ path: 'head.node.next', type: 'cycle' });
    const shared = new Node();
    const back = roundTrip(serializer, { a: shared, b: [shared] }) as { a: Node; b: Node[] };
    expect(back.b[0]).toBe(back.a);
    expect(back.a).toBeInstanceOf(Node);
  });

  it('detects a cycle after switching to remembering every object', () => {
    const wide = Array.from({ length: 3000 }, (_, i) => ({ i }));
    const error = new Error('late') as Error & { cause?: unknown };
    error.cause = [error];
    expect(refusalOf(msgpack, { wide, error }).type).toBe('cycle');
  });
});
