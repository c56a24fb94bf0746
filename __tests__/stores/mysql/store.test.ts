/** MySQLStore against the real MariaDB: the Store and owner contracts, both client flag settings, names, bytes, expiry, restart. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type mysql from 'mysql2/promise';
import { digestId, generateId } from '../../../src/id.js';
import { MySQLStore } from '../../../stores/mysql.js';
import { describeWithMySQL, dropTable, quoted, testPool, uniqueTable } from '../../helpers/mysql-store.js';
import { MYSQL_URL } from '../../helpers/services.js';
import { useAdminPool, useTableStore } from '../shared/admin-pool.js';
import { describeOwnerContract, describeStoreContract } from '../shared/contract.js';
import { itKeepsMsgpackBytes } from '../shared/msgpack-bytes.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());

describeWithMySQL('MySQLStore', () => {
  const admin = useAdminPool(testPool);

  // Once on a pool the store makes from a URI...
  const ownedTable = uniqueTable('contract');
  describeStoreContract('MySQLStore (own pool)', {
    make: async () => new MySQLStore({ uri: MYSQL_URL, table: ownedTable, pruneInterval: false }),
    cleanup: () => dropTable(admin(), ownedTable),
  });

  // ...once on a given pool under a name made to break naive SQL building...
  const hostileTable = `it's a "t\`able"; DROP/x.y\\z -- ${uniqueTable('h')}`.slice(0, 64);
  let givenPool: mysql.Pool;
  describeStoreContract('MySQLStore (given pool, hostile table name)', {
    async make() {
      givenPool = testPool();
      return new MySQLStore({ pool: givenPool, table: hostileTable, pruneInterval: false });
    },
    async cleanup() {
      await dropTable(givenPool, hostileTable);
      await givenPool.end();
    },
  });

  // ...and once on a pool without mysql2's default FOUND_ROWS flag, where UPDATE counts changed rows only.
  const changedRowsTable = uniqueTable('nofound');
  let changedRowsPool: mysql.Pool;
  describeStoreContract('MySQLStore (given pool without FOUND_ROWS)', {
    async make() {
      changedRowsPool = testPool({ flags: ['-FOUND_ROWS'] });
      return new MySQLStore({ pool: changedRowsPool, table: changedRowsTable, pruneInterval: false });
    },
    async cleanup() {
      await dropTable(changedRowsPool, changedRowsTable);
      await changedRowsPool.end();
    },
  });

  const ownersTable = uniqueTable('owners');
  describeOwnerContract('MySQLStore', {
    make: async () => new MySQLStore({ pool: admin(), table: ownersTable, pruneInterval: false }),
    cleanup: () => dropTable(admin(), ownersTable),
  });

  describe.each([
    ['with FOUND_ROWS (mysql2’s default)', []],
    ['without FOUND_ROWS', ['-FOUND_ROWS']],
  ])('MySQLStore compare-and-set, %s', (_name, flags) => {
    const table = uniqueTable('cas');
    let pool: mysql.Pool;
    let store: MySQLStore;
    beforeAll(() => {
      pool = testPool({ flags });
      store = new MySQLStore({ pool, table, pruneInterval: false });
    });
    afterAll(async () => {
      await dropTable(pool, table);
      await pool.end();
    });

    const row = async (id: string) => {
      const [rows] = await pool.query<(mysql.RowDataPacket & { data: Buffer; version: number; expires: number })[]>(
        `SELECT data, version, expires FROM ${quoted(table)} WHERE id = ?`,
        [id],
      );
      return rows[0];
    };

    it('writes nothing for a stale version, even when the bytes and expiry are the ones already stored', async () => {
      const id = freshId();
      const record = { data: Uint8Array.of(7, 7), expires: Date.now() + HOUR_MS };
      await store.create(id, record);
      expect(await store.update(id, record, 1)).toBe(2);
      // The same bytes and expiry at the old version: a "Rows matched: 0" the store must not read as success.
      expect(await store.update(id, record, 1)).toBeUndefined();
      expect(await row(id)).toMatchObject({ version: 2, expires: record.expires });
      expect(await store.update(id, record, 3)).toBeUndefined();
      expect((await row(id))!.version).toBe(2);
    });

    it('counts an update that rewrites identical bytes at the right version as written, and bumps the version', async () => {
      const id = freshId();
      const record = { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS };
      await store.create(id, record);
      expect(await store.update(id, record, 1)).toBe(2);
      expect(await store.update(id, record)).toBe(3);
      expect((await row(id))!.version).toBe(3);
    });

    it('reports a touch to the expiry already stored as a match, not a miss', async () => {
      const id = freshId();
      const expires = Date.now() + HOUR_MS;
      await store.create(id, { data: Uint8Array.of(1), expires });
      expect(await store.touch(id, expires)).toBe(true);
      expect(await store.touch(freshId(), expires)).toBe(false);
      expect((await row(id))!.version).toBe(1);
    });

    it('refuses a create over a live record written with the very same bytes', async () => {
      const id = freshId();
      const record = { data: Uint8Array.of(3), expires: Date.now() + HOUR_MS };
      expect(await store.create(id, record)).toBe(true);
      expect(await store.create(id, record)).toBe(false);
      expect((await row(id))!.version).toBe(1);
    });
  });

  describe('MySQLStore bytes and expiry', () => {
    const table = uniqueTable('bytes');
    const store = useTableStore(
      () => new MySQLStore({ pool: admin(), table, pruneInterval: false }),
      () => dropTable(admin(), table),
    );

    itKeepsMsgpackBytes('LONGBLOB', () => store());

    it('keeps arbitrary bytes, from a Uint8Array that is a view into a larger buffer, the empty array included', async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.nat(16), async (bytes, offset) => {
          // Bytes that are not UTF-8 included, from a view that starts and ends inside its buffer.
          const backing = new Uint8Array(offset + bytes.length + 3).fill(0xff);
          backing.set(bytes, offset);
          const data = backing.subarray(offset, offset + bytes.length);
          const id = freshId();
          expect(await store().create(id, { data, expires: Date.now() + HOUR_MS })).toBe(true);
          const got = await store().get(id);
          expect(Buffer.from(got!.data).equals(Buffer.from(bytes))).toBe(true);
          expect(await store().update(id, { data, expires: Date.now() + HOUR_MS }, 1)).toBe(2);
          expect(Buffer.from((await store().get(id))!.data).equals(Buffer.from(bytes))).toBe(true);
        }),
        { numRuns: 40, examples: [[Uint8Array.of(0xc3, 0x28, 0x00, 0xff), 1]] },
      );
    });

    it('gives back exactly the expiry it was given, fractional milliseconds included', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.integer({ min: Date.now() + HOUR_MS, max: 8.64e15 }),
            fc.double({ min: Date.now() + HOUR_MS, max: 8.64e15, noNaN: true }),
          ),
          async (expires) => {
            const id = freshId();
            await store().create(id, { data: Uint8Array.of(1), expires });
            expect((await store().get(id))!.expires).toBe(expires);
            expect(await store().touch(id, expires - 1)).toBe(true);
            expect((await store().get(id))!.expires).toBe(expires - 1);
          },
        ),
        { numRuns: 40, examples: [[8.64e15], [Date.UTC(2038, 0, 19, 3, 14, 8, 1)], [Date.now() + HOUR_MS + 0.5]] },
      );
    });

    it('keeps an owner byte for byte: case, trailing spaces and any Unicode tell owners apart', async () => {
      const owners = ['Ada', 'ada', 'ada ', 'ädä', 'a\u0308da', '😀'];
      const ids = owners.map(() => freshId());
      for (const [i, owner] of owners.entries())
        await store().create(ids[i]!, { data: Uint8Array.of(i), expires: Date.now() + HOUR_MS, owner });
      for (const [i, owner] of owners.entries()) {
        expect((await store().get(ids[i]!))!.owner).toBe(owner);
        expect((await store().listOwned(owner)).map((r) => r.id)).toEqual([ids[i]]);
      }
      expect(await store().destroyOwned('ada')).toBe(1);
      expect((await store().listOwned('Ada')).map((r) => r.id)).toEqual([ids[0]]);
    });

    it('refuses an owner no user id looks like, before writing anything', async () => {
      const id = freshId();
      const long = 'é'.repeat(128); // 256 UTF-8 bytes, one more than the owner column holds
      await expect(store().create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS, owner: long })).rejects.toThrow(
        new TypeError('koa-session-kit: `owner` must be a non-empty string of at most 255 UTF-8 bytes (received 256 bytes)'),
      );
      expect(await store().get(id)).toBeUndefined();
      await expect(store().listOwned('')).rejects.toThrow(TypeError);
      await expect(store().destroyOwned(long)).rejects.toThrow(TypeError);
    });

    it('writes the row the docs describe: digest id, bytes, the app’s milliseconds, version, owner bytes', async () => {
      const id = freshId();
      const before = Date.now();
      const expires = before + HOUR_MS;
      await store().create(id, { data: Uint8Array.of(9), expires, owner: 'ada' });
      const [rows] = await admin().query<
        (mysql.RowDataPacket & { data: Buffer; version: number; created: number; expires: number; owner: Buffer })[]
      >(`SELECT data, version, created, expires, owner FROM ${quoted(table)} WHERE id = ?`, [id]);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.data.equals(Buffer.of(9))).toBe(true);
      expect(rows[0]!.owner.equals(Buffer.from('ada'))).toBe(true);
      expect(rows[0]).toMatchObject({ version: 1, expires });
      expect(rows[0]!.created).toBeGreaterThanOrEqual(before);
      expect(rows[0]!.created).toBeLessThanOrEqual(Date.now());
    });
  });

  describe('MySQLStore (restart)', () => {
    const table = uniqueTable('restart');
    afterAll(() => dropTable(admin(), table));

    it('serves the sessions an earlier instance wrote, at their versions, expiries and owners', async () => {
      const before = new MySQLStore({ uri: MYSQL_URL, table, pruneInterval: false });
      const id = freshId();
      const expires = Date.now() + HOUR_MS;
      await before.create(id, { data: Uint8Array.of(1, 2, 3), expires, owner: 'ada' });
      await before.update(id, { data: Uint8Array.of(4, 5), expires: expires + 1, owner: 'ada' }, 1);
      await before.close();

      const after = new MySQLStore({ uri: MYSQL_URL, table, pruneInterval: false });
      expect(await after.get(id)).toEqual({ data: Buffer.from([4, 5]), expires: expires + 1, version: 2, owner: 'ada' });
      expect(await after.update(id, { data: Uint8Array.of(6), expires }, 2)).toBe(3);
      await after.close();
    });
  });
});
