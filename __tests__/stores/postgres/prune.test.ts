/** PostgresStore#prune(): only expired rows go, in batches, one pruner at a time, and on a timer if asked. */

import { it } from '@jest/globals';
import type pg from 'pg';
import { digestId, generateId } from '../../../src/id.js';
import { PostgresStore } from '../../../stores/postgres.js';
import { describeWithPostgres, dropTable, quoted, testPool, uniqueAppName, uniqueTable, waitFor } from '../../helpers/postgres-store.js';
import { expectOthersStandAside, itPrunesLikeASqlStore } from '../shared/sql-prune.js';

const freshId = (): string => digestId(generateId());

describeWithPostgres('PostgresStore#prune()', () => {
  const table = uniqueTable('prune');
  let admin: pg.Pool;

  /** Inserts `count` rows that expired an hour ago, straight through SQL (fast, and not through the store). */
  async function seedExpired(count: number): Promise<void> {
    await admin.query(
      `INSERT INTO ${quoted(table)} (id, data, expires, version)
       SELECT 'seed-' || g || '-' || md5(random()::text), '\\x00', now() - interval '1 hour', 1 FROM generate_series(1, $1) g`,
      [count],
    );
  }

  async function rowCount(): Promise<number> {
    const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoted(table)}`);
    return rows[0]!.n;
  }

  itPrunesLikeASqlStore<pg.Pool>({
    admin: () => (admin = testPool()),
    pool: (connections) => testPool({ max: connections }),
    storeOn: (pool, pruneInterval) => new PostgresStore({ pool, table, pruneInterval }),
    truncate: () => admin.query(`TRUNCATE ${quoted(table)}`),
    dropTable: () => dropTable(admin, table),
    seedExpired,
    rowCount,
  });

  it('answers 0 at once while another instance is in the middle of pruning', async () => {
    const name = uniqueAppName('pruner');
    const pools = [testPool({ application_name: name }), testPool()];
    const [first, second] = pools.map((pool) => new PostgresStore({ pool, table, pruneInterval: false }));
    await Promise.all([first!.get(freshId()), second!.get(freshId())]); // both past table creation
    await seedExpired(3);
    const blocker = await admin.connect();
    try {
      // Holds the first pruner inside its DELETE, after it has taken the advisory lock.
      await blocker.query(`BEGIN; LOCK TABLE ${quoted(table)} IN EXCLUSIVE MODE`);
      const running = first!.prune();
      await waitFor('the first pruner to wait on the table lock', async () => {
        const { rows } = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [
          name,
        ]);
        return rows.length > 0;
      });
      // A pruner that ignored the lock would now wait on the table lock too: give it 1 s, not forever.
      await expectOthersStandAside(running, second!, 1_000, () => blocker.query('COMMIT'), 3);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
      await Promise.all([first!.close(), second!.close()]);
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });
});
