/** MySQLStore and the optional `mysql2` peer: not loaded until needed, and a clear error when missing. */

import { describeLazyDriver } from '../shared/driver.js';

describeLazyDriver('stores/mysql and the mysql2 driver', {
  module: 'stores/mysql.ts',
  storeClass: 'MySQLStore',
  driver: 'mysql2',
  unreachableOptions: "{ uri: 'mysql://nobody@127.0.0.1:1/none', pruneInterval: false }",
  connectFailure:
    'koa-session-kit: MySQLStore get failed on table `koa_sessions` while creating it: connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)',
  installMessage: 'koa-session-kit: install `mysql2` to use MySQLStore with `uri`',
});
