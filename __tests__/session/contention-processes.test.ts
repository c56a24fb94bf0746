/** Many parallel writes to one session from several processes: every one lands, none gives up. */

import { afterAll, describe, expect, it } from '@jest/globals';
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { exited, nextMessage, removeTempDirs, tempDir } from '../helpers/file-store.js';
import { dropTable, uniqueTable } from '../helpers/postgres-store.js';
import { deleteKeys, uniquePrefix } from '../helpers/redis-store.js';
import { DATABASE_URL, postgresReachable, REDIS_URL, redisReachable } from '../helpers/services.js';

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

/** The children's arguments for a RedisStore under `prefix`, and the removal of its keys. */
function redisArgs(prefix: string): { args: string[]; cleanup: () => Promise<void> } {
  const cleanup = async (): Promise<void> => {
    const client = new Redis(REDIS_URL);
    await deleteKeys(client, prefix);
    client.disconnect();
  };
  return { args: ['redis', REDIS_URL, prefix], cleanup };
}

/** The children's arguments for a PostgresStore on `table`, and the drop of the table. */
function postgresArgs(table: string): { args: string[]; cleanup: () => Promise<void> } {
  const cleanup = async (): Promise<void> => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL });
    await dropTable(pool, table);
    await pool.end();
  };
  return { args: ['postgres', DATABASE_URL, table], cleanup };
}

/** Each store: whether its service answers, and the child's arguments with the cleanup after. */
const targets: [string, () => Promise<boolean>, () => Promise<{ args: string[]; cleanup: () => Promise<void> }>][] = [
  ['RedisStore', redisReachable, async () => redisArgs(uniquePrefix('contention'))],
  ['PostgresStore', postgresReachable, async () => postgresArgs(uniqueTable('contention'))],
  ['FileStore', async () => true, async () => ({ args: ['file', await tempDir('contention')], cleanup: async () => undefined })],
];

describe(`a session written in parallel by ${PROCESSES} processes`, () => {
  it.each(targets)(
    `lands all ${WRITES} writes on %s, each a 200`,
    async (_name, reachable, prepare) => {
      if (!(await reachable())) return;
      const { args, cleanup } = await prepare();
      try {
        expect(await hammer(args)).toEqual({ failures: [], missing: [], start: 1 });
      } finally {
        await cleanup();
      }
    },
    60_000,
  );
});
