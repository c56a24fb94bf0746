/** session() on PostgresStore through Koa: core behaviour, every serializer, two app instances, an outage. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import type pg from 'pg';
import { PostgresStore } from '../../../stores/postgres.js';
import { client as http, cookiePair, cookieValue, makeApp, setCookies } from '../../helpers/app.js';
import { describeSessionBehaviour, sessionRoutes } from '../shared/behaviour.js';
import { describeEverySerializer, describeTwoAppInstances } from '../shared/sql-app.js';
import {
  backendPids,
  describeWithPostgres,
  dropTable,
  scratchDatabase,
  type ScratchDatabase,
  terminateBackends,
  testPool,
  uniqueAppName,
  uniqueTable,
  waitFor,
} from '../../helpers/postgres-store.js';

const routes = {
  ...sessionRoutes,
  '/health': (ctx: Context) => {
    ctx.body = 'up'; // never touches the session
  },
};

describeWithPostgres('PostgresStore under session()', () => {
  const table = uniqueTable('app');
  let admin: pg.Pool;
  beforeAll(() => {
    admin = testPool({ max: 10 });
  });
  afterAll(async () => {
    await dropTable(admin, table);
    await admin.end();
  });

  describeSessionBehaviour('PostgresStore', {
    make: async () => new PostgresStore({ pool: admin, table, pruneInterval: false }),
    serverSide: true,
  });

  describeEverySerializer('bytea', () => new PostgresStore({ pool: admin, table, pruneInterval: false }));

  describeTwoAppInstances(() => {
    const pool = testPool({ max: 10 });
    return { store: new PostgresStore({ pool, table, pruneInterval: false }), end: () => pool.end() };
  }, routes);

  // In a database of its own, so refusing connections to it disturbs no other test file.
  describe('while the database is down', () => {
    const name = uniqueAppName('appdown');
    let database: ScratchDatabase;
    let pool: pg.Pool;

    beforeAll(async () => {
      database = await scratchDatabase(admin, 'appdown');
      pool = testPool({ connectionString: database.url(), application_name: name });
    });
    afterAll(async () => {
      await pool.end();
      await database.drop();
    });

    it('answers 500 on session routes without leaking the cause, then serves the same sessions once it is back', async () => {
      const app = http(makeApp({ store: new PostgresStore({ pool, pruneInterval: false }) }, routes));
      const cookie = cookiePair(await app.get('/count').expect(200, { views: 1 }));
      await app.get('/count').set('Cookie', cookie).expect(200, { views: 2 });

      await database.refuse();
      await terminateBackends(admin, name);
      await waitFor('the pool to drop its dead connections', async () => pool.totalCount === 0);
      expect(await backendPids(admin, name)).toEqual([]);

      const failed = await app.get('/count').set('Cookie', cookie).expect(500);
      expect(failed.text).toBe('Internal Server Error');
      expect(setCookies(failed)).toEqual([]);
      await app.get('/count').expect(500); // a new visitor's first write fails too
      await app.get('/health').expect(200, 'up'); // routes without a session are untouched

      await database.allow();
      const back = await app.get('/count').set('Cookie', cookie).expect(200, { views: 3 });
      expect(cookieValue(back)).toBe(cookie.slice(cookie.indexOf('=') + 1)); // the same session, not a new one
      expect(cookieValue(await app.get('/count').expect(200, { views: 1 }))).not.toBe(cookie);
    });
  });
});
