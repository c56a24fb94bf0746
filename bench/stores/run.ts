/**
 * `npm run bench:stores`: koa-session 7 on koa-redis 4 against the kit's RedisStore, and koa-session
 * on PostgresStore's own statements through bare `pg` against PostgresStore, at 1, 10 and 100
 * clients, each on a session of its own or all on one. Every request reads and writes its session.
 * Builds the package, forks one server per side and the load process, interleaves the sides round
 * by round, counts lost updates, and writes bench/results/stores.json and bench/RESULTS.md.
 * Flags: `--quick`, `--rounds N`, `--duration S`, `--warmup S`, `--only id,id`, `--loads 1,10,100,10-shared,100-shared`, `--profile` (each
 * server under `--cpu-prof`: a run of its own, the top self times printed at the end and each side's CPU by package
 * written as a section of its own), `--no-write`.
 */

import type { ChildProcess } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build, COMMON_FLAGS, command, forkServer, get, LoadProcess, numberFlag, stopServer } from '../harness.js';
import { ROOT } from '../package.js';
import { median } from '../report.js';
import { packageShares, selfTimes, type CpuProfile } from '../studies/profile.js';
import { currentCommit, stamped, writeResults } from '../results.js';
import { CLIENT_COOKIE } from './apps.js';
import {
  cellName,
  consoleTable,
  sideRatios,
  summarizeSide,
  type Cell,
  type Side,
  type SideRound,
  type StoresProfile,
  type StoresRun,
} from './report.js';
import type { SideReport } from './server.js';

const SIDES: readonly Side[] = [
  { id: 'koa-redis', label: 'koa-session 7 + koa-redis 4', backend: 'Redis', role: 'peer' },
  { id: 'kit-redis', label: 'kit RedisStore', backend: 'Redis', role: 'kit' },
  { id: 'kit-redis-autopipe', label: 'kit RedisStore, enableAutoPipelining', backend: 'Redis', role: 'variant' },
  { id: 'koa-pg', label: 'koa-session 7 + bare pg', backend: 'PostgreSQL', role: 'peer' },
  { id: 'kit-pg', label: 'kit PostgresStore', backend: 'PostgreSQL', role: 'kit' },
];

/** One client alone, then 10 and 100 each on a session of their own, then 10 and 100 all on one (one client is both). */
const CELLS: readonly Cell[] = [
  { clients: 1, shared: false },
  { clients: 10, shared: false },
  { clients: 100, shared: false },
  { clients: 10, shared: true },
  { clients: 100, shared: true },
];
const MAX_CLIENTS = 100;
/** A cell as `--loads` names it: `10` (a session each) or `10-shared` (one session). */
const loadName = (cell: Cell): string => `${cell.clients}${cell.shared ? '-shared' : ''}`;

