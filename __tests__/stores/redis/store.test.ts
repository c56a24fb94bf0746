/** RedisStore against the real Redis: the Store contract, TTLs, bytes, scripts and errors. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { isSessionStoreError, SessionStoreError } from '../../../src/errors.js';
import { digestId, generateId } from '../../../src/id.js';
import { RedisStore } from '../../../stores/redis.js';
import { deleteKeys, describeWithRedis, fastFailClient, LIBRARIES, redisTarget, uniquePrefix } from '../../helpers/redis-store.js';
import { describeOwnerContract, describeStoreContract } from '../shared/contract.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());

describeWithRedis('RedisStore', () => {
  describe.each(LIBRARIES)('on %s', (library) => {
    describeStoreContract('RedisStore', redisTarget(uniquePrefix(`redis-contract-${library}`), library));
    describeOwnerContract('RedisStore', redisTarget(uniquePrefix(`redis-owner-contract-${library}`), library));
  });
});

describeWithRedis('RedisStore (Redis specifics)', () => {
  const prefix = uniquePrefix('redis');
  let client: Redis;
  let store: RedisStore;

  beforeAll(async () => {
    client = await fastFailClient();
    store = new RedisStore({ client, prefix });
  });

  afterAll(async () => {
    await store.close();
    await deleteKeys(client, prefix);
    await client.quit();
  });

  describe('RedisStore#create()', () => {
    it('sets a millisecond TTL that ends at the record expiry', async () => {
      const id = freshId();
      const expires = Date.now() + 90_000;
      await store.create(id, { data: Uint8Array.of(1), expires });
      const pttl = await client.pttl(prefix + id);
      expect(Math.abs(pttl - (expires - Date.now()))).toBeLessThanOrEqual(15);
      expect(await client.pexpiretime(prefix + id)).toBe(expires);
    });

    it('keeps the data, the exact expiry and the version together in one hash', async () => {
      const id = freshId();
      const expires = Date.now() + HOUR_MS + 0.5;
      await store.create(id, { data: Uint8Array.of(7, 8), expires });
      expect(await client.hgetall(prefix + id)).toEqual({ d: '\u0007\u0008', e: String(expires), v: '1' });
      expect((await store.get(id))!.expires).toBe(expires);
      // PEXPIREAT takes whole milliseconds: rounded up, the key never dies before the record.
      expect(await client.pexpiretime(prefix + id)).toBe(Math.ceil(expires));
    });

    it('writes under the default `sess:` prefix when none is given', async () => {
      const plain = new RedisStore({ client });
      const id = freshId();
      try {
        await plain.create(id, { data: Uint8Array.of(1), expires: Date.now() + 60_000 });
        expect(plain.prefix).toBe('sess:');
        expect(await client.exists(`sess:${id}`)).toBe(1);
        expect(await store.get(id)).toBeUndefined();
      } finally {
        await plain.destroy(id);
      }
    });
  });

  describe('RedisStore#get()', () => {
    it('round-trips bytes that are not valid UTF-8', async () => {
      const id = freshId();
      const data = Uint8Array.of(0x00, 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x0d, 0x0a, 0x00);
      await store.create(id, { data, expires: Date.now() + HOUR_MS });
      const got = await store.get(id);
      expect(Array.from(got!.data)).toEqual(Array.from(data));
      expect((await client.hgetBuffer(prefix + id, 'd'))!.equals(Buffer.from(data))).toBe(true);
    });

    it('writes a Uint8Array view at its own offset, not its whole backing buffer', async () => {
      const id = freshId();
      const backing = Uint8Array.of(9, 9, 1, 2, 3, 9, 9);
      await store.create(id, { data: backing.subarray(2, 5), expires: Date.now() + HOUR_MS });
      expect(Array.from((await store.get(id))!.data)).toEqual([1, 2, 3]);
    });

    it('treats a record the app clock sees as expired as missing, even while Redis keeps the key', async () => {
      // Stands in for a Redis clock running behind the app's: the stored expiry has passed, the TTL has not.
      const id = freshId();
      await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS });
      await client.hset(prefix + id, 'e', String(Date.now() - 1));
      expect(await store.get(id)).toBeUndefined();
      expect(await store.update(id, { data: Uint8Array.of(2), expires: Date.now() + HOUR_MS })).toBeUndefined();
      expect(await store.touch(id, Date.now() + HOUR_MS)).toBe(false);
      expect(await store.create(id, { data: Uint8Array.of(3), expires: Date.now() + HOUR_MS })).toBe(true);
      expect((await store.get(id))!.version).toBe(1);
    });
  });

  describe('RedisStore#update()', () => {
    it('moves the TTL to the new expiry', async () => {
      const id = freshId();
      await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + 60_000 });
      const expires = Date.now() + 2 * HOUR_MS;
      expect(await store.update(id, { data: Uint8Array.of(2), expires }, 1)).toBe(2);
      expect(await client.pexpiretime(prefix + id)).toBe(expires);
    });

    it('still runs its script after SCRIPT FLUSH empties the script cache', async () => {
      const id = freshId();
      await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS });
      await store.update(id, { data: Uint8Array.of(2), expires: Date.now() + HOUR_MS });
      await client.script('FLUSH');
      expect(await store.update(id, { data: Uint8Array.of(3), expires: Date.now() + HOUR_MS }, 2)).toBe(3);
      await client.script('FLUSH');
      expect(await store.touch(id, Date.now() + HOUR_MS)).toBe(true);
      await client.script('FLUSH');
      expect(await store.create(freshId(), { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS })).toBe(true);
      expect(Array.from((await store.get(id))!.data)).toEqual([3]);
    });
  });

  describe('RedisStore#touch()', () => {
    it('moves the TTL and the stored expiry together and leaves the data bytes alone', async () => {
      const id = freshId();
      await store.create(id, { data: Uint8Array.of(4, 5), expires: Date.now() + 60_000 });
      const before = await client.hgetBuffer(prefix + id, 'd');
      const expires = Date.now() + 3 * HOUR_MS;
      expect(await store.touch(id, expires)).toBe(true);
      expect(await client.pexpiretime(prefix + id)).toBe(expires);
      expect(await client.hget(prefix + id, 'e')).toBe(String(expires));
      expect((await client.hgetBuffer(prefix + id, 'd'))!.equals(before!)).toBe(true);
      expect(await client.hget(prefix + id, 'v')).toBe('1');
    });
  });

  describe('RedisStore errors', () => {
    it('wraps a Redis error in SessionStoreError naming the operation and the prefix, cause kept', async () => {
      const id = freshId();
      await client.set(prefix + id, 'not a hash');
      const error: unknown = await store.get(id).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionStoreError);
      expect(isSessionStoreError(error)).toBe(true);
      const storeError = error as SessionStoreError;
      expect(storeError.operation).toBe('get');
      expect(storeError.message).toContain(`prefix \`${prefix}\``);
      expect(storeError.message).toContain('WRONGTYPE');
      expect(storeError.cause).toBeInstanceOf(Error);
      expect((storeError.cause as Error).message).toMatch(/^WRONGTYPE/);
      await expect(store.update(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS })).rejects.toMatchObject({
        code: 'ERR_SESSION_STORE',
        operation: 'update',
      });
      await expect(store.touch(id, Date.now() + HOUR_MS)).rejects.toMatchObject({ operation: 'touch' });
    });
  });

  describe('RedisStore#close()', () => {
    it('leaves a client it was given connected and usable', async () => {
      const other = new RedisStore({ client, prefix });
      await other.close();
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
      const id = freshId();
      expect(await other.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS })).toBe(true);
    });
  });

  describe('new RedisStore(options)', () => {
    it('refuses missing, doubled or foreign clients with a TypeError', () => {
      expect(() => new RedisStore({})).toThrow(
        new TypeError('koa-session-kit: `client` must be an ioredis or node-redis client, or `url` a Redis URL (received neither)'),
      );
      expect(() => new RedisStore({ client, url: 'redis://127.0.0.1' })).toThrow(TypeError);
      // @ts-expect-error a plain object is no Redis client, which is the point of the check
      expect(() => new RedisStore({ client: { get() {} } })).toThrow(
        new TypeError(
          'koa-session-kit: `client` must be an ioredis client (`new Redis()` or `new Cluster()`) or a node-redis client (`createClient()` or `createCluster()` of `redis` 5 or later) (received Object)',
        ),
      );
    });

    it('refuses a prefix that is not a string and a URL that is not redis://', () => {
      // @ts-expect-error a number prefix is what the check rejects
      expect(() => new RedisStore({ client, prefix: 1 })).toThrow(new TypeError('koa-session-kit: `prefix` must be a string (received 1)'));
      expect(() => new RedisStore({ url: 'http://127.0.0.1' })).toThrow(
        new TypeError('koa-session-kit: `url` must be a redis:// or rediss:// URL (received "http://127.0.0.1")'),
      );
    });

    it('refuses an unknown option and points a known foreign spelling at ours', () => {
      // @ts-expect-error `ttl` is not an option: the TTL follows the session expiry
      expect(() => new RedisStore({ client, ttl: 60 })).toThrow(/`ttl` is not a RedisStore option; did you mean `maxAge`/);
      // @ts-expect-error `bogus` is not an option
      expect(() => new RedisStore({ client, bogus: 1 })).toThrow(/^koa-session-kit: `bogus` is not a RedisStore option$/);
    });

    it('points a misspelt option at the one it resembles, and says Redis needs no pruneInterval', () => {
      // @ts-expect-error `prefx` is a typo
      expect(() => new RedisStore({ client, prefx: 'x:' })).toThrow(
        new TypeError('koa-session-kit: `prefx` is not a RedisStore option; did you mean `prefix`?'),
      );
      // @ts-expect-error other stores take `pruneInterval`; Redis expires keys itself
      expect(() => new RedisStore({ client, pruneInterval: 1000 })).toThrow(
        /^koa-session-kit: `pruneInterval` is not a RedisStore option; did you mean nothing: Redis removes each expired session itself/,
      );
    });

    it('does not mutate a frozen options object', () => {
      const options = Object.freeze({ client, prefix });
      expect(() => new RedisStore(options)).not.toThrow();
    });
  });
});
