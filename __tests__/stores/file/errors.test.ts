/** FileStore failures and locks: fs errors wrapped with their cause, temp files cleaned up, lock files respected or recovered. */

import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { SessionStoreError } from '../../../src/errors.js';
import { digestId, generateId } from '../../../src/id.js';
import { FileStore } from '../../../stores/file.js';
import { removeTempDirs, tempDir } from '../../helpers/file-store.js';

const HOUR_MS = 3_600_000;
const freshId = (): string => digestId(generateId());
const record = (...values: number[]) => ({ data: Uint8Array.from(values), expires: Date.now() + HOUR_MS });
const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

/** A pid that belonged to a process which has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

const lockContent = (pid: number, time: number, host = hostname()): string =>
  JSON.stringify({ pid, host, time, token: 'feedfacefeedface' });

afterAll(removeTempDirs);

describe('FileStore when the filesystem fails', () => {
  it('wraps the fs error in a SessionStoreError naming the operation and the dir, cause kept', async () => {
    const root = await tempDir('errors-notdir');
    const dir = join(root, 'plain-file');
    await writeFile(dir, 'not a directory');
    const store = new FileStore({ dir });
    const attempts: [string, () => Promise<unknown>][] = [
      ['get', () => store.get(freshId())],
      ['create', () => store.create(freshId(), record(1))],
      ['update', () => store.update(freshId(), record(1))],
      ['touch', () => store.touch(freshId(), Date.now())],
      ['destroy', () => store.destroy(freshId())],
      ['prune', () => store.prune()],
    ];
    for (const [operation, attempt] of attempts) {
      const error = await rejection(attempt());
      expect(error).toBeInstanceOf(SessionStoreError);
      expect(error).toMatchObject({ operation, code: 'ERR_SESSION_STORE', status: 500, expose: false });
      expect((error as Error).message).toContain(dir);
      expect(((error as Error).cause as NodeJS.ErrnoException).code).toMatch(/^(ENOTDIR|EEXIST)$/);
    }
    await store.close();
  });

  it('removes its temp file when a write fails after the temp file was made', async () => {
    const dir = await tempDir('errors-temp');
    const store = new FileStore({ dir });
    const id = freshId();
    // A directory where the session file should be: link() says EEXIST, reading it says EISDIR.
    await mkdir(join(dir, `${id}.sess`));
    const error = await rejection(store.create(id, record(1)));
    expect(error).toMatchObject({ operation: 'create' });
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('EISDIR');
    expect(await readdir(dir)).toEqual([`${id}.sess`]);
    expect(await rejection(store.update(id, record(2)))).toMatchObject({ operation: 'update' });
    expect(await readdir(dir)).toEqual([`${id}.sess`]);
    await store.close();
  });

  it('carries on when its directory is removed under it: missing for reads and updates, made again by the next write', async () => {
    const dir = join(await tempDir('errors-removed'), 'sessions');
    const store = new FileStore({ dir });
    const id = freshId();
    await store.create(id, record(1));
    await rm(dir, { recursive: true });
    expect(await store.get(id)).toBeUndefined();
    expect(await store.update(id, record(2))).toBeUndefined();
    expect(await store.touch(id, Date.now() + HOUR_MS)).toBe(false);
    await store.destroy(id);
    await rm(dir, { recursive: true });
    expect(await store.create(id, record(3))).toBe(true);
    expect((await store.get(id))?.data).toEqual(Uint8Array.from([3]));
    await store.close();
  });

  it('refuses a record without bytes or with an expiry that is not a finite number', async () => {
    const store = new FileStore({ dir: await tempDir('errors-record') });
    const bad = [
      { data: 'text', expires: Date.now() + HOUR_MS },
      { data: new Uint8Array(1), expires: Number.NaN },
      { data: new Uint8Array(1), expires: '1' },
    ] as unknown as { data: Uint8Array; expires: number }[]; // wrong on purpose
    for (const item of bad) {
      expect(await rejection(store.create(freshId(), item))).toMatchObject({ code: 'ERR_SESSION_STORE', operation: 'create' });
    }
    expect(await rejection(store.touch(freshId(), Number.POSITIVE_INFINITY))).toMatchObject({ operation: 'touch' });
    await store.close();
  });
});

/** A FileStore in a fresh directory holding one session, at version 1. */
async function storeWithOne(label: string): Promise<{ dir: string; store: FileStore; id: string }> {
  const dir = await tempDir(label);
  const store = new FileStore({ dir });
  const id = freshId();
  await store.create(id, record(1));
  return { dir, store, id };
}

