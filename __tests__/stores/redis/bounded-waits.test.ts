/** RedisStore({ url }) on a Redis that hangs or dies: requests fail with SessionStoreError within its timeouts, then recover. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { Redis } from 'ioredis';
import { SessionStoreError } from '../../../src/errors.js';
import { getSession } from '../../../src/index.js';
import { RedisStore } from '../../../stores/redis.js';
import { client as http, cookiePair, makeApp } from '../../helpers/app.js';
import { redisServerAvailable, startRedis, type OwnServer } from '../../helpers/own-server.js';

/** ioredis's "Command timed out" comes after this long by default (stores/redis.ts). */
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
/** Generous: two cores shared with other work can delay a timer by a second or more. */
const SLACK_MS = 4_000;

function serverAvailable(): boolean {
  if (redisServerAvailable()) return true;
  const message = 'redis-server is not on the PATH';
  if (process.env.CI === 'true') throw new Error(`${message}; CI needs it to hang and kill a Redis of its own`);
  console.warn(`${message}: skipping the RedisStore hung/dead-server tests`);
  return false;
}
const describeWithServer = serverAvailable() ? describe : describe.skip;

const routes = {
  '/count': async (ctx: Context) => {
    const s = await getSession<{ views: number }>(ctx);
    s.set('views', (s.get('views') ?? 0) + 1);
    ctx.body = { views: s.get('views') };
  },
};

/** An app on `store` whose errors (Koa's 'error' events) the test can read. */
function appOn(store: RedisStore): { app: ReturnType<typeof http>; errors: unknown[] } {
  const errors: unknown[] = [];
  const koa = makeApp({ store }, routes);
  koa.on('error', (error: unknown) => errors.push(error));
  return { app: http(koa), errors };
}

/** Sends `/count` and says how it ended and how long it took. */
async function timed(app: ReturnType<typeof http>, cookie?: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const request = app.get('/count');
  if (cookie !== undefined) request.set('Cookie', cookie);
  const { status } = await request;
  return { status, ms: performance.now() - started };
}

describeWithServer('new RedisStore({ url }) when its Redis hangs or dies', () => {
  let server: OwnServer;
  const stores: RedisStore[] = [];
  const store = (options: { connectTimeout?: number; commandTimeout?: number } = {}): RedisStore => {
    const made = new RedisStore({ url: server.url, ...options });
    stores.push(made);
    return made;
  };

  beforeAll(async () => {
    server = await startRedis();
  });

  afterAll(async () => {
    server.resume();
    await Promise.all(stores.map((made) => made.close()));
    await server.dispose();
  });

  it('answers 500 with a SessionStoreError after the default command timeout while Redis is hung, and 200 once it resumes', async () => {
    const { app, errors } = appOn(store());
    const cookie = cookiePair(await app.get('/count').expect(200, { views: 1 }));
    server.hang();
    let outcome;
    try {
      outcome = await timed(app, cookie);
    } finally {
      server.resume();
    }
    expect(outcome.status).toBe(500);
    expect(outcome.ms).toBeGreaterThanOrEqual(DEFAULT_COMMAND_TIMEOUT_MS - 100);
    expect(outcome.ms).toBeLessThan(DEFAULT_COMMAND_TIMEOUT_MS + SLACK_MS);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SessionStoreError);
    expect(errors[0]).toMatchObject({ operation: 'get', cause: { message: 'Command timed out' } });
    await app.get('/count').set('Cookie', cookie).expect(200, { views: 2 });
  }, 20_000);

  it('answers 500 within commandTimeout when Redis is hung before the store first connects, and 200 once it resumes', async () => {
    const { app, errors } = appOn(store({ connectTimeout: 200, commandTimeout: 300 }));
    server.hang();
    let outcome;
    try {
      outcome = await timed(app);
    } finally {
      server.resume();
    }
    expect(outcome.status).toBe(500);
    expect(outcome.ms).toBeLessThan(300 + SLACK_MS);
    expect(errors[0]).toBeInstanceOf(SessionStoreError);
    await app.get('/count').expect(200, { views: 1 });
  }, 20_000);

  it('answers 500 with a SessionStoreError within the default command timeout once Redis is dead', async () => {
    const { app, errors } = appOn(store());
    const cookie = cookiePair(await app.get('/count').expect(200, { views: 1 }));
    await server.stop();
    const outcome = await timed(app, cookie);
    expect(outcome.status).toBe(500);
    expect(outcome.ms).toBeLessThan(DEFAULT_COMMAND_TIMEOUT_MS + SLACK_MS);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SessionStoreError);
  }, 20_000);
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