const { values: flags } = parseArgs({
  options: {
    ...COMMON_FLAGS,
    loads: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
  strict: true,
});

const config = {
  // Ten rounds of 1 s keep the whole run under ten minutes. On a shared machine req/s moves several-fold
  // within seconds: short rounds keep the two sides of a ratio close in time, and many of them give a
  // median that survives a few bad ones.
  rounds: numberFlag('bench:stores', 'rounds', flags.rounds, flags.quick ? 1 : 10, 1, 20),
  durationSeconds: numberFlag('bench:stores', 'duration', flags.duration, 1, 1, 60),
  warmupSeconds: numberFlag('bench:stores', 'warmup', flags.warmup, flags.quick ? 0.5 : 2, 0, 30),
  quick: flags.quick,
};
const log = (line: string): void => console.log(line);

/** A running side: its process, port, and the session cookies seeded through it. */
interface Running {
  side: Side;
  child: ChildProcess;
  port: number;
  /** One per client for "a session each"; the last one is the shared session. */
  sessions: string[];
}

/** Makes a session per client and one shared session, each by a first `/bump`. */
async function seed(server: Running): Promise<void> {
  for (let i = 0; i <= MAX_CLIENTS; i++) {
    const answer = await get(server.port, '/bump');
    if (answer.status !== 200 || answer.cookie === undefined) throw new Error(`seeding got ${answer.status}: ${answer.body.slice(0, 200)}`);
    server.sessions.push(answer.cookie);
  }
  const check = await get(server.port, '/bump', server.sessions[0]);
  if (check.body !== '{"value":2}') throw new Error(`a seeded session was not recognised: /bump answered ${check.body.slice(0, 200)}`);
}

/** Where `--profile` has each server write its CPU profile as it exits. */
const PROFILES = join(ROOT, 'bench', '.tmp', 'profiles');

async function start(side: Side): Promise<Running | { skipped: string }> {
  const nodeFlags = flags.profile ? ['--cpu-prof', '--cpu-prof-dir', join(PROFILES, side.id)] : [];
  const started = await forkServer('stores/server', [side.id], { nodeFlags });
  if ('skipped' in started) return started;
  const server: Running = { side, ...started, sessions: [] };
  try {
    await seed(server);
    return server;
  } catch (error) {
    server.child.kill();
    return { skipped: error instanceof Error ? error.message : String(error) };
  }
}

/** The sessions a cell's clients use, and the Cookie header of each client. */
function cookiesFor(server: Running, cell: Cell): { sessions: string[]; headers: string[] } {
  const shared = server.sessions[MAX_CLIENTS] as string;
  const sessions = cell.shared ? [shared] : server.sessions.slice(0, cell.clients);
  const headers = Array.from({ length: cell.clients }, (_, i) => `${cell.shared ? shared : sessions[i]}; ${CLIENT_COOKIE}=${i}`);
  return { sessions, headers };
}

/** The sum of every client's counter over these sessions, read back through the app. */
async function stored(server: Running, sessions: readonly string[]): Promise<number> {
  const sums = await Promise.all(
    sessions.map(async (cookie) => {
      const answer = await get(server.port, '/counters', cookie);
      const sum = (JSON.parse(answer.body) as { sum?: unknown }).sum;
      if (answer.status !== 200 || typeof sum !== 'number') throw new Error(`${server.side.id}: /counters answered ${answer.status}`);
      return sum;
    }),
  );
  return sums.reduce((a, b) => a + b, 0);
}

async function measure(load: LoadProcess, server: Running, cell: Cell, seconds: number): Promise<SideRound> {
  const { sessions, headers } = cookiesFor(server, cell);
  const before = await stored(server, sessions);
  await command<SideReport>(server, { type: 'start' }, 'started');
  const result = await load.run({ port: server.port, path: '/bump', cookies: headers, connections: cell.clients, duration: seconds });
  const stopped = (await command<SideReport>(server, { type: 'stop' }, 'stopped')) as Extract<SideReport, { type: 'stopped' }>;
  const after = await stored(server, sessions);
  return {
    rps: result.requests / result.duration,
    cpuMicrosPerRequest: stopped.cpuMicros / Math.max(1, stopped.requests),
    acked: stopped.acked,
    lost: stopped.acked - (after - before),
    retries: stopped.retries,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts + stopped.errors,
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const commit = currentCommit();
  const wanted = flags.only === undefined ? SIDES : SIDES.filter((s) => flags.only?.split(',').includes(s.id));
  const perRound = wanted.length * CELLS.length * (config.durationSeconds + 0.5);
  log(
    `bench:stores: ${wanted.length} sides x ${CELLS.length} loads, ${config.rounds} round(s) of ${config.durationSeconds} s; about ${Math.ceil((perRound * config.rounds + wanted.length * CELLS.length * config.warmupSeconds) / 60)} min of load`,
  );
  build(ROOT);
  if (flags.profile) await rm(PROFILES, { recursive: true, force: true });
  const skipped: StoresRun['skipped'] = [];
  const servers: Running[] = [];
  const load = new LoadProcess();
  let run: StoresRun;
  const cells = flags.loads === undefined ? CELLS : CELLS.filter((cell) => flags.loads?.split(',').includes(loadName(cell)));
  try {
    for (const side of wanted) {
      const running = await start(side);
      if ('skipped' in running) {
        skipped.push({ id: side.id, label: side.label, reason: running.skipped });
        log(`skipped ${side.id}: ${running.skipped}`);
      } else servers.push(running);
    }
    const rounds = new Map<string, SideRound[]>();
    const key = (server: Running, cell: Cell): string => `${server.side.id} ${cell.clients} ${cell.shared}`;
    for (let round = -1; round < config.rounds; round++) {
      for (const cell of cells) {
        for (const backend of ['Redis', 'PostgreSQL'] as const) {
          const group = servers.filter((s) => s.side.backend === backend);
          // Each round starts with another side, so none always runs first.
          const order = group.map((_, i) => group[(i + Math.max(0, round)) % group.length] as Running);
          for (const server of order) {
            if (round < 0) {
              if (config.warmupSeconds > 0) await measure(load, server, cell, config.warmupSeconds);
              continue;
            }
            const m = await measure(load, server, cell, config.durationSeconds);
            rounds.set(key(server, cell), [...(rounds.get(key(server, cell)) ?? []), m]);
            log(
              `round ${round + 1}/${config.rounds} ${cellName(cell).padEnd(27)} ${server.side.label.padEnd(38)} ${m.rps.toFixed(0).padStart(6)} req/s  ${m.cpuMicrosPerRequest.toFixed(0).padStart(4)} µs/req  lost ${m.lost}/${m.acked}  retries ${m.retries}${m.non2xx + m.errors > 0 ? `  non-2xx+err ${m.non2xx + m.errors}` : ''}`,
            );
          }
        }
      }
    }
    const results = cells
      .flatMap((cell) => servers.map((server) => summarizeSide(server.side, cell, rounds.get(key(server, cell)) ?? [])))
      .sort((a, b) => (a.backend === b.backend ? 0 : a.backend === 'Redis' ? -1 : 1));
    const ratios = sideRatios(results, SIDES);
    log(`\n${consoleTable(results, ratios)}`);
    run = { config, results, skipped, ratios };
  } finally {
    load.close();
    const exited = servers.map((server) => new Promise((resolve) => server.child.once('exit', resolve)));
    await Promise.all(servers.map(stopServer));
    await Promise.all(exited);
  }
  if (flags.profile) {
    // A server writes its profile as it exits: read once every one has.
    const profiled: StoresProfile = { config, loads: cells.map(cellName), sides: [] };
    for (const server of servers) {
      const profile = await readProfile(server.side);
      if (profile === undefined) continue;
      printProfile(server.side, profile);
      const cpu = median(run.results.filter((r) => r.side === server.side.id).map((r) => r.cpuMicrosPerRequest));
      const { id: side, label, role, backend } = server.side;
      profiled.sides.push({ side, label, role, backend, cpuMicrosPerRequest: cpu, shares: packageShares(profile) });
    }
    if (!flags['no-write']) {
      await writeResults('stores-profile', stamped(profiled, commit));
      log('wrote bench/results/stores-profile.json and bench/RESULTS.md');
    }
  } else if (!flags['no-write']) {
    await writeResults('stores', stamped(run, commit));
    log('wrote bench/results/stores.json and bench/RESULTS.md');
  }
  const missed = run.ratios.filter((ratio) => ratio.met === false);
  log(
    `done in ${((Date.now() - started) / 1000).toFixed(0)} s; ${missed.length === 0 ? 'every goal measured was met' : `missed: ${missed.length}`}`,
  );
}

/** The CPU profile a side's server wrote as it exited. */
async function readProfile(side: Side): Promise<CpuProfile | undefined> {
  const dir = join(PROFILES, side.id);
  const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'));
  if (file === undefined) {
    log(`${side.id}: no profile written`);
    return undefined;
  }
  log(`\n${side.label} (${join(dir, file)}):`);
  return JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
}

/** The functions with the most self time in a side's server. */
function printProfile(side: Side, profile: CpuProfile): void {
  for (const { name, share } of selfTimes(profile).slice(0, 25)) log(`${(share * 100).toFixed(1).padStart(5)}%  ${name}`);
  log(`${side.label}, by package:`);
  for (const { owner, share } of packageShares(profile)) log(`${(share * 100).toFixed(1).padStart(5)}%  ${owner}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
