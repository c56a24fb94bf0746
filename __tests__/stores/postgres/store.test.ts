/** PostgresStore against the real PostgreSQL: the Store contract, restart, bytes, exact expiry, names, pools. */

import { afterAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type pg from 'pg';
import { isSessionStoreError, SessionStoreError } from '../../../src/errors.js';
import { digestId, generateId } from '../../../src/id.js';
import { createSessionTableSql, PostgresStore } from '../../../stores/postgres.js';
import {
  backendPids,
  connectionString,
  describeWithPostgres,
  dropTable,
  quoted,
  testPool,
  uniqueAppName,
  uniqueTable,
  waitFor,
} from '../../helpers/postgres-store.js';
import { DATABASE_URL } from '../../helpers/services.js';
import { useAdminPool, useTableStore } from '../shared/admin-pool.js';
import { describeOwnerContract, describeStoreContract } from '../shared/contract.js';
import { itKeepsMsgpackBytes } from '../shared/msgpack-bytes.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());

describeWithPostgres('PostgresStore', () => {
  const admin = useAdminPool(testPool);

  // Once on a pool the store makes from a connection string...
  const ownedTable = uniqueTable('contract');
  describeStoreContract('PostgresStore (own pool)', {
    make: async () => new PostgresStore({ connectionString: DATABASE_URL, table: ownedTable, pruneInterval: false }),
    cleanup: () => dropTable(admin(), ownedTable),
  });

  // ...and once on a given pool, in a schema, under a name made to break naive SQL building.
  const schema = `koa sk "schema"; ${uniqueTable('s')}`;
  const hostileTable = `it's a "table"; DROP TABLE x; --`;
  let givenPool: pg.Pool;
  describeStoreContract('PostgresStore (given pool, hostile schema and table names)', {
    async make() {
      givenPool = testPool();
      await givenPool.query(`CREATE SCHEMA ${quoted(schema)}`);
      return new PostgresStore({ pool: givenPool, schema, table: hostileTable, pruneInterval: false });
    },
    async cleanup() {
      await givenPool.query(`DROP SCHEMA ${quoted(schema)} CASCADE`);
      await givenPool.end();
    },
  });

  const ownerTable = uniqueTable('owners');
  describeOwnerContract('PostgresStore (own pool)', {
    make: async () => new PostgresStore({ connectionString: DATABASE_URL, table: ownerTable, pruneInterval: false }),
    cleanup: () => dropTable(admin(), ownerTable),
  });

  const ownerSchema = `koa sk "owners"; ${uniqueTable('s')}`;
  let ownerPool: pg.Pool;
  describeOwnerContract('PostgresStore (given pool, hostile schema and table names)', {
    async make() {
      ownerPool = testPool();
      await ownerPool.query(`CREATE SCHEMA ${quoted(ownerSchema)}`);
      return new PostgresStore({ pool: ownerPool, schema: ownerSchema, table: hostileTable, pruneInterval: false });
    },
    async cleanup() {
      await ownerPool.query(`DROP SCHEMA ${quoted(ownerSchema)} CASCADE`);
      await ownerPool.end();
    },
  });

  describe('PostgresStore (restart)', () => {
    const table = uniqueTable('restart');
    afterAll(() => dropTable(admin(), table));

    it('serves the sessions an earlier instance wrote, at their versions and expiries', async () => {
      const before = new PostgresStore({ connectionString: DATABASE_URL, table, pruneInterval: false });
      const id = freshId();
      const expires = Date.now() + HOUR_MS;
      await before.create(id, { data: Uint8Array.of(1, 2, 3), expires });
      await before.update(id, { data: Uint8Array.of(4, 5), expires: expires + 1 }, 1);
      await before.close();

      const after = new PostgresStore({ connectionString: DATABASE_URL, table, pruneInterval: false });
      const got = await after.get(id);
      expect(got).toEqual({ data: Buffer.from([4, 5]), expires: expires + 1, version: 2 });
      expect(await after.update(id, { data: Uint8Array.of(6), expires }, 2)).toBe(3);
      await after.close();
    });
  });

  describe('PostgresStore bytes and expiry', () => {
    const table = uniqueTable('bytes');
    const store = useTableStore(
      () => new PostgresStore({ pool: admin(), table, pruneInterval: false }),
      () => dropTable(admin(), table),
    );

    itKeepsMsgpackBytes('bytea', () => store());

    it('keeps arbitrary bytes, the empty array included, byte for byte', async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (data) => {
          const id = freshId();
          expect(await store().create(id, { data, expires: Date.now() + HOUR_MS })).toBe(true);
          const got = await store().get(id);
          expect(Buffer.from(got!.data).equals(Buffer.from(data))).toBe(true);
        }),
        { numRuns: 60 },
      );
    });

    it('gives back exactly the expiry it was given, for any future millisecond a Date can hold', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: Date.now() + HOUR_MS, max: 8.64e15 }), async (expires) => {
          const id = freshId();
          await store().create(id, { data: Uint8Array.of(1), expires });
          expect((await store().get(id))!.expires).toBe(expires);
          expect(await store().touch(id, expires - 1)).toBe(true);
          expect((await store().get(id))!.expires).toBe(expires - 1);
        }),
        { numRuns: 60, examples: [[8.64e15], [2 ** 53 / 1000 + 1], [Date.UTC(2038, 0, 19, 3, 14, 8, 1)]] },
      );
    });

    it('keeps a fractional expiry to the microsecond', async () => {
      const id = freshId();
      const expires = Date.now() + HOUR_MS + 0.5;
      await store().create(id, { data: Uint8Array.of(1), expires });
      expect((await store().get(id))!.expires).toBe(expires);
    });

    it('stores the expiry as the real instant, whatever the connection time zone', async () => {
      const id = freshId();
      const expires = Date.UTC(2031, 5, 7, 8, 9, 10, 123);
      await store().create(id, { data: Uint8Array.of(1), expires });
      const client = await admin().connect();
      try {
        await client.query(`SET TIME ZONE 'Pacific/Chatham'`);
        const { rows } = await client.query<{ utc: string }>(
          `SELECT to_char(expires AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS utc FROM ${quoted(table)} WHERE id = $1`,
          [id],
        );
        expect(rows[0]!.utc).toBe(new Date(expires).toISOString());
      } finally {
        await client.query('RESET TIME ZONE');
        client.release();
      }
    });

    it('writes the row the README describes: digest id, bytea data, version and creation time', async () => {
      const id = freshId();
      const before = Date.now();
      await store().create(id, { data: Uint8Array.of(9), expires: before + HOUR_MS });
      const { rows } = await admin().query<{ data: Buffer; version: number; created: Date }>(
        `SELECT data, version, created FROM ${quoted(table)} WHERE id = $1`,
        [id],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]!.data.equals(Buffer.of(9))).toBe(true);
      expect(rows[0]!.version).toBe(1);
      expect(rows[0]!.created.getTime()).toBeGreaterThanOrEqual(before);
      expect(rows[0]!.created.getTime()).toBeLessThanOrEqual(Date.now());
    });
  });

  describe('PostgresStore table names', () => {
    const sentinel = uniqueTable('sent');
    // What a builder that only wraps the name in quotes would run as a second statement.
    const table = `x y"; DROP TABLE ${sentinel}; --`;
    afterAll(async () => {
      await dropTable(admin(), table);
      await dropTable(admin(), sentinel);
    });

    it('uses a name with quotes, spaces and semicolons verbatim and injects nothing', async () => {
      await admin().query(`CREATE TABLE ${quoted(sentinel)} (x int)`);
      const store = new PostgresStore({ pool: admin(), table, pruneInterval: false });
      const id = freshId();
      expect(await store.create(id, { data: Uint8Array.of(1), expires: Date.now() - 1 })).toBe(true);
      expect(await store.prune()).toBe(1);
      await store.create(id, { data: Uint8Array.of(2), expires: Date.now() + HOUR_MS });
      expect(await store.update(id, { data: Uint8Array.of(3), expires: Date.now() + HOUR_MS }, 1)).toBe(2);
      expect(await store.touch(id, Date.now() + 2 * HOUR_MS)).toBe(true);
      expect(Array.from((await store.get(id))!.data)).toEqual([3]);
      await store.destroy(id);
      await store.close();

      const { rows } = await admin().query<{ relname: string }>(
        `SELECT relname FROM pg_class WHERE relname IN ($1, $2, $3) ORDER BY relname`,
        [table, `${table}_expires_idx`, sentinel],
      );
      expect(rows.map((row) => row.relname).sort()).toEqual([sentinel, table, `${table}_expires_idx`].sort());
    });

    it('refuses a schema that does not exist with a SessionStoreError naming the table', async () => {
      const missing = uniqueTable('nowhere');
      const store = new PostgresStore({ pool: admin(), schema: missing, pruneInterval: false });
      const error = await store.get(freshId()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionStoreError);
      expect((error as SessionStoreError).message).toContain(`"${missing}"."koa_sessions"`);
      expect(((error as SessionStoreError).cause as { code?: string }).code).toBe('3F000');
      await store.close();
    });
  });

  describe('PostgresStore createTable', () => {
    const table = uniqueTable('racing');
    const manual = uniqueTable('manual');
    afterAll(async () => {
      await dropTable(admin(), table);
      await dropTable(admin(), manual);
    });

    it('lets many instances on their own pools create one table at the same moment', async () => {
      const pools = Array.from({ length: 6 }, () => testPool({ max: 1 }));
      const stores = pools.map((pool) => new PostgresStore({ pool, table, pruneInterval: false }));
      const ids = stores.map(() => freshId());
      const created = await Promise.all(
        stores.map((store, i) => store.create(ids[i]!, { data: Uint8Array.of(i), expires: Date.now() + HOUR_MS })),
      );
      expect(created).toEqual(stores.map(() => true));
      for (const [i, id] of ids.entries()) expect(Array.from((await stores[0]!.get(id))!.data)).toEqual([i]);
      const { rows } = await admin().query<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE tablename = $1', [table]);
      expect(rows.map((row) => row.indexname).sort()).toEqual([`${table}_expires_idx`, `${table}_owner_idx`, `${table}_pkey`]);
      await Promise.all(pools.map((pool) => pool.end()));
    });

    it('with createTable: false, fails with the cause kept until the table exists, then works', async () => {
      const store = new PostgresStore({ pool: admin(), table: manual, createTable: false, pruneInterval: false });
      const id = freshId();
      const error = await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS }).catch((e: unknown) => e);
      expect(isSessionStoreError(error)).toBe(true);
      expect((error as SessionStoreError).operation).toBe('create');
      expect((error as SessionStoreError).message).toContain(`"${manual}"`);
      expect(((error as SessionStoreError).cause as { code?: string }).code).toBe('42P01');

      await admin().query(createSessionTableSql({ table: manual }));
      expect(await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS })).toBe(true);
      await store.close();
    });
  });

  describe('PostgresStore#close()', () => {
    const table = uniqueTable('close');
    afterAll(() => dropTable(admin(), table));

    it('ends the pool it made, and names that pool after the application_name in the string', async () => {
      const name = uniqueAppName('close');
      const store = new PostgresStore({ connectionString: connectionString({ applicationName: name }), table, pruneInterval: false });
      await store.create(freshId(), { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS });
      expect((await backendPids(admin(), name)).length).toBeGreaterThan(0);
      await store.close();
      await waitFor('the pool to disconnect', async () => (await backendPids(admin(), name)).length === 0);
      const error = await store.get(freshId()).catch((e: unknown) => e);
      expect(isSessionStoreError(error)).toBe(true);
      await expect(store.close()).resolves.toBeUndefined();
    });

    it('calls its own pool koa-session-kit when the string names none', async () => {
      const store = new PostgresStore({ connectionString: DATABASE_URL, table, pruneInterval: false });
      const id = freshId();
      await store.get(id);
      // pg_stat_activity keeps each backend's last statement: find the one that ran ours.
      const { rows } = await admin().query<{ name: string }>(
        `SELECT application_name AS name FROM pg_stat_activity WHERE position($1 in query) > 0 AND pid <> pg_backend_pid()`,
        [quoted(table)],
      );
      await store.close();
      expect(rows.map((row) => row.name)).toEqual(['koa-session-kit']);
    });

    it('leaves a given pool open, and keeps working on it', async () => {
      const pool = testPool();
      const store = new PostgresStore({ pool, table, pruneInterval: false });
      const id = freshId();
      await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS });
      await store.close();
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
      expect((await store.get(id))!.version).toBe(1);
      await pool.end();
    });
  });
});
