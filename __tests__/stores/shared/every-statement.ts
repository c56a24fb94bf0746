/** One pass through every statement a SQL store builds from its table name, for the tests of hostile names. */

import { expect } from '@jest/globals';
import { digestId, generateId } from '../../../src/id.js';
import type { Store } from '../../../src/store.js';

const HOUR_MS = 3_600_000;

/** A store with owners and prune, as every SQL store is. */
type SqlStore = Store & Required<Pick<Store, 'prune' | 'listOwned' | 'destroyOwned'>>;

/** Runs create, prune, update, touch, listOwned and destroyOwned on `store` and checks each answer. */
export async function expectEveryStatementWorks(store: SqlStore): Promise<void> {
  const id = digestId(generateId());
  expect(await store.create(id, { data: Uint8Array.of(1), expires: Date.now() - 1 })).toBe(true);
  expect(await store.prune()).toBe(1);
  await store.create(id, { data: Uint8Array.of(2), expires: Date.now() + HOUR_MS, owner: 'ada' });
  expect(await store.update(id, { data: Uint8Array.of(3), expires: Date.now() + HOUR_MS, owner: 'ada' }, 1)).toBe(2);
  expect(await store.touch(id, Date.now() + 2 * HOUR_MS)).toBe(true);
  const owned = await store.listOwned('ada');
  expect(owned.map((r) => r.id)).toEqual([id]);
  expect(owned.map((r) => Array.from(r.data))).toEqual([[3]]);
  expect(await store.destroyOwned('ada')).toBe(1);
}
