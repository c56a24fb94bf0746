/** new MySQLStore(options) and createSessionTableSql(): checked up front, no database needed. */

import { describe, expect, it } from '@jest/globals';
import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import { createSessionTableSql, MySQLStore, type MySQLStoreOptions } from '../../../stores/mysql.js';

const uri = 'mysql://nobody@127.0.0.1:1/none';
/** Builds a store from options the type would reject, as JavaScript callers can. */
const build = (options: unknown) => () => new MySQLStore(options as MySQLStoreOptions);

describe('new MySQLStore(options)', () => {
  it('needs exactly one of pool and uri', () => {
    expect(build({})).toThrow(
      new TypeError('koa-session-kit: `pool` must be a mysql2/promise pool, or `uri` a connection URI (received neither)'),
    );
    const pool = mysqlPromise.createPool({ uri });
    expect(build({ pool, uri })).toThrow(new TypeError('koa-session-kit: `pool` must be omitted when `uri` is given (received both)'));
    void pool.end();
  });

  it('rejects something that is not a pool, a callback pool with what to pass instead, and an empty uri', () => {
    expect(build({ pool: {} })).toThrow(new TypeError('koa-session-kit: `pool` must be a mysql2/promise pool (received Object)'));
    expect(build({ pool: 'mysql://x' })).toThrow(TypeError);
    const callbackPool = mysql.createPool({ uri });
    expect(build({ pool: callbackPool })).toThrow(
      new TypeError('koa-session-kit: `pool` must be a mysql2/promise pool: pass `pool.promise()` (received a callback pool)'),
    );
    expect(build({ pool: callbackPool.promise(), pruneInterval: false })).not.toThrow();
    callbackPool.end();
    expect(build({ uri: '' })).toThrow(new TypeError('koa-session-kit: `uri` must be a non-empty string (received "")'));
    expect(build(undefined)).toThrow(new TypeError('koa-session-kit: MySQLStore options must be an object (received undefined)'));
  });

  it('names the option another MySQL session store calls by a different name', () => {
    expect(build({ uri, tableName: 's' })).toThrow(
      new TypeError('koa-session-kit: `tableName` is not a MySQLStore option; did you mean `table`?'),
    );
    expect(build({ host: 'db', user: 'app' })).toThrow(
      /`host` is not a MySQLStore option; did you mean `uri` \(mysql:\/\/user:password@host:port\/database\) or `pool`\?/,
    );
    expect(build({ uri, clearExpired: false })).toThrow(/did you mean `pruneInterval` \(false for none\)\?/);
    expect(build({ uri, checkExpirationInterval: 1000 })).toThrow(/did you mean `pruneInterval`\?/);
    expect(build({ uri, expiration: 1000 })).toThrow(/did you mean `maxAge` on session\(\)/);
    expect(build({ uri, createDatabaseTable: true })).toThrow(/did you mean `createTable`\?/);
    expect(build({ connectionString: uri })).toThrow(/did you mean `uri`\?/);
    expect(build({ uri, poolSize: 3 })).toThrow(new TypeError('koa-session-kit: `poolSize` is not a MySQLStore option'));
  });

  it('points a misspelt option at the one it resembles', () => {
    expect(build({ uri, tabel: 's' })).toThrow(new TypeError('koa-session-kit: `tabel` is not a MySQLStore option; did you mean `table`?'));
    expect(build({ uri, commandtimeout: 1 })).toThrow(/did you mean `commandTimeout`\?/);
  });

  it('limits table names to what MySQL and MariaDB keep exactly', () => {
    expect(build({ uri, table: '' })).toThrow(TypeError);
    expect(build({ uri, table: 'a\0b' })).toThrow(
      new TypeError(
        'koa-session-kit: `table` must be a non-empty string without NUL, a trailing space or characters beyond U+FFFF (received "a\\u0000b")',
      ),
    );
    expect(build({ uri, table: 'sessions ' })).toThrow(TypeError);
    expect(build({ uri, table: 'sessions 😀' })).toThrow(TypeError);
    expect(build({ uri, table: 42 })).toThrow(TypeError);
    // Characters, not bytes: 64 two-byte characters are a valid name.
    expect(build({ uri, table: 'é'.repeat(64), pruneInterval: false })).not.toThrow();
    expect(build({ uri, table: 't'.repeat(65) })).toThrow(
      new RangeError("koa-session-kit: `table` must be at most 64 characters (the server's identifier limit) (received 65 characters)"),
    );
  });

  it('checks createTable, pruneInterval and the timeouts, and takes connectTimeout only for its own pool', () => {
    expect(build({ uri, createTable: 'yes' })).toThrow(new TypeError('koa-session-kit: `createTable` must be a boolean (received "yes")'));
    expect(build({ uri, pruneInterval: 0 })).toThrow(
      new RangeError('koa-session-kit: `pruneInterval` must be more than 0 and at most 2147483647 ms (received 0)'),
    );
    expect(build({ uri, pruneInterval: 1.5 })).toThrow(TypeError);
    expect(build({ uri, commandTimeout: 0 })).toThrow(
      new RangeError('koa-session-kit: `commandTimeout` must be more than 0 and at most 2147483647 ms (received 0)'),
    );
    expect(build({ uri, connectTimeout: '5s' })).toThrow(
      new TypeError('koa-session-kit: `connectTimeout` must be a number of milliseconds (received "5s")'),
    );
    const pool = mysqlPromise.createPool({ uri });
    expect(build({ pool, connectTimeout: 1000 })).toThrow(
      new TypeError(
        'koa-session-kit: `connectTimeout` must be omitted when `pool` is given: set `connectTimeout` on your pool (received 1000)',
      ),
    );
    expect(build({ pool, commandTimeout: 1000, pruneInterval: false })).not.toThrow();
    void pool.end();
  });

  it('takes frozen options, leaves them untouched, and connects to nothing until used', async () => {
    const options = Object.freeze({ uri, table: 'sessions', pruneInterval: false as const });
    const store = new MySQLStore(options);
    expect(options).toEqual({ uri, table: 'sessions', pruneInterval: false });
    await expect(store.close()).resolves.toBeUndefined();
  });
});

describe('createSessionTableSql()', () => {
  it('gives the table and indexes the store creates, for migrating by hand', () => {
    expect(createSessionTableSql()).toBe(
      [
        'CREATE TABLE IF NOT EXISTS `koa_sessions` (',
        '  id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,',
        '  data LONGBLOB NOT NULL,',
        '  expires DOUBLE NOT NULL,',
        '  version INT UNSIGNED NOT NULL,',
        '  created DOUBLE NOT NULL,',
        '  owner VARBINARY(255) NULL,',
        '  PRIMARY KEY (id),',
        '  KEY expires_idx (expires),',
        '  KEY owner_idx (owner)',
        ') ENGINE=InnoDB',
      ].join('\n'),
    );
  });

  it('backquotes the table name, doubling embedded backquotes', () => {
    expect(createSessionTableSql({ table: 'we`ird; name' })).toContain('CREATE TABLE IF NOT EXISTS `we``ird; name` (');
  });

  it('refuses the names the constructor refuses', () => {
    expect(() => createSessionTableSql({ table: '' })).toThrow(TypeError);
    expect(() => createSessionTableSql({ table: 'x'.repeat(65) })).toThrow(RangeError);
  });
});
