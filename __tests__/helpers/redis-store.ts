/** Redis clients and key prefixes for the RedisStore tests: fail fast, keep files apart, clean up. */

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { REDIS_URL } from './services.js';

/**
 * A connected client that fails requests at once while the connection is down (no offline queue,
 * no per-request retries) and reconnects every 50 ms, so outage tests take milliseconds.
 */
export async function fastFailClient(): Promise<Redis> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 50,
  });
  // Expected while a test has killed the connection; without a listener ioredis logs each one.
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
