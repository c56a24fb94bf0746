/** SQLiteStore on real database files: the Store contract twice, the owner index, restart, bytes, exact expiry, names, close. */

import { afterAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { isSessionStoreError, SessionStoreError } from '../../../src/errors.js';
import { digestId, generateId } from '../../../src/id.js';
import { SQLiteStore } from '../../../stores/sqlite.js';
import { describeOwnerContract, describeStoreContract } from '../shared/contract.js';
import { expectEveryStatementWorks } from '../shared/every-statement.js';
import { itKeepsMsgpackBytes } from '../shared/msgpack-bytes.js';
import { cleanUp, openStore, tempDatabase } from './temp-files.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());

afterAll(cleanUp);

// Once on a file the store opens itself...
describeStoreContract('SQLiteStore (own file)', { make: async () => openStore({ filename: await tempDatabase('contract') }) });
describeOwnerContract('SQLiteStore (own file)', { make: async () => openStore({ filename: await tempDatabase('owners') }) });

// ...and once on a given Database, under a table name made to break naive SQL building.
const hostileTable = `it's a "table"; DROP TABLE x; --`;
let given: Database.Database | undefined;
describeStoreContract('SQLiteStore (given database, hostile table name)', {
  async make() {
    given = new Database(await tempDatabase('given'), { timeout: 0 });
    return openStore({ database: given, table: hostileTable });
  },
  async cleanup() {
    given?.close();
  },
});

describe('SQLiteStore (restart)', () => {
  it('serves the sessions an earlier instance wrote, at their versions, expiries and owners', async () => {
    const filename = await tempDatabase('restart');
    const before = new SQLiteStore({ filename, pruneInterval: false });
    const id = freshId();
    const expires = Date.now() + HOUR_MS;
    await before.create(id, { data: Uint8Array.of(1, 2, 3), expires });
    await before.update(id, { data: Uint8Array.of(4, 5), expires: expires + 1, owner: 'ada' }, 1);
    await before.close();

    const after = openStore({ filename });
    expect(await after.get(id)).toEqual({ data: Buffer.from([4, 5]), expires: expires + 1, version: 2, owner: 'ada' });
    expect(await after.update(id, { data: Uint8Array.of(6), expires }, 2)).toBe(3);
  });
});

describe('SQLiteStore bytes and expiry', () => {
  let store: SQLiteStore;
  itKeepsMsgpackBytes('a BLOB', async () => (store = openStore({ filename: await tempDatabase('bytes') })));

  it('keeps arbitrary bytes, the empty array and views into larger buffers included, byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.nat({ max: 16 }), async (bytes, offset) => {
        const framed = new Uint8Array(offset + bytes.length + 7).fill(0xee);
        framed.set(bytes, offset);
        const data = framed.subarray(offset, offset + bytes.length);
        const id = freshId();
        expect(await store.create(id, { data, expires: Date.now() + HOUR_MS })).toBe(true);
        expect(Buffer.from((await store.get(id))!.data).equals(Buffer.from(bytes))).toBe(true);
        expect(await store.update(id, { data, expires: Date.now() + HOUR_MS }, 1)).toBe(2);
        expect(Buffer.from((await store.get(id))!.data).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('gives back exactly the expiry it was given, for any future millisecond a Date can hold, fractions included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: Date.now() + HOUR_MS, max: 8.64e15, noNaN: true }), async (expires) => {
        const id = freshId();
        await store.create(id, { data: Uint8Array.of(1), expires });
        expect((await store.get(id))!.expires).toBe(expires);
        expect(await store.touch(id, expires - 1)).toBe(true);
        expect((await store.get(id))!.expires).toBe(expires - 1);
      }),
      { numRuns: 60, examples: [[8.64e15], [Date.now() + HOUR_MS + 0.5]] },
    );
  });
});

