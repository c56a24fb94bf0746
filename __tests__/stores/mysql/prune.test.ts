/** MySQLStore#prune(): only expired rows go, in batches, one pruner at a time across instances, and on a timer if asked. */

import { expect, it } from '@jest/globals';
import type mysql from 'mysql2/promise';
import { SessionStoreError } from '../../../src/errors.js';
import { digestId, generateId } from '../../../src/id.js';
import { MySQLStore } from '../../../stores/mysql.js';
import { describeWithMySQL, dropTable, quoted, testPool, uniqueTable } from '../../helpers/mysql-store.js';
import { expectOthersStandAside, itPrunesLikeASqlStore } from '../shared/sql-prune.js';
import { waitFor } from '../shared/wait-for.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());

describeWithMySQL('MySQLStore#prune()', () => {
  const table = uniqueTable('prune');
  let admin: mysql.Pool;

  /** Inserts `count` rows that expired an hour ago, straight through SQL (fast, and not through the store). */
  async function seedExpired(count: number, prefix = 'seed'): Promise<void> {
    const expired = Date.now() - HOUR_MS;
    const rows = Array.from({ length: count }, (_, i) => [`${prefix}-${i}-${generateId().slice(0, 8)}`, Buffer.of(0), expired, 1, expired]);
    await admin.query(`INSERT INTO ${quoted(table)} (id, data, expires, version, created) VALUES ?`, [rows]);
  }

  async function rowCount(): Promise<number> {
    const [rows] = await admin.query<(mysql.RowDataPacket & { n: number })[]>(`SELECT COUNT(*) AS n FROM ${quoted(table)}`);
    return rows[0]!.n;
  }

  /**
   * True while some connection runs a DELETE on this table. (INNODB_TRX would not do: a DELETE
   * waiting on its first row lock has changed nothing yet, and MariaDB may not list it.)
   */
  async function deleteRunning(): Promise<boolean> {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT 1 FROM information_schema.PROCESSLIST WHERE INFO LIKE CONCAT('DELETE FROM %', ?, '%')`,
      [table],
    );
    return rows.length > 0;
  }

  /** A transaction holding a row lock on every seeded row with `prefix`, so a pruner's DELETE waits on it. */
  async function blockRows(prefix: string): Promise<mysql.PoolConnection> {
    const blocker = await admin.getConnection();
    await blocker.query('START TRANSACTION');
    await blocker.query(`SELECT id FROM ${quoted(table)} WHERE id LIKE ? FOR UPDATE`, [`${prefix}-%`]);
    return blocker;
  }

  itPrunesLikeASqlStore<mysql.Pool>({
    admin: () => (admin = testPool({ connectionLimit: 6 })),
    pool: (connections) => testPool({ connectionLimit: connections }),
    storeOn: (pool, pruneInterval) => new MySQLStore({ pool, table, pruneInterval }),
    truncate: () => admin.query(`TRUNCATE TABLE ${quoted(table)}`),
    dropTable: () => dropTable(admin, table),
    seedExpired,
    rowCount,
  });

  it('answers 0 at once while another instance is in the middle of pruning, which then finishes', async () => {
    const pools = [testPool({ connectionLimit: 2 }), testPool({ connectionLimit: 2 })];
    const [first, second] = pools.map((pool) => new MySQLStore({ pool, table, pruneInterval: false }));
    await Promise.all([first!.get(freshId()), second!.get(freshId())]); // both connected, past table creation
    await seedExpired(3, 'held');
    const blocker = await blockRows('held');
    try {
      // The first pruner takes the named lock, then waits inside its DELETE on the blocker's row locks.
      const running = first!.prune();
      await waitFor('the first pruner to wait on a row lock', deleteRunning);
      // A pruner that ignored the named lock would now wait on the rows too (until its 5 s commandTimeout): give it 2 s.
      await expectOthersStandAside(running, second!, 2_000, () => blocker.query('COMMIT'), 3);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
      await Promise.all([first!.close(), second!.close()]);
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });

  it('frees the lock when a prune fails mid-way, so the next one from another instance runs', async () => {
    const pools = [testPool({ connectionLimit: 2 }), testPool({ connectionLimit: 2 })];
    // The short timeout is for the prune; a loaded machine can take longer than that to create the table.
    const other = new MySQLStore({ pool: pools[1]!, table, pruneInterval: false });
    await other.get(freshId()); // past table creation
    const stuck = new MySQLStore({ pool: pools[0]!, table, pruneInterval: false, createTable: false, commandTimeout: 1000 });
    await stuck.get(freshId());
    await seedExpired(3, 'held');
    const blocker = await blockRows('held');
    try {
      const error = await stuck.prune().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionStoreError);
      expect((error as SessionStoreError).operation).toBe('prune');
      expect((error as SessionStoreError).message).toMatch(/no answer from the server within 1000 ms \(commandTimeout\)/);
      // The server finishes the abandoned DELETE once the rows are free, then finds its client gone and drops the lock.
      await blocker.query('COMMIT');
      await waitFor('the expired rows to go', async () => (await other.prune()) >= 0 && (await rowCount()) === 0);
      await seedExpired(4);
      expect(await other.prune()).toBe(4);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
      await Promise.all([stuck.close(), other.close()]);
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });
});
