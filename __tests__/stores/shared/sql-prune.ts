/** The prune behaviour every SQL store shares, as `it`s a store's prune test file registers inside its own describe. */

import { expect, it } from '@jest/globals';
import { digestId, generateId } from '../../../src/id.js';
import type { Store } from '../../../src/store.js';
import { waitFor } from './wait-for.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());

/** A store that prunes and closes. */
export type PrunableStore = Store & { prune(): Promise<number>; close(): Promise<void> };

/** A store on a pool of its own; `close()` closes the store and ends the pool. */
export interface OwnPoolStore {
  readonly store: PrunableStore;
  close(): Promise<void>;
}

/** How a store's prune test file hands its table to the shared cases. */
export interface PruneTarget {
  /** The file's store on the shared table, made in its beforeAll. */
  store(): PrunableStore;
  /** Inserts `count` rows that expired an hour ago, straight through SQL. */
  seedExpired(count: number): Promise<void>;
  /** How many rows the table holds. */
  rowCount(): Promise<number>;
  /** Another store on the same table, on a pool of its own with at most `connections` connections. */
  onOwnPool(connections: number): OwnPoolStore;
  /** A store on the same table that prunes on its own every `pruneInterval` ms. */
  timed(pruneInterval: number): PrunableStore;
}

/** Registers the shared prune cases; call inside the store's describe, after its beforeAll/beforeEach (which empties the table). */
export function itPrunesLikeASqlStore(target: PruneTarget): void {
  const { seedExpired, rowCount } = target;

  it('removes exactly the expired rows and leaves live ones, data and versions intact', async () => {
    const store = target.store();
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
    const store = target.store();
    const soon = freshId();
    await store.create(soon, { data: Uint8Array.of(1), expires: Date.now() + 2_000 });
    expect(await store.prune()).toBe(0);
    expect(await store.get(soon)).toBeDefined();
  });

  it('deletes more rows than one batch holds, all of them', async () => {
    const store = target.store();
    await seedExpired(2_345);
    const live = freshId();
    await store.create(live, { data: Uint8Array.of(7), expires: Date.now() + HOUR_MS });
    expect(await store.prune()).toBe(2_345);
    expect(await rowCount()).toBe(1);
  });

  it('lets one of two instances on two pools prune while the other stands aside', async () => {
    await seedExpired(5_000);
    const others = [target.onOwnPool(2), target.onOwnPool(2)];
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
    const store = target.store();
    await seedExpired(10);
    const [a, b] = await Promise.all([store.prune(), store.prune()]);
    expect(a).toBe(10);
    expect(b).toBe(10);
  });

  it('releases its lock, so the next prune from another instance runs', async () => {
    const store = target.store();
    // Another pool: the prune locks are re-entrant on one connection, so a connection shared with `store` would prove nothing.
    const other = target.onOwnPool(1);
    await seedExpired(3);
    expect(await store.prune()).toBe(3);
    await seedExpired(4);
    expect(await other.store.prune()).toBe(4);
    await seedExpired(2);
    expect(await store.prune()).toBe(2);
    await other.close();
  });

  it('prunes on its own every pruneInterval ms, and stops when closed', async () => {
    const timed = target.timed(50);
    await seedExpired(3);
    await waitFor('the timed prune', async () => (await rowCount()) === 0, 2_000);
    await timed.close();
    await seedExpired(3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await rowCount()).toBe(3);
  });
}
