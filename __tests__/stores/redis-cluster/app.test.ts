/** session() on RedisStore over a Redis Cluster, through Koa: core behaviour and a user's sessions, once per cluster client. */

import { describe } from '@jest/globals';
import { uniquePrefix } from '../../helpers/redis-store.js';
import { clusterFlavours, clusterTarget, describeWithCluster, taggedPrefix } from '../../helpers/redis-cluster.js';
import { describeSessionBehaviour } from '../shared/behaviour.js';
import { describeOwnedSessions } from '../shared/owned-sessions.js';
import { describeOwnerBehaviour } from '../shared/owners.js';

describeWithCluster('RedisStore on Redis Cluster under session()', () => {
  for (const flavour of clusterFlavours) {
    describe(flavour.name, () => {
      // No hash tag: each session's record hashes to a slot of its own, spread over the three masters.
      describeSessionBehaviour(`RedisStore (${flavour.name}, sessions spread over the masters)`, {
        ...clusterTarget(flavour, uniquePrefix('cluster-app')),
        serverSide: true,
      });
      // Owners need every key of the store in one slot today (stores/redis.ts), hence the tag.
      describeOwnerBehaviour(`RedisStore (${flavour.name})`, clusterTarget(flavour, taggedPrefix('cluster-owners')));
      const shared = clusterTarget(flavour, taggedPrefix('cluster-owned'));
      describeOwnedSessions(`RedisStore (${flavour.name})`, { make: shared.make, cleanup: shared.cleanup });
    });
  }
});
