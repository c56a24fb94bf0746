/**
 * `npm run bench:instructions`: instructions per request under callgrind, for each scenario in its
 * own process (bench/instructions-child.ts). Instrumentation starts only after a warm-up, switched
 * on with `callgrind_control -i on <pid>`, so module loading and JIT compilation stay out of the
 * count. With `--against <git-ref>` each scenario is counted on the ref's package too. Writes
 * bench/results/instructions.json and bench/RESULTS.md. Why instructions, and what they miss:
 * bench/README.md. Flags: --quick, --warmup N, --requests N, --only id,id, --against <ref>, --no-write.
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { prepareReference, type Reference } from './against.js';
import { build } from './harness.js';
import { ROOT } from './package.js';
import type { Ratio } from './report.js';
import { fmt, median } from './report.js';
import { currentCommit, stamped, writeResults } from './results.js';
import { scenarioById } from './scenarios.js';

/**
 * The scenarios measured, in table order. The `ctx.session` view's scenario (issue 12) joins this
 * list, and a ratio below, once the view exists.
 */
export const INSTRUCTION_IDS = [
  'bare',
  'bare-middleware',
  'koa-session-write',
  'koa-session-read',
  'kit-write',
  'kit-read',
  'kit-untouched',
  'kit-first-visit',
  'floor-write',
  'floor-read',
];

/**
 * One scenario's count on the main thread: the median of its last {@link SETTLED} windows, every
 * window's count beside it; `allThreads` the same median with V8's helper threads included;
 * `overBare` what it costs beyond bare Koa; `reference` the ref's count under `--against`.
 */
export interface InstructionRow {
  id: string;
  label: string;
  instructions: number;
  windows: number[];
  allThreads: number;
  /** Whether the last windows agreed; false when the scenario ran out of windows first. */
  settled: boolean;
  overBare: number | undefined;
  reference?: number;
}

/** What results/instructions.json holds. */
export interface InstructionResults {
  warmupRequests: number;
  /** Requests per counting window, and the most windows a scenario may take to settle. */
  requests: number;
  windows: number;
  rows: InstructionRow[];
  ratios: Ratio[];
  against?: { ref: string; commit: string };
}

/** A scenario that takes longer than this under valgrind is stopped (and the run fails). */
const SCENARIO_TIMEOUT_MS = 900_000;

interface Plan {
  warmup: number;
  requests: number;
  windows: number;
  sessions: number;
}

/** Instructions per request in each counting window: on the main thread, and on all threads. */
interface Counts {
  main: number[];
  all: number[];
}

/** The last this many windows make the count, once they agree within {@link SETTLED_SPREAD}. */
const SETTLED = 3;
/** Fewest windows counted: V8's last tier-ups can leave three early windows level and the fourth lower. */
const MIN_WINDOWS = 4;
/** Largest (highest - lowest) / median of the last windows for the count to stand. */
const SETTLED_SPREAD = 0.04;

/** The last {@link SETTLED} values, when there are that many and they agree. */
function settled(values: readonly number[]): boolean {
  const last = values.slice(-SETTLED);
  return values.length >= MIN_WINDOWS && (Math.max(...last) - Math.min(...last)) / median(last) <= SETTLED_SPREAD;
}

/**
 * Runs one scenario under callgrind; resolves to instructions per request in each counting window.
 * Windows are counted until the last few agree (or `plan.windows` is reached): under valgrind V8
 * keeps optimizing for thousands of requests, and the first windows after the warm-up still
 * carry some of it. Threads are counted apart because V8's helper threads (optimizing compiler,
 * concurrent marking) work whenever V8 decides to, which moves the all-threads count from window
 * to window while the main thread's, the request path itself, settles.
 */
