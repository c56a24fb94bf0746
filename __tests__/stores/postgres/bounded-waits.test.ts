/** PostgresStore({ connectionString }) on a database that hangs or dies: requests fail with SessionStoreError within its timeouts, then recover. */

import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { PostgresStore } from '../../../stores/postgres.js';
import { postgresBin, startPostgres } from '../../helpers/own-server.js';
import { describeBoundedWaits, ownServerAvailable } from '../shared/bounded-waits.js';

const bin = postgresBin();

describeBoundedWaits({
  title: 'new PostgresStore({ connectionString }) when its database hangs or dies',
  server: 'the database',
  available: ownServerAvailable(
    bin !== undefined,
    'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin',
    'them to hang and kill a database of its own',
    'PostgresStore hung/dead-server tests',
  ),
  start: () => startPostgres(bin!),
  open: (connectionString, timeouts) => new PostgresStore({ connectionString, pruneInterval: false, ...timeouts }),
  // The statement timeout PostgresStore gives its own pool by default (stores/postgres/connection.ts).
  defaultCommandTimeoutMs: 5_000,
  timeoutMessage: 'Query read timeout',
  hungFirst: { timeouts: { connectTimeout: 300, commandTimeout: 1_000 }, withinMs: 300, within: 'connectTimeout' },
  dead: { withinMs: 0, when: 'at once when the database is down' },
});

describe('PostgresStore timeouts and a pool the app passes', () => {
  it('leaves the pool as it is, and refuses timeouts it would not apply', async () => {
    const pool = new pg.Pool({ connectionString: 'postgres://127.0.0.1:1/none' });
    try {
      await new PostgresStore({ pool, pruneInterval: false }).close();
      expect(pool.options.connectionTimeoutMillis).toBeUndefined();
      expect((pool.options as pg.PoolConfig).query_timeout).toBeUndefined();
      expect(() => new PostgresStore({ pool, commandTimeout: 100 })).toThrow(
        new TypeError(
          'koa-session-kit: `commandTimeout` must be omitted when `pool` is given: set `query_timeout` and `statement_timeout` on your pool (received 100)',
        ),
      );
    } finally {
      await pool.end();
    }
  });

  it.each([
    ['connectTimeout', 0, RangeError, 'must be more than 0 and at most 2147483647 ms (received 0)'],
    ['commandTimeout', Number.NaN, RangeError, 'must be more than 0 and at most 2147483647 ms (received NaN)'],
    ['commandTimeout', '5000', TypeError, 'must be a number of milliseconds (received "5000")'],
  ])('refuses `%s: %p`', (option, value, Type, rule) => {
    const make = (): PostgresStore =>
      new PostgresStore({ connectionString: 'postgres://127.0.0.1:1/none', pruneInterval: false, [option]: value });
    expect(make).toThrow(Type);
    expect(make).toThrow(`koa-session-kit: \`${option}\` ${rule}`);
  });
});
