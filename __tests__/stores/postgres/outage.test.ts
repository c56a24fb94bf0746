/** PostgresStore while its database goes away: SessionStoreError with the pg error kept, then recovery. */

import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type pg from 'pg';
import { SessionStoreError } from '../../../src/errors.js';
import { digestId, generateId } from '../../../src/id.js';
import { PostgresStore } from '../../../stores/postgres.js';
import {
  backendPids,
  describeWithPostgres,
  scratchDatabase,
  type ScratchDatabase,
  terminateBackends,
  testPool,
  uniqueAppName,
  waitFor,
} from '../../helpers/postgres-store.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());
const record = (byte: number) => ({ data: Uint8Array.of(byte), expires: Date.now() + HOUR_MS });

/** The rejection of `promise`, which must reject with a SessionStoreError. */
async function storeError(promise: Promise<unknown>): Promise<SessionStoreError> {
  const error = await promise.then(
    () => new Error('expected the operation to reject'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SessionStoreError);
  return error as SessionStoreError;
}

const pgCode = (error: SessionStoreError): unknown => (error.cause as { code?: unknown } | undefined)?.code;

// Every test here runs in a database of its own, so refusing connections to it disturbs no other file.
describeWithPostgres('PostgresStore when the database goes away', () => {
  const ownedName = uniqueAppName('owned');
  const givenName = uniqueAppName('given');
  let admin: pg.Pool;
  let database: ScratchDatabase;
  let inside: pg.Pool;
  let givenPool: pg.Pool;
  let owned: PostgresStore;
  let given: PostgresStore;

  beforeAll(async () => {
    admin = testPool();
    database = await scratchDatabase(admin, 'outage');
    const url = database.url();
    inside = testPool({ connectionString: url });
    givenPool = testPool({ connectionString: url, application_name: givenName });
    owned = new PostgresStore({ connectionString: database.url(ownedName), pruneInterval: false });
    given = new PostgresStore({ pool: givenPool, pruneInterval: false });
  });

  afterAll(async () => {
    await owned.close();
    await given.close();
    await givenPool.end();
    await inside.end();
    await database.drop();
    await admin.end();
  });

  it('rejects an operation whose connection is terminated mid-statement, keeping the pg error', async () => {
    const id = freshId();
    await owned.create(id, record(1));
    const blocker = await inside.connect();
    try {
      // Holds the row, so the store's update is provably in flight when its backend is killed.
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM koa_sessions WHERE id = $1 FOR UPDATE', [id]);
      const pending = storeError(owned.update(id, record(2), 1));
      await waitFor('the update to wait on the row lock', async () => {
        const { rows } = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [
          ownedName,
        ]);
        return rows.length > 0;
      });
      expect(await terminateBackends(admin, ownedName)).toBeGreaterThanOrEqual(1);
      const error = await pending;
      expect(error.operation).toBe('update');
      expect(error.code).toBe('ERR_SESSION_STORE');
      expect(error.message).toContain('PostgresStore update failed on table "koa_sessions"');
      expect(pgCode(error)).toBe('57P01'); // admin_shutdown
      expect(error.stack).toBeTruthy();
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    // The pool reconnects by itself; the update never happened.
    expect(await owned.get(id)).toMatchObject({ data: Buffer.of(1), version: 1 });
    expect(await owned.update(id, record(3), 1)).toBe(2);
  });

  it('rejects every operation while the database refuses connections, then recovers with nothing lost', async () => {
    const ids = [freshId(), freshId()];
    expect(await owned.create(ids[0]!, record(10))).toBe(true);
    expect(await given.create(ids[1]!, record(20))).toBe(true);

    await database.refuse();
    await terminateBackends(admin, ownedName);
    await terminateBackends(admin, givenName);
    await waitFor('every store connection to close', async () => {
      const pids = [...(await backendPids(admin, ownedName)), ...(await backendPids(admin, givenName))];
      return pids.length === 0;
    });
    // Let each pool see its idle connections die before the next checkout.
    await waitFor('both pools to drop their dead connections', async () => givenPool.totalCount === 0);

    for (const [store, id] of [
      [owned, ids[0]!],
      [given, ids[1]!],
    ] as const) {
      const attempts: [string, Promise<unknown>][] = [
        ['get', store.get(id)],
        ['create', store.create(freshId(), record(1))],
        ['update', store.update(id, record(1), 1)],
        ['touch', store.touch(id, Date.now() + HOUR_MS)],
        ['destroy', store.destroy(id)],
        ['prune', store.prune()],
      ];
      for (const [operation, attempt] of attempts) {
        const error = await storeError(attempt);
        expect(error.operation).toBe(operation);
        expect(error.message).toContain('"koa_sessions"');
        expect(pgCode(error)).toBe('55000'); // object_not_in_prerequisite_state: not accepting connections
      }
    }

    await database.allow();
    expect(await owned.get(ids[0]!)).toMatchObject({ data: Buffer.of(10), version: 1 });
    expect(await given.get(ids[1]!)).toMatchObject({ data: Buffer.of(20), version: 1 });
    expect(await owned.update(ids[0]!, record(11), 1)).toBe(2);
    expect(await given.create(freshId(), record(21))).toBe(true);
  });
});
