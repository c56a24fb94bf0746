/** PostgresStore's own pool: the bounded waits it gets, their options and their checks. */

import type { Pool } from 'pg';
import { MAX_TIMER_MS, checkDuration, describeValue, optionError } from '../../src/option-checks.js';

/** How long the pool {@link PostgresStore} makes from `connectionString` waits on the database. */
export interface PostgresTimeouts {
  /**
   * For the pool made from `connectionString`: the most ms to wait for a connection, from a free
   * slot in the pool to the end of the handshake (pg's `connectionTimeoutMillis`). A database that
   * is down, unreachable or hung then fails the request with a `SessionStoreError` instead of
   * holding it. A `pool` you pass keeps its own `connectionTimeoutMillis`.
   * @default 5000
   */
  connectTimeout?: number;
  /**
   * For the pool made from `connectionString`: the most ms one statement may take. The client
   * stops waiting (pg's `query_timeout`) and drops the connection, and the server cancels the
   * statement (`statement_timeout`); a database that is hung outright may still finish it once it
   * wakes. A `pool` you pass keeps its own settings: give it `query_timeout` and
   * `statement_timeout` to bound its waits the same way.
   * @default 5000
   */
  commandTimeout?: number;
}

/** pg's own default (0) waits forever for a connection, which hangs every request when the database is gone. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Session statements touch one row, a prune batch a thousand: five seconds is a database in trouble, not a slow query. */
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
const APPLICATION_NAME = 'koa-session-kit';

/**
 * Checks the timeouts (STYLE 8 messages). They only apply to a pool the store makes, so they are
 * refused next to `pool`, where they would look like they bound a wait they do not.
 */
export function checkTimeouts(options: PostgresTimeouts, ownPool: boolean): void {
  for (const option of ['connectTimeout', 'commandTimeout'] as const) {
    const value: unknown = options[option];
    if (value === undefined) continue;
    if (!ownPool) {
      const pgName = option === 'connectTimeout' ? '`connectionTimeoutMillis`' : '`query_timeout` and `statement_timeout`';
      throw optionError(TypeError, option, `be omitted when \`pool\` is given: set ${pgName} on your pool`, describeValue(value));
    }
    checkDuration(option, value, MAX_TIMER_MS);
  }
}

/** The timeouts with their defaults applied. */
export function resolveTimeouts(options: PostgresTimeouts): Required<PostgresTimeouts> {
  return {
    connectTimeout: options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS,
    commandTimeout: options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS,
  };
}

/**
 * The pool for `connectionString`, every wait bounded. It names itself `koa-session-kit` (an
 * `application_name` in the string wins, as do the string's own timeouts). Idle connections never
 * hold the process open; one that dies (restart, failover, terminate) is dropped and replaced on
 * the next checkout, and without an `error` listener pg would crash the process over it.
 */
export function createPool(
  pg: typeof import('pg'),
  connectionString: string,
  timeouts: Required<PostgresTimeouts>,
  onIdleError: (error: Error) => void,
): Pool {
  const pool = new pg.Pool({
    connectionString,
    application_name: APPLICATION_NAME,
    connectionTimeoutMillis: timeouts.connectTimeout,
    query_timeout: timeouts.commandTimeout,
    statement_timeout: timeouts.commandTimeout,
    allowExitOnIdle: true,
  });
  pool.on('error', onIdleError);
  return pool;
}
