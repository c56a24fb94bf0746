/** RedisStore's driver for ioredis (`Redis` or `Cluster`), and the client it makes from a `url`. */

import type { Cluster, Redis } from 'ioredis';
import { listenForErrors, type RedisDriver, type Reply } from './driver.js';
import { SCRIPTS, type Arg } from './scripts.js';

/** Whether `value` is an ioredis `Redis` or `Cluster`: methods only ioredis has, and its own mode flag. */
export function isIoredis(value: object): value is Redis | Cluster {
  const client = value as { defineCommand?: unknown; hmgetBuffer?: unknown; isCluster?: unknown };
  return typeof client.defineCommand === 'function' && typeof client.hmgetBuffer === 'function' && typeof client.isCluster === 'boolean';
}

/** A defined command's `<name>Buffer` variant, which ioredis adds at runtime (its types cannot know it). */
type DefinedCommand = (key: string, ...args: Arg[]) => Promise<Reply>;

/**
 * Defines the store's scripts on the client (defineCommand: EVALSHA, EVAL on NOSCRIPT after a
 * SCRIPT FLUSH, a restart or a failover; ioredis also routes them by key on a Cluster) and speaks
 * the store's interface through it. The Buffer variants keep replies binary.
 */
export function ioredisDriver(client: Redis | Cluster): RedisDriver {
  for (const { name, lua } of Object.values(SCRIPTS)) client.defineCommand(name, { numberOfKeys: 1, lua });
  // The methods defineCommand just added, looked up by name: ioredis types them nowhere.
  const commands = client as unknown as Record<string, DefinedCommand>;
  return {
    label: client.isCluster ? 'ioredis Cluster' : 'ioredis Redis',
    hmget: (key, fields) => client.hmgetBuffer(key, ...fields),
    run: (script, key, args) => commands[`${script.name}Buffer`]!.call(client, key, ...args),
    members: (key) => client.smembers(key),
    remove: async (key, members) => void (await client.srem(key, ...members)),
    onError: (listener) => listenForErrors(client, listener),
  };
}

/** A client the store made from `url`, and how to let it go. */
export interface OwnClient {
  driver: RedisDriver;
  close(): Promise<void>;
}

/**
 * Imports ioredis and connects to `url`, failures reported to `onError`; rejects (with the import
 * error) when ioredis is not installed.
 */
export async function openIoredis(
  url: string,
  timeouts: { connectTimeout: number; commandTimeout: number },
  onError: (error: Error) => void,
): Promise<OwnClient> {
  const { Redis: RedisClass } = await import('ioredis');
  const redis = new RedisClass(url, timeouts);
  // Failures reach callers as rejected commands; without a listener ioredis also prints each one.
  redis.on('error', onError);
  return {
    driver: ioredisDriver(redis),
    async close() {
      // QUIT on a connection that is down would wait its commandTimeout in the offline queue.
      if (redis.status !== 'ready') return redis.disconnect();
      try {
        await redis.quit();
      } catch {
        // quit fails when the connection drops meanwhile; disconnect still stops the reconnect loop.
        redis.disconnect();
      }
    },
  };
}
