/**
 * A user's sessions on one store, as "log out everywhere" uses them: written by one store instance
 * and listed and revoked through another on the same backend (another process, or after a restart).
 */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { digestId, generateId } from '../../../src/id.js';
import type { Store } from '../../../src/store.js';

/** What a store's test file hands to {@link describeOwnedSessions}. */
export interface OwnedSessionsTarget {
  /** A store on the suite's backend; called twice, and both instances must share what they store. */
  make(): Promise<Store>;
  /** Runs after both stores were closed. */
  cleanup?(): Promise<void>;
}

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Registers the suite under `describe(name)`. */
export function describeOwnedSessions(name: string, target: OwnedSessionsTarget): void {
  describe(`${name}: one user's sessions, seen from another instance`, () => {
    let writer: Store;
    let admin: Store;

    beforeAll(async () => {
      writer = await target.make();
      admin = await target.make();
    });

    afterAll(async () => {
      await writer?.close?.();
      await admin?.close?.();
      await target.cleanup?.();
    });

    /** Three live sessions of a fresh owner, as three devices' logins write them. */
    const threeSessions = async (): Promise<{ owner: string; ids: string[] }> => {
      const owner = `user-${generateId().slice(0, 10)}`;
      const ids = [freshId(), freshId(), freshId()];
      for (const [i, id] of ids.entries()) {
        expect(await writer.create(id, { data: Uint8Array.of(i), expires: Date.now() + HOUR_MS, owner })).toBe(true);
      }
      return { owner, ids };
    };
    const listed = async (owner: string): Promise<string[]> => (await admin.listOwned!(owner)).map((r) => r.id).sort();

    it('lists all three sessions with their data, and revoking all removes every one', async () => {
      const { owner, ids } = await threeSessions();
      const records = await admin.listOwned!(owner);
      expect(records.map((r) => [r.id, Array.from(r.data)]).sort()).toEqual(ids.map((id, i) => [id, [i]]).sort());
      expect(await admin.destroyOwned!(owner)).toBe(3);
      for (const id of ids) expect(await writer.get(id)).toBeUndefined();
      expect(await listed(owner)).toEqual([]);
    });

    it('revokes all but the current session, which keeps working', async () => {
      const { owner, ids } = await threeSessions();
      const current = ids[2]!;
      expect(await admin.destroyOwned!(owner, current)).toBe(2);
      expect(await writer.get(ids[0]!)).toBeUndefined();
      expect(await writer.get(ids[1]!)).toBeUndefined();
      expect(await listed(owner)).toEqual([current]);
      expect(await writer.update(current, { data: Uint8Array.of(7), expires: Date.now() + HOUR_MS, owner }, 1)).toBe(2);
      expect((await admin.get(current))?.owner).toBe(owner);
      expect(await admin.destroyOwned!(owner, current)).toBe(0);
    });

    it('never lists an expired session, even one never pruned, nor counts it as revoked', async () => {
      const { owner, ids } = await threeSessions();
      const expiring = freshId();
      // A second of life: long enough to be listed first on a loaded machine.
      await writer.create(expiring, { data: Uint8Array.of(9), expires: Date.now() + 1000, owner });
      expect(await listed(owner)).toContain(expiring);
      await sleep(1100);
      expect(await listed(owner)).toEqual([...ids].sort());
      expect(await admin.destroyOwned!(owner)).toBe(3);
    });

    it('forgets the owner of a session logged out of (owner removed), and of one destroyed', async () => {
      const { owner, ids } = await threeSessions();
      await writer.update(ids[0]!, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS }, 1);
      await writer.destroy(ids[1]!);
      expect(await listed(owner)).toEqual([ids[2]!]);
      expect(await admin.destroyOwned!(owner)).toBe(1);
      expect(await writer.get(ids[0]!)).toBeDefined();
    });
  });
}
