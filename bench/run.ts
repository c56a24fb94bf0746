/**
 * `npm run bench`: builds the package, starts every scenario's server, seeds sessions, interleaves
 * load rounds, prints the table and the goal ratios, and writes bench/results/http.json and
 * bench/RESULTS.md. With `--against <git-ref>` the ref's package is built beside this one and every
 * scenario runs on both, interleaved in the same rounds, with the ratios this tree / ref.
 * Flags are listed in bench/README.md.
 */

import { parseArgs } from 'node:util';
import { prepareReference, type Reference } from './against.js';
import {
  build,
  COMMON_FLAGS,
  command,
  LoadProcess,
  numberFlag,
  sanityCheck,
  seed,
  startServer,
  stopServer,
  type ServerHandle,
} from './harness.js';
import { ROOT } from './package.js';
import { compare, consoleTables, ratios, summarize, type Round, type Summary } from './report.js';
import { currentCommit, stamped, writeResults, type HttpRun } from './results.js';
import { SCENARIOS, scenarioById, type Scenario } from './scenarios.js';
import type { ServerReport } from './server-loop.js';

const { values: flags } = parseArgs({
  options: {
    ...COMMON_FLAGS,
    connections: { type: 'string' },
    sessions: { type: 'string' },
    against: { type: 'string' },
  },
  strict: true,
});

const quick = flags.quick;
const config = {
  // Many short rounds: on a shared machine speed drifts over seconds, and a median of seven survives
  // a few rounds that a neighbour's burst slowed down.
  rounds: numberFlag('bench', 'rounds', flags.rounds, quick ? 1 : 7, 1, 40),
  durationSeconds: numberFlag('bench', 'duration', flags.duration, quick ? 2 : 1.5, 1, 120),
  // V8 and the heap settle over a few seconds; shorter warm-ups left the first rounds visibly slower.
  warmupSeconds: numberFlag('bench', 'warmup', flags.warmup, quick ? 0.5 : 2.5, 0, 60),
  // The issue asks for 10 to 50 connections.
  connections: numberFlag('bench', 'connections', flags.connections, 20, 10, 50),
  sessions: numberFlag('bench', 'sessions', flags.sessions, quick ? 200 : 1000, 50, 100_000),
  quick,
};

const log = (line: string): void => console.log(line);
const tag = (server: ServerHandle): string => `${server.scenario.id}${server.packageRoot === undefined ? '' : '@ref'}`;

/** Starts, seeds and checks each scenario's server; the ones that cannot run are skipped with a reason. */
async function startAll(
  scenarios: readonly Scenario[],
  packageRoot?: string,
): Promise<{ servers: ServerHandle[]; skipped: HttpRun['skipped'] }> {
  const skipped: HttpRun['skipped'] = [];
  const servers: ServerHandle[] = [];
  const started = await Promise.all(scenarios.map(async (scenario) => ({ scenario, handle: await startServer(scenario, packageRoot) })));
  for (const { scenario, handle } of started) {
    if ('skipped' in handle) {
      skipped.push({ id: scenario.id, label: scenario.label, reason: handle.skipped });
      continue;
    }
    try {
      await seed(handle, config.sessions);
      const problem = await sanityCheck(handle);
      if (problem !== undefined) throw new Error(`sanity check: ${problem}`);
      servers.push(handle);
    } catch (error) {
      skipped.push({ id: scenario.id, label: scenario.label, reason: error instanceof Error ? error.message : String(error) });
      await stopServer(handle);
    }
  }
  for (const skip of skipped) log(`skipped ${skip.id}${packageRoot === undefined ? '' : '@ref'}: ${skip.reason}`);
  return { servers, skipped };
}

async function measure(load: LoadProcess, server: ServerHandle, seconds: number): Promise<Round> {
  await command(server, { type: 'start' }, 'started');
  const result = await load.run({
    port: server.port,
    path: server.scenario.route,
    cookies: server.cookies,
    connections: config.connections,
    duration: seconds,
  });
  const stopped = (await command(server, { type: 'stop' }, 'stopped')) as Extract<ServerReport, { type: 'stopped' }>;
  return {
    rps: result.requests / result.duration,
    latencyP50Ms: result.latencyP50,
    latencyP99Ms: result.latencyP99,
    cpuMicrosPerRequest: stopped.cpuMicros / Math.max(1, stopped.requests),
    userMicrosPerRequest: stopped.userMicros / Math.max(1, stopped.requests),
    serverCpuShare: stopped.cpuMicros / (stopped.wallMs * 1000),
    clientCpuMicrosPerRequest: result.clientCpuMicros / Math.max(1, result.requests),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts + stopped.errors,
  };
}

