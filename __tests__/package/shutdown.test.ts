import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import { getSession, session } from '../../src/index.js';
import type { Store } from '../../src/store.js';
import { MySQLStore } from '../../stores/mysql.js';
import { PostgresStore } from '../../stores/postgres.js';
import { RedisStore } from '../../stores/redis.js';
import { client, cookiePair } from '../helpers/app.js';
import { removeTempDirs, tempDir } from '../helpers/file-store.js';
import * as mysqlHelpers from '../helpers/mysql-store.js';
import { describeWithPostgres, dropTable, testPool, uniqueTable } from '../helpers/postgres-store.js';
import { deleteKeys, describeWithRedis, fastFailClient, uniquePrefix } from '../helpers/redis-store.js';
import { DATABASE_URL, MYSQL_URL, REDIS_URL } from '../helpers/services.js';

afterAll(removeTempDirs);

const FIXTURE = fileURLToPath(new URL('./fixtures/shutdown-app.ts', import.meta.url));
/** Long enough for tsx to start under load; a process kept alive by a timer or socket never gets there. */
const EXIT_WITHIN_MS = 20_000;

interface Outcome {
  stdout: string;
  stderr: string;
  code: number | null;
  /** The process was still running at the deadline and was killed. */
  hung: boolean;
}

/** Runs the fixture app with `args` and waits (bounded) for it to exit by itself. */
function runApp(args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let hung = false;
    const deadline = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, EXIT_WITHIN_MS);
    child.on('exit', (code) => {
      clearTimeout(deadline);
      resolve({ stdout, stderr, code, hung });
    });
  });
}

function expectCleanExit(outcome: Outcome): void {
  expect({ hung: outcome.hung, code: outcome.code, stderr: outcome.stderr }).toEqual({ hung: false, code: 0, stderr: '' });
  expect(outcome.stdout).toBe('closed\n');
}

describe('sessions.close(): a process exits by itself after server.close() and sessions.close()', () => {
  it('with the MemoryStore session() made itself', async () => {
    expectCleanExit(await runApp(['memory']));
  }, 30_000);

  it('with a FileStore and its prune timer', async () => {
    expectCleanExit(await runApp(['file', await tempDir('shutdown')]));
  }, 30_000);
});

/** A SQL store the fixture app can open from a URL, and the test from a pool of its own. */
interface SqlTarget<P extends { end(): Promise<void> }> {
  describeWith: typeof describe.skip;
  /** The fixture app's first argument, and the option the URL goes in: `postgres`, `connectionString`. */
  kind: string;
  urlOption: string;
  url: string;
  uniqueTable(label: string): string;
  testPool(): P;
  dropTable(pool: P, table: string): Promise<void>;
  open(pool: P, table: string): Store;
  /** The rows of `SELECT 1 AS one` on `pool`. */
  selectOne(pool: P): Promise<unknown>;
}

function describeSqlShutdown<P extends { end(): Promise<void> }>(name: string, target: SqlTarget<P>): void {
  target.describeWith(`sessions.close() with ${name}`, () => {
    const table = target.uniqueTable('shutdown');
    const pool = target.testPool();
    afterAll(async () => {
      await target.dropTable(pool, table);
      await pool.end();
    });

    it(`ends the pool it made from ${target.urlOption}`, async () => {
      expectCleanExit(await runApp([target.kind, target.url, table]));
    }, 30_000);

    it('leaves a pool the app passed in open and usable', async () => {
      const sessions = session({ store: target.open(pool, table) });
      await exercise(sessions);
      await sessions.close();
      expect(await target.selectOne(pool)).toEqual([{ one: 1 }]);
    });
  });
}

describeSqlShutdown('PostgresStore', {
  describeWith: describeWithPostgres,
  kind: 'postgres',
  urlOption: 'connectionString',
  url: DATABASE_URL,
  uniqueTable,
  testPool: () => testPool(),
  dropTable: (pool, table) => dropTable(pool, table),
  open: (pool, table) => new PostgresStore({ pool, table }),
  selectOne: async (pool) => (await pool.query<{ one: number }>('SELECT 1 AS one')).rows,
});

describeSqlShutdown('MySQLStore', {
  describeWith: mysqlHelpers.describeWithMySQL,
  kind: 'mysql',
  urlOption: 'uri',
  url: MYSQL_URL,
  uniqueTable: mysqlHelpers.uniqueTable,
  testPool: () => mysqlHelpers.testPool(),
  dropTable: mysqlHelpers.dropTable,
  open: (pool, table) => new MySQLStore({ pool, table }),
  selectOne: async (pool) => (await pool.query('SELECT 1 AS one'))[0],
});

describeWithRedis('sessions.close() with RedisStore', () => {
  const prefix = uniquePrefix('shutdown');

  it('quits the client it made from url', async () => {
    expectCleanExit(await runApp(['redis', REDIS_URL, prefix]));
  }, 30_000);

  it('leaves a client the app passed in open and usable', async () => {
    const redis = await fastFailClient();
    try {
      const sessions = session({ store: new RedisStore({ client: redis, prefix }) });
      await exercise(sessions);
      await sessions.close();
      expect(await redis.ping()).toBe('PONG');
    } finally {
      await deleteKeys(redis, prefix);
      await redis.quit();
    }
  });
});

/** A login and a read through a real app, so the store has been used before it is closed. */
async function exercise(sessions: ReturnType<typeof session>): Promise<void> {
  const app = new Koa();
  app.keys = ['shutdown-test-key-0123456789abcdefghijklm'];
  app.silent = true;
  app.use(sessions);
  app.use(async (ctx) => {
    const current = await getSession(ctx);
    if (ctx.path === '/login') current.set('user', 'ada');
    ctx.body = { user: current.get('user') ?? null };
  });
  const cookie = cookiePair(await client(app).get('/login').expect(200));
  await client(app).get('/').set('Cookie', cookie).expect(200, { user: 'ada' });
}
