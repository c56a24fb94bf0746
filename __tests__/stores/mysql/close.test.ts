/** MySQLStore#close(): ends the pool it made from `uri`, never one it was given. */

import { afterAll, beforeAll, expect, it } from '@jest/globals';
import mysql from 'mysql2';
import type mysqlPromise from 'mysql2/promise';
import { isSessionStoreError } from '../../../src/errors.js';
import { digestId, generateId } from '../../../src/id.js';
import { MySQLStore } from '../../../stores/mysql.js';
import { describeWithMySQL, dropTable, quoted, testPool, uniqueTable } from '../../helpers/mysql-store.js';
import { MYSQL_URL } from '../../helpers/services.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());

describeWithMySQL('MySQLStore#close()', () => {
  const table = uniqueTable('close');
  // A database of its own, so its connections are the store's and nobody else's.
  const database = uniqueTable('closedb');
  let admin: mysqlPromise.Pool;
  beforeAll(async () => {
    admin = testPool();
    await admin.query(`CREATE DATABASE ${quoted(database)}`);
  });
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${quoted(database)}`);
    await dropTable(admin, table);
    await admin.end();
  });

  async function connectionsTo(name: string): Promise<number> {
    const [rows] = await admin.query<(mysqlPromise.RowDataPacket & { n: number })[]>(
      'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ?',
      [name],
    );
    return rows[0]!.n;
  }

  it('ends the pool it made, after which calls reject and close() again is fine', async () => {
    const url = new URL(MYSQL_URL);
    url.pathname = `/${database}`;
    const store = new MySQLStore({ uri: url.toString(), pruneInterval: false });
    await Promise.all(Array.from({ length: 3 }, () => store.create(freshId(), { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS })));
    expect(await connectionsTo(database)).toBeGreaterThan(0);
    await store.close();
    const deadline = Date.now() + 3_000;
    while ((await connectionsTo(database)) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await connectionsTo(database)).toBe(0);
    const error = await store.get(freshId()).catch((e: unknown) => e);
    expect(isSessionStoreError(error)).toBe(true);
    expect((error as Error).message).toBe('koa-session-kit: MySQLStore is closed');
    await expect(store.close()).resolves.toBeUndefined();
  });

  it('leaves a given pool open, and keeps working on it', async () => {
    const pool = testPool();
    const store = new MySQLStore({ pool, table, pruneInterval: false });
    const id = freshId();
    await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS });
    await store.close();
    const [rows] = await pool.query<(mysqlPromise.RowDataPacket & { one: number })[]>('SELECT 1 AS one');
    expect(rows[0]!.one).toBe(1);
    expect((await store.get(id))!.version).toBe(1);
    await pool.end();
  });

  it('works on the promise face of an app’s callback pool, and leaves that pool open too', async () => {
    const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 2 });
    const store = new MySQLStore({ pool: pool.promise(), table, pruneInterval: false });
    const id = freshId();
    expect(await store.create(id, { data: Uint8Array.of(5), expires: Date.now() + HOUR_MS })).toBe(true);
    await store.close();
    expect(Array.from((await store.get(id))!.data)).toEqual([5]);
    await new Promise<void>((resolve, reject) => pool.end((error) => (error ? reject(error) : resolve())));
  });
});
