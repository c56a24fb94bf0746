/** session() on RedisStore over a Redis Cluster, through Koa: core behaviour and a user's sessions, once per cluster client. */

import { describe } from '@jest/globals';
import { uniquePrefix } from '../../helpers/redis-store.js';
import { clusterFlavours, clusterTarget, describeWithCluster } from '../../helpers/redis-cluster.js';
import { describeSessionBehaviour } from '../shared/behaviour.js';
import { describeOwnedSessions } from '../shared/owned-sessions.js';
import { describeOwnerBehaviour } from '../shared/owners.js';

describeWithCluster('RedisStore on Redis Cluster under session()', () => {
  for (const flavour of clusterFlavours) {
    describe(flavour.name, () => {
      // No hash tag (as docs/stores/redis.md asks): each session's record and each owner's set
      // hash to a slot of their own, spread over the three masters.
      describeSessionBehaviour(`RedisStore (${flavour.name})`, {
        ...clusterTarget(flavour, uniquePrefix('cluster-app')),
        serverSide: true,
      });
      describeOwnerBehaviour(`RedisStore (${flavour.name})`, clusterTarget(flavour, uniquePrefix('cluster-owners')));
      const shared = clusterTarget(flavour, uniquePrefix('cluster-owned'));
      describeOwnedSessions(`RedisStore (${flavour.name})`, { make: shared.make, cleanup: shared.cleanup });
    });
  }
});
