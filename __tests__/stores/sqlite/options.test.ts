/** new SQLiteStore(options): checked up front, nothing opened, and the driver loaded only on first use. */

import { describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { SQLiteStore, type SQLiteStoreOptions } from '../../../stores/sqlite.js';

/** Builds a store from options the type would reject, as JavaScript callers can. */
const build = (options: unknown) => () => new SQLiteStore(options as SQLiteStoreOptions);
const filename = '/nonexistent/never-opened.db';

describe('new SQLiteStore(options)', () => {
  it('needs exactly one of filename and database', () => {
    expect(build({})).toThrow(
      new TypeError('koa-session-kit: `filename` must be a path, or `database` an open better-sqlite3 Database (received neither)'),
    );
    const db = new Database(':memory:');
    expect(build({ filename, database: db })).toThrow(
      new TypeError('koa-session-kit: `filename` must be omitted when `database` is given (received both)'),
    );
    db.close();
    expect(build({ database: db })).toThrow(
      new TypeError('koa-session-kit: `database` must be an open better-sqlite3 Database (received Database)'),
    );
    expect(build({ database: {} })).toThrow(
      new TypeError('koa-session-kit: `database` must be an open better-sqlite3 Database (received Object)'),
    );
    expect(build(undefined)).toThrow(new TypeError('koa-session-kit: SQLiteStore options must be an object (received undefined)'));
  });

  it('refuses an empty filename (an anonymous temporary database in SQLite) and one with a NUL', () => {
    expect(build({ filename: '' })).toThrow(
      new TypeError('koa-session-kit: `filename` must be a non-empty path without NUL characters (received "")'),
    );
    expect(build({ filename: 'a\0b' })).toThrow(TypeError);
    expect(build({ filename: 42 })).toThrow(TypeError);
  });

  it('refuses table names SQLite keeps for itself, and empty ones', () => {
    expect(build({ filename, table: 'sqlite_sessions' })).toThrow(
      new RangeError('koa-session-kit: `table` must not start with `sqlite_` (SQLite reserves those names) (received "sqlite_sessions")'),
    );
    expect(build({ filename, table: 'SQLite_x' })).toThrow(RangeError);
    expect(build({ filename, table: '' })).toThrow(
      new TypeError('koa-session-kit: `table` must be a non-empty string without NUL characters (received "")'),
    );
  });

  it('takes busyTimeout as whole ms from 0, and pruneInterval as ms or false', () => {
    expect(build({ filename, busyTimeout: -1 })).toThrow(
      new RangeError('koa-session-kit: `busyTimeout` must be from 0 to 2147483647 (received -1)'),
    );
    expect(build({ filename, busyTimeout: 1.5 })).toThrow(
      new TypeError('koa-session-kit: `busyTimeout` must be an integer (received 1.5)'),
    );
    expect(build({ filename, busyTimeout: '5s' })).toThrow(TypeError);
    expect(build({ filename, pruneInterval: 0 })).toThrow(RangeError);
    expect(build({ filename, pruneInterval: true })).toThrow(TypeError);
    expect(build({ filename, busyTimeout: 0, pruneInterval: false, table: 't' })).not.toThrow();
  });

  it('names the option other SQLite session stores call by a different name', () => {
    expect(build({ client: new Database(':memory:') })).toThrow(
      new TypeError('koa-session-kit: `client` is not a SQLiteStore option; did you mean `database`?'),
    );
    expect(build({ db: 'sessions.db' })).toThrow(/did you mean `filename` \(a path\) or `database`/);
    expect(build({ filename, timeout: 1000 })).toThrow(/did you mean `busyTimeout`\?/);
    expect(build({ filename, expired: { clear: true } })).toThrow(/did you mean `pruneInterval`/);
    expect(build({ filename, ttl: 1000 })).toThrow(/did you mean `maxAge` on session\(\)/);
    expect(build({ filename, tabel: 's' })).toThrow(
      new TypeError('koa-session-kit: `tabel` is not a SQLiteStore option; did you mean `table`?'),
    );
  });

  it('leaves the caller’s options object as it was', () => {
    const options = Object.freeze({ filename, pruneInterval: false as const });
    expect(() => new SQLiteStore(options)).not.toThrow();
  });
});

describe('SQLiteStore without better-sqlite3 installed', () => {
  it('fails its first operation with a SessionStoreError that says what to install', () => {
    // A resolve hook that finds no better-sqlite3, as in an app that never installed it.
    const hook = `data:text/javascript,${encodeURIComponent(
      "export async function resolve(s, c, next) { if (s === 'better-sqlite3') throw Object.assign(new Error(`Cannot find package '${s}'`), { code: 'ERR_MODULE_NOT_FOUND' }); return next(s, c); }",
    )}`;
    const script = `
      import { register } from 'node:module';
      register(${JSON.stringify(hook)});
      const { SQLiteStore } = await import('./stores/sqlite.ts');
      const store = new SQLiteStore({ filename: ${JSON.stringify(filename)}, pruneInterval: false });
      const error = await store.get('x').catch((e) => e);
      console.log(JSON.stringify({ name: error.name, operation: error.operation, message: error.message, cause: error.cause.code }));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      env: { ...process.env, NODE_OPTIONS: '' },
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout.trim())).toEqual({
      name: 'SessionStoreError',
      operation: 'get',
      message: 'koa-session-kit: install `better-sqlite3` to use SQLiteStore',
      cause: 'ERR_MODULE_NOT_FOUND',
    });
  });
});
