/** SQLiteStore while another connection holds the file's write lock: it waits on a timer, up to busyTimeout, then says so. */

import { afterAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { SessionStoreError } from '../../../src/errors.js';
import { digestId, generateId } from '../../../src/id.js';
import { sleep } from '../../helpers/app.js';
import { cleanUp, openStore, tempDatabase } from './temp-files.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());
const record = (byte: number) => ({ data: Uint8Array.of(byte), expires: Date.now() + HOUR_MS });

afterAll(cleanUp);

/** A second connection to `filename` holding the write lock (BEGIN IMMEDIATE) until `release()`. */
function holdWriteLock(filename: string): { release(): void } {
  const holder = new Database(filename, { timeout: 0 });
  holder.exec('BEGIN IMMEDIATE');
  return {
    release() {
      holder.exec('COMMIT');
      holder.close();
    },
  };
}

describe('SQLiteStore waiting for the write lock', () => {
  it('waits off the event loop, so a holder in the same process can finish, and then writes', async () => {
    const filename = await tempDatabase('busy-wait');
    const store = openStore({ filename });
    const id = freshId();
    await store.create(id, record(1));

    const lock = holdWriteLock(filename);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    let settled = false;
    const update = store.update(id, record(2), 1).finally(() => (settled = true));
    // Reads go on under WAL while the writer waits.
    expect((await store.get(id))!.version).toBe(1);
    await sleep(300);
    expect(settled).toBe(false);
    lock.release();
    expect(await update).toBe(2);
    clearInterval(ticker);
    // A wait inside SQLite would have held the event loop: no tick, and the holder could never release.
    expect(ticks).toBeGreaterThan(5);
    expect(Array.from((await store.get(id))!.data)).toEqual([2]);
  });

  it('gives up after busyTimeout with a SessionStoreError that names the wait and keeps SQLITE_BUSY', async () => {
    const filename = await tempDatabase('busy-timeout');
    const store = openStore({ filename, busyTimeout: 200 });
    const id = freshId();
    await store.create(id, record(1));
    const lock = holdWriteLock(filename);
    const started = performance.now();
    const error = await store.touch(id, Date.now() + 2 * HOUR_MS).catch((e: unknown) => e);
    const waited = performance.now() - started;
    lock.release();
    expect(error).toBeInstanceOf(SessionStoreError);
    expect((error as SessionStoreError).operation).toBe('touch');
    expect((error as SessionStoreError).message).toBe(
      `koa-session-kit: SQLiteStore touch failed on table "koa_sessions" in ${filename}: database is locked (SQLITE_BUSY); ` +
        'another connection held the write lock for over 200 ms (busyTimeout)',
    );
    expect(((error as SessionStoreError).cause as { code?: string }).code).toBe('SQLITE_BUSY');
    expect(waited).toBeGreaterThanOrEqual(195);
    expect(waited).toBeLessThan(5_000);
    // Nothing was written by the attempts that failed, and the next one goes through.
    expect(await store.touch(id, Date.now() + 2 * HOUR_MS)).toBe(true);
    expect((await store.get(id))!.version).toBe(1);
  });

  it('fails at once with busyTimeout: 0', async () => {
    const filename = await tempDatabase('busy-zero');
    const store = openStore({ filename, busyTimeout: 0 });
    const id = freshId();
    await store.create(id, record(1));
    const lock = holdWriteLock(filename);
    await expect(store.destroy(id)).rejects.toThrow(
      'database is locked (SQLITE_BUSY); another connection held the write lock (busyTimeout is 0)',
    );
    lock.release();
    await store.destroy(id);
    expect(await store.get(id)).toBeUndefined();
  });

  it('waits for the lock when creating its table too, as a second process starting at once would', async () => {
    const filename = await tempDatabase('busy-create');
    const setup = new Database(filename);
    setup.pragma('journal_mode = WAL');
    setup.close();
    const lock = holdWriteLock(filename);
    const store = openStore({ filename });
    const id = freshId();
    const created = store.create(id, record(7));
    await sleep(150);
    lock.release();
    expect(await created).toBe(true);
    expect(Array.from((await store.get(id))!.data)).toEqual([7]);
  });

  it('says when creating its table outlasted busyTimeout, and creates it on the next call', async () => {
    const filename = await tempDatabase('busy-create-timeout');
    const setup = new Database(filename);
    setup.pragma('journal_mode = WAL');
    setup.close();
    const lock = holdWriteLock(filename);
    const store = openStore({ filename, busyTimeout: 100 });
    await expect(store.create(freshId(), record(1))).rejects.toThrow(
      `koa-session-kit: SQLiteStore create failed on table "koa_sessions" in ${filename} while creating it: database is locked (SQLITE_BUSY)`,
    );
    lock.release();
    expect(await store.create(freshId(), record(1))).toBe(true);
  });

  it('says when the switch to WAL found the file locked, closes that attempt, and opens again on the next call', async () => {
    const filename = await tempDatabase('busy-wal');
    const setup = new Database(filename);
    setup.exec('CREATE TABLE other (x INTEGER)');
    setup.close();
    const lock = holdWriteLock(filename); // the file is still in rollback-journal mode
    const store = openStore({ filename, busyTimeout: 100 });
    const error = await store.get(freshId()).catch((e: unknown) => e);
    expect((error as SessionStoreError).message).toBe(
      `koa-session-kit: SQLiteStore get failed on table "koa_sessions" in ${filename} while switching it to WAL: ` +
        'database is locked (SQLITE_BUSY); another connection held the write lock for over 100 ms (busyTimeout)',
    );
    lock.release();
    expect(await store.get(freshId())).toBeUndefined();
    const check = new Database(filename, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
    check.close();
  });

  it('closes the connection of a first operation that close() overtook', async () => {
    const filename = await tempDatabase('busy-close');
    const lock = holdWriteLock(filename);
    const store = openStore({ filename });
    const first = store.create(freshId(), record(1));
    await sleep(50);
    const closed = store.close();
    lock.release();
    await closed;
    expect(await first).toBe(true);
    await expect(store.get(freshId())).rejects.toThrow('koa-session-kit: SQLiteStore is closed');
  });
});