/** Warm-up, then the rounds: every server once per round, each round starting one server later. */
async function runRounds(servers: readonly ServerHandle[]): Promise<Map<ServerHandle, Round[]>> {
  const load = new LoadProcess();
  const rounds = new Map<ServerHandle, Round[]>(servers.map((server) => [server, []]));
  try {
    if (config.warmupSeconds > 0) for (const server of servers) await measure(load, server, config.warmupSeconds);
    for (let round = 0; round < config.rounds; round++) {
      // So no scenario always runs first or last.
      const order = servers.map((_, i) => servers[(i + round) % servers.length] as ServerHandle);
      for (const server of order) {
        const m = await measure(load, server, config.durationSeconds);
        rounds.get(server)?.push(m);
        log(
          `round ${round + 1}/${config.rounds} ${tag(server).padEnd(28)} ${m.rps.toFixed(0).padStart(6)} req/s  p99 ${m.latencyP99Ms} ms  ${m.cpuMicrosPerRequest.toFixed(1)} µs/req (user ${m.userMicrosPerRequest.toFixed(1)})  server ${(m.serverCpuShare * 100).toFixed(0)}%  client ${m.clientCpuMicrosPerRequest.toFixed(1)} µs/req`,
        );
      }
    }
  } finally {
    load.close();
  }
  return rounds;
}

async function main(): Promise<void> {
  const started = Date.now();
  // Taken now: the tree may change while the run goes on; the build below is what is measured.
  const commit = currentCommit();
  const scenarios = flags.only === undefined ? SCENARIOS : flags.only.split(',').map((id) => scenarioById(id.trim()));
  const sides = flags.against === undefined ? 1 : 2;
  const estimate = sides * scenarios.length * (config.warmupSeconds + config.rounds * (config.durationSeconds + 0.3));
  log(
    `bench: ${scenarios.length} scenarios${sides === 2 ? ` on this tree and on ${flags.against}` : ''}, ${config.rounds} round(s) x ${config.durationSeconds} s, ${config.connections} connections, ${config.sessions} sessions; about ${Math.ceil(estimate / 60)} min of load`,
  );
  log('bench: npm run build (the servers load the built package through its exports)');
  build(ROOT);
  let reference: Reference | undefined;
  const servers: ServerHandle[] = [];
  try {
    if (flags.against !== undefined) reference = await prepareReference(flags.against, log);
    const here = await startAll(scenarios);
    const there = reference === undefined ? undefined : await startAll(scenarios, reference.root);
    // Each scenario beside its reference twin, so the two meet the machine in the same state.
    for (const server of here.servers) {
      servers.push(server);
      const twin = there?.servers.find((other) => other.scenario.id === server.scenario.id);
      if (twin !== undefined) servers.push(twin);
    }
    await Promise.all((there?.servers ?? []).filter((server) => !servers.includes(server)).map(stopServer));
    const rounds = await runRounds(servers);
    const summaries = (side: readonly ServerHandle[]): Summary[] => side.map((s) => summarize(s.scenario, rounds.get(s) ?? []));
    const current = summaries(here.servers);
    const list = ratios(current);
    const comparison = there === undefined ? undefined : compare(current, summaries(there.servers));
    log(`\n${consoleTables(current, list, comparison)}\n`);
    const run: HttpRun = { config, scenarios: current, skipped: here.skipped, ratios: list };
    if (reference !== undefined && comparison !== undefined)
      run.against = { ref: reference.ref, commit: reference.commit, scenarios: comparison };
    if (!flags['no-write']) {
      await writeResults('http', stamped(run, commit));
      log('wrote bench/results/http.json and bench/RESULTS.md');
    }
    const missed = list.filter((ratio) => ratio.met === false);
    log(
      `done in ${((Date.now() - started) / 1000).toFixed(0)} s; ${missed.length === 0 ? 'every goal measured was met' : `missed: ${missed.map((r) => r.name).join('; ')}`}`,
    );
  } finally {
    await Promise.all(servers.map(stopServer));
    await reference?.remove();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
