/** PostgresStore({ connectionString }) on a database that hangs or dies: requests fail with SessionStoreError within its timeouts, then recover. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import pg from 'pg';
import { SessionStoreError } from '../../../src/errors.js';
import { getSession } from '../../../src/index.js';
import { PostgresStore } from '../../../stores/postgres.js';
import { client as http, cookiePair, makeApp } from '../../helpers/app.js';
import { postgresBin, startPostgres, type OwnServer } from '../../helpers/own-server.js';

/** The statement timeout PostgresStore gives its own pool by default (stores/postgres/connection.ts). */
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
/** Generous: two cores shared with other work can delay a timer by a second or more. */
const SLACK_MS = 4_000;

function binaries(): string | undefined {
  const bin = postgresBin();
  if (bin !== undefined) return bin;
  const message = 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin';
  if (process.env.CI === 'true') throw new Error(`${message}; CI needs them to hang and kill a database of its own`);
  console.warn(`${message}: skipping the PostgresStore hung/dead-server tests`);
  return undefined;
}
const bin = binaries();
const describeWithServer = bin === undefined ? describe.skip : describe;

const routes = {
  '/count': async (ctx: Context) => {
    const s = await getSession<{ views: number }>(ctx);
    s.set('views', (s.get('views') ?? 0) + 1);
    ctx.body = { views: s.get('views') };
  },
};

/** An app on `store` whose errors (Koa's 'error' events) the test can read. */
function appOn(store: PostgresStore): { app: ReturnType<typeof http>; errors: unknown[] } {
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

describeWithServer('new PostgresStore({ connectionString }) when its database hangs or dies', () => {
  let server: OwnServer;
  const stores: PostgresStore[] = [];
  const store = (options: { connectTimeout?: number; commandTimeout?: number } = {}): PostgresStore => {
    const made = new PostgresStore({ connectionString: server.url, pruneInterval: false, ...options });
    stores.push(made);
    return made;
  };

  beforeAll(async () => {
    server = await startPostgres(bin!);
  }, 60_000);

  afterAll(async () => {
    server.resume();
    await Promise.all(stores.map((made) => made.close()));
    await server.dispose();
  }, 30_000);

  it('answers 500 with a SessionStoreError after the default command timeout while the database is hung, and 200 once it resumes', async () => {
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
    expect(errors[0]).toMatchObject({ operation: 'get', cause: { message: 'Query read timeout' } });
    await app.get('/count').set('Cookie', cookie).expect(200, { views: 2 });
  }, 20_000);

  it('answers 500 within connectTimeout when the database is hung before the store first connects, and 200 once it resumes', async () => {
    const { app, errors } = appOn(store({ connectTimeout: 300, commandTimeout: 1_000 }));
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

  it('answers 500 with a SessionStoreError at once when the database is down', async () => {
    const { app, errors } = appOn(store());
    const cookie = cookiePair(await app.get('/count').expect(200, { views: 1 }));
    await server.stop();
    const outcome = await timed(app, cookie);
    expect(outcome.status).toBe(500);
    expect(outcome.ms).toBeLessThan(SLACK_MS);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SessionStoreError);
  }, 20_000);
});

describe('PostgresStore timeouts and a pool the app passes', () => {
  it('leaves the pool as it is, and refuses timeouts it would not apply', async () => {
    const pool = new pg.Pool({ connectionString: 'postgres://127.0.0.1:1/none' });
    try {
      await new PostgresStore({ pool, pruneInterval: false }).close();
      expect(pool.options.connectionTimeoutMillis).toBeUndefined();
      expect((pool.options as pg.PoolConfig).query_timeout).toBeUndefined();
      expect(() => new PostgresStore({ pool, commandTimeout: 100 })).toThrow(
        new TypeError(
          'koa-session-kit: `commandTimeout` must be omitted when `pool` is given: set `query_timeout` and `statement_timeout` on your pool (received 100)',
        ),
      );
    } finally {
      await pool.end();
    }
  });

  it.each([
    ['connectTimeout', 0, RangeError, 'must be more than 0 and at most 2147483647 ms (received 0)'],
    ['commandTimeout', Number.NaN, RangeError, 'must be more than 0 and at most 2147483647 ms (received NaN)'],
    ['commandTimeout', '5000', TypeError, 'must be a number of milliseconds (received "5000")'],
  ])('refuses `%s: %p`', (option, value, Type, rule) => {
    const make = (): PostgresStore =>
      new PostgresStore({ connectionString: 'postgres://127.0.0.1:1/none', pruneInterval: false, [option]: value });
    expect(make).toThrow(Type);
    expect(make).toThrow(`koa-session-kit: \`${option}\` ${rule}`);
  });
});
