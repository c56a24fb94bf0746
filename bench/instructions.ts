/**
 * `npm run bench:instructions`: instructions per request under callgrind, each scenario counted in
 * separate processes (bench/callgrind.ts runs one) that must agree. Instrumentation is on only for
 * the counting windows, after a warm-up long enough for V8 to finish optimizing the request path.
 * With `--against <git-ref>` each scenario is counted on the ref's package too; `--sizes` counts
 * the size-scaling scenarios instead; `--profile` prints where each scenario's instructions go.
 * Writes bench/results/instructions.json (or instructions-sizes.json) and bench/RESULTS.md. Why
 * instructions, and what they miss: bench/README.md.
 */

import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareReference, type Reference } from './against.js';
import { countProcess, STEADY_NODE_FLAGS, type Counts } from './callgrind.js';
import { printProfile, PROFILE_NODE_FLAGS, removeCodeMap, type ProfileEntry } from './callgrind-profile.js';
import { build } from './harness.js';
import { instructionRatios, sizeGrowth, type InstructionResults, type InstructionRow, type ProcessCount } from './instructions-report.js';
import { ROOT } from './package.js';
import { fmt, median } from './report.js';
import { currentCommit, stamped, writeResults } from './results.js';
import { scenarioById, SIZE_SCENARIOS } from './scenarios.js';

/** The scenarios measured, in table order. */
export const INSTRUCTION_IDS = [
  'bare',
  'bare-middleware',
  'koa-session-write',
  'koa-session-read',
  'kit-write',
  'kit-read',
  'kit-untouched',
  'kit-view-write',
  'kit-view-read',
  'kit-view-untouched',
  'kit-first-visit',
  'floor-write',
  'floor-read',
];

/** A process's count is the median of its last this many windows, once they agree within {@link WINDOW_SPREAD}. */
const SETTLED = 3;
/** Largest (highest - lowest) / median of a process's last windows for its count to stand. */
const WINDOW_SPREAD = 0.02;
/** Largest (highest - lowest) / median of the processes' counts for a scenario to count as settled. */
export const PROCESS_SPREAD = 0.03;

/** How much a run counts. */
interface Plan {
  warmup: number;
  requests: number;
  /** The most windows one process may count while waiting for the last ones to agree. */
  windows: number;
  /** Separate processes per scenario, whose counts must agree within {@link PROCESS_SPREAD}. */
  processes: number;
  /** Processes under valgrind at once. */
  jobs: number;
  sessions: number;
  nodeFlags: string[];
}

/** The last {@link SETTLED} values, when there are that many and they agree. */
function windowsAgree(values: readonly number[]): boolean {
  const last = values.slice(-SETTLED);
  return last.length === SETTLED && spread(last) <= WINDOW_SPREAD;
}

/** (highest - lowest) / median. */
function spread(values: readonly number[]): number {
  return (Math.max(...values) - Math.min(...values)) / median(values);
}

function processCount(counts: Counts): ProcessCount {
  return {
    instructions: median(counts.main.slice(-SETTLED)),
    windows: counts.main,
    allThreads: median(counts.all.slice(-SETTLED)),
    settled: windowsAgree(counts.main),
  };
}

/** Runs `tasks` with at most `jobs` at once, results in the tasks' order. */
async function pool<T>(tasks: (() => Promise<T>)[], jobs: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, worker));
  return results;
}

/** One scenario's counts; with `--profile`, where its first process's instructions went. */
interface Counted {
  processes: ProcessCount[];
  profile?: ProfileEntry[];
}

/** One scenario, counted in `plan.processes` processes (this tree's package, or the ref's). */
async function countScenario(id: string, plan: Plan, dir: string, profile: boolean, reference?: Reference): Promise<Counted> {
  const side = reference === undefined ? '' : '.ref';
  const nodeFlags = profile ? [...plan.nodeFlags, ...PROFILE_NODE_FLAGS] : plan.nodeFlags;
  const tasks = Array.from({ length: plan.processes }, (_, n) => async (): Promise<Counts> => {
    const common = { id, warmup: plan.warmup, requests: plan.requests, sessions: plan.sessions, nodeFlags, dir, tag: `${id}${side}.${n}` };
    const plan1 = reference === undefined ? common : { ...common, packageRoot: reference.root };
    return countProcess(plan1, (main) => windowsAgree(main) || main.length >= plan.windows);
  });
  const counts = await pool(tasks, plan.jobs);
  const counted: Counted = { processes: counts.map(processCount) };
  if (profile) {
    if (reference === undefined) counted.profile = await printProfile(id, counts[0] as Counts, plan.requests, SETTLED);
    await Promise.all(counts.map((c) => removeCodeMap(c.pid)));
  }
  return counted;
}

function row(id: string, { processes, profile }: Counted): InstructionRow {
  const scenario = scenarioById(id);
  const instructions = median(processes.map((p) => p.instructions));
  const processSpread = spread(processes.map((p) => p.instructions));
  const result: InstructionRow = {
    id,
    label: scenario.label,
    instructions,
    spread: processSpread,
    allThreads: median(processes.map((p) => p.allThreads)),
    settled: processes.every((p) => p.settled) && processSpread <= PROCESS_SPREAD,
    processes,
    overBare: undefined,
  };
  if (scenario.app.sessionBytes !== undefined) result.sessionBytes = scenario.app.sessionBytes;
  if (profile !== undefined && profile.length > 0) result.profile = profile;
  return result;
}