async function countScenario(id: string, plan: Plan, dir: string, reference?: Reference): Promise<Counts> {
  const { warmup, requests, windows, sessions } = plan;
  const out = join(dir, `callgrind.${id}${reference === undefined ? '' : '.ref'}.out`);
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
  if (reference !== undefined) env.BENCH_PACKAGE_ROOT = reference.root;
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      '--separate-threads=yes',
      `--callgrind-out-file=${out}`,
      process.execPath,
      '--import',
      'tsx',
      join(ROOT, 'bench', 'instructions-child.ts'),
      id,
      String(warmup),
      String(requests),
      String(sessions),
    ],
    { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), SCENARIO_TIMEOUT_MS);
  const control = (...args: string[]): void => {
    execFileSync('callgrind_control', [...args, String(child.pid)], { stdio: 'ignore', timeout: 60_000 });
  };
  const counts: Counts = { main: [], all: [] };
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      if (line === 'ready') {
        if (settled(counts.main) || counts.main.length >= windows) {
          child.stdin.write('stop\n');
          continue;
        }
        control('-i', 'on');
      } else if (line === 'done') {
        control('-i', 'off');
        // Writes this window's counts to `${out}.<n>-<thread>` and zeroes them.
        control('-d');
        const window = await readWindow(out, counts.main.length + 1, requests);
        counts.main.push(window.main);
        counts.all.push(window.all);
      } else continue;
      child.stdin.write('next\n');
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const code = await exited;
  if (code !== 0) throw new Error(`bench: ${id} under callgrind exited with ${code}:\n${stderr}`);
  return counts;
}

/** Instructions per request in counting window `n` (callgrind's dump `n`): main thread and all threads. */
async function readWindow(out: string, n: number, requests: number): Promise<{ main: number; all: number }> {
  const prefix = `${basename(out)}.${n}-`;
  const dir = dirname(out);
  let files = (await readdir(dir)).filter((name) => name.startsWith(prefix));
  // The dump is written as callgrind_control returns; a slow disk may lag behind.
  for (let tries = 0; files.length === 0 && tries < 50; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    files = (await readdir(dir)).filter((name) => name.startsWith(prefix));
  }
  let main: number | undefined;
  let all = 0;
  for (const file of files) {
    const totals = /^totals:\s+(\d+)/m.exec(await readFile(join(dir, file), 'utf8'));
    if (totals === null) throw new Error(`bench: no totals line in ${file}`);
    all += Number(totals[1]);
    // Thread 1 is the main thread, where the event loop runs the requests.
    if (file === `${prefix}01`) main = Number(totals[1]);
  }
  if (main === undefined) throw new Error(`bench: callgrind wrote no main-thread dump ${prefix}01`);
  return { main: main / requests, all: all / requests };
}

