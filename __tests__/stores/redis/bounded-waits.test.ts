/** RedisStore({ url }) on a Redis that hangs or dies: requests fail with SessionStoreError within its timeouts, then recover. */

import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RedisStore } from '../../../stores/redis.js';
import { redisServerAvailable, startRedis } from '../../helpers/own-server.js';
import { describeBoundedWaits, ownServerAvailable } from '../shared/bounded-waits.js';

describeBoundedWaits({
  title: 'new RedisStore({ url }) when its Redis hangs or dies',
  server: 'Redis',
  available: ownServerAvailable(
    redisServerAvailable(),
    'redis-server is not on the PATH',
    'it to hang and kill a Redis of its own',
    'RedisStore hung/dead-server tests',
  ),
  start: startRedis,
  open: (url, timeouts) => new RedisStore({ url, ...timeouts }),
  // ioredis's "Command timed out" comes after this long by default (stores/redis.ts).
  defaultCommandTimeoutMs: 5_000,
  timeoutMessage: 'Command timed out',
  hungFirst: { timeouts: { connectTimeout: 200, commandTimeout: 300 }, withinMs: 300, within: 'commandTimeout' },
  dead: { withinMs: 5_000, when: 'within the default command timeout once Redis is dead' },
});

describe('RedisStore timeouts and a client the app passes', () => {
  it('leaves the client as it is, and refuses timeouts it would not apply', () => {
    const client = new Redis({ lazyConnect: true });
    try {
      new RedisStore({ client });
      expect(client.options.commandTimeout).toBeUndefined();
      expect(client.options.connectTimeout).toBe(10_000); // ioredis's own default, untouched
      expect(() => new RedisStore({ client, commandTimeout: 100 })).toThrow(
        new TypeError(
          'koa-session-kit: `commandTimeout` must be omitted when `client` is given: set it on your ioredis client (received 100)',
        ),
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