describe('FileStore lock files', () => {
  it('waits while another live process holds the lock of an id, then writes', async () => {
    const { dir, store, id } = await storeWithOne('lock-live');
    const lock = join(dir, `${id}.lock`);
    await writeFile(lock, lockContent(process.pid, Date.now()));
    const released = new Promise<number>((resolve) =>
      setTimeout(() => {
        void unlink(lock).then(() => resolve(performance.now()));
      }, 200),
    );
    const update = store.update(id, record(2), 1);
    expect(await update).toBe(2);
    const finishedAt = performance.now();
    expect(finishedAt).toBeGreaterThanOrEqual(await released);
    expect((await store.get(id))?.data).toEqual(Uint8Array.from([2]));
    await store.close();
  });

  it('breaks a lock whose process is dead at once', async () => {
    const { dir, store, id } = await storeWithOne('lock-dead');
    await writeFile(join(dir, `${id}.lock`), lockContent(deadPid(), Date.now()));
    const started = performance.now();
    expect(await store.update(id, record(2), 1)).toBe(2);
    expect(await store.touch(id, Date.now() + HOUR_MS)).toBe(true);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await readdir(dir)).toEqual([`${id}.sess`]);
    await store.close();
  });

  it('breaks a lock older than five seconds even when its holder looks alive or is on another host', async () => {
    const dir = await tempDir('lock-old');
    const store = new FileStore({ dir });
    const [a, b, c] = [freshId(), freshId(), freshId()];
    for (const id of [a, b, c]) await store.create(id, record(1));
    await writeFile(join(dir, `${a}.lock`), lockContent(process.pid, Date.now() - 6_000));
    await writeFile(join(dir, `${b}.lock`), lockContent(1, Date.now() - 6_000, 'another-host'));
    // An empty lock is one caught between its O_EXCL open and its write: judged by its mtime.
    await writeFile(join(dir, `${c}.lock`), '');
    const old = new Date(Date.now() - 6_000);
    await utimes(join(dir, `${c}.lock`), old, old);
    const started = performance.now();
    expect(await store.update(a, record(2), 1)).toBe(2);
    expect(await store.update(b, record(2), 1)).toBe(2);
    await store.destroy(c);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect((await readdir(dir)).sort()).toEqual([`${a}.sess`, `${b}.sess`].sort());
    await store.close();
  });

  it('does not break a fresh lock held on another host', async () => {
    const { dir, store, id } = await storeWithOne('lock-remote');
    await writeFile(join(dir, `${id}.lock`), lockContent(1, Date.now(), 'another-host'));
    const outcome = await Promise.race([
      store.update(id, record(2), 1).then(() => 'written'),
      new Promise((resolve) => setTimeout(() => resolve('waiting'), 300)),
    ]);
    expect(outcome).toBe('waiting');
    await unlink(join(dir, `${id}.lock`));
    await store.close(); // waits for the queued update, which now goes through
    expect((await store.get(id))?.version).toBe(2);
  });

  it('leaves no lock file behind after any operation', async () => {
    const dir = await tempDir('lock-clean');
    const store = new FileStore({ dir });
    const id = freshId();
    await store.create(id, record(1));
    await store.create(id, record(1));
    await store.update(id, record(2), 1);
    await store.update(id, record(2), 1);
    await store.touch(id, Date.now() + HOUR_MS);
    await store.destroy(id);
    await store.destroy(id);
    expect(await readdir(dir)).toEqual([]);
    await store.close();
  });
});
