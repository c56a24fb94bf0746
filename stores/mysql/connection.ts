/** MySQLStore's connections: the pool it makes from `uri`, and every wait on the server bounded. */

import type { Pool, PoolConnection } from 'mysql2/promise';
import { MAX_TIMER_MS, checkDuration, describeValue, optionError } from '../../src/option-checks.js';

/** How long {@link MySQLStore} waits on the server. */
export interface MySQLTimeouts {
  /**
   * For the pool made from `uri`: the most ms to wait for the server's handshake when a new
   * connection is made (mysql2's `connectTimeout`, whose own default is 10 s). A `pool` you pass
   * keeps its own `connectTimeout`.
   * @default 5000
   */
  connectTimeout?: number;
  /**
   * The most ms one store operation may take, from asking the pool for a connection to the
   * server's answer, on your `pool` as on the store's own (mysql2 pools have no such setting, so
   * the store keeps the time itself). When it passes, the request fails with a `SessionStoreError`
   * and the store destroys the connection, so nothing queues behind a statement that never answers;
   * a server that is hung outright may still finish the statement once it wakes. A prune gets this
   * long for each of its statements.
   * @default 5000
   */
  commandTimeout?: number;
}

/** mysql2's default handshake wait (10 s) is long enough to pile up every request behind a dead server. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Session statements touch one row, a prune batch a thousand: five seconds is a server in trouble, not a slow query. */
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

/** Checks the timeouts (STYLE 8 messages); `connectTimeout` only configures a pool the store makes. */
export function checkTimeouts(options: MySQLTimeouts, ownPool: boolean): void {
  const { connectTimeout, commandTimeout } = options;
  if (connectTimeout !== undefined) {
    if (!ownPool) {
      const requirement = 'be omitted when `pool` is given: set `connectTimeout` on your pool';
      throw optionError(TypeError, 'connectTimeout', requirement, describeValue(connectTimeout));
    }
    checkDuration('connectTimeout', connectTimeout, MAX_TIMER_MS);
  }
  if (commandTimeout !== undefined) checkDuration('commandTimeout', commandTimeout, MAX_TIMER_MS);
}

/** The timeouts with their defaults applied. */
export function resolveTimeouts(options: MySQLTimeouts): Required<MySQLTimeouts> {
  return {
    connectTimeout: options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS,
    commandTimeout: options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS,
  };
}

/** The pool for `uri`, its handshake bounded; settings in the URI's query string win. */
export function createPool(mysql: typeof import('mysql2/promise'), uri: string, timeouts: Required<MySQLTimeouts>): Pool {
  return mysql.createPool({ uri, connectTimeout: timeouts.connectTimeout });
}

/** The error a store operation fails with (as the `cause`) when its time runs out. */
function timeoutError(ms: number): Error {
  return Object.assign(new Error(`no answer from the server within ${ms} ms (commandTimeout)`), { code: 'ETIMEDOUT' });
}

/** True for an error the server sent in answer (it has an SQLSTATE): the connection is still in step. */
function answered(error: unknown): boolean {
  const fields = error as { sqlState?: unknown; fatal?: unknown } | null; // mysql2's error fields, read defensively
  return typeof fields?.sqlState === 'string' && fields.fatal !== true;
}

/**
 * Runs `work` on one connection from `pool`, bounded by `timeoutMs` from the request for a
 * connection on; `rearm()` gives the work a fresh `timeoutMs` (a prune, before each statement).
 * The connection goes back to the pool after success or an error the server answered with, and is
 * destroyed after anything else: a timeout (mysql2 would otherwise queue the next user's statements
 * behind the one that never answered, and start their own timeouts only once it does), a lost
 * connection, or an error mysql2 marks fatal.
 */
export function withConnection<T>(
  pool: Pool,
  timeoutMs: number,
  work: (connection: PoolConnection, rearm: () => void) => Promise<T>,
): Promise<T> {
  let connection: PoolConnection | undefined;
  let late = false;
  let timer: NodeJS.Timeout | undefined;
  let fail: (error: Error) => void = () => undefined;
  const expired = new Promise<never>((_, reject) => {
    fail = reject;
  });
  const arm = (): void => {
    if (late) return; // the caller has its answer; a work's late `finally` must not start a timer nobody clears
    clearTimeout(timer);
    timer = setTimeout(() => {
      late = true;
      connection?.destroy();
      fail(timeoutError(timeoutMs));
    }, timeoutMs);
  };
  arm();
  const run = async (): Promise<T> => {
    const borrowed = await pool.getConnection();
    if (late) {
      borrowed.release(); // the caller has its answer already: the connection is fine, just unwanted
      return expired;
    }
    connection = borrowed;
    try {
      const result = await work(borrowed, arm);
      borrowed.release();
      return result;
    } catch (error) {
      if (late || !answered(error)) borrowed.destroy();
      else borrowed.release();
      throw error;
    }
  };
  // race() subscribes to both, so whichever settles second is handled too.
  return Promise.race([run(), expired]).finally(() => clearTimeout(timer));
}
