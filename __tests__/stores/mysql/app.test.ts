/** session() on MySQLStore through Koa: core behaviour, a user's sessions, every serializer, two app instances. */

import { afterAll, beforeAll } from '@jest/globals';
import type mysql from 'mysql2/promise';
import { MySQLStore } from '../../../stores/mysql.js';
import { describeWithMySQL, dropTable, testPool, uniqueTable } from '../../helpers/mysql-store.js';
import { describeSessionBehaviour, sessionRoutes } from '../shared/behaviour.js';
import { describeEverySerializer, describeTwoAppInstances } from '../shared/sql-app.js';
import { describeOwnerBehaviour } from '../shared/owners.js';

describeWithMySQL('MySQLStore under session()', () => {
  const table = uniqueTable('app');
  let admin: mysql.Pool;
  beforeAll(() => {
    admin = testPool({ connectionLimit: 10 });
  });
  afterAll(async () => {
    await dropTable(admin, table);
    await admin.end();
  });

  describeSessionBehaviour('MySQLStore', {
    make: async () => new MySQLStore({ pool: admin, table, pruneInterval: false }),
    serverSide: true,
  });

  const ownersTable = uniqueTable('appowners');
  describeOwnerBehaviour('MySQLStore', {
    make: async () => new MySQLStore({ pool: admin, table: ownersTable, pruneInterval: false }),
    cleanup: () => dropTable(admin, ownersTable),
  });

  describeEverySerializer('LONGBLOB', () => new MySQLStore({ pool: admin, table, pruneInterval: false }));

  describeTwoAppInstances(() => {
    const pool = testPool({ connectionLimit: 10 });
    return { store: new MySQLStore({ pool, table, pruneInterval: false }), end: () => pool.end() };
  }, sessionRoutes);
});