describe('SQLiteStore table names', () => {
  it('uses a name with quotes, spaces and semicolons verbatim, with its indexes, and injects nothing', async () => {
    const filename = await tempDatabase('names');
    const sentinel = 'sentinel';
    const table = `x y"; DROP TABLE ${sentinel}; --`;
    const db = new Database(filename);
    db.exec(`CREATE TABLE ${sentinel} (x INTEGER)`);
    const store = openStore({ database: db, table });
    await expectEveryStatementWorks(store);
    const names = db.prepare(`SELECT type, name FROM sqlite_schema ORDER BY name`).all();
    expect(names).toEqual(
      [
        { type: 'table', name: sentinel },
        { type: 'table', name: table },
        { type: 'index', name: `${table}_expires_idx` },
        { type: 'index', name: `${table}_owner_idx` },
        { type: 'index', name: `sqlite_autoindex_${table}_1` },
      ].sort((a, b) => (a.name < b.name ? -1 : 1)),
    );
    db.close();
  });

  it('answers the owner list and "revoke all" from the owner index, and expiry pruning from the expiry index', async () => {
    const db = new Database(await tempDatabase('plans'));
    const store = openStore({ database: db });
    await store.get(freshId()); // creates the table
    const plan = (sql: string): string =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((row) => row.detail).join('; ');
    expect(plan(`SELECT id FROM koa_sessions WHERE owner = 'ada' AND expires > 0`)).toContain('USING INDEX koa_sessions_owner_idx');
    expect(plan(`DELETE FROM koa_sessions WHERE owner = 'ada' AND id IS NOT NULL`)).toContain('USING INDEX koa_sessions_owner_idx');
    expect(plan(`SELECT rowid FROM koa_sessions WHERE expires <= 5 LIMIT 500`)).toContain('koa_sessions_expires_idx');
    db.close();
  });

  it('puts its file in WAL mode, and leaves a given database’s journal mode alone', async () => {
    const filename = await tempDatabase('wal');
    await openStore({ filename }).get(freshId());
    const check = new Database(filename);
    expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
    check.close();

    const other = new Database(await tempDatabase('wal-given'));
    await openStore({ database: other }).get(freshId());
    expect(other.pragma('journal_mode', { simple: true })).toBe('delete');
    other.close();
  });
});

describe('SQLiteStore#close()', () => {
  it('closes the file it opened: later calls reject with a SessionStoreError, and closing again is fine', async () => {
    const store = new SQLiteStore({ filename: await tempDatabase('close'), pruneInterval: 60_000 });
    await store.create(freshId(), { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS });
    await store.close();
    const error = await store.get(freshId()).catch((e: unknown) => e);
    expect(isSessionStoreError(error)).toBe(true);
    expect((error as SessionStoreError).message).toBe('koa-session-kit: SQLiteStore is closed');
    expect((error as SessionStoreError).operation).toBe('get');
    await expect(store.close()).resolves.toBeUndefined();
  });

  it('opens nothing when closed before its first operation', async () => {
    const filename = await tempDatabase('never');
    const store = new SQLiteStore({ filename });
    await store.close();
    await expect(store.touch(freshId(), Date.now())).rejects.toThrow('koa-session-kit: SQLiteStore is closed');
    expect(existsSync(filename)).toBe(false);
  });

  it('leaves a given database open, and keeps working on it', async () => {
    const db = new Database(await tempDatabase('close-given'));
    const store = new SQLiteStore({ database: db, pruneInterval: false });
    const id = freshId();
    await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS });
    await store.close();
    expect(db.open).toBe(true);
    expect((await store.get(id))!.version).toBe(1);
    db.close();
  });

  it('fails with a SessionStoreError naming the table and keeping the cause once the given database is closed', async () => {
    const db = new Database(await tempDatabase('closed-given'));
    const store = openStore({ database: db });
    await store.get(freshId());
    db.close();
    const error = await store.get(freshId()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStoreError);
    expect((error as SessionStoreError).message).toBe(
      'koa-session-kit: SQLiteStore get failed on table "koa_sessions": The database connection is not open',
    );
    expect(((error as SessionStoreError).cause as Error).name).toBe('TypeError'); // better-sqlite3's, from another realm under jest
  });

  it('fails with a SessionStoreError naming the file when it cannot be opened, and tries again on the next call', async () => {
    const dir = `${await tempDatabase('missing-dir')}.d`;
    const filename = join(dir, 'sessions.db');
    const store = openStore({ filename });
    const error = await store.get(freshId()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStoreError);
    expect((error as SessionStoreError).message).toBe(
      `koa-session-kit: SQLiteStore get failed on table "koa_sessions" in ${filename}: Cannot open database because the directory does not exist`,
    );
    expect((error as SessionStoreError).cause).toBeDefined();
    await mkdir(dir);
    expect(await store.get(freshId())).toBeUndefined();
  });
});
