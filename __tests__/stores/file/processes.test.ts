/** FileStore between OS processes: no lost update under contention, and SIGKILL mid-write leaves only whole sessions. */

import { afterAll, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { digestId, generateId } from '../../../src/id.js';
import { FileStore } from '../../../stores/file.js';
import { HEADER_BYTES, parseHeader } from '../../../stores/file/header.js';
import { exited, forkFixture, nextMessage, removeTempDirs, tempDir } from '../../helpers/file-store.js';
import { checkPatterned } from './fixtures/file-pattern.js';

const HOUR_MS = 3_600_000;
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(children.map(exited));
  await removeTempDirs();
});

function spawn(name: string, args: string[]): ChildProcess {
  const child = forkFixture(name, args);
  children.push(child);
  return child;
}

/** Parses a session file byte by byte, as a reader that trusts nothing would. */
function wholeSession(bytes: Buffer): { version: number; data: Buffer } {
  const read = parseHeader(bytes, bytes.length);
  if (read.kind !== 'header') throw new Error(`bad header: ${JSON.stringify(read)}`);
  if (bytes.length !== HEADER_BYTES + read.header.length) {
    throw new Error(`file is ${bytes.length} bytes, header promises ${HEADER_BYTES + read.header.length}`);
  }
  return { version: read.header.version, data: bytes.subarray(HEADER_BYTES) };
}

describe('FileStore#update() from two processes on one session', () => {
  it('lands every update of both processes, with no torn read and no exception', async () => {
    const dir = await tempDir('hammer');
    const id = digestId(generateId());
    const COUNT = 150;
    const seeder = new FileStore({ dir });
    // Padding makes each write large enough that a torn file would show.
    const initial = { a: 0, b: 0, pad: 'x'.repeat(50_000) };
    await seeder.create(id, { data: Buffer.from(JSON.stringify(initial)), expires: Date.now() + HOUR_MS });

    const a = spawn('file-hammer', [dir, id, 'a', String(COUNT)]);
    const b = spawn('file-hammer', [dir, id, 'b', String(COUNT)]);
    await Promise.all([nextMessage(a, 'ready'), nextMessage(b, 'ready')]);
    const done = Promise.all([nextMessage(a, 'done', 120_000), nextMessage(b, 'done', 120_000)]);
    a.send('go');
    b.send('go');

    // Meanwhile this process reads the session as fast as it can: every read must parse.
    let reads = 0;
    let finished = false;
    void done.finally(() => (finished = true)).catch(() => undefined);
    while (!finished) {
      const record = await seeder.get(id);
      expect(record).toBeDefined();
      const value = JSON.parse(Buffer.from(record!.data).toString('utf8')) as typeof initial;
      expect(value.pad).toHaveLength(50_000);
      reads++;
    }
    const [doneA, doneB] = await done;
    expect(await exited(a)).toEqual({ code: 0, signal: null });
    expect(await exited(b)).toEqual({ code: 0, signal: null });

    const final = await seeder.get(id);
    const value = JSON.parse(Buffer.from(final!.data).toString('utf8')) as typeof initial;
    expect({ a: value.a, b: value.b }).toEqual({ a: COUNT, b: COUNT });
    expect(final!.version).toBe(1 + 2 * COUNT);
    expect(reads).toBeGreaterThan(0);
    // The two really did collide: otherwise this test proves nothing about the version check.
    expect(Number(doneA.conflicts) + Number(doneB.conflicts)).toBeGreaterThan(0);
    expect((await readdir(dir)).sort()).toEqual([`${id}.sess`]);
    await seeder.close();
  }, 180_000);
});

describe('FileStore under a writer killed with SIGKILL', () => {
  it('leaves only whole sessions, readable and writable by the next process', async () => {
    const dir = await tempDir('sigkill');
    const ids = Array.from({ length: 8 }, () => digestId(generateId()));
    const SIZE = 512 * 1024;
    for (let round = 0; round < 4; round++) {
      const writer = spawn('file-writer', [dir, JSON.stringify(ids), String(SIZE), String(round * 1000)]);
      await nextMessage(writer, 'writing');
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 60));
      writer.kill('SIGKILL');
      expect(await exited(writer)).toEqual({ code: null, signal: 'SIGKILL' });

      const names = await readdir(dir);
      const sessions = names.filter((name) => name.endsWith('.sess'));
      expect(sessions.sort()).toEqual(ids.map((id) => `${id}.sess`).sort());
      for (const name of sessions) {
        const { data } = wholeSession(await readFile(join(dir, name)));
        expect(data.length).toBe(SIZE);
        expect(checkPatterned(data)).toBeDefined();
      }
      // Anything else is a temp file or a lock the killed writer left: never a session name.
      for (const name of names.filter((n) => !n.endsWith('.sess'))) expect(name).toMatch(/^[A-Za-z0-9_-]{43}\.([0-9a-f]{16}\.tmp|lock)$/);
    }

    // A fresh store reads every session and can write it at once: a lock left by the dead pid
    // is broken immediately, not after LOCK_STALE_MS.
    const store = new FileStore({ dir });
    for (const id of ids) {
      const record = await store.get(id);
      expect(checkPatterned(record!.data)).toBeDefined();
      const started = performance.now();
      expect(await store.update(id, { data: new Uint8Array([1]), expires: Date.now() + HOUR_MS }, record!.version)).toBe(
        record!.version + 1,
      );
      expect(performance.now() - started).toBeLessThan(2_000);
    }
    expect((await readdir(dir)).filter((name) => name.endsWith('.lock'))).toEqual([]);
    await store.close();
  }, 120_000);
});
