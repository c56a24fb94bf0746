/** RedisStore on node-redis where it differs from ioredis: reply types, script loading, its errors, its 'error' events, its shapes. */

import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { createClientPool, createCluster, RESP_TYPES } from 'redis';
import { SessionStoreError } from '../../../src/errors.js';
import { digestId, generateId } from '../../../src/id.js';
import { session } from '../../../src/index.js';
import { RedisStore } from '../../../stores/redis.js';
import { waitFor } from '../shared/wait-for.js';
import {
  deleteKeys,
  describeWithRedis,
  fastFailClient,
  fastFailNodeRedis,
  uniquePrefix,
  type NodeRedis,
} from '../../helpers/redis-store.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());
const newOwner = (): string => `user-${generateId().slice(0, 10)}`;
/** Every byte value, and sequences that are not UTF-8 (a lone continuation byte, a surrogate, CR LF, NUL). */
const BINARY = Uint8Array.from([...Array.from({ length: 256 }, (_, i) => i), 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x0d, 0x0a, 0x00]);

describeWithRedis('RedisStore on node-redis', () => {
  const prefix = uniquePrefix('redis-node-redis');
  const clients: NodeRedis[] = [];
  let admin: Redis;
  /** A fail-fast node-redis client, closed after the file. */
  const nodeRedis = async (options: Parameters<typeof fastFailNodeRedis>[0] = {}): Promise<NodeRedis> => {
    const client = await fastFailNodeRedis(options);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    admin = await fastFailClient();
  });
  afterAll(async () => {
    await deleteKeys(admin, prefix);
    await admin.quit();
    for (const client of clients) client.destroy();
  });

  describe.each([2, 3] as const)('speaking RESP%s', (RESP) => {
    it('round-trips bytes that are not UTF-8 through get and listOwned, byte for byte', async () => {
      const store = new RedisStore({ client: await nodeRedis({ RESP }), prefix });
      const [id, owner] = [freshId(), newOwner()];
      await store.create(id, { data: BINARY, expires: Date.now() + HOUR_MS, owner });
      expect(Buffer.from((await store.get(id))!.data).equals(Buffer.from(BINARY))).toBe(true);
      const [listed] = await store.listOwned(owner);
      expect(Buffer.from(listed!.data).equals(Buffer.from(BINARY))).toBe(true);
      expect((await admin.hgetBuffer(prefix + id, 'd'))!.equals(Buffer.from(BINARY))).toBe(true);
    });

    it('loads its scripts itself, and again after SCRIPT FLUSH empties the cache', async () => {
      const client = await nodeRedis({ RESP });
      const store = new RedisStore({ client, prefix });
      const id = freshId();
      await admin.script('FLUSH');
      expect(await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS })).toBe(true);
      await admin.script('FLUSH');
      expect(await store.update(id, { data: Uint8Array.of(2), expires: Date.now() + HOUR_MS }, 1)).toBe(2);
      await admin.script('FLUSH');
      expect(await store.touch(id, Date.now() + HOUR_MS)).toBe(true);
      expect(Array.from((await store.get(id))!.data)).toEqual([2]);
    });
  });

  it('stays binary-safe on a client whose own typeMapping asks for text, or one made by withTypeMapping', async () => {
    const text = await nodeRedis({ commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: String } } });
    const buffers = (await nodeRedis()).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    for (const client of [text, buffers]) {
      const store = new RedisStore({ client, prefix });
      const id = freshId();
      await store.create(id, { data: BINARY, expires: Date.now() + HOUR_MS });
      expect(Buffer.from((await store.get(id))!.data).equals(Buffer.from(BINARY))).toBe(true);
    }
  });

  it("wraps a Redis error in SessionStoreError naming the operation and the prefix, node-redis's error kept as cause", async () => {
    const store = new RedisStore({ client: await nodeRedis(), prefix });
    const id = freshId();
    await admin.set(prefix + id, 'not a hash');
    const error: unknown = await store.update(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStoreError);
    expect(error).toMatchObject({ operation: 'update', message: expect.stringContaining(`prefix \`${prefix}\``) });
    expect(((error as SessionStoreError).cause as Error).message).toMatch(/^WRONGTYPE/);
  });

  it('rejects with SessionStoreError while the connection is down and works again once node-redis reconnects', async () => {
    const client = await nodeRedis();
    const store = new RedisStore({ client, prefix });
    const id = freshId();
    await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS });
    const dropped = once(client, 'error');
    await admin.client('KILL', 'ID', String(await client.sendCommand(['CLIENT', 'ID'])));
    await dropped;
    const outage = await Promise.allSettled([store.get(id), store.touch(id, Date.now() + HOUR_MS), store.destroy(id)]);
    for (const result of outage) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(SessionStoreError);
    }
    if (!client.isReady) await once(client, 'ready');
    expect(await store.update(id, { data: Uint8Array.of(3), expires: Date.now() + HOUR_MS }, 1)).toBe(2);
  });

  it("reports the client's connection errors through session({ onEvent }), and stops listening on close()", async () => {
    const client = await nodeRedis();
    const listeners = client.listenerCount('error');
    const events: Array<{ type: string }> = [];
    const sessions = session({ store: new RedisStore({ client, prefix }), onEvent: (event) => void events.push(event) });
    expect(client.listenerCount('error')).toBe(listeners + 1);
    await admin.client('KILL', 'ID', String(await client.sendCommand(['CLIENT', 'ID'])));
    await waitFor('a store-error event', async () => events.some((event) => event.type === 'store-error'));
    const event = events.find((seen) => seen.type === 'store-error');
    expect(event).toMatchObject({ type: 'store-error', name: 'session', store: 'RedisStore', operation: 'connection' });
    await sessions.close();
    expect(client.listenerCount('error')).toBe(listeners);
    if (!client.isReady) await once(client, 'ready');
    expect(await client.sendCommand(['PING'])).toBe('PONG');
  });

  it('takes a cluster from createCluster() and refuses a pool with a TypeError naming it', () => {
    const cluster = createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:1' }] });
    expect(() => new RedisStore({ client: cluster })).not.toThrow();
    const pool = createClientPool();
    // @ts-expect-error a pool is not a client the store takes, which is the point of the check
    expect(() => new RedisStore({ client: pool })).toThrow(
      new TypeError(
        'koa-session-kit: `client` must be an ioredis client (`new Redis()` or `new Cluster()`) or a node-redis client (`createClient()` or `createCluster()` of `redis` 5 or later) (received a node-redis pool from `createClientPool()`)',
      ),
    );
  });
});
