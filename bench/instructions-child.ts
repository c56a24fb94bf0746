/**
 * One scenario's process for `npm run bench:instructions`, run under callgrind by instructions.ts:
 * builds the scenario's app, serves it on loopback and requests it from the same process over one
 * keep-alive connection. Line protocol on stdio, after the warm-up, once per counting window:
 * prints `ready` and waits for a line on stdin (the runner switches instrumentation on meanwhile;
 * `stop` ends the process instead), runs the window's requests, prints `done` and waits again
 * (instrumentation off, counts dumped). Arguments: <scenario-id> <warm-up requests> <requests per window> <sessions>.
 */

import { randomBytes } from 'node:crypto';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { buildApp } from './apps.js';
import { scenarioById } from './scenarios.js';

interface Answer {
  status: number;
  cookie: string | undefined;
}

const [id = '', warmArg = '', requestsArg = '', sessionsArg = ''] = process.argv.slice(2);
const scenario = scenarioById(id);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function main(): Promise<void> {
  const { app, close } = await buildApp(scenario.app);
  app.silent = true;
  const server = createServer(app.callback());
  // Under valgrind the pauses between windows last seconds; the connection must outlive them.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  const get = (path: string, cookie: string | undefined): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const headers = cookie === undefined ? {} : { cookie };
      request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
        const set = res.headers['set-cookie'];
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, cookie: set?.map((line) => line.split(';', 1)[0]).join('; ') }));
      })
        .on('error', reject)
        .end();
    });

  const cookies = await cookiesFor(Number(sessionsArg), get);
  let next = 0;
  const run = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const answer = await get(scenario.route, cookies.length === 0 ? undefined : cookies[next++ % cookies.length]);
      if (answer.status !== 200) throw new Error(`${id}: ${scenario.route} answered ${answer.status}`);
    }
  };
  await run(Number(warmArg));
  // With --expose-gc (bench/callgrind.ts): a young-generation collection before each window,
  // uncounted, so each window starts from an empty young generation and pays for its own garbage.
  // Not a full one: that drops optimized code holding weak references and V8 recompiles it in the
  // next window.
  const gc = (globalThis as { gc?: (options: { type: 'minor' }) => void }).gc;
  const collect = (): void => gc?.({ type: 'minor' });
  for (;;) {
    collect();
    console.log('ready');
    if ((await lines.next()).value === 'stop') break;
    await run(Number(requestsArg));
    console.log('done');
    await lines.next();
  }
  agent.destroy();
  server.close();
  await close();
}

/** The Cookie headers the load rotates through, made as bench/harness.ts `seed()` makes them. */
async function cookiesFor(count: number, get: (path: string, cookie: string | undefined) => Promise<Answer>): Promise<string[]> {
  if (scenario.cookies === 'none') return [];
  if (scenario.cookies === 'synthetic') {
    const fake = (): string => randomBytes(32).toString('base64url');
    return Array.from({ length: count }, () => `koa.sid=${fake()}.${fake()}`);
  }
  const cookies: string[] = [];
  for (let i = 0; i < count; i++) {
    const answer = await get('/write', undefined);
    if (answer.cookie === undefined) throw new Error(`${id}: seeding got no Set-Cookie`);
    cookies.push(answer.cookie);
  }
  return cookies;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