function line(r: InstructionRow): string {
  const each = r.processes.map((p) => `${fmt(p.instructions, 0)}${p.settled ? '' : '*'}`).join(', ');
  const note = r.settled
    ? ''
    : `  NOT SETTLED (${r.processes.some((p) => !p.settled) ? '* a process whose last windows disagree' : 'processes disagree'})`;
  return `${r.id.padEnd(24)} ${fmt(r.instructions, 0).padStart(9)} instructions/request, processes ${each} (spread ${fmt(r.spread * 100, 1)}%; all threads ${fmt(r.allThreads, 0)})${note}`;
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      sizes: { type: 'boolean', default: false },
      warmup: { type: 'string' },
      requests: { type: 'string' },
      windows: { type: 'string' },
      processes: { type: 'string' },
      jobs: { type: 'string' },
      only: { type: 'string' },
      against: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
    },
    strict: true,
  });
  // V8 keeps optimizing the request path for thousands of requests: the warm-up outlasts that.
  const plan: Plan = {
    warmup: Number(flags.warmup ?? (flags.quick ? 3000 : 8000)),
    requests: Number(flags.requests ?? 200),
    windows: Number(flags.windows ?? (flags.quick ? 4 : 6)),
    processes: Number(flags.processes ?? (flags.quick ? 1 : 2)),
    jobs: Number(flags.jobs ?? 2),
    sessions: flags.quick ? 50 : 200,
    nodeFlags: STEADY_NODE_FLAGS,
  };
  const all = flags.sizes ? SIZE_SCENARIOS.map((s) => s.id) : INSTRUCTION_IDS;
  const ids = flags.only === undefined ? all : flags.only.split(',').map((id) => scenarioById(id.trim()).id);
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('bench: valgrind is not installed (apt-get install valgrind)');
  }
  console.log(
    `bench:instructions: ${ids.length} scenarios, each in ${plan.processes} process(es) (${plan.jobs} at once): ${plan.warmup} warm-up requests, then windows of ${plan.requests} until the last ${SETTLED} agree within ${WINDOW_SPREAD * 100}% (at most ${plan.windows}); node ${plan.nodeFlags.join(' ')}${flags['no-build'] ? '' : '; npm run build'}`,
  );
  // Taken now: the tree may change while the run goes on; the build below is what is measured.
  const commit = currentCommit();
  if (!flags['no-build']) build(ROOT);
  const dir = await mkdtemp(join(tmpdir(), 'kss-bench-callgrind-'));
  let rows: InstructionRow[] = [];
  let reference: Reference | undefined;
  try {
    if (flags.against !== undefined) reference = await prepareReference(flags.against, console.log);
    const ref = reference;
    // Scenarios side by side when --jobs leaves room beyond one scenario's processes.
    const sides = ref === undefined ? 1 : 2;
    const tasks = ids.map((id) => async (): Promise<InstructionRow> => {
      const started = Date.now();
      const [ours, theirs] = await Promise.all([
        countScenario(id, plan, dir, flags.profile),
        ref === undefined ? undefined : countScenario(id, plan, dir, false, ref).catch(failedReference(id)),
      ]);
      const measured = row(id, ours);
      if (theirs !== undefined) measured.reference = median(theirs.processes.map((p) => p.instructions));
      const against =
        measured.reference === undefined
          ? ''
          : `, ref ${fmt(measured.reference, 0)} (here / ref ${fmt(measured.instructions / measured.reference, 3)})`;
      console.log(`${line(measured)}${against}  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      return measured;
    });
    rows = await pool(tasks, Math.max(1, Math.floor(plan.jobs / (plan.processes * sides))));
  } finally {
    await rm(dir, { recursive: true, force: true });
    await reference?.remove();
  }
  const bare = rows.find((r) => r.id === 'bare')?.instructions;
  for (const r of rows) if (bare !== undefined && r.id !== 'bare') r.overBare = r.instructions - bare;
  const unsettled = rows.filter((r) => !r.settled).map((r) => r.id);
  if (unsettled.length > 0)
    console.log(`NOT SETTLED: ${unsettled.join(', ')}; their counts are not to be trusted to ${PROCESS_SPREAD * 100}%`);
  const results: InstructionResults = {
    warmupRequests: plan.warmup,
    requests: plan.requests,
    windows: plan.windows,
    processes: plan.processes,
    windowSpread: WINDOW_SPREAD,
    processSpread: PROCESS_SPREAD,
    nodeFlags: plan.nodeFlags,
    rows,
    ratios: flags.sizes ? [] : instructionRatios(rows),
  };
  for (const r of results.ratios) {
    console.log(
      `${r.name.padEnd(48)} ${fmt(r.value, 3).padStart(7)}  ${r.met === undefined ? '' : r.met ? 'met' : 'MISSED'}  (${r.detail})`,
    );
  }
  if (flags.sizes) for (const g of sizeGrowth(rows)) console.log(g.text);
  if (reference !== undefined) results.against = { ref: reference.ref, commit: reference.commit };
  if (!flags['no-write']) {
    const name = flags.sizes ? 'instructions-sizes' : 'instructions';
    await writeResults(name, stamped(results, commit));
    console.log(`wrote bench/results/${name}.json and bench/RESULTS.md`);
  }
}

function failedReference(id: string): (error: unknown) => undefined {
  return (error) => {
    console.log(`${id}@ref failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    return undefined;
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
