/** new PostgresStore(options) and createSessionTableSql(): checked up front, no database needed. */

import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createSessionTableSql, PostgresStore, type PostgresStoreOptions } from '../../../stores/postgres.js';

const url = 'postgres://nobody@127.0.0.1:1/none';
/** Builds a store from options the type would reject, as JavaScript callers can. */
const build = (options: unknown) => () => new PostgresStore(options as PostgresStoreOptions);

describe('new PostgresStore(options)', () => {
  it('needs exactly one of pool and connectionString', () => {
    expect(build({})).toThrow(
      new TypeError('koa-session-kit: `pool` must be a pg.Pool, or `connectionString` a connection string (received neither)'),
    );
    const pool = new pg.Pool();
    expect(build({ pool, connectionString: url })).toThrow(
      new TypeError('koa-session-kit: `pool` must be omitted when `connectionString` is given (received both)'),
    );
    void pool.end();
  });

  it('rejects something that is not a pool, and an empty connection string', () => {
    expect(build({ pool: {} })).toThrow(new TypeError('koa-session-kit: `pool` must be a pg.Pool (received Object)'));
    expect(build({ pool: 'postgres://x' })).toThrow(TypeError);
    expect(build({ connectionString: '' })).toThrow(
      new TypeError('koa-session-kit: `connectionString` must be a non-empty string (received "")'),
    );
    expect(build(undefined)).toThrow(new TypeError('koa-session-kit: PostgresStore options must be an object (received undefined)'));
  });

  it('names the option another store calls by a different name', () => {
    expect(build({ connectionString: url, tableName: 's' })).toThrow(
      new TypeError('koa-session-kit: `tableName` is not a PostgresStore option; did you mean `table`?'),
    );
    expect(build({ conString: url })).toThrow(/did you mean `connectionString`\?/);
    expect(build({ connectionString: url, ttl: 1000 })).toThrow(/did you mean `maxAge` on session\(\)/);
    expect(build({ connectionString: url, poolSize: 3 })).toThrow(
      new TypeError('koa-session-kit: `poolSize` is not a PostgresStore option'),
    );
  });

  it('points a misspelt option at the one it resembles', () => {
    expect(build({ connectionString: url, tabel: 's' })).toThrow(
      new TypeError('koa-session-kit: `tabel` is not a PostgresStore option; did you mean `table`?'),
    );
    expect(build({ connectionstring: url })).toThrow(/did you mean `connectionString`\?/);
  });

  it('limits table and schema names to what PostgreSQL keeps without truncating', () => {
    expect(build({ connectionString: url, table: '' })).toThrow(TypeError);
    expect(build({ connectionString: url, table: 'a\0b' })).toThrow(/without NUL characters/);
    expect(build({ connectionString: url, table: 42 })).toThrow(TypeError);
    // 51 bytes leaves room for "_expires_idx" within 63.
    expect(build({ connectionString: url, table: 't'.repeat(51), pruneInterval: false })).not.toThrow();
    expect(build({ connectionString: url, table: 't'.repeat(52) })).toThrow(
      new RangeError("koa-session-kit: `table` must be at most 51 bytes (PostgreSQL's identifier limit) (received 52 bytes)"),
    );
    expect(build({ connectionString: url, table: 'é'.repeat(26) })).toThrow(/received 52 bytes/);
    expect(build({ connectionString: url, schema: 's'.repeat(63), pruneInterval: false })).not.toThrow();
    expect(build({ connectionString: url, schema: 's'.repeat(64) })).toThrow(RangeError);
  });

  it('checks createTable and pruneInterval', () => {
    expect(build({ connectionString: url, createTable: 'yes' })).toThrow(
      new TypeError('koa-session-kit: `createTable` must be a boolean (received "yes")'),
    );
    expect(build({ connectionString: url, pruneInterval: 0 })).toThrow(
      new RangeError('koa-session-kit: `pruneInterval` must be more than 0 and at most 2147483647 ms (received 0)'),
    );
    expect(build({ connectionString: url, pruneInterval: 2 ** 31 })).toThrow(RangeError);
    expect(build({ connectionString: url, pruneInterval: 1.5 })).toThrow(TypeError);
    expect(build({ connectionString: url, pruneInterval: true })).toThrow(TypeError);
  });

  it('takes frozen options, leaves them untouched, and connects to nothing until used', async () => {
    const options = Object.freeze({ connectionString: url, table: 'sessions', pruneInterval: false as const });
    const store = new PostgresStore(options);
    expect(options).toEqual({ connectionString: url, table: 'sessions', pruneInterval: false });
    await expect(store.close()).resolves.toBeUndefined();
  });
});

describe('createSessionTableSql()', () => {
  it('gives the table and indexes the store creates, and the upgrade of an older table, for migrating by hand', () => {
    expect(createSessionTableSql()).toBe(
      [
        'CREATE TABLE IF NOT EXISTS "koa_sessions" (',
        '  id text COLLATE "C" PRIMARY KEY,',
        '  data bytea NOT NULL,',
        '  expires timestamptz NOT NULL,',
        '  version integer NOT NULL,',
        '  created timestamptz NOT NULL DEFAULT now(),',
        '  owner text COLLATE "C"',
        ');',
        'CREATE INDEX IF NOT EXISTS "koa_sessions_expires_idx" ON "koa_sessions" (expires);',
        'ALTER TABLE "koa_sessions" ADD COLUMN IF NOT EXISTS owner text COLLATE "C";',
        'CREATE INDEX IF NOT EXISTS "koa_sessions_owner_idx" ON "koa_sessions" (owner) WHERE owner IS NOT NULL;',
        '',
      ].join('\n'),
    );
  });

  it('quotes schema and table as identifiers, doubling embedded quotes', () => {
    const sql = createSessionTableSql({ schema: 'app "v2"', table: 'we"ird; name' });
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "app ""v2"""."we""ird; name" (');
    expect(sql).toContain('CREATE INDEX IF NOT EXISTS "we""ird; name_expires_idx" ON "app ""v2"""."we""ird; name" (expires);');
    expect(sql).toContain('ALTER TABLE "app ""v2"""."we""ird; name" ADD COLUMN IF NOT EXISTS owner text COLLATE "C";');
    expect(sql).toContain(
      'CREATE INDEX IF NOT EXISTS "we""ird; name_owner_idx" ON "app ""v2"""."we""ird; name" (owner) WHERE owner IS NOT NULL;',
    );
  });

  it('refuses the names the constructor refuses', () => {
    expect(() => createSessionTableSql({ table: '' })).toThrow(TypeError);
    expect(() => createSessionTableSql({ schema: 'x'.repeat(64) })).toThrow(RangeError);
  });
});
