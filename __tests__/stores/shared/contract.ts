/** The Store contract, as one suite every server-side store runs against a real backend. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { digestId, generateId } from '../../../src/id.js';
import type { Store } from '../../../src/store.js';

/** How a store-specific test file hands its store to the contract. */
export interface ContractTarget {
  /** Makes a store on a clean backend; called once for the suite. */
  make(): Promise<Store>;
  /** Runs after `store.close()`, e.g. to drop a table or remove a directory. */
  cleanup?(): Promise<void>;
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const freshId = (): string => digestId(generateId());
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const HOUR_MS = 3_600_000;

/** Registers the full Store contract for one store under `describe(name)`. */
export function describeStoreContract(name: string, target: ContractTarget): void {
  describe(`${name} (Store contract)`, () => {
    let store: Store;

    beforeAll(async () => {
      store = await target.make();
    });

    afterAll(async () => {
      await store?.close?.();
      await target.cleanup?.();
    });

    it('returns undefined for an id it never saw', async () => {
      expect(await store.get(freshId())).toBeUndefined();
    });

    it('creates a record at version 1 and returns its bytes and expiry exactly', async () => {
      const id = freshId();
      const expires = Date.now() + HOUR_MS;
      const data = Uint8Array.from({ length: 256 }, (_, i) => i);
      expect(await store.create(id, { data, expires })).toBe(true);
      const got = await store.get(id);
      expect(got).toBeDefined();
      expect(Buffer.from(got!.data).equals(Buffer.from(data))).toBe(true);
      expect(got!.expires).toBe(expires);
      expect(got!.version).toBe(1);
    });

    it('keeps a large binary record byte for byte', async () => {
      const id = freshId();
      const data = new Uint8Array(200_000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
      await store.create(id, { data, expires: Date.now() + HOUR_MS });
      const got = await store.get(id);
      expect(Buffer.from(got!.data).equals(Buffer.from(data))).toBe(true);
    });

    it('refuses to create over an existing id and leaves the first record intact', async () => {
      const id = freshId();
      const expires = Date.now() + HOUR_MS;
      expect(await store.create(id, { data: bytes(1), expires })).toBe(true);
      expect(await store.create(id, { data: bytes(2), expires: expires + 1000 })).toBe(false);
      const got = await store.get(id);
      expect(Array.from(got!.data)).toEqual([1]);
      expect(got!.expires).toBe(expires);
    });

    it('lets exactly one of many concurrent creates of one id win', async () => {
      const id = freshId();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.create(id, { data: bytes(i), expires: Date.now() + HOUR_MS })),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(Array.from((await store.get(id))!.data)).toEqual([winner]);
    });

    it('updates an existing record without a version and bumps the version', async () => {
      const id = freshId();
      await store.create(id, { data: bytes(1), expires: Date.now() + HOUR_MS });
      const expires = Date.now() + 2 * HOUR_MS;
      expect(await store.update(id, { data: bytes(9, 9), expires })).toBe(2);
      const got = await store.get(id);
      expect(Array.from(got!.data)).toEqual([9, 9]);
      expect(got!.expires).toBe(expires);
      expect(got!.version).toBe(2);
    });

    it('does not create a record when updating a missing id', async () => {
      const id = freshId();
      expect(await store.update(id, { data: bytes(1), expires: Date.now() + HOUR_MS })).toBeUndefined();
      expect(await store.update(id, { data: bytes(1), expires: Date.now() + HOUR_MS }, 1)).toBeUndefined();
      expect(await store.get(id)).toBeUndefined();
    });

    it('updates at the expected version and refuses a stale one', async () => {
      const id = freshId();
      await store.create(id, { data: bytes(1), expires: Date.now() + HOUR_MS });
      expect(await store.update(id, { data: bytes(2), expires: Date.now() + HOUR_MS }, 1)).toBe(2);
      expect(await store.update(id, { data: bytes(3), expires: Date.now() + HOUR_MS }, 1)).toBeUndefined();
      const got = await store.get(id);
      expect(Array.from(got!.data)).toEqual([2]);
      expect(got!.version).toBe(2);
    });

    it('lets exactly one of many concurrent updates at one version win', async () => {
      const id = freshId();
      await store.create(id, { data: bytes(0), expires: Date.now() + HOUR_MS });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.update(id, { data: bytes(i + 1), expires: Date.now() + HOUR_MS }, 1)),
      );
      expect(results.filter((v) => v === 2)).toHaveLength(1);
      expect(results.filter((v) => v === undefined)).toHaveLength(7);
      const winner = results.indexOf(2);
      const got = await store.get(id);
      expect(Array.from(got!.data)).toEqual([winner + 1]);
      expect(got!.version).toBe(2);
    });

    it('touches the expiry only, leaving data and version alone', async () => {
      const id = freshId();
      await store.create(id, { data: bytes(5), expires: Date.now() + HOUR_MS });
      await store.update(id, { data: bytes(6), expires: Date.now() + HOUR_MS }, 1);
      const expires = Date.now() + 3 * HOUR_MS;
      expect(await store.touch(id, expires)).toBe(true);
      const got = await store.get(id);
      expect(Array.from(got!.data)).toEqual([6]);
      expect(got!.version).toBe(2);
      expect(got!.expires).toBe(expires);
    });

    it('reports a touch of a missing id as false and creates nothing', async () => {
      const id = freshId();
      expect(await store.touch(id, Date.now() + HOUR_MS)).toBe(false);
      expect(await store.get(id)).toBeUndefined();
    });

    it('destroys a record, and destroying a missing one is not an error', async () => {
      const id = freshId();
      await store.create(id, { data: bytes(1), expires: Date.now() + HOUR_MS });
      await store.destroy(id);
      expect(await store.get(id)).toBeUndefined();
      await expect(store.destroy(id)).resolves.toBeUndefined();
      await expect(store.destroy(freshId())).resolves.toBeUndefined();
    });

    it('never resurrects a destroyed record through update or touch', async () => {
      const id = freshId();
      await store.create(id, { data: bytes(1), expires: Date.now() + HOUR_MS });
      await store.destroy(id);
      expect(await store.update(id, { data: bytes(2), expires: Date.now() + HOUR_MS }, 1)).toBeUndefined();
      expect(await store.update(id, { data: bytes(2), expires: Date.now() + HOUR_MS })).toBeUndefined();
      expect(await store.touch(id, Date.now() + HOUR_MS)).toBe(false);
      expect(await store.get(id)).toBeUndefined();
    });

    it('treats an expired record as missing for get, update and touch, and frees its id', async () => {
      const id = freshId();
      await store.create(id, { data: bytes(1), expires: Date.now() + 150 });
      expect(await store.get(id)).toBeDefined();
      await sleep(250);
      expect(await store.get(id)).toBeUndefined();
      expect(await store.update(id, { data: bytes(2), expires: Date.now() + HOUR_MS })).toBeUndefined();
      expect(await store.touch(id, Date.now() + HOUR_MS)).toBe(false);
      expect(await store.create(id, { data: bytes(3), expires: Date.now() + HOUR_MS })).toBe(true);
      const got = await store.get(id);
      expect(Array.from(got!.data)).toEqual([3]);
      expect(got!.version).toBe(1);
    });

    it('prunes expired records and keeps live ones', async () => {
      if (!store.prune) return; // the store has no prune (its backend expires records itself)
      const dead = [freshId(), freshId(), freshId()];
      const live = freshId();
      for (const id of dead) await store.create(id, { data: bytes(1), expires: Date.now() + 100 });
      await store.create(live, { data: bytes(2), expires: Date.now() + HOUR_MS });
      await sleep(200);
      const removed = await store.prune();
      expect(removed).toBeGreaterThanOrEqual(dead.length);
      for (const id of dead) expect(await store.create(id, { data: bytes(3), expires: Date.now() + HOUR_MS })).toBe(true);
      expect(Array.from((await store.get(live))!.data)).toEqual([2]);
    });
  });
}

