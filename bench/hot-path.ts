/**
 * The session's own cost per request, without sockets: requests go through `app.callback()` on
 * in-memory `IncomingMessage`/`ServerResponse` objects, so the difference from bare Koa is the
 * middleware's JavaScript alone. `npx tsx bench/hot-path.ts [scenario-id ...]`. Used to measure
 * hot-path changes precisely; the HTTP run (run.ts) is what the README reports.
 */

import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import { buildApp } from './apps.js';
import { scenarioById, type Scenario } from './scenarios.js';

type Handler = ReturnType<Koa['callback']>;
const socket = new Socket();

function request(path: string, cookie: string | undefined): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(socket);
  req.method = 'GET';
  req.url = path;
  req.headers = cookie === undefined ? { host: 'bench' } : { host: 'bench', cookie };
  return { req, res: new ServerResponse(req) };
}

async function send(handle: Handler, path: string, cookie?: string): Promise<ServerResponse> {
  const { req, res } = request(path, cookie);
  await handle(req, res);
  return res;
}

/** Cookie headers of `count` sessions made through the app's own /write route. */
async function seedInProcess(handle: Handler, count: number): Promise<string[]> {
  const cookies: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await send(handle, '/write');
    const lines = res.getHeader('set-cookie');
    const list = Array.isArray(lines) ? lines : typeof lines === 'string' ? [lines] : [];
    cookies.push(list.map((line) => line.slice(0, line.indexOf(';'))).join('; '));
  }
  return cookies;
}

/**
 * µs of CPU per request (user + system, all in this process): the least of `rounds` batches, since
 * other processes on the machine can only ever add time to a batch, never take it away.
 */
async function measure(scenario: Scenario, requests: number, rounds: number): Promise<number> {
  const { app, close } = await buildApp(scenario.app);
  app.silent = true;
  const handle = app.callback();
  const cookies = scenario.cookies === 'seeded' ? await seedInProcess(handle, 1000) : [];
  const pick = (i: number): string | undefined => (cookies.length === 0 ? undefined : cookies[i % cookies.length]);
  for (let i = 0; i < requests; i++) await send(handle, scenario.route, pick(i)); // warm-up
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const cpu = process.cpuUsage();
    for (let i = 0; i < requests; i++) await send(handle, scenario.route, pick(i));
    const used = process.cpuUsage(cpu);
    samples.push((used.user + used.system) / requests);
  }
  await close();
  return Math.min(...samples);
}

/** One row: µs of CPU per request in-process, and how much of it is over bare Koa. */
export interface HotPathRow {
  id: string;
  microsPerRequest: number;
  overBareMicros: number | undefined;
}

/** The default rows: the scenarios the goals compare. */
export const HOT_PATH_IDS = [
  'bare',
  'bare-middleware',
  'koa-session-write',
  'koa-session-read',
  'floor-write',
  'floor-read',
  'kit-write',
  'kit-read',
  'kit-untouched',
];

/** Rows from per-scenario measurements (µs per request), each over bare's. */
export function hotPathRows(ids: readonly string[], micros: ReadonlyMap<string, number>): HotPathRow[] {
  const bare = micros.get('bare');
  return ids.map((id) => {
    const value = micros.get(id) ?? Number.NaN;
    return { id, microsPerRequest: value, overBareMicros: bare === undefined || id === 'bare' ? undefined : value - bare };
  });
}

/**
 * Runs when executed: measures each scenario named on the command line (run.ts passes one per
 * process, so no scenario runs on code another app's requests already made polymorphic), prints
 * it, and sends `{ id, micros }` to a parent process.
 */
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const ids = process.argv.slice(2);
  (async () => {
    const micros = new Map<string, number>();
    for (const id of ids.length > 0 ? ids : HOT_PATH_IDS) {
      micros.set(id, await measure(scenarioById(id), 5_000, 8));
      process.send?.({ type: 'hot-path', id, micros: micros.get(id) });
    }
    if (process.send !== undefined) return; // run.ts prints the rows it collects
    for (const row of hotPathRows([...micros.keys()], micros)) {
      const over = row.overBareMicros === undefined ? '' : `  (+${row.overBareMicros.toFixed(2)} over bare)`;
      console.log(`${row.id.padEnd(24)} ${row.microsPerRequest.toFixed(2).padStart(7)} µs/request${over}`);
    }
  })().catch((error: unknown) => {
    console.error(error);
    process.send?.({ type: 'hot-path-error', message: error instanceof Error ? error.message : String(error) });
    process.exitCode = 1;
  });
}
