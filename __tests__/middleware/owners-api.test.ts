/** sessions.listSessions / revokeSession / revokeSessions: their refusals, failures and what a listing leaves out. */

import { afterAll, describe, expect, it } from '@jest/globals';
import { digestId, generateId, isSessionStoreError, session } from '../../src/index.js';
import type { OwnedRecord, RecordWrite, Store, StoredRecord } from '../../src/store.js';
import { MemoryStore } from '../../stores/memory.js';
import { closeStores, track } from '../helpers/app.js';

afterAll(closeStores);

/** A store with no owner index: the five required methods only. */
class PlainStore implements Store {
  readonly #inner = new MemoryStore();
  get(id: string): Promise<StoredRecord | undefined> {
    return this.#inner.get(id);
  }
  create(id: string, record: RecordWrite): Promise<boolean> {
    return this.#inner.create(id, record);
  }
  update(id: string, record: RecordWrite, version?: number): Promise<number | undefined> {
    return this.#inner.update(id, record, version);
  }
  touch(id: string, expires: number): Promise<boolean> {
    return this.#inner.touch(id, expires);
  }
  destroy(id: string): Promise<void> {
    return this.#inner.destroy(id);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

describe('the owner API', () => {
  it('names the store and the stores that can, when the store keeps no owner index', async () => {
    const sessions = session({ store: track(new PlainStore()) });
    await expect(sessions.listSessions('ada')).rejects.toThrow(
      /PlainStore keeps no owner index.*use any server-side store \(MemoryStore, FileStore, PostgresStore, RedisStore, MySQLStore, SQLiteStore\)/,
    );
  });

  it('refuses a handle or an except that is not a session handle, and an owner that is not a user id', async () => {
    const sessions = session({ store: track(new MemoryStore()) });
    await expect(sessions.revokeSession('not-a-handle')).rejects.toThrow(/`handle` must be a session handle/);
    await expect(sessions.revokeSessions('ada', { except: 'x' })).rejects.toThrow(/`except` must be a session handle/);
    await expect(sessions.listSessions('')).rejects.toThrow(TypeError);
    await expect(sessions.revokeSession(digestId(generateId()), { owner: '' })).resolves.toBe(false);
  });

  it('wraps a store failure in a SessionStoreError that keeps the cause', async () => {
    const failure = new Error('backend down');
    class Failing extends MemoryStore {
      override listOwned(): Promise<OwnedRecord[]> {
        return Promise.reject(failure);
      }
    }
    const sessions = session({ store: track(new Failing()) });
    const error = await sessions.listSessions('ada').catch((e: unknown) => e);
    expect(isSessionStoreError(error)).toBe(true);
    expect((error as Error & { operation: string }).operation).toBe('listOwned');
    expect((error as Error).cause).toBe(failure);
  });

  it('leaves out records that do not decode and sessions past their absolute timeout, and gives no lastSeen where the cap set the expiry', async () => {
    const store = track(new MemoryStore());
    const sessions = session({ store, absoluteTimeout: 60_000 });
    const now = Date.now();
    const envelope = (created: number): Uint8Array => {
      const name = Buffer.from('json');
      const head = Buffer.alloc(2 + name.length + 16);
      head[0] = 1;
      head[1] = name.length;
      name.copy(head, 2);
      head.writeDoubleBE(created, 2 + name.length);
      head.writeDoubleBE(-1, 2 + name.length + 8);
      return Buffer.concat([head, Buffer.from('{"n":1}')]);
    };
    const capped = digestId(generateId());
    await store.create(capped, { data: envelope(now - 1000), expires: now - 1000 + 60_000, owner: 'ada' });
    await store.create(digestId(generateId()), { data: Buffer.from('garbage'), expires: now + 60_000, owner: 'ada' });
    await store.create(digestId(generateId()), { data: envelope(now - 120_000), expires: now + 60_000, owner: 'ada' });
    const listed = await sessions.listSessions('ada');
    expect(listed).toEqual([{ handle: capped, created: now - 1000, expires: now - 1000 + 60_000, lastSeen: undefined, data: { n: 1 } }]);
  });
});
