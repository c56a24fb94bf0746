/** Checks every store with an owner index shares: what it refuses as an owner. */

import { expect } from '@jest/globals';
import { digestId, generateId } from '../../../src/id.js';
import type { Store } from '../../../src/store.js';

const HOUR_MS = 3_600_000;

/** An empty, oversized or non-string owner is refused with a TypeError naming the limit, by every owner call, and nothing is written. */
export async function expectBadOwnersRefused(store: Store & Required<Pick<Store, 'listOwned' | 'destroyOwned'>>): Promise<void> {
  const id = digestId(generateId());
  for (const owner of ['', 'x'.repeat(256), 42]) {
    const write = { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS, owner: owner as string };
    await expect(store.create(id, write)).rejects.toThrow(/`owner` must be a non-empty string of at most 255 UTF-8 bytes/);
    await expect(store.listOwned(owner as string)).rejects.toThrow(TypeError);
    await expect(store.destroyOwned(owner as string)).rejects.toThrow(TypeError);
  }
  expect(await store.get(id)).toBeUndefined();
}
