/** SQLiteStore#prune() and its timer: batches, what stays, and one run for concurrent calls. */

import { afterAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { digestId, generateId } from '../../../src/id.js';
import type { StoreEvent } from '../../../src/store.js';
import { sleep } from '../../helpers/app.js';
import { cleanUp, openStore, tempDatabase } from './temp-files.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());

afterAll(cleanUp);

const count = (db: Database.Database): number => (db.prepare('SELECT count(*) AS n FROM koa_sessions').get() as { n: number }).n;

describe('SQLiteStore#prune()', () => {
  it('deletes more expired rows than one batch holds, keeps live ones, and shares one run between concurrent calls', async () => {
    const db = new Database(await tempDatabase('prune'));
    const store = openStore({ database: db });
    await store.get(freshId()); // creates the table
    const insert = db.prepare('INSERT INTO koa_sessions (id, data, expires, version) VALUES (?, ?, ?, 1)');
    const past = Date.now() - 1_000;
    db.transaction(() => {
      for (let i = 0; i < 1_234; i++) insert.run(freshId(), Buffer.of(i & 0xff), past - i);
    })();
    const live = freshId();
    await store.create(live, { data: Uint8Array.of(9), expires: Date.now() + HOUR_MS, owner: 'ada' });

    const [first, second] = await Promise.all([store.prune(), store.prune()]);
    expect([first, second]).toEqual([1_234, 1_234]);
    expect(count(db)).toBe(1);
    expect(await store.prune()).toBe(0);
    expect(Array.from((await store.get(live))!.data)).toEqual([9]);
    db.close();
  });

  it('runs on its timer when pruneInterval is set, reports each run to its event sink, and stops with close()', async () => {
    const filename = await tempDatabase('prune-timer');
    const store = openStore({ filename, pruneInterval: 50 });
    const events: StoreEvent[] = [];
    store.setEventSink((event) => events.push(event));
    const id = freshId();
    await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + 30 });
    const db = new Database(filename, { readonly: true });
    expect(count(db)).toBe(1);
    for (let waited = 0; count(db) > 0 && waited < 5_000; waited += 25) await sleep(25);
    expect(count(db)).toBe(0);
    expect(events).toContainEqual({ type: 'prune-finished', store: 'SQLiteStore', removed: 1 });
    await store.close();
    db.close();
  });
});
