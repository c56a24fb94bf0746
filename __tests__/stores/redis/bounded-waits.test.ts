/** RedisStore on a Redis that hangs or dies, through its `url` client and a node-redis client: SessionStoreError within the timeouts, then recovery. */

import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { RedisStore } from '../../../stores/redis.js';
import { redisServerAvailable, startRedis } from '../../helpers/own-server.js';
import { describeBoundedWaits, ownServerAvailable, type Timeouts } from '../shared/bounded-waits.js';

const available = (): boolean =>
  ownServerAvailable(
    redisServerAvailable(),
    'redis-server is not on the PATH',
    'it to hang and kill a Redis of its own',
    'RedisStore hung/dead-server tests',
  );

describeBoundedWaits({
  title: 'new RedisStore({ url }) when its Redis hangs or dies',
  server: 'Redis',
  available: available(),
  start: startRedis,
  open: (url, timeouts) => new RedisStore({ url, ...timeouts }),
  // ioredis's "Command timed out" comes after this long by default (stores/redis.ts).
  defaultCommandTimeoutMs: 5_000,
  timeoutMessage: 'Command timed out',
  hungFirst: { timeouts: { connectTimeout: 200, commandTimeout: 300 }, withinMs: 300, within: 'commandTimeout' },
  dead: { withinMs: 5_000, when: 'within the default command timeout once Redis is dead' },
});

/** node-redis settings as docs/stores/redis.md advises them, the timeouts given mapped onto them. */
const SOCKET_TIMEOUT_MS = 1_000;
const NODE_REDIS_COMMAND_TIMEOUT_MS = 2_000;

/**
 * A RedisStore on a node-redis client of its own (connecting in the background, as an app's would
 * while it starts), which close() also destroys. `socketTimeout` bounds a command already sent to
 * a hung Redis; `commandOptions.timeout` one still queued; the reconnect strategy retries after
 * either (node-redis's default gives up after a socket timeout).
 */
function nodeRedisStore(url: string, { connectTimeout, commandTimeout }: Timeouts): RedisStore {
  const client = createClient({
    url,
    socket: { connectTimeout: connectTimeout ?? 5_000, socketTimeout: SOCKET_TIMEOUT_MS, reconnectStrategy: () => 50 },
    commandOptions: { timeout: commandTimeout ?? NODE_REDIS_COMMAND_TIMEOUT_MS },
  });
  client.on('error', () => undefined);
  void client.connect().catch(() => undefined);
  const store = new RedisStore({ client, prefix: 'bounded:' });
  return Object.assign(store, {
    async close() {
      client.destroy();
    },
  });
}

describeBoundedWaits({
  title: 'RedisStore on a node-redis client when its Redis hangs or dies',
  server: 'Redis',
  available: available(),
  start: startRedis,
  open: nodeRedisStore,
  // A command already written waits for the socket timeout: commandOptions.timeout no longer covers it.
  defaultCommandTimeoutMs: SOCKET_TIMEOUT_MS,
  timeoutMessage: `Socket timeout timeout. Expecting data, but didn't receive any in ${SOCKET_TIMEOUT_MS}ms.`,
  // Before the first connection, the command waits unsent in the queue: commandOptions.timeout bounds it.
  hungFirst: { timeouts: { connectTimeout: 200, commandTimeout: 300 }, withinMs: 300, within: 'commandTimeout' },
  dead: { withinMs: NODE_REDIS_COMMAND_TIMEOUT_MS, when: 'within commandOptions.timeout once Redis is dead' },
});

describe('RedisStore timeouts and a client the app passes', () => {
  it('leaves the client as it is, and refuses timeouts it would not apply', () => {
    const client = new Redis({ lazyConnect: true });
    try {
      new RedisStore({ client });
      expect(client.options.commandTimeout).toBeUndefined();
      expect(client.options.connectTimeout).toBe(10_000); // ioredis's own default, untouched
      expect(() => new RedisStore({ client, commandTimeout: 100 })).toThrow(
        new TypeError('koa-session-kit: `commandTimeout` must be omitted when `client` is given: set it on your client (received 100)'),
      );
    } finally {
      client.disconnect();
    }
  });

  it.each([
    ['connectTimeout', 0, RangeError, 'must be more than 0 and at most 2147483647 ms (received 0)'],
    ['commandTimeout', 2 ** 31, RangeError, 'must be more than 0 and at most 2147483647 ms (received 2147483648)'],
    ['commandTimeout', '5000', TypeError, 'must be a number of milliseconds (received "5000")'],
  ])('refuses `%s: %p`', (option, value, Type, rule) => {
    const make = (): RedisStore => new RedisStore({ url: 'redis://127.0.0.1:1', [option]: value });
    expect(make).toThrow(Type);
    expect(make).toThrow(`koa-session-kit: \`${option}\` ${rule}`);
  });
});
