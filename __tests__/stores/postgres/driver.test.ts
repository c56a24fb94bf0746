/** PostgresStore and the optional `pg` peer: not loaded until needed, and a clear error when missing. */

import { describeLazyDriver } from '../shared/driver.js';

describeLazyDriver('stores/postgres and the pg driver', {
  module: 'stores/postgres.ts',
  storeClass: 'PostgresStore',
  driver: 'pg',
  unreachableOptions: "{ connectionString: 'postgres://nobody@127.0.0.1:1/none', pruneInterval: false }",
  connectFailure:
    'koa-session-kit: PostgresStore get failed on table "koa_sessions" while creating it: connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)',
  installMessage: 'koa-session-kit: install `pg` to use PostgresStore with `connectionString`',
});
