/** SQLiteStore between OS processes on one file: no lost update, and no failure while they contend for the write lock. */

import { afterAll, describe, expect, it } from '@jest/globals';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exited } from '../../helpers/file-store.js';
import { expectEveryUpdateLands } from '../shared/hammer.js';
import { cleanUp, openStore, tempDatabase } from './temp-files.js';

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
    const seeder = openStore({ filename });
    const id = await expectEveryUpdateLands({
      seeder,
      spawn: (id, key, count) => spawn([filename, id, key, String(count)]),
      count: 300,
      pauseBetweenReads: true,
    });
    expect((await seeder.listOwned('ada')).map((r) => r.id)).toEqual([id]);
  }, 180_000);
});
