/** SQLiteStore between OS processes on one file: no lost update, and no failure while they contend for the write lock. */

import { afterAll, describe, expect, it } from '@jest/globals';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { digestId, generateId } from '../../../src/id.js';
import { exited, nextMessage } from '../../helpers/file-store.js';
import { cleanUp, openStore, tempDatabase } from './temp-files.js';

const HOUR_MS = 3_600_000;
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(children.map(exited));
  await cleanUp();
});

function spawn(args: string[]): ChildProcess {
  const script = fileURLToPath(new URL('./fixtures/sqlite-hammer.ts', import.meta.url));
  const child = fork(script, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  return child;
}

describe('SQLiteStore#update() from two processes on one session', () => {
  it('lands every update of both processes, while a third reads throughout', async () => {
    const filename = await tempDatabase('hammer');
    const id = digestId(generateId());
    const COUNT = 300;
    const seeder = openStore({ filename });
    // Padding makes each write large enough to span pages, so a torn row would show.
    const initial = { a: 0, b: 0, pad: 'x'.repeat(50_000) };
    await seeder.create(id, { data: Buffer.from(JSON.stringify(initial)), expires: Date.now() + HOUR_MS });

    const a = spawn([filename, id, 'a', String(COUNT)]);
    const b = spawn([filename, id, 'b', String(COUNT)]);
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
      const value = JSON.parse(Buffer.from(record!.data).toString('utf8')) as typeof initial;
      expect(value.pad).toHaveLength(50_000);
      reads++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const [doneA, doneB] = await done;
    expect(await exited(a)).toEqual({ code: 0, signal: null });
    expect(await exited(b)).toEqual({ code: 0, signal: null });

    const final = await seeder.get(id);
    const value = JSON.parse(Buffer.from(final!.data).toString('utf8')) as typeof initial;
    expect({ a: value.a, b: value.b }).toEqual({ a: COUNT, b: COUNT });
    expect(final!.version).toBe(1 + 2 * COUNT);
    expect((await seeder.listOwned('ada')).map((r) => r.id)).toEqual([id]);
    expect(reads).toBeGreaterThan(0);
    // The two really did collide: otherwise this test proves nothing about the version check.
    expect(Number(doneA.conflicts) + Number(doneB.conflicts)).toBeGreaterThan(0);
  }, 180_000);
});
