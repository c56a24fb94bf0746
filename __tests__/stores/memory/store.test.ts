import { afterAll, describe, expect, it } from '@jest/globals';
import { digestId, generateId } from '../../../src/id.js';
import { MemoryStore, type MemoryStoreOptions } from '../../../stores/memory.js';
import { describeSessionBehaviour } from '../shared/behaviour.js';
import { closeStores, sleep, track } from '../../helpers/app.js';
import { describeOwnerContract, describeStoreContract } from '../shared/contract.js';
import { describeOwnerBehaviour } from '../shared/owners.js';

describeStoreContract('MemoryStore', { make: async () => new MemoryStore() });
describeOwnerContract('MemoryStore', { make: async () => new MemoryStore() });
describeOwnerBehaviour('MemoryStore', { make: async () => new MemoryStore() });
describeSessionBehaviour('MemoryStore', { make: async () => new MemoryStore(), serverSide: true });

const HOUR_MS = 3_600_000;
const record = (byte: number, expires = Date.now() + HOUR_MS) => ({ data: Uint8Array.of(byte), expires });

describe('new MemoryStore({ maxSessions })', () => {
  afterAll(closeStores);

  it('evicts the least recently used session past maxSessions', async () => {
    const store = track(new MemoryStore({ maxSessions: 3 }));
    const [a, b, c, d] = [1, 2, 3, 4].map(() => digestId(generateId())) as [string, string, string, string];
    await store.create(a, record(1));
    await store.create(b, record(2));
    await store.create(c, record(3));
    await store.get(a); // a is now the most recently used; b is the oldest
    await store.create(d, record(4));
    expect(store.size).toBe(3);
    expect(await store.get(b)).toBeUndefined();
    expect(await store.get(a)).toBeDefined();
    expect(await store.get(c)).toBeDefined();
    expect(await store.get(d)).toBeDefined();
  });

  it.each([
    ['a Uint8Array', () => Uint8Array.of(1, 2, 3)],
    ['a Buffer, whose slice() is a view', () => Buffer.from([1, 2, 3])],
    ['a view into a larger buffer', () => Buffer.from([0, 1, 2, 3, 0]).subarray(1, 4)],
  ])('keeps its own copy of the bytes it was given as %s, on create and on update', async (_, make) => {
    const store = track(new MemoryStore());
    const id = digestId(generateId());
    const data = make();
    await store.create(id, { data, expires: Date.now() + HOUR_MS });
    data[0] = 99;
    expect(Array.from((await store.get(id))!.data)).toEqual([1, 2, 3]);
    const next = make();
    await store.update(id, { data: next, expires: Date.now() + HOUR_MS });
    next[1] = 99;
    expect(Array.from((await store.get(id))!.data)).toEqual([1, 2, 3]);
  });

  it('gives every session used since the last eviction a second chance, then evicts the oldest', async () => {
    const store = track(new MemoryStore({ maxSessions: 3 }));
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map(() => digestId(generateId())) as [string, string, string, string, string];
    await store.create(a, record(1));
    await store.create(b, record(2));
    await store.create(c, record(3));
    for (const id of [a, b, c]) await store.get(id); // all used: the eviction pass clears each, then takes the oldest
    await store.create(d, record(4));
    expect(store.size).toBe(3);
    expect(await store.get(a)).toBeUndefined();
    await store.update(b, record(22)); // b used again after the pass; c is now the one not used
    await store.create(e, record(5));
    expect(await store.get(c)).toBeUndefined();
    expect(await store.get(b)).toBeDefined();
    expect(await store.get(d)).toBeDefined();
    expect(await store.get(e)).toBeDefined();
  });

  it('sweeps expired sessions on its timer without being asked', async () => {
    const store = track(new MemoryStore({ pruneInterval: 50 }));
    for (let i = 0; i < 100; i++) await store.create(digestId(generateId()), record(i, Date.now() + 30));
    await store.create(digestId(generateId()), record(0));
    expect(store.size).toBe(101);
    await sleep(200);
    expect(store.size).toBe(1);
  });
});

