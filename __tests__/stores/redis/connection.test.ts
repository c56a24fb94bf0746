/** RedisStore and its connection: an outage is a SessionStoreError, then it recovers; `url` clients are its own. */

import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { SessionStoreError } from '../../../src/errors.js';
import { digestId, generateId } from '../../../src/id.js';
import { RedisStore } from '../../../stores/redis.js';
import { deleteKeys, describeWithRedis, fastFailClient, uniquePrefix } from '../../helpers/redis-store.js';
import { REDIS_URL } from '../../helpers/services.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());
const prefix = uniquePrefix('redis-connection');

/** Names of the connections Redis has open right now. */
async function connectionNames(admin: Redis): Promise<string[]> {
  const list = String(await admin.client('LIST'));
  return [...list.matchAll(/ name=(\S*)/g)].map((match) => match[1] ?? '');
}

describeWithRedis('RedisStore with a dropped connection', () => {
  let admin: Redis;
  let client: Redis;
  let store: RedisStore;

  beforeAll(async () => {
    admin = new Redis(REDIS_URL);
    client = await fastFailClient();
    store = new RedisStore({ client, prefix });
  });

  afterAll(async () => {
    await deleteKeys(admin, prefix);
    await client.quit();
    await admin.quit();
  });

  it('rejects with SessionStoreError while the connection is down and works again once it is back', async () => {
    const id = freshId();
    await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS });
    const connectionId = String(await client.client('ID'));
    const closed = once(client, 'close');
    await admin.client('KILL', 'ID', connectionId);
    await closed;

    const outage = await Promise.allSettled([
      store.get(id),
      store.create(freshId(), { data: Uint8Array.of(2), expires: Date.now() + HOUR_MS }),
      store.update(id, { data: Uint8Array.of(2), expires: Date.now() + HOUR_MS }, 1),
      store.touch(id, Date.now() + HOUR_MS),
      store.destroy(id),
    ]);
    const operations = ['get', 'create', 'update', 'touch', 'destroy'];
    outage.forEach((result, index) => {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as unknown;
      expect(reason).toBeInstanceOf(SessionStoreError);
      expect(reason).toMatchObject({ code: 'ERR_SESSION_STORE', operation: operations[index] });
      expect((reason as SessionStoreError).cause).toBeInstanceOf(Error);
    });

    await once(client, 'ready');
    expect(String(await client.client('ID'))).not.toBe(connectionId);
    // The scripts run on the new connection too (ioredis loads them again per connection).
    expect(await store.update(id, { data: Uint8Array.of(3), expires: Date.now() + HOUR_MS }, 1)).toBe(2);
    const got = await store.get(id);
    expect(Array.from(got!.data)).toEqual([3]);
    expect(got!.version).toBe(2);
  });
});

describeWithRedis('new RedisStore({ url })', () => {
  let admin: Redis;

  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    await deleteKeys(admin, prefix);
    await admin.quit();
  });

  it('makes its own client on first use and quits it on close()', async () => {
    const name = `koa-session-kit-test-${process.pid}-${Date.now()}`;
    const url = new URL(REDIS_URL);
    url.searchParams.set('connectionName', name);
    const store = new RedisStore({ url: url.href, prefix });
    expect(await connectionNames(admin)).not.toContain(name);

    const id = freshId();
    expect(await store.create(id, { data: Uint8Array.of(1, 2), expires: Date.now() + HOUR_MS })).toBe(true);
    expect(Array.from((await store.get(id))!.data)).toEqual([1, 2]);
    expect(await connectionNames(admin)).toContain(name);

    await store.close();
    expect(await connectionNames(admin)).not.toContain(name);
    await expect(store.get(id)).rejects.toMatchObject({ code: 'ERR_SESSION_STORE', message: 'koa-session-kit: RedisStore is closed' });
    await expect(store.close()).resolves.toBeUndefined();
  });

  it('quits a client still being made when close() comes first', async () => {
    const name = `koa-session-kit-race-${process.pid}-${Date.now()}`;
    const url = new URL(REDIS_URL);
    url.searchParams.set('connectionName', name);
    const store = new RedisStore({ url: url.href, prefix });
    const pending = store.get(freshId());
    await store.close();
    await pending.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await connectionNames(admin)).not.toContain(name);
  });
});
