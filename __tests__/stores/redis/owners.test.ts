/** RedisStore and a session's owner: a set per owner kept in step with the records, its TTL, its tidying, on both clients. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { digestId, generateId } from '../../../src/id.js';
import { RedisStore } from '../../../stores/redis.js';
import {
  clientOf,
  deleteKeys,
  describeWithRedis,
  fastFailClient,
  LIBRARIES,
  uniquePrefix,
  type RedisLibrary,
} from '../../helpers/redis-store.js';
import { REDIS_URL } from '../../helpers/services.js';
import { describeOwnedSessions } from '../shared/owned-sessions.js';
import { expectBadOwnersRefused } from '../shared/owner-checks.js';
import { describeOwnerBehaviour } from '../shared/owners.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());
const newOwner = (): string => `user-${generateId().slice(0, 10)}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describeWithRedis('RedisStore owners', () => {
  const clients: Redis[] = [];
  const others: Array<{ quit(): Promise<unknown> }> = [];
  const prefixes: string[] = [];
  /** A store on a client of `library` and a prefix of its own (the prefix given, or a fresh one); both cleaned up. */
  const storeOn = async (library: RedisLibrary = 'ioredis', prefix = uniquePrefix('redis-owners')): Promise<RedisStore> => {
    prefixes.push(prefix);
    if (library === 'ioredis') {
      const client = await fastFailClient();
      clients.push(client);
      return new RedisStore({ client, prefix });
    }
    const made = await clientOf(library);
    others.push(made);
    return new RedisStore({ client: made.client, prefix });
  };
  afterAll(async () => {
    const admin = await fastFailClient();
    for (const prefix of prefixes) await deleteKeys(admin, prefix);
    await admin.quit();
    for (const client of [...clients, ...others]) await client.quit();
  });

  describe.each(LIBRARIES)('on %s', (library) => {
    const sharedPrefix = uniquePrefix(`redis-owned-${library}`);
    describeOwnedSessions('RedisStore', { make: () => storeOn(library, sharedPrefix) });
    describeOwnerBehaviour('RedisStore', { make: () => storeOn(library) });
  });

  describe.each(LIBRARIES)('RedisStore owner sets on %s', (library) => {
    let store: RedisStore;
    /** Reads the keys as they are, through ioredis whichever client the store is on. */
    let raw: Redis;
    beforeAll(async () => {
      store = await storeOn(library);
      raw = await fastFailClient();
      clients.push(raw);
    });
    const setKey = (owner: string): string => `${store.prefix}owner:${owner}`;

    it('keeps the owner in the record hash and the id in a set under the prefix', async () => {
      const owner = newOwner();
      const id = freshId();
      const expires = Date.now() + HOUR_MS;
      await store.create(id, { data: Uint8Array.of(1), expires, owner });
      expect(await raw.hget(store.prefix + id, 'o')).toBe(owner);
      expect(await raw.smembers(setKey(owner))).toEqual([id]);
    });

    it('leaves the id in the set of an owner the record left, where listing skips it until the record goes', async () => {
      const owner = newOwner();
      const id = freshId();
      const expires = Date.now() + HOUR_MS;
      await store.create(id, { data: Uint8Array.of(1), expires, owner });
      await store.update(id, { data: Uint8Array.of(2), expires }, 1);
      expect(await raw.hexists(store.prefix + id, 'o')).toBe(0);
      expect(await store.listOwned(owner)).toEqual([]);
      expect(await store.destroyOwned(owner)).toBe(0);
      expect((await store.get(id))!.version).toBe(2);
      expect(await raw.smembers(setKey(owner))).toEqual([id]);
      await store.destroy(id);
      expect(await store.listOwned(owner)).toEqual([]);
      expect(await raw.exists(setKey(owner))).toBe(0);
    });

    it('takes the id out of its owner set when the session is destroyed', async () => {
      const owner = newOwner();
      const [a, b] = [freshId(), freshId()];
      await store.create(a, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS, owner });
      await store.create(b, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS, owner });
      await store.destroy(a);
      expect(await raw.smembers(setKey(owner))).toEqual([b]);
    });

    it('keeps the set alive at least as long as its furthest session: create, update and touch extend it, none shortens it', async () => {
      const owner = newOwner();
      const [a, b] = [freshId(), freshId()];
      const [near, far] = [Date.now() + HOUR_MS, Date.now() + 2 * HOUR_MS];
      await store.create(a, { data: Uint8Array.of(1), expires: near, owner });
      expect(await raw.pexpiretime(setKey(owner))).toBe(near);
      await store.create(b, { data: Uint8Array.of(1), expires: far, owner });
      expect(await raw.pexpiretime(setKey(owner))).toBe(far);
      await store.update(b, { data: Uint8Array.of(2), expires: Date.now() + 60_000, owner }, 1);
      expect(await raw.pexpiretime(setKey(owner))).toBe(far);
      const further = far + HOUR_MS + 0.5;
      expect(await store.touch(a, further)).toBe(true);
      expect(await raw.pexpiretime(setKey(owner))).toBe(Math.ceil(further));
    });

    it('disappears by itself when every session of an owner who never comes back has expired', async () => {
      const owner = newOwner();
      await store.create(freshId(), { data: Uint8Array.of(1), expires: Date.now() + 400, owner });
      await store.create(freshId(), { data: Uint8Array.of(1), expires: Date.now() + 500, owner });
      expect(await raw.scard(setKey(owner))).toBe(2);
      await sleep(700);
      expect(await raw.exists(setKey(owner))).toBe(0);
    });

    it('drops from the set, on listing, the ids whose record Redis expired or someone removed', async () => {
      const owner = newOwner();
      const [kept, expiring, deleted] = [freshId(), freshId(), freshId()];
      await store.create(kept, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS, owner });
      await store.create(expiring, { data: Uint8Array.of(2), expires: Date.now() + 100, owner });
      await store.create(deleted, { data: Uint8Array.of(3), expires: Date.now() + HOUR_MS, owner });
      await raw.del(store.prefix + deleted);
      await sleep(250);
      expect((await store.listOwned(owner)).map((r) => r.id)).toEqual([kept]);
      expect(await raw.smembers(setKey(owner))).toEqual([kept]);
    });

    it('lists data byte for byte, every byte value included', async () => {
      const owner = newOwner();
      const id = freshId();
      const data = Uint8Array.from({ length: 512 }, (_, i) => (i * 151) & 0xff);
      await store.create(id, { data, expires: Date.now() + HOUR_MS, owner });
      const [listed] = await store.listOwned(owner);
      expect(Buffer.from(listed!.data).equals(Buffer.from(data))).toBe(true);
    });

    it('never loses the record from its owner set under concurrent updates moving it between owners', async () => {
      const [ada, bob] = [newOwner(), newOwner()];
      const id = freshId();
      await store.create(id, { data: Uint8Array.of(0), expires: Date.now() + HOUR_MS, owner: ada });
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.update(id, { data: Uint8Array.of(i), expires: Date.now() + HOUR_MS, owner: i % 2 ? ada : bob }),
        ),
      );
      const owner = (await store.get(id))!.owner!;
      const other = owner === ada ? bob : ada;
      expect(await raw.smembers(setKey(owner))).toEqual([id]);
      expect((await store.listOwned(owner)).map((r) => r.id)).toEqual([id]);
      expect(await store.listOwned(other)).toEqual([]);
      expect(await store.destroyOwned(other)).toBe(0);
      expect(await store.destroyOwned(owner)).toBe(1);
      expect(await store.get(id)).toBeUndefined();
    });

    it('refuses an empty, oversized or non-string owner with a TypeError naming the limit, and writes nothing', async () => {
      await expectBadOwnersRefused(store);
    });
  });

  describe('RedisStore owner sets on a client with its own keyPrefix', () => {
    const keyPrefix = uniquePrefix('redis-owners-kp');
    let prefixed: Redis;
    afterAll(async () => {
      await deleteKeys(clients[0]!, keyPrefix);
      prefixed.disconnect();
    });

    it('puts the set beside the records, under both prefixes, and finds the records from it', async () => {
      prefixed = new Redis(REDIS_URL, { keyPrefix, maxRetriesPerRequest: 0 });
      const store = new RedisStore({ client: prefixed, prefix: 'sess:' });
      const owner = newOwner();
      const [a, b] = [freshId(), freshId()];
      await store.create(a, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS, owner });
      await store.create(b, { data: Uint8Array.of(2), expires: Date.now() + HOUR_MS, owner });
      expect((await clients[0]!.smembers(`${keyPrefix}sess:owner:${owner}`)).sort()).toEqual([a, b].sort());
      expect((await store.listOwned(owner)).map((r) => r.id).sort()).toEqual([a, b].sort());
      expect(await store.destroyOwned(owner, a)).toBe(1);
      expect(await clients[0]!.exists(`${keyPrefix}sess:${b}`)).toBe(0);
      expect(await clients[0]!.exists(`${keyPrefix}sess:${a}`)).toBe(1);
    });
  });
});
