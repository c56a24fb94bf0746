/** PostgresStore#prune(): only expired rows go, in batches, one pruner at a time, and on a timer if asked. */

import { afterAll, beforeAll, beforeEach, expect, it } from '@jest/globals';
import type pg from 'pg';
import { digestId, generateId } from '../../../src/id.js';
import { PostgresStore } from '../../../stores/postgres.js';
import { describeWithPostgres, dropTable, quoted, testPool, uniqueAppName, uniqueTable, waitFor } from '../../helpers/postgres-store.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());

describeWithPostgres('PostgresStore#prune()', () => {
  const table = uniqueTable('prune');
  let admin: pg.Pool;
  let store: PostgresStore;

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

  beforeAll(async () => {
    admin = testPool();
    store = new PostgresStore({ pool: admin, table, pruneInterval: false });
    await store.get(freshId()); // creates the table
  });
  beforeEach(async () => {
    await admin.query(`TRUNCATE ${quoted(table)}`);
  });
  afterAll(async () => {
    await store.close();
    await dropTable(admin, table);
    await admin.end();
  });

  it('removes exactly the expired rows and leaves live ones, data and versions intact', async () => {
    const dead = Array.from({ length: 5 }, freshId);
    const live = Array.from({ length: 3 }, freshId);
    for (const id of dead) await store.create(id, { data: Uint8Array.of(0), expires: Date.now() - 1 });
    for (const [i, id] of live.entries()) {
      await store.create(id, { data: Uint8Array.of(i), expires: Date.now() + HOUR_MS });
      await store.update(id, { data: Uint8Array.of(i, i), expires: Date.now() + HOUR_MS }, 1);
    }
    expect(await store.prune()).toBe(5);
    expect(await rowCount()).toBe(3);
    for (const [i, id] of live.entries()) expect(await store.get(id)).toMatchObject({ data: Buffer.of(i, i), version: 2 });
    expect(await store.prune()).toBe(0);
  });

  it('judges expiry by the app clock: a row expiring a moment from now stays', async () => {
    const soon = freshId();
    await store.create(soon, { data: Uint8Array.of(1), expires: Date.now() + 2_000 });
    expect(await store.prune()).toBe(0);
    expect(await store.get(soon)).toBeDefined();
  });

  it('deletes more rows than one batch holds, all of them', async () => {
    await seedExpired(2_345);
    const live = freshId();
    await store.create(live, { data: Uint8Array.of(7), expires: Date.now() + HOUR_MS });
    expect(await store.prune()).toBe(2_345);
    expect(await rowCount()).toBe(1);
  });

  it('lets one of two instances on two pools prune while the other stands aside', async () => {
    await seedExpired(5_000);
    const pools = [testPool({ max: 2 }), testPool({ max: 2 })];
    const stores = pools.map((pool) => new PostgresStore({ pool, table, pruneInterval: false }));
    try {
      const removed = await Promise.all(stores.map((s) => s.prune()));
      // One instance deletes everything; the other found the lock taken, or nothing left once it was free.
      expect(removed.sort((a, b) => a - b)).toEqual([0, 5_000]);
      expect(await rowCount()).toBe(0);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await Promise.all(pools.map((pool) => pool.end()));
    }
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
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise((resolve) => (timer = setTimeout(resolve, 1_000, 'still waiting')));
      expect(await Promise.race([second!.prune(), timeout])).toBe(0);
      clearTimeout(timer);
      await blocker.query('COMMIT');
      expect(await running).toBe(3);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
      await Promise.all([first!.close(), second!.close()]);
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });

  it('shares one run between concurrent calls on the same instance', async () => {
    await seedExpired(10);
    const [a, b] = await Promise.all([store.prune(), store.prune()]);
    expect(a).toBe(10);
    expect(b).toBe(10);
  });

  it('releases its lock, so the next prune from another instance runs', async () => {
    // Another pool: session advisory locks are re-entrant, so a connection shared with `store` would prove nothing.
    const pool = testPool({ max: 1 });
    const other = new PostgresStore({ pool, table, pruneInterval: false });
    await seedExpired(3);
    expect(await store.prune()).toBe(3);
    await seedExpired(4);
    expect(await other.prune()).toBe(4);
    await seedExpired(2);
    expect(await store.prune()).toBe(2);
    await other.close();
    await pool.end();
  });

  it('prunes on its own every pruneInterval ms, and stops when closed', async () => {
    const timed = new PostgresStore({ pool: admin, table, pruneInterval: 50 });
    await seedExpired(3);
    await waitFor('the timed prune', async () => (await rowCount()) === 0, 2_000);
    await timed.close();
    await seedExpired(3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await rowCount()).toBe(3);
  });
});
