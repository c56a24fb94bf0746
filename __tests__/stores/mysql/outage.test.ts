/** MySQLStore on a MariaDB of the test's own that hangs (SIGSTOP) and dies: bounded 500s, then recovery. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import mysql from 'mysql2/promise';
import { SessionStoreError } from '../../../src/errors.js';
import { digestId, generateId } from '../../../src/id.js';
import { MySQLStore } from '../../../stores/mysql.js';
import { client as http, cookiePair, makeApp, setCookies } from '../../helpers/app.js';
import { mariadbAvailable, startMariaDB, type OwnMariaDB } from '../../helpers/mysql-store.js';
import { sessionRoutes } from '../shared/behaviour.js';

const routes = {
  ...sessionRoutes,
  '/health': (ctx: Context) => {
    ctx.body = 'up'; // never touches the session
  },
};
const TIMEOUT_MS = 1_000;
/** What a bounded answer may take on a loaded machine beyond the timeout itself. */
const SLACK_MS = 1_500;

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await work();
  return { result, ms: performance.now() - start };
}

(mariadbAvailable() ? describe : describe.skip)('MySQLStore when the server hangs or dies', () => {
  let server: OwnMariaDB;
  beforeAll(async () => {
    server = await startMariaDB();
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
  }, 15_000);

  it('answers 500 within commandTimeout while the server is hung, for every request, then serves the same session once it wakes', async () => {
    const store = new MySQLStore({
      uri: server.url,
      table: 'hang',
      commandTimeout: TIMEOUT_MS,
      connectTimeout: TIMEOUT_MS,
      pruneInterval: false,
    });
    const app = http(makeApp({ store }, routes));
    try {
      const cookie = cookiePair(await app.get('/count').expect(200, { views: 1 }));
      await app.get('/count').set('Cookie', cookie).expect(200, { views: 2 });

      server.hang();
      try {
        // More requests than the pool has connections, each bounded: none queues behind a stuck one.
        const answers = await Promise.all(
          Array.from({ length: 12 }, (_, i) => timed(() => (i % 2 === 0 ? app.get('/count').set('Cookie', cookie) : app.get('/count')))),
        );
        for (const { result, ms } of answers) {
          expect(result.status).toBe(500);
          expect(result.text).toBe('Internal Server Error');
          expect(setCookies(result)).toEqual([]);
          expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
        }
        // And again, on the connections the pool makes after destroying the stuck ones (the handshake never comes).
        const again = await timed(() => app.get('/count').set('Cookie', cookie));
        expect(again.result.status).toBe(500);
        expect(again.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
        await app.get('/health').expect(200, 'up');

        const error = await store.get(digestId(generateId())).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SessionStoreError);
        expect((error as SessionStoreError).message).toBe(
          `koa-session-kit: MySQLStore get failed on table \`hang\`: no answer from the server within ${TIMEOUT_MS} ms (commandTimeout) (ETIMEDOUT)`,
        );
      } finally {
        server.resume();
      }
      await app.get('/count').set('Cookie', cookie).expect(200, { views: 3 });
    } finally {
      await store.close();
    }
  });

  it('bounds the waits on a pool the app passes, as on its own', async () => {
    const pool = mysql.createPool({ uri: server.url, connectTimeout: TIMEOUT_MS, connectionLimit: 2 });
    const store = new MySQLStore({ pool, table: 'given', commandTimeout: TIMEOUT_MS, pruneInterval: false });
    const app = http(makeApp({ store }, routes));
    try {
      const cookie = cookiePair(await app.get('/count').expect(200, { views: 1 }));
      server.hang();
      try {
        const answers = await Promise.all(Array.from({ length: 5 }, () => timed(() => app.get('/count').set('Cookie', cookie))));
        for (const { result, ms } of answers) {
          expect(result.status).toBe(500);
          expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
        }
      } finally {
        server.resume();
      }
      await app.get('/count').set('Cookie', cookie).expect(200, { views: 2 });
    } finally {
      await store.close();
      await pool.end();
    }
  });

  it('answers 500 at once when the server is gone, naming the table and keeping the driver’s error', async () => {
    const store = new MySQLStore({ uri: server.url, table: 'gone', commandTimeout: TIMEOUT_MS, pruneInterval: false });
    const app = http(makeApp({ store }, routes));
    try {
      const cookie = cookiePair(await app.get('/count').expect(200, { views: 1 }));
      await server.dispose();
      const { result, ms } = await timed(() => app.get('/count').set('Cookie', cookie));
      expect(result.status).toBe(500);
      expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
      await app.get('/health').expect(200, 'up');
      const error = await store.get(digestId(generateId())).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionStoreError);
      expect((error as SessionStoreError).message).toMatch(/^koa-session-kit: MySQLStore get failed on table `gone`: /);
      expect(((error as SessionStoreError).cause as { code?: string }).code).toBe('ECONNREFUSED');
    } finally {
      await store.close();
    }
  });
});
