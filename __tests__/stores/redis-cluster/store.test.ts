/** RedisStore on a three-master Redis Cluster: the Store contract and the owner contract, once per cluster client. */

import { describe } from '@jest/globals';
import { clusterFlavours, clusterTarget, describeWithCluster } from '../../helpers/redis-cluster.js';
import { uniquePrefix } from '../../helpers/redis-store.js';
import { describeOwnerContract, describeStoreContract } from '../shared/contract.js';

// No hash tag in the prefixes (as docs/stores/redis.md asks): records and owner sets spread over the masters.
describeWithCluster('RedisStore on Redis Cluster', () => {
  for (const flavour of clusterFlavours) {
    describe(flavour.name, () => {
      describeStoreContract(`RedisStore (${flavour.name})`, clusterTarget(flavour, uniquePrefix('cluster-contract')));
      describeOwnerContract(`RedisStore (${flavour.name})`, clusterTarget(flavour, uniquePrefix('cluster-owner-contract')));
    });
  }
});
