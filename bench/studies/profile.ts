/**
 * Study: profiles one scenario's server under load: `npx tsx bench/studies/profile.ts kit-write [seconds]`.
 * Builds the package, runs the server with `node --cpu-prof`; the profile lands in
 * bench/.tmp/profiles and the functions with the most self time are printed (by function and file).
 */

import { readdir, readFile, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, forkBench, LoadProcess, nextMessage, sanityCheck, seed, stopServer, type ServerHandle } from '../harness.js';
import { ROOT } from '../package.js';
import { scenarioById } from '../scenarios.js';
import type { ServerReport } from '../server-loop.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Sampled time grouped by `keyOf` (a frame it maps to undefined is left out), as shares of what was kept, largest first. */
function sharesBy(profile: CpuProfile, keyOf: (frame: ProfileNode['callFrame']) => string | undefined): { key: string; share: number }[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    const key = frame === undefined ? undefined : keyOf(frame);
    if (key === undefined) return;
    const delta = profile.timeDeltas[i] ?? 0;
    totals.set(key, (totals.get(key) ?? 0) + delta);
    all += delta;
  });
  return [...totals].map(([key, time]) => ({ key, share: time / all })).sort((a, b) => b.share - a.share);
}

/** Self time per function, as a share of all samples, largest first. */
export function selfTimes(profile: CpuProfile): { name: string; share: number }[] {
  return sharesBy(profile, ({ functionName, url, lineNumber }) => {
    const where =
      url === ''
        ? ''
        : ` ${url.includes('node_modules') ? url.slice(url.lastIndexOf('node_modules/') + 13) : basename(url)}:${lineNumber + 1}`;
    return `${functionName || '(anonymous)'}${where}`;
  }).map(({ key, share }) => ({ name: key, share }));
}

/**
 * Where a server's busy CPU went, by who owns the code: this package (its built dist/), each
 * npm package, Node's own JavaScript, the garbage collector, and native code V8 and Node run
 * outside JavaScript ("(program)": the socket, HTTP parsing, compilation). Idle time is left out;
 * shares of the rest, largest first.
 */
export function packageShares(profile: CpuProfile): { owner: string; share: number }[] {
  return sharesBy(profile, (frame) => (frame.functionName === '(idle)' ? undefined : ownerOf(frame))).map(({ key, share }) => ({
    owner: key,
    share,
  }));
}

function ownerOf({ functionName, url }: ProfileNode['callFrame']): string {
  if (url === '') return functionName === '(garbage collector)' ? 'garbage collector' : 'native (V8 and Node outside JavaScript)';
  if (url.startsWith('node:')) return "Node's JavaScript (node:*)";
  // The innermost package: koa-redis's own ioredis counts as ioredis, not as koa-redis.
  const inModules = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (inModules !== null) return inModules[1] as string;
  return url.includes('/dist/') ? 'koa-session-kit' : 'the bench harness';
}

async function main(): Promise<void> {
  build(ROOT);
  const id = process.argv[2] ?? 'kit-write';
  const seconds = Number(process.argv[3] ?? 10);
  const dir = join(ROOT, 'bench', '.tmp', 'profiles');
  await rm(dir, { recursive: true, force: true });
  const scenario = scenarioById(id);
  const child = forkBench('server', [id], { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] });
  const report = await nextMessage<ServerReport>(child, ['ready', 'skip']);
  if (report.type !== 'ready') throw new Error(`bench: ${id} did not start (${report.type === 'skip' ? report.reason : report.type})`);
  const server: ServerHandle = { scenario, packageRoot: undefined, child, port: report.port, cookies: [] };
  await seed(server, 1000);
  const problem = await sanityCheck(server);
  if (problem !== undefined) throw new Error(problem);
  const load = new LoadProcess();
  const result = await load.run({ port: server.port, path: scenario.route, cookies: server.cookies, connections: 20, duration: seconds });
  load.close();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await stopServer(server);
  await exited; // the profile is written as the process exits
  console.log(`${id}: ${(result.requests / result.duration).toFixed(0)} req/s under the profiler`);
  const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error('bench: no .cpuprofile written');
  const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
  for (const { name, share } of selfTimes(profile).slice(0, 40)) console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${name}`);
  console.log(`\nprofile: ${join(dir, file)}`);
}

// Runs when executed, not when imported for selfTimes().
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
