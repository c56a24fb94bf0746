/** Two forked processes hammering one session of a store that processes share, while this one reads throughout. */

import { expect } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { digestId, generateId } from '../../../src/id.js';
import type { Store } from '../../../src/store.js';
import { exited, nextMessage } from '../../helpers/file-store.js';

const HOUR_MS = 3_600_000;

export interface HammerRun {
  /** The store this process seeds and reads through. */
  seeder: Store;
  /** Forks a child running {@link runHammerChild} on `id`, bumping `key` `count` times. */
  spawn: (id: string, key: string, count: number) => ChildProcess;
  count: number;
  /** Yields to the event loop between reads, for a store whose reads would otherwise starve the children. */
  pauseBetweenReads?: boolean;
}

/**
 * Seeds one padded session, lets both children bump their own key `count` times, and checks
 * that every read parsed, no update was lost and the children really collided. Returns the id.
 */
export async function expectEveryUpdateLands({ seeder, spawn, count, pauseBetweenReads = false }: HammerRun): Promise<string> {
  const id = digestId(generateId());
  // Padding makes each write large enough that a torn file or row would show.
  const initial = { a: 0, b: 0, pad: 'x'.repeat(50_000) };
  await seeder.create(id, { data: Buffer.from(JSON.stringify(initial)), expires: Date.now() + HOUR_MS });

  const a = spawn(id, 'a', count);
  const b = spawn(id, 'b', count);
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
    if (pauseBetweenReads) await new Promise((resolve) => setImmediate(resolve));
  }
  const [doneA, doneB] = await done;
  expect(await exited(a)).toEqual({ code: 0, signal: null });
  expect(await exited(b)).toEqual({ code: 0, signal: null });

  const final = await seeder.get(id);
  const value = JSON.parse(Buffer.from(final!.data).toString('utf8')) as typeof initial;
  expect({ a: value.a, b: value.b }).toEqual({ a: count, b: count });
  expect(final!.version).toBe(1 + 2 * count);
  expect(reads).toBeGreaterThan(0);
  // The two really did collide: otherwise this test proves nothing about the version check.
  expect(Number(doneA.conflicts) + Number(doneB.conflicts)).toBeGreaterThan(0);
  return id;
}