/** The issue 16 ratios, over bare Koa's count, for the scenarios that ran. */
function instructionRatios(rows: readonly InstructionRow[]): Ratio[] {
  const over = (id: string): number | undefined => rows.find((row) => row.id === id)?.overBare;
  const bare = rows.find((row) => row.id === 'bare')?.instructions;
  const ratio = (name: string, a: number | undefined, b: number | undefined, goal?: Ratio['goal'], detail?: string): Ratio[] => {
    if (a === undefined || b === undefined) return [];
    const value = a / b;
    const met = goal === undefined ? {} : { goal, met: goal.op === '<=' ? value <= goal.target : value >= goal.target };
    return [{ name, value, ...met, detail: detail ?? `${fmt(a, 0)} / ${fmt(b, 0)} instructions` }];
  };
  return [
    ...ratio('write over bare: kit / koa-session', over('kit-write'), over('koa-session-write'), { op: '<=', target: 0.25 }),
    ...ratio('read-only over bare: kit / koa-session', over('kit-read'), over('koa-session-read'), { op: '<=', target: 0.25 }),
    ...ratio('untouched over bare / bare', over('kit-untouched'), bare, { op: '<=', target: 0.01 }),
    ...ratio('empty async middleware over bare / bare', over('bare-middleware'), bare),
    ...ratio('first visit over bare: kit / kit write', over('kit-first-visit'), over('kit-write')),
    ...ratio('write over bare: floor / koa-session', over('floor-write'), over('koa-session-write')),
    ...ratio('write over bare: kit / floor', over('kit-write'), over('floor-write')),
    ...ratio('read-only over bare: kit / floor', over('kit-read'), over('floor-read')),
  ];
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      warmup: { type: 'string' },
      requests: { type: 'string' },
      windows: { type: 'string' },
      only: { type: 'string' },
      against: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
    },
    strict: true,
  });
  // A few thousand requests let V8 compile the hot path before counting starts.
  const plan: Plan = {
    warmup: Number(flags.warmup ?? (flags.quick ? 3000 : 6000)),
    requests: Number(flags.requests ?? (flags.quick ? 100 : 200)),
    windows: Number(flags.windows ?? (flags.quick ? 6 : 12)),
    sessions: flags.quick ? 50 : 200,
  };
  const ids = flags.only === undefined ? INSTRUCTION_IDS : flags.only.split(',').map((id) => scenarioById(id.trim()).id);
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('bench: valgrind is not installed (apt-get install valgrind)');
  }
  console.log(
    `bench:instructions: ${ids.length} scenarios, ${plan.warmup} warm-up requests then windows of ${plan.requests} counted ones until the last ${SETTLED} agree (at most ${plan.windows}); npm run build`,
  );
  // Taken now: the tree may change while the run goes on; the build below is what is measured.
  const commit = currentCommit();
  build(ROOT);
  const dir = await mkdtemp(join(tmpdir(), 'kss-bench-callgrind-'));
  const counts = new Map<string, Counts>();
  const referenceCounts = new Map<string, number>();
  let reference: Reference | undefined;
  try {
    if (flags.against !== undefined) reference = await prepareReference(flags.against, console.log);
    for (const id of ids) {
      const started = Date.now();
      const measured = await countScenario(id, plan, dir);
      counts.set(id, measured);
      const count = median(measured.main.slice(-SETTLED));
      const note = settled(measured.main) ? '' : ' NOT SETTLED';
      let line = `${id.padEnd(20)} ${fmt(count, 0).padStart(10)} instructions/request (windows ${measured.main.map((w) => fmt(w, 0)).join(' ')}${note}; all threads ${fmt(median(measured.all.slice(-SETTLED)), 0)})`;
      if (reference !== undefined) {
        const theirs = await countScenario(id, plan, dir, reference).then(
          (c) => median(c.main.slice(-SETTLED)),
          (error: unknown) => {
            console.log(`${id}@ref failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
            return Number.NaN;
          },
        );
        referenceCounts.set(id, theirs);
        line += `, ref ${fmt(theirs, 0)} (here / ref ${fmt(count / theirs, 3)})`;
      }
      console.log(`${line}  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await reference?.remove();
  }
  const bare = counts.has('bare') ? median(counts.get('bare')?.main.slice(-SETTLED) ?? []) : undefined;
  const rows = ids.map((id): InstructionRow => {
    const { main = [], all = [] } = counts.get(id) ?? {};
    const instructions = median(main.slice(-SETTLED));
    const row: InstructionRow = {
      id,
      label: scenarioById(id).label,
      instructions,
      windows: main,
      allThreads: median(all.slice(-SETTLED)),
      settled: settled(main),
      overBare: bare === undefined || id === 'bare' ? undefined : instructions - bare,
    };
    const theirs = referenceCounts.get(id);
    if (theirs !== undefined) row.reference = theirs;
    return row;
  });
  const ratios = instructionRatios(rows);
  for (const r of ratios)
    console.log(
      `${r.name.padEnd(44)} ${fmt(r.value, 3).padStart(7)}  ${r.met === undefined ? '' : r.met ? 'met' : 'MISSED'}  (${r.detail})`,
    );
  if (!flags['no-write']) {
    const results: InstructionResults = { warmupRequests: plan.warmup, requests: plan.requests, windows: plan.windows, rows, ratios };
    if (reference !== undefined) results.against = { ref: reference.ref, commit: reference.commit };
    await writeResults('instructions', stamped(results, commit));
    console.log('wrote bench/results/instructions.json and bench/RESULTS.md');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
