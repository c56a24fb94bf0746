/** The prune behaviour every SQL store shares, as `it`s a store's prune test file registers inside its own describe. */

import { afterAll, beforeAll, beforeEach, expect, it } from '@jest/globals';
import { digestId, generateId } from '../../../src/id.js';
import type { Store } from '../../../src/store.js';
import { waitFor } from './wait-for.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());

/** A store that prunes and closes. */
export type PrunableStore = Store & { prune(): Promise<number>; close(): Promise<void> };

/** What a pool must offer the shared cases. */
interface EndablePool {
  end(): Promise<void>;
}

/** How a store's prune test file hands its table and pools to the shared cases. */
export interface PruneTarget<Pool extends EndablePool> {
  /** The file's admin pool, made once (the suite ends it); the file keeps it for its own cases. */
  admin(): Pool;
  /** Another pool the tests own, with at most `connections` connections. */
  pool(connections: number): Pool;
  /** A store on `pool` for the file's table. */
  storeOn(pool: Pool, pruneInterval: number | false): PrunableStore;
  /** Empties the table, before each case. */
  truncate(): Promise<unknown>;
  /** Drops the table, after the suite. */
  dropTable(): Promise<void>;
  /** Inserts `count` rows that expired an hour ago, straight through SQL. */
  seedExpired(count: number): Promise<void>;
  /** How many rows the table holds. */
  rowCount(): Promise<number>;
}

/**
 * Registers, inside the store's describe, the hooks that make the table and empty it before each
 * case (the file's own cases included), and the shared prune cases.
 */
export function itPrunesLikeASqlStore<Pool extends EndablePool>(target: PruneTarget<Pool>): void {
  const { seedExpired, rowCount } = target;
  let admin: Pool;
  let store: PrunableStore;

  /** Another store on the table, on a pool of its own; `close()` closes both. */
  const onOwnPool = (connections: number) => {
    const pool = target.pool(connections);
    const other = target.storeOn(pool, false);
    return {
      store: other,
      async close(): Promise<void> {
        await other.close();
        await pool.end();
      },
    };
  };

  beforeAll(async () => {
    admin = target.admin();
    store = target.storeOn(admin, false);
    await store.get(freshId()); // creates the table
  });
  beforeEach(async () => {
    await target.truncate();
  });
  afterAll(async () => {
    await store.close();
    await target.dropTable();
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
    const others = [onOwnPool(2), onOwnPool(2)];
    try {
      const removed = await Promise.all(others.map((other) => other.store.prune()));
      // One instance deletes everything; the other found the lock taken, or nothing left once it was free.
      expect(removed.sort((a, b) => a - b)).toEqual([0, 5_000]);
      expect(await rowCount()).toBe(0);
    } finally {
      await Promise.all(others.map((other) => other.close()));
    }
  });

  it('shares one run between concurrent calls on the same instance', async () => {
    await seedExpired(10);
    const [a, b] = await Promise.all([store.prune(), store.prune()]);
    expect(a).toBe(10);
    expect(b).toBe(10);
  });

  it('releases its lock, so the next prune from another instance runs', async () => {
    // Another pool: the prune locks are re-entrant on one connection, so a connection shared with `store` would prove nothing.
    const other = onOwnPool(1);
    await seedExpired(3);
    expect(await store.prune()).toBe(3);
    await seedExpired(4);
    expect(await other.store.prune()).toBe(4);
    await seedExpired(2);
    expect(await store.prune()).toBe(2);
    await other.close();
  });

  it('prunes on its own every pruneInterval ms, and stops when closed', async () => {
    const timed = target.storeOn(admin, 50);
    await seedExpired(3);
    await waitFor('the timed prune', async () => (await rowCount()) === 0, 2_000);
    await timed.close();
    await seedExpired(3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await rowCount()).toBe(3);
  });
}

/**
 * With a first pruner held inside its DELETE (`running`): a second instance's prune answers 0
 * within `graceMs` instead of waiting on the same rows, and once `release()` frees them the first
 * finishes with `removed` rows.
 */
export async function expectOthersStandAside(
  running: Promise<number>,
  second: PrunableStore,
  graceMs: number,
  release: () => Promise<unknown>,
  removed: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, graceMs, 'still waiting')));
  expect(await Promise.race([second.prune(), timeout])).toBe(0);
  clearTimeout(timer);
  await release();
  expect(await running).toBe(removed);
}
