/** Redis clients and key prefixes for the RedisStore tests: fail fast, keep files apart, clean up. */

import { describe } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { RedisStore } from '../../stores/redis.js';
import { REDIS_URL, redisReachable } from './services.js';

/** `describe` when Redis answers, else `describe.skip` (see services.ts: in CI a missing service fails instead). */
export const describeWithRedis: typeof describe.skip = (await redisReachable()) ? describe : describe.skip;

/**
 * A connected client that fails requests at once while the connection is down (no offline queue,
 * no per-request retries) and reconnects every 50 ms, so outage tests take milliseconds.
 */
export async function fastFailClient(): Promise<Redis> {
  return connected(new Redis(REDIS_URL, failFast(50)));
}

/** Client options that fail a request at once while disconnected, and retry the connection every `retryMs`. */
function failFast(retryMs: number) {
  return { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => retryMs };
}

/** Connects a client made with {@link failFast}. */
async function connected(client: Redis): Promise<Redis> {
  // Expected while a test has killed the connection; without a listener ioredis logs each one.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** A node-redis client (`createClient()`), as the tests make them. */
export type NodeRedis = ReturnType<typeof createClient>;

/** The Redis client libraries RedisStore speaks, for `describe.each`. */
export const LIBRARIES = ['ioredis', 'node-redis'] as const;
export type RedisLibrary = (typeof LIBRARIES)[number];

/**
 * A connected node-redis client that fails requests at once while the connection is down (no
 * offline queue) and reconnects every 50 ms, like {@link fastFailClient}. `options` are merged in
 * (e.g. `{ RESP: 2 }`, `{ commandOptions: { typeMapping } }`).
 */
export async function fastFailNodeRedis(options: Parameters<typeof createClient>[0] = {}): Promise<NodeRedis> {
  const client = createClient({
    url: REDIS_URL,
    disableOfflineQueue: true,
    ...options,
    socket: { reconnectStrategy: () => 50, ...options?.socket },
    // createClient's type follows its options (RESP, typeMapping); the tests use what all share.
  }) as NodeRedis;
  // node-redis throws an 'error' nobody listens for; a test that kills the connection expects some.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** A prefix no other test file (or run) uses: `test:<label>:<uuid>:`. */
export function uniquePrefix(label: string): string {
  return `test:${label}:${randomUUID()}:`;
}

/** Deletes every key under `prefix` (SCAN, never KEYS, so a shared Redis is not blocked). */
export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** A client whose connection a test can take down for as long as it likes, and bring back. */
export interface RedisOutage {
  /** Fails fast like {@link fastFailClient}; reconnects on its own once the outage ends. */
  client: Redis;
  /** Drops the connection and refuses new ones until {@link RedisOutage.end}. */
  begin(): Promise<void>;
  /** Lets the client back in and waits until it is ready again. */
  end(): Promise<void>;
  /** Disconnects the client and deletes its Redis user. */
  dispose(): Promise<void>;
}

/**
 * A client logged in as its own throwaway ACL user. `begin()` disables the user and kills its
 * connections (`CLIENT KILL USER`), so every reconnect fails with WRONGPASS until `end()`: an
 * outage of exactly the test's choosing that touches no other test's connections.
 */
export async function outageClient(admin: Redis): Promise<RedisOutage> {
  const username = `koa-session-kit-test-${randomUUID()}`;
  const password = randomUUID();
  await admin.acl('SETUSER', username, 'on', `>${password}`, '~*', '&*', '+@all');
  const { hostname, port } = new URL(REDIS_URL);
  const client = await connected(new Redis({ host: hostname, port: Number(port || 6379), username, password, ...failFast(20) }));
  return {
    client,
    async begin() {
      const closed = once(client, 'close');
      await admin.acl('SETUSER', username, 'off');
      await admin.client('KILL', 'USER', username);
      await closed;
    },
    async end() {
      // Not events.once: it rejects on the WRONGPASS 'error' of a reconnect attempt that
      // races the ACL change, and 'ready' follows on a later attempt.
      const ready = new Promise<void>((resolve) => client.once('ready', () => resolve()));
      await admin.acl('SETUSER', username, 'on');
      await ready;
    },
    async dispose() {
      client.disconnect();
      await admin.acl('DELUSER', username);
    },
  };
}

/** A fail-fast client of `library` ({@link fastFailClient}, {@link fastFailNodeRedis}), and how to let it go. */
export async function clientOf(library: RedisLibrary): Promise<{ client: Redis | NodeRedis; quit(): Promise<unknown> }> {
  if (library === 'ioredis') {
    const client = await fastFailClient();
    return { client, quit: () => client.quit() };
  }
  const client = await fastFailNodeRedis();
  return { client, quit: () => client.close() };
}

/**
 * A RedisStore under `prefix` on a fail-fast client of `library` of its own, made on the first
 * `make()`; `cleanup()` deletes the prefix's keys and quits the client. The shape the shared suites take.
 */
export function redisTarget(prefix: string, library: RedisLibrary = 'ioredis'): { make(): Promise<RedisStore>; cleanup(): Promise<void> } {
  let made: Awaited<ReturnType<typeof clientOf>> | undefined;
  return {
    async make() {
      made ??= await clientOf(library);
      return new RedisStore({ client: made.client, prefix });
    },
    async cleanup() {
      const admin = await fastFailClient();
      await deleteKeys(admin, prefix);
      await admin.quit();
      await made?.quit();
    },
  };
}
