/** RedisStore's keys and Redis Cluster hash slots: the keys one operation touches share a slot, the owner's set included. */

import { describe, expect, it } from '@jest/globals';
import { digestId, generateId } from '../../../src/id.js';
import { RedisStore } from '../../../stores/redis.js';
import { uniquePrefix } from '../../helpers/redis-store.js';
import {
  clusterAdmin,
  clusterFlavours,
  describeWithCluster,
  keysUnder,
  nodeConnections,
  taggedPrefix,
  type ClusterFlavour,
} from '../../helpers/redis-cluster.js';

const HOUR_MS = 3_600_000;
/**
 * Redis refuses a script or transaction that reaches a key on another node, but 7.0 lets one reach
 * another slot of its own node, and two slots share a node a third of the time on three masters.
 * With thirty owners, each set in a slot of its own, an operation that spans a record and its
 * owner's set all but surely meets one on another node, and fails.
 */
const OWNERS = 30;
const freshId = (): string => digestId(generateId());

/** Every owner's session through its life: created, moved to the next owner, touched, listed, revoked. */
async function ownerLifecycle(store: RedisStore): Promise<void> {
  const owners = Array.from({ length: OWNERS }, (_, i) => `user-${i}-${generateId().slice(0, 6)}`);
  const ids = owners.map(() => freshId());
  for (const [i, id] of ids.entries()) {
    expect(await store.create(id, { data: Uint8Array.of(i), expires: Date.now() + HOUR_MS, owner: owners[i]! })).toBe(true);
  }
  for (const [i, id] of ids.entries()) {
    const next = owners[(i + 1) % OWNERS]!;
    expect(await store.update(id, { data: Uint8Array.of(i), expires: Date.now() + HOUR_MS, owner: next }, 1)).toBe(2);
    expect(await store.touch(id, Date.now() + 2 * HOUR_MS)).toBe(true);
  }
  for (const [i, owner] of owners.entries()) {
    expect((await store.listOwned(owner)).map((r) => r.id)).toEqual([ids[(i - 1 + OWNERS) % OWNERS]]);
    expect(await store.destroyOwned(owner)).toBe(1);
  }
  for (const id of ids) expect(await store.get(id)).toBeUndefined();
}

describeWithCluster('RedisStore keys and hash slots', () => {
  const admin = clusterAdmin();

  /** A store on a client of `flavour` under `prefix`, and how to let the client go. */
  const storeOn = async (flavour: ClusterFlavour, prefix: string) => {
    admin.track(prefix);
    const { client, close } = await flavour.open();
    return { store: new RedisStore({ client, prefix }), close };
  };

  for (const flavour of clusterFlavours) {
    describe(flavour.name, () => {
      it('keeps records and owner sets on the master of a hash-tagged prefix, through every owner operation', async () => {
        const prefix = taggedPrefix('cluster-slots');
        const { store, close } = await storeOn(flavour, prefix);
        const nodes = await nodeConnections();
        try {
          const [a, b] = [freshId(), freshId()];
          await store.create(a, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS, owner: 'user-a' });
          await store.create(b, { data: Uint8Array.of(2), expires: Date.now() + HOUR_MS, owner: 'user-a' });
          await store.update(b, { data: Uint8Array.of(3), expires: Date.now() + HOUR_MS, owner: 'user-b' }, 1);
          await store.touch(a, Date.now() + 2 * HOUR_MS);
          const slot = Number(await admin.client.cluster('KEYSLOT', prefix));
          const perNode = await Promise.all(nodes.map(({ redis }) => redis.keys(keysUnder(prefix))));
          const keys = perNode.flat();
          // The two records and at least one owner index, whatever the layout names them.
          expect(keys.length).toBeGreaterThanOrEqual(3);
          expect(perNode.filter((found) => found.length > 0)).toHaveLength(1);
          for (const key of keys) expect(Number(await admin.client.cluster('KEYSLOT', key))).toBe(slot);
          expect((await store.listOwned('user-a')).map((r) => r.id)).toEqual([a]);
          expect((await store.listOwned('user-b')).map((r) => r.id)).toEqual([b]);
        } finally {
          for (const node of nodes) node.redis.disconnect();
          await close();
        }
      });

      it('serves sessions with owners on a prefix without a hash tag, where records spread over the masters', async () => {
        const { store, close } = await storeOn(flavour, uniquePrefix('cluster-slots-untagged'));
        try {
          await ownerLifecycle(store);
        } finally {
          await close();
        }
      });
    });
  }
});
