/** session() on RedisStore through Koa: core behaviour on both clients, two app instances, TTL = maxAge, and a Redis outage. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import type { Redis } from 'ioredis';
import { getSession } from '../../../src/index.js';
import { digestId } from '../../../src/id.js';
import { RedisStore } from '../../../stores/redis.js';
import { client as http, cookiePair, cookieValue, makeApp, setCookies, sleep } from '../../helpers/app.js';
import { describeSessionBehaviour, itSharesOneSession, sessionRoutes } from '../shared/behaviour.js';
import {
  clientOf,
  deleteKeys,
  describeWithRedis,
  fastFailClient,
  LIBRARIES,
  outageClient,
  type RedisOutage,
  redisTarget,
  uniquePrefix,
} from '../../helpers/redis-store.js';

const DAY_MS = 86_400_000;
const prefix = uniquePrefix('redis-app');

const routes = {
  ...sessionRoutes,
  '/remember': async (ctx: Context) => {
    const s = await getSession(ctx);
    s.set('user', 'ada');
    s.maxAge = 30 * DAY_MS;
    ctx.body = 'remembered';
  },
};

/** The Redis key of the session a response's cookie names (`id.mac` → prefix + SHA-256 of id). */
const keyOf = (cookie: string): string => prefix + digestId(cookie.slice(cookie.indexOf('=') + 1).split('.')[0]!);

describeWithRedis('RedisStore under session()', () => {
  describe.each(LIBRARIES)('on %s', (library) => {
    describeSessionBehaviour('RedisStore', { ...redisTarget(uniquePrefix(`redis-app-${library}`), library), serverSide: true });
  });

  describe.each([
    ['ioredis', 'ioredis'],
    ['ioredis', 'node-redis'],
  ] as const)('two app instances with their own Redis clients (%s and %s)', (first, second) => {
    let clients: Array<Awaited<ReturnType<typeof clientOf>>>;
    let apps: ReturnType<typeof http>[];

    beforeAll(async () => {
      clients = [await clientOf(first), await clientOf(second)];
      apps = clients.map(({ client }) => http(makeApp({ store: new RedisStore({ client, prefix }) }, routes)));
    });
    afterAll(async () => {
      const admin = await fastFailClient();
      await deleteKeys(admin, prefix);
      await admin.quit();
      await Promise.all(clients.map((c) => c.quit()));
    });

    itSharesOneSession(() => apps);
  });

  describe('the Redis TTL', () => {
    let redis: Redis;

    beforeAll(async () => {
      redis = await fastFailClient();
    });
    afterAll(async () => {
      await deleteKeys(redis, prefix);
      await redis.quit();
    });

    it('equals maxAge, the same number the cookie carries', async () => {
      const app = http(makeApp({ store: new RedisStore({ client: redis, prefix }), maxAge: 120_000 }, routes));
      const response = await app.get('/count').expect(200);
      const pttl = await redis.pttl(keyOf(cookiePair(response)));
      expect(pttl).toBeGreaterThan(120_000 - 100);
      expect(pttl).toBeLessThanOrEqual(120_000);
      expect(setCookies(response)[0]).toContain('Max-Age=120;');
    });

    it('follows a per-session maxAge ("remember me")', async () => {
      const app = http(makeApp({ store: new RedisStore({ client: redis, prefix }), maxAge: 120_000 }, routes));
      const response = await app.get('/remember').expect(200);
      const pttl = await redis.pttl(keyOf(cookiePair(response)));
      expect(Math.abs(pttl - 30 * DAY_MS)).toBeLessThan(100);
      expect(setCookies(response)[0]).toContain(`Max-Age=${(30 * DAY_MS) / 1000};`);
    });

    it('is pushed back by a rolling read, with the data untouched', async () => {
      const store = new RedisStore({ client: redis, prefix });
      const app = http(makeApp({ store, maxAge: 60_000, rolling: true, touchAfter: 0 }, routes));
      const cookie = cookiePair(await app.get('/count'));
      const key = keyOf(cookie);
      const before = await redis.pexpiretime(key);
      const data = await redis.hgetBuffer(key, 'd');
      await sleep(150);
      const read = await app.get('/read').set('Cookie', cookie).expect(200, { views: 1 });
      expect(setCookies(read)).toHaveLength(1);
      expect((await redis.pexpiretime(key)) - before).toBeGreaterThanOrEqual(140);
      expect((await redis.hgetBuffer(key, 'd'))!.equals(data!)).toBe(true);
      expect(await redis.hget(key, 'v')).toBe('1');
    });
  });

  describe('while Redis is unreachable', () => {
    let admin: Redis;
    let outage: RedisOutage;

    beforeAll(async () => {
      admin = await fastFailClient();
      outage = await outageClient(admin);
    });
    afterAll(async () => {
      await outage.dispose();
      await deleteKeys(admin, prefix);
      await admin.quit();
    });

    it('answers 500 without leaking the cause, then serves the same sessions once Redis is back', async () => {
      const app = http(makeApp({ store: new RedisStore({ client: outage.client, prefix }) }, routes));
      const cookie = cookiePair(await app.get('/count').expect(200, { views: 1 }));

      await outage.begin();
      const failed = await app.get('/count').set('Cookie', cookie).expect(500);
      expect(failed.text).toBe('Internal Server Error');
      expect(setCookies(failed)).toEqual([]);
      await app.get('/count').expect(500);
      await sleep(100); // several reconnect attempts fail meanwhile; still down
      await app.get('/count').set('Cookie', cookie).expect(500);

      await outage.end();
      const back = await app.get('/count').set('Cookie', cookie).expect(200, { views: 2 });
      expect(cookieValue(back)).toBe(cookie.slice(cookie.indexOf('=') + 1));
      expect(cookiePair(await app.get('/count').expect(200, { views: 1 }))).not.toBe(cookie);
    });
  });
});