describe('a large MemoryStore (its records spread over several maps)', () => {
  afterAll(closeStores);
  // 60,000 sessions make four shards of about 15,000; the same behaviour as one map is expected.
  const MAX = 60_000;
  const ids = (count: number): string[] => Array.from({ length: count }, () => digestId(generateId()));

  it('holds exactly maxSessions, keeps the sessions used lately and evicts the oldest unused ones', async () => {
    const store = track(new MemoryStore({ maxSessions: MAX }));
    const first = ids(MAX);
    for (const id of first) await store.create(id, record(1));
    const recent = first.slice(0, 2_000);
    for (const id of recent) await store.get(id);
    const more = ids(2_000);
    for (const id of more) await store.create(id, record(2));
    expect(store.size).toBe(MAX);
    for (const id of [...recent, ...more]) expect(await store.get(id)).toBeDefined();
    // Exactly 2,000 of the unused went, all from the oldest (evictions take turns among the maps,
    // each giving up its own oldest unused ones, so they are not strictly the first 2,000).
    const unused = first.slice(2_000);
    const gone: number[] = [];
    for (const [index, id] of unused.entries()) if ((await store.get(id)) === undefined) gone.push(index);
    expect(gone).toHaveLength(2_000);
    expect(Math.max(...gone)).toBeLessThan(6_000);
  });

  it('finds, updates, touches and destroys records wherever they live', async () => {
    const store = track(new MemoryStore({ maxSessions: MAX }));
    const all = ids(5_000);
    for (const [i, id] of all.entries()) await store.create(id, record(i % 256));
    for (const [i, id] of all.entries()) {
      expect((await store.get(id))!.data[0]).toBe(i % 256);
      expect(await store.update(id, record(7), 1)).toBe(2);
    }
    for (const id of all.slice(0, 1_000)) await store.destroy(id);
    await store.destroy(all[0]!); // twice: still one fewer, not two
    expect(store.size).toBe(4_000);
    expect(await store.touch(all[1_000]!, Date.now() + HOUR_MS)).toBe(true);
    expect(await store.touch(all[0]!, Date.now() + HOUR_MS)).toBe(false);
  });

  it('sweeps expired sessions out of every map on its timer', async () => {
    const store = track(new MemoryStore({ maxSessions: MAX, pruneInterval: 50 }));
    for (const id of ids(6_000)) await store.create(id, record(0, Date.now() + 30));
    const live = ids(500);
    for (const id of live) await store.create(id, record(1));
    await sleep(250);
    expect(store.size).toBe(500);
    for (const id of live) expect(await store.get(id)).toBeDefined();
  });

  it('prunes expired sessions in every map on demand, counting each once', async () => {
    // No sweep timer in the way: the count must be prune()'s own.
    const store = track(new MemoryStore({ maxSessions: MAX, pruneInterval: 3_600_000 }));
    const live = ids(500);
    for (const id of live) await store.create(id, record(1));
    for (const id of ids(3_000)) await store.create(id, record(0, Date.now() + 10));
    await sleep(20);
    expect(await store.prune()).toBe(3_000);
    expect(await store.prune()).toBe(0);
    expect(store.size).toBe(500);
  });
});

describe('MemoryStore options', () => {
  it('refuses a maxSessions or pruneInterval that is not a positive integer', () => {
    expect(() => new MemoryStore({ maxSessions: 0 })).toThrow(RangeError);
    expect(() => new MemoryStore({ maxSessions: 1.5 })).toThrow('koa-session-kit: `maxSessions` must be an integer (received 1.5)');
    expect(() => new MemoryStore({ pruneInterval: -1 })).toThrow(RangeError);
  });

  it('refuses an unknown option, pointing the old `sweepInterval` at `pruneInterval`', () => {
    const make = (options: unknown) => () => new MemoryStore(options as MemoryStoreOptions); // wrong on purpose
    expect(make({ maxSesions: 10 })).toThrow(
      new TypeError('koa-session-kit: `maxSesions` is not a MemoryStore option; did you mean `maxSessions`?'),
    );
    expect(make({ sweepInterval: 50 })).toThrow(
      new TypeError('koa-session-kit: `sweepInterval` is not a MemoryStore option; did you mean `pruneInterval` (ms, or false)?'),
    );
    expect(make({ colour: 'red' })).toThrow(new TypeError('koa-session-kit: `colour` is not a MemoryStore option'));
    expect(make('big')).toThrow(new TypeError('koa-session-kit: MemoryStore options must be an object (received "big")'));
  });

  it('runs no prune timer with pruneInterval: false, so expired sessions wait for prune()', async () => {
    const store = new MemoryStore({ pruneInterval: false });
    await store.create(digestId(generateId()), record(0, Date.now() + 10));
    await sleep(50);
    expect(store.size).toBe(1);
    expect(await store.prune()).toBe(1);
    await store.close();
  });
});
