/** A msgpack payload with binary values, byte for byte through a store's binary column: one case every SQL store runs. */

import { expect, it } from '@jest/globals';
import { pack, unpack } from 'msgpackr';
import { digestId, generateId } from '../../../src/id.js';
import type { Store } from '../../../src/store.js';

const HOUR_MS = 3_600_000;

/** Registers the case for the store `store()` gives (called inside the test), naming its `column` type (e.g. `bytea`). */
export function itKeepsMsgpackBytes(column: string, store: () => Store | Promise<Store>): void {
  it(`keeps msgpack binary values byte for byte through ${column}`, async () => {
    const target = await store();
    const avatar = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31 + 7) & 0xff));
    const data = pack({ user: 'ada', avatar, zero: Buffer.alloc(16) });
    const id = digestId(generateId());
    await target.create(id, { data, expires: Date.now() + HOUR_MS });
    const got = await target.get(id);
    expect(Buffer.from(got!.data).equals(data)).toBe(true);
    expect(unpack(Buffer.from(got!.data))).toEqual({ user: 'ada', avatar, zero: Buffer.alloc(16) });
  });
}
