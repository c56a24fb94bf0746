/** PostgresStore and a session's owner: one user's sessions, the upgrade of a table made before owners, bad owners. */

import { afterAll, describe, expect, it } from '@jest/globals';
import { digestId, generateId } from '../../../src/id.js';
import { PostgresStore } from '../../../stores/postgres.js';
import { describeWithPostgres, dropTable, quoted, testPool, uniqueTable } from '../../helpers/postgres-store.js';
import { DATABASE_URL } from '../../helpers/services.js';
import { describeOwnedSessions } from '../shared/owned-sessions.js';
import { describeOwnerBehaviour } from '../shared/owners.js';
import { useAdminPool, useTableStore } from '../shared/admin-pool.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());

/** The DDL of the release before owners, verbatim: what a table in production looks like today. */
const previousSchema = (table: string): string => `CREATE TABLE IF NOT EXISTS ${quoted(table)} (
  id text COLLATE "C" PRIMARY KEY,
  data bytea NOT NULL,
  expires timestamptz NOT NULL,
  version integer NOT NULL,
  created timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ${quoted(`${table}_expires_idx`)} ON ${quoted(table)} (expires);
`;

describeWithPostgres('PostgresStore owners', () => {
  const admin = useAdminPool(testPool);

  const shared = uniqueTable('owned');
  describeOwnedSessions('PostgresStore', {
    make: async () => new PostgresStore({ connectionString: DATABASE_URL, table: shared, pruneInterval: false }),
    cleanup: () => dropTable(admin(), shared),
  });

  const overHttp = uniqueTable('owned-http');
  describeOwnerBehaviour('PostgresStore', {
    make: async () => new PostgresStore({ connectionString: DATABASE_URL, table: overHttp, pruneInterval: false }),
    cleanup: () => dropTable(admin(), overHttp),
  });

  describe('PostgresStore on a table made before owners', () => {
    const table = uniqueTable('upgrade');
    afterAll(() => dropTable(admin(), table));

    it('adds the owner column and its index, keeps the rows, and serves them without an owner', async () => {
      await admin().query(previousSchema(table));
      const old = freshId();
      const expires = Date.now() + HOUR_MS;
      await admin().query(`INSERT INTO ${quoted(table)} (id, data, expires, version) VALUES ($1, $2, to_timestamp($3::float8 / 1000), 4)`, [
        old,
        Buffer.from([1, 2]),
        expires,
      ]);

      const store = new PostgresStore({ pool: admin(), table, pruneInterval: false });
      const got = await store.get(old);
      expect(got).toEqual({ data: Buffer.from([1, 2]), expires: expect.any(Number), version: 4 });
      expect(got).not.toHaveProperty('owner');
      const id = freshId();
      await store.create(id, { data: Uint8Array.of(3), expires, owner: 'ada' });
      expect((await store.listOwned('ada')).map((r) => r.id)).toEqual([id]);
      expect(await store.update(old, { data: Uint8Array.of(4), expires, owner: 'ada' }, 4)).toBe(5);
      expect(await store.destroyOwned('ada', id)).toBe(1);
      await store.close();

      const { rows: columns } = await admin().query<{ column_name: string; is_nullable: string; data_type: string }>(
        `SELECT column_name, is_nullable, data_type FROM information_schema.columns WHERE table_name = $1 AND column_name = 'owner'`,
        [table],
      );
      expect(columns).toEqual([{ column_name: 'owner', is_nullable: 'YES', data_type: 'text' }]);
      const { rows: indexes } = await admin().query<{ indexname: string; indexdef: string }>(
        'SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname',
        [table],
      );
      expect(indexes.map((row) => row.indexname)).toEqual([`${table}_expires_idx`, `${table}_owner_idx`, `${table}_pkey`]);
      expect(indexes[1]!.indexdef).toContain('(owner) WHERE (owner IS NOT NULL)');
    });

    it('starts on an upgraded table without taking its lock again', async () => {
      // A transaction holding the weakest table lock blocks an ALTER TABLE but no session query.
      const holder = await admin().connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`LOCK TABLE ${quoted(table)} IN ACCESS SHARE MODE`);
        // Were the store to run its DDL, it would fail after a second instead of waiting for the holder.
        const url = new URL(DATABASE_URL);
        url.searchParams.set('options', '-c lock_timeout=1000');
        const store = new PostgresStore({ connectionString: url.toString(), table, pruneInterval: false });
        const id = freshId();
        await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS, owner: 'bob' });
        expect((await store.listOwned('bob')).map((r) => r.id)).toEqual([id]);
        await store.close();
      } finally {
        await holder.query('ROLLBACK');
        holder.release();
      }
    });
  });

  describe('PostgresStore owner checks', () => {
    const table = uniqueTable('owner-checks');
    const store = useTableStore(
      () => new PostgresStore({ pool: admin(), table, pruneInterval: false }),
      () => dropTable(admin(), table),
    );

    it('refuses an empty, oversized or non-string owner with a TypeError naming the limit, and writes nothing', async () => {
      const id = freshId();
      for (const owner of ['', 'é'.repeat(128), 42]) {
        const write = { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS, owner: owner as string };
        await expect(store().create(id, write)).rejects.toThrow(TypeError);
        await expect(store().create(id, write)).rejects.toThrow(/at most 255 UTF-8 bytes/);
        await expect(store().listOwned(owner as string)).rejects.toThrow(TypeError);
        await expect(store().destroyOwned(owner as string)).rejects.toThrow(TypeError);
      }
      expect(await store().get(id)).toBeUndefined();
      const longest = 'é'.repeat(127) + 'x';
      expect(await store().create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS, owner: longest })).toBe(true);
      expect((await store().get(id))?.owner).toBe(longest);
    });
  });
});
