/** A request held inside its handler while another one moves its session, then let go. */

import type { Response } from 'supertest';
import type { client } from './app.js';
import { sleep } from './app.js';

/** A promise a handler awaits, and the function that resolves it. */
export function gate(): { gate: Promise<void>; release: () => void } {
  let release!: () => void;
  const gated = new Promise<void>((resolve) => (release = resolve));
  return { gate: gated, release };
}

/**
 * Sends `slowPath` (a route that loads the session, then waits for the gate) with `cookie`;
 * once it has loaded, sends `meanwhilePath` with the same cookie and expects a 200; then
 * releases the gate. Returns the slow response, which commits last, and the other one.
 */
export async function lateBehind(
  app: ReturnType<typeof client>,
  release: () => void,
  cookie: string,
  slowPath: string,
  meanwhilePath: string,
): Promise<{ late: Response; meanwhile: Response }> {
  const slow = app
    .get(slowPath)
    .set('Cookie', cookie)
    .then((r) => r);
  await sleep(50);
  const meanwhile = await app.get(meanwhilePath).set('Cookie', cookie).expect(200);
  release();
  return { late: await slow, meanwhile };
}
