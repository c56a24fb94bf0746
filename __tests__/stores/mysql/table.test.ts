/** MySQLStore's table on the real MariaDB: names kept exactly, creation by many instances at once, or by hand. */

import { afterAll, describe, expect, it } from '@jest/globals';
import type mysql from 'mysql2/promise';
import { isSessionStoreError, SessionStoreError } from '../../../src/errors.js';
import { digestId, generateId } from '../../../src/id.js';
import { createSessionTableSql, MySQLStore } from '../../../stores/mysql.js';
import { describeWithMySQL, dropTable, quoted, testPool, uniqueTable } from '../../helpers/mysql-store.js';
import { MYSQL_URL } from '../../helpers/services.js';
import { expectEveryStatementWorks } from '../shared/every-statement.js';
import { useAdminPool } from '../shared/admin-pool.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());

describeWithMySQL('MySQLStore table', () => {
  const admin = useAdminPool(testPool);

  async function indexes(table: string): Promise<string[]> {
    const [rows] = await admin().query<(mysql.RowDataPacket & { name: string })[]>(
      `SELECT DISTINCT INDEX_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
      [table],
    );
    return rows.map((row) => row.name).sort();
  }

  describe('names', () => {
    const sentinel = uniqueTable('sent');
    // What a builder that only wrapped the name in backquotes would run as a second statement.
    const table = `x\`; DROP TABLE ${sentinel}; --`;
    const longest = `${uniqueTable('é')}${'é'.repeat(64)}`.slice(0, 64);
    afterAll(async () => {
      await dropTable(admin(), table);
      await dropTable(admin(), sentinel);
      await dropTable(admin(), longest);
    });

    it('uses a name with backquotes, spaces and semicolons verbatim and injects nothing', async () => {
      await admin().query(`CREATE TABLE ${quoted(sentinel)} (x int)`);
      const store = new MySQLStore({ pool: admin(), table, pruneInterval: false });
      await expectEveryStatementWorks(store);
      await store.close();
      const [rows] = await admin().query<mysql.RowDataPacket[]>(
        'SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?, ?)',
        [table, sentinel],
      );
      expect(rows).toHaveLength(2);
      expect(await indexes(table)).toEqual(['PRIMARY', 'expires_idx', 'owner_idx']);
    });

    it('keeps a 64-character name of two-byte characters, the longest the server allows', async () => {
      expect([...longest]).toHaveLength(64);
      const store = new MySQLStore({ pool: admin(), table: longest, pruneInterval: false });
      const id = freshId();
      await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS });
      expect((await store.get(id))!.version).toBe(1);
      await store.close();
      expect(await indexes(longest)).toEqual(['PRIMARY', 'expires_idx', 'owner_idx']);
    });
  });

  describe('createTable', () => {
    const racing = uniqueTable('racing');
    const manual = uniqueTable('manual');
    afterAll(async () => {
      await dropTable(admin(), racing);
      await dropTable(admin(), manual);
    });

    it('lets many instances on their own pools create one table at the same moment', async () => {
      const pools = Array.from({ length: 6 }, () => testPool({ connectionLimit: 1 }));
      const stores = pools.map((pool) => new MySQLStore({ pool, table: racing, pruneInterval: false }));
      const ids = stores.map(() => freshId());
      const created = await Promise.all(
        stores.map((store, i) => store.create(ids[i]!, { data: Uint8Array.of(i), expires: Date.now() + HOUR_MS })),
      );
      expect(created).toEqual(stores.map(() => true));
      for (const [i, id] of ids.entries()) expect(Array.from((await stores[0]!.get(id))!.data)).toEqual([i]);
      expect(await indexes(racing)).toEqual(['PRIMARY', 'expires_idx', 'owner_idx']);
      await Promise.all(pools.map((pool) => pool.end()));
    });

    it('with createTable: false, fails with the cause kept until the table exists, then works', async () => {
      const store = new MySQLStore({ pool: admin(), table: manual, createTable: false, pruneInterval: false });
      const id = freshId();
      const error = await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS }).catch((e: unknown) => e);
      expect(isSessionStoreError(error)).toBe(true);
      expect((error as SessionStoreError).operation).toBe('create');
      expect((error as SessionStoreError).message).toMatch(
        new RegExp(`^koa-session-kit: MySQLStore create failed on table \`${manual}\`: `),
      );
      expect(((error as SessionStoreError).cause as { code?: string }).code).toBe('ER_NO_SUCH_TABLE');

      await admin().query(createSessionTableSql({ table: manual }));
      expect(await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS })).toBe(true);
      await store.close();
    });

    it('says so when the table cannot be created, and tries again on the next call', async () => {
      // One connection to a server with no default database: CREATE TABLE fails until a database is chosen.
      const url = new URL(MYSQL_URL);
      url.pathname = '/';
      const pool = testPool({ uri: url.toString(), connectionLimit: 1 });
      const table = uniqueTable('nodb');
      const store = new MySQLStore({ pool, table, pruneInterval: false });
      try {
        for (let attempt = 0; attempt < 2; attempt++) {
          const error = await store.get(freshId()).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(SessionStoreError);
          expect((error as SessionStoreError).operation).toBe('get');
          expect((error as SessionStoreError).message).toMatch(new RegExp(`on table \`${table}\` while creating it: No database selected`));
          expect(((error as SessionStoreError).cause as { code?: string }).code).toBe('ER_NO_DB_ERROR');
        }
        const connection = await pool.getConnection();
        await connection.query(`USE ${quoted(new URL(MYSQL_URL).pathname.slice(1))}`);
        connection.release();
        expect(await store.get(freshId())).toBeUndefined();
      } finally {
        await store.close();
        await dropTable(admin(), table);
        await pool.end();
      }
    });
  });
});
