/** Many parallel writes to one session from several processes: every one lands, none gives up. */

import { afterAll, describe, expect, it } from '@jest/globals';
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { exited, nextMessage, removeTempDirs } from '../helpers/file-store.js';
import { fileShared, postgresShared, redisShared } from '../helpers/shared-store-targets.js';

const WRITES = 200;
const PROCESSES = 4;
const script = fileURLToPath(new URL('./fixtures/contention-server.ts', import.meta.url));
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

afterAll(async () => {
  agent.destroy();
  await removeTempDirs();
});

function get(port: number, path: string, cookie?: string): Promise<{ status: number; body: string; setCookie: string[] }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: cookie === undefined ? {} : { cookie } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Runs `PROCESSES` servers on one store, fires `WRITES` parallel writes of distinct keys at one session, stops them. */
async function hammer(args: string[]): Promise<{ failures: string[]; missing: string[]; start: unknown }> {
  const children: ChildProcess[] = Array.from({ length: PROCESSES }, () =>
    fork(script, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  try {
    const ports = await Promise.all(children.map(async (child) => Number((await nextMessage(child, 'ready')).port)));
    const first = await get(ports[0]!, '/start');
    const cookie = first.setCookie[0]!.split(';')[0]!;
    const results = await Promise.all(Array.from({ length: WRITES }, (_, i) => get(ports[i % PROCESSES]!, `/key?k=k${i}&v=${i}`, cookie)));
    const all = JSON.parse((await get(ports[1]!, '/read', cookie)).body) as Record<string, unknown>;
    return {
      failures: results.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body}`),
      missing: Array.from({ length: WRITES }, (_, i) => `k${i}`).filter((k) => all[k] !== Number(k.slice(1))),
      start: all.start,
    };
  } finally {
    for (const child of children) if (child.connected) child.send({ type: 'stop' });
    const timer = setTimeout(() => children.forEach((child) => child.kill('SIGKILL')), 5000);
    await Promise.all(children.map(exited));
    clearTimeout(timer);
  }
}

describe(`a session written in parallel by ${PROCESSES} processes`, () => {
  it.each([redisShared, postgresShared, fileShared])(
    `lands all ${WRITES} writes on $name, each a 200`,
    async ({ reachable, prepare }) => {
      if (!(await reachable())) return;
      const { args, cleanup } = await prepare('contention');
      try {
        expect(await hammer(args)).toEqual({ failures: [], missing: [], start: 1 });
      } finally {
        await cleanup();
      }
    },
    60_000,
  );
});
