/** FileStore#prune() and its timer: what goes (expired, corrupt, stale temp and lock files), what stays, and when. */

import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { digestId, generateId } from '../../../src/id.js';
import { FileStore } from '../../../stores/file.js';
import { FORMAT_VERSION, encodeHeader } from '../../../stores/file/header.js';
import { exited, forkFixture, nextMessage, removeTempDirs, tempDir } from '../../helpers/file-store.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const record = (expires: number) => ({ data: Uint8Array.from([1, 2, 3]), expires });

async function age(path: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  await utimes(path, then, then);
}

afterAll(removeTempDirs);

describe('FileStore#prune()', () => {
  it('removes expired and corrupt sessions, stale temp and lock files, and nothing else', async () => {
    const dir = await tempDir('prune');
    const store = new FileStore({ dir });
    const [expired, live, corrupt, newer, torn] = [freshId(), freshId(), freshId(), freshId(), freshId()];
    await store.create(expired, record(Date.now() + 50));
    await store.create(live, record(Date.now() + HOUR_MS));
    await writeFile(join(dir, `${corrupt}.sess`), 'not a session');
    const future = encodeHeader(Date.now() - HOUR_MS, 1, 0);
    future[4] = FORMAT_VERSION + 1; // a newer format, even one that looks expired, is a later release's business
    await writeFile(join(dir, `${newer}.sess`), future);
    await writeFile(join(dir, `${torn}.sess`), encodeHeader(Date.now() + HOUR_MS, 1, 10));

    const staleTemp = `${live}.0123456789abcdef.tmp`;
    const freshTemp = `${live}.fedcba9876543210.tmp`;
    await writeFile(join(dir, staleTemp), 'half a write');
    await age(join(dir, staleTemp), 61_000);
    await writeFile(join(dir, freshTemp), 'a write in progress');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const staleLock = `${expired}.lock`;
    const liveLock = `${freshId()}.lock`;
    await writeFile(join(dir, staleLock), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), time: Date.now(), token: 'x' }));
    await writeFile(join(dir, liveLock), JSON.stringify({ pid: process.pid, host: hostname(), time: Date.now(), token: 'y' }));
    const foreign = ['notes.txt', 'README', `${live}.sess.bak`];
    for (const name of foreign) await writeFile(join(dir, name), 'mine');
    await mkdir(join(dir, `${freshId()}.sess`)); // a directory with a session's name: skipped

    await sleep(100);
    expect(await store.prune()).toBe(3); // expired, corrupt, torn
    const left = await readdir(dir);
    expect(left).not.toContain(`${expired}.sess`);
    expect(left).not.toContain(`${corrupt}.sess`);
    expect(left).not.toContain(`${torn}.sess`);
    expect(left).not.toContain(staleTemp);
    expect(left).not.toContain(staleLock);
    for (const name of [`${live}.sess`, `${newer}.sess`, freshTemp, liveLock, ...foreign]) expect(left).toContain(name);
    expect(left).toHaveLength(8);
    expect((await store.get(live))?.data).toEqual(Uint8Array.from([1, 2, 3]));
    expect(await store.prune()).toBe(0);
    await store.close();
  });

  it('resolves to 0 when the directory does not exist yet', async () => {
    const store = new FileStore({ dir: join(await tempDir('prune-missing'), 'nope') });
    expect(await store.prune()).toBe(0);
    await store.close();
  });

  it('joins a prune that is already running instead of starting a second', async () => {
    const store = new FileStore({ dir: await tempDir('prune-join') });
    const first = store.prune();
    expect(store.prune()).toBe(first);
    await first;
    await store.close();
  });
});

describe('new FileStore({ pruneInterval })', () => {
  it('prunes on its own timer, and stops when closed', async () => {
    const dir = await tempDir('prune-timer');
    const store = new FileStore({ dir, pruneInterval: 50 });
    const first = freshId();
    await store.create(first, record(Date.now() + 30));
    await sleep(300);
    expect(await readdir(dir)).toEqual([]);

    await store.close();
    const second = freshId();
    await store.create(second, record(Date.now() + 30));
    await sleep(300);
    expect(await readdir(dir)).toEqual([`${second}.sess`]);
  });

  it("never keeps the process alive (its timer is unref'd)", async () => {
    const dir = await tempDir('prune-unref');
    const child = forkFixture('file-idle', [dir]);
    await nextMessage(child, 'created');
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([exited(child), new Promise((resolve) => (timer = setTimeout(resolve, 10_000, 'still running')))]);
    clearTimeout(timer);
    if (outcome === 'still running') child.kill('SIGKILL');
    expect(outcome).toEqual({ code: 0, signal: null });
    expect(await readdir(dir)).toEqual([`${'A'.repeat(43)}.sess`]);
  }, 30_000);
});
