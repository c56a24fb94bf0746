/** FileStore and a session's owner: the owner in the file (format 2), the index on disk, its tidying, and other processes. */

import { afterAll, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, readFile, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { digestId, generateId } from '../../../src/id.js';
import { FileStore } from '../../../stores/file.js';
import { exited, forkFixture, nextMessage, removeTempDirs, tempDir } from '../../helpers/file-store.js';
import { describeOwnedSessions } from '../shared/owned-sessions.js';
import { expectBadOwnersRefused } from '../shared/owner-checks.js';
import { describeOwnerBehaviour } from '../shared/owners.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());
const newOwner = (): string => `user-${generateId().slice(0, 10)}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Where the index keeps an owner's entries: `owners/<SHA-256 of the owner, base64url>/`. */
const ownerDir = (dir: string, owner: string): string => join(dir, 'owners', createHash('sha256').update(owner).digest('base64url'));
const entries = (dir: string, owner: string): Promise<string[]> => readdir(ownerDir(dir, owner)).catch(() => []);

const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(children.map(exited));
  await removeTempDirs();
});

let sharedDir: Promise<string> | undefined;
describeOwnedSessions('FileStore', { make: async () => new FileStore({ dir: await (sharedDir ??= tempDir('owned')) }) });
describeOwnerBehaviour('FileStore', { make: async () => new FileStore({ dir: await tempDir('owned-http') }) });

describe('FileStore owner on disk', () => {
  it('writes the owner after the header (format 2), and a new store over the directory reads it back', async () => {
    const dir = await tempDir('owner-file');
    const id = freshId();
    const owner = 'Zoë ✓ 42';
    const first = new FileStore({ dir });
    await first.create(id, { data: Uint8Array.of(7, 8), expires: Date.now() + HOUR_MS, owner });
    const file = await readFile(join(dir, `${id}.sess`));
    const ownerBytes = Buffer.byteLength(owner);
    expect(file[4]).toBe(2);
    expect(file.readUInt16LE(28)).toBe(ownerBytes);
    expect(file.subarray(32, 32 + ownerBytes).toString('utf8')).toBe(owner);
    expect(file.subarray(32 + ownerBytes)).toEqual(Buffer.from([7, 8]));
    await first.close();
    const second = new FileStore({ dir });
    expect(await second.get(id)).toEqual({ data: Uint8Array.of(7, 8), expires: file.readDoubleLE(8), version: 1, owner });
    expect((await second.listOwned(owner)).map((r) => r.id)).toEqual([id]);
    await second.close();
  });

  it('keeps one entry per session in a directory per owner: moved on update, removed on destroy, the directory with its last entry', async () => {
    const dir = await tempDir('owner-index');
    const store = new FileStore({ dir });
    const [ada, bob] = [newOwner(), newOwner()];
    const [a, b] = [freshId(), freshId()];
    await store.create(a, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS, owner: ada });
    await store.create(b, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS, owner: ada });
    expect((await entries(dir, ada)).sort()).toEqual([a, b].sort());
    expect((await stat(ownerDir(dir, ada))).mode & 0o777).toBe(0o700);
    await store.update(a, { data: Uint8Array.of(2), expires: Date.now() + HOUR_MS, owner: bob }, 1);
    expect(await entries(dir, ada)).toEqual([b]);
    expect(await entries(dir, bob)).toEqual([a]);
    await store.destroy(a);
    await store.destroy(b);
    expect(await readdir(join(dir, 'owners'))).toEqual([]);
    await store.close();
  });

  it('drops, on listing, entries whose record was removed, expired or given to someone else behind its back', async () => {
    const dir = await tempDir('owner-tidy');
    const store = new FileStore({ dir });
    const ada = newOwner();
    const [kept, removed, expiring, taken] = [freshId(), freshId(), freshId(), freshId()];
    for (const id of [kept, removed, taken]) await store.create(id, { data: Uint8Array.of(1), expires: Date.now() + HOUR_MS, owner: ada });
    await store.create(expiring, { data: Uint8Array.of(1), expires: Date.now() + 100, owner: ada });
    await unlink(join(dir, `${removed}.sess`));
    // Another store's record under the same name, as if an index update had been lost.
    const other = await tempDir('owner-tidy-other');
    const elsewhere = new FileStore({ dir: other });
    await elsewhere.create(taken, { data: Uint8Array.of(9), expires: Date.now() + HOUR_MS, owner: 'bob' });
    await copyFile(join(other, `${taken}.sess`), join(dir, `${taken}.sess`));
    await sleep(200);
    expect((await store.listOwned(ada)).map((r) => r.id)).toEqual([kept]);
    expect(await entries(dir, ada)).toEqual([kept]);
    expect((await store.get(taken))?.owner).toBe('bob');
    expect(await store.destroyOwned(ada)).toBe(1);
    expect(await store.get(taken)).toBeDefined();
    await store.close();
    await elsewhere.close();
  });

  it('removes the index entry of an owned session prune removes', async () => {
    const dir = await tempDir('owner-prune');
    const store = new FileStore({ dir, pruneInterval: false });
    const ada = newOwner();
    await store.create(freshId(), { data: Uint8Array.of(1), expires: Date.now() + 50, owner: ada });
    await sleep(100);
    expect(await store.prune()).toBe(1);
    expect(await readdir(join(dir, 'owners'))).toEqual([]);
    await store.close();
  });

  it('refuses an empty, oversized or non-string owner with a TypeError naming the limit, and writes nothing', async () => {
    const dir = await tempDir('owner-checks');
    const store = new FileStore({ dir });
    await expectBadOwnersRefused(store);
    await store.close();
  });
});

describe('FileStore owner index between processes', () => {
  it('lists exactly what another process owns after it created and moved sessions while this one kept listing', async () => {
    const dir = await tempDir('owner-processes');
    const store = new FileStore({ dir });
    const [ada, bob] = [newOwner(), newOwner()];
    const child = forkFixture('file-owners', [dir, ada, bob, '40']);
    children.push(child);
    await nextMessage(child, 'ready');
    const done = nextMessage(child, 'done', 60_000);
    let finished = false;
    void done.finally(() => (finished = true)).catch(() => undefined);
    // Listing tidies entries as it goes: it must never drop one whose create or update is in flight.
    while (!finished) await Promise.all([store.listOwned(ada), store.listOwned(bob)]);
    const owned = (await done) as { ada: string[]; bob: string[] };
    expect((await store.listOwned(ada)).map((r) => r.id).sort()).toEqual([...owned.ada].sort());
    expect((await store.listOwned(bob)).map((r) => r.id).sort()).toEqual([...owned.bob].sort());
    expect(await store.destroyOwned(ada)).toBe(owned.ada.length);
    for (const id of owned.ada) expect(await store.get(id)).toBeUndefined();
    await store.close();
  });
});
