/** RedisStore on a three-master Redis Cluster: the Store contract and the owner contract, once per cluster client. */

import { describe } from '@jest/globals';
import { clusterFlavours, clusterTarget, describeWithCluster, taggedPrefix } from '../../helpers/redis-cluster.js';
import { describeOwnerContract, describeStoreContract } from '../shared/contract.js';

describeWithCluster('RedisStore on Redis Cluster', () => {
  for (const flavour of clusterFlavours) {
    describe(flavour.name, () => {
      describeStoreContract(`RedisStore (${flavour.name})`, clusterTarget(flavour, taggedPrefix('cluster-contract')));
      describeOwnerContract(`RedisStore (${flavour.name})`, clusterTarget(flavour, taggedPrefix('cluster-owner-contract')));
    });
  }
});