/** Registers the owner-index part of the Store contract (listOwned, destroyOwned) for one store. */
export function describeOwnerContract(name: string, target: ContractTarget): void {
  describe(`${name} (Store contract: a session's owner)`, () => {
    let store: Store;
    const owner = (): string => `user-${generateId().slice(0, 12)}`;
    const listed = async (who: string): Promise<string[]> => (await store.listOwned!(who)).map((r) => r.id).sort();

    beforeAll(async () => {
      store = await target.make();
    });

    afterAll(async () => {
      await store?.close?.();
      await target.cleanup?.();
    });

    it('implements listOwned and destroyOwned', () => {
      expect(typeof store.listOwned).toBe('function');
      expect(typeof store.destroyOwned).toBe('function');
    });

    it('keeps the owner a create or update wrote, returns it from get, and lets touch leave it alone', async () => {
      const ada = owner();
      const id = freshId();
      await store.create(id, { data: bytes(1), expires: Date.now() + HOUR_MS, owner: ada });
      expect((await store.get(id))!.owner).toBe(ada);
      expect(await store.touch(id, Date.now() + 2 * HOUR_MS)).toBe(true);
      expect((await store.get(id))!.owner).toBe(ada);
      expect(await listed(ada)).toEqual([id]);
      const listedRecord = (await store.listOwned!(ada))[0]!;
      expect(Array.from(listedRecord.data)).toEqual([1]);
      expect(listedRecord.expires).toBeGreaterThan(Date.now() + HOUR_MS);
    });

    it('moves a record between owners on update, and drops it from the index when the owner is removed', async () => {
      const [ada, bob] = [owner(), owner()];
      const id = freshId();
      await store.create(id, { data: bytes(1), expires: Date.now() + HOUR_MS, owner: ada });
      expect(await store.update(id, { data: bytes(2), expires: Date.now() + HOUR_MS, owner: bob }, 1)).toBe(2);
      expect(await listed(ada)).toEqual([]);
      expect(await listed(bob)).toEqual([id]);
      expect(await store.update(id, { data: bytes(3), expires: Date.now() + HOUR_MS }, 2)).toBe(3);
      expect(await listed(bob)).toEqual([]);
      expect((await store.get(id))!.owner).toBeUndefined();
    });

    it('lists only live records: destroyed and expired ones never show', async () => {
      const ada = owner();
      const [kept, destroyed, expiring] = [freshId(), freshId(), freshId()];
      await store.create(kept, { data: bytes(1), expires: Date.now() + HOUR_MS, owner: ada });
      await store.create(destroyed, { data: bytes(1), expires: Date.now() + HOUR_MS, owner: ada });
      await store.create(expiring, { data: bytes(1), expires: Date.now() + 150, owner: ada });
      await store.destroy(destroyed);
      await sleep(300);
      expect(await listed(ada)).toEqual([kept]);
    });

    it('destroys all of an owner’s records, or all but one, and no one else’s', async () => {
      const [ada, bob] = [owner(), owner()];
      const ids = [freshId(), freshId(), freshId()];
      for (const id of ids) await store.create(id, { data: bytes(1), expires: Date.now() + HOUR_MS, owner: ada });
      const other = freshId();
      await store.create(other, { data: bytes(9), expires: Date.now() + HOUR_MS, owner: bob });
      expect(await store.destroyOwned!(ada, ids[1])).toBe(2);
      expect(await listed(ada)).toEqual([ids[1]]);
      expect(await store.get(ids[0]!)).toBeUndefined();
      expect(await store.get(ids[2]!)).toBeUndefined();
      expect(await store.get(ids[1]!)).toBeDefined();
      expect(await store.destroyOwned!(ada)).toBe(1);
      expect(await listed(ada)).toEqual([]);
      expect(await store.get(ids[1]!)).toBeUndefined();
      expect(await listed(bob)).toEqual([other]);
    });

    it('answers an owner it never saw with nothing', async () => {
      expect(await store.listOwned!(owner())).toEqual([]);
      expect(await store.destroyOwned!(owner())).toBe(0);
    });
  });
}
