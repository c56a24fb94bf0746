/** FileStore between OS processes: no lost update under contention, and SIGKILL mid-write leaves only whole sessions. */

import { afterAll, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { digestId, generateId } from '../../../src/id.js';
import { FileStore } from '../../../stores/file.js';
import { HEADER_BYTES, parseHeader } from '../../../stores/file/header.js';
import { exited, forkFixture, nextMessage, removeTempDirs, tempDir } from '../../helpers/file-store.js';
import { expectEveryUpdateLands } from '../shared/hammer.js';
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
    const seeder = new FileStore({ dir });
    const id = await expectEveryUpdateLands({
      seeder,
      spawn: (id, key, count) => spawn('file-hammer', [dir, id, key, String(count)]),
      count: 150,
    });
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
