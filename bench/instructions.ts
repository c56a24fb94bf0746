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
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { prepareReference, type Reference } from './against.js';
import { build } from './harness.js';
import { ROOT } from './package.js';
import type { Ratio } from './report.js';
import { fmt, median } from './report.js';
import { stamped, writeResults } from './results.js';
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
 * One scenario's count on the main thread: the median over its windows, each window's count
 * beside it; `allThreads` the same median with V8's helper threads included; `overBare` what it
 * costs beyond bare Koa; `reference` the ref's main-thread median under `--against`.
 */
export interface InstructionRow {
  id: string;
  label: string;
  instructions: number;
  windows: number[];
  allThreads: number;
  overBare: number | undefined;
  reference?: number;
}

/** What results/instructions.json holds. */
export interface InstructionResults {
  warmupRequests: number;
  /** Requests per counting window, and windows per scenario. */
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

/**
 * Runs one scenario under callgrind; resolves to instructions per request in each counting window.
 * Several windows, not one long one: a window that a major GC falls into stands out, and the
 * median leaves it aside. Threads are counted apart because V8's helper threads (optimizing
 * compiler, concurrent marking) work whenever V8 decides to, which moves the all-threads count
 * from window to window while the main thread's, the request path itself, stays put.
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
      String(windows),
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
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      if (line === 'ready') control('-i', 'on');
      else if (line === 'done') {
        control('-i', 'off');
        // Writes this window's counts to `${out}.<n>-<thread>` and zeroes them.
        control('-d');
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
  const files = await readdir(dir);
  const counts: Counts = { main: [], all: [] };
  for (let window = 1; window <= windows; window++) {
    const prefix = `${basename(out)}.${window}-`;
    let all = 0;
    for (const file of files.filter((name) => name.startsWith(prefix))) {
      const totals = /^totals:\s+(\d+)/m.exec(await readFile(join(dir, file), 'utf8'));
      if (totals === null) throw new Error(`bench: no totals line in ${file}`);
      all += Number(totals[1]);
      // Thread 1 is the main thread, where the event loop runs the requests.
      if (file === `${prefix}01`) counts.main.push(Number(totals[1]) / requests);
    }
    counts.all.push(all / requests);
  }
  if (counts.main.length !== windows) throw new Error(`bench: ${id}: callgrind wrote ${counts.main.length} of ${windows} windows`);
  return counts;
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
    warmup: Number(flags.warmup ?? (flags.quick ? 2000 : 4000)),
    requests: Number(flags.requests ?? (flags.quick ? 100 : 200)),
    windows: Number(flags.windows ?? (flags.quick ? 3 : 5)),
    sessions: flags.quick ? 50 : 200,
  };
  const ids = flags.only === undefined ? INSTRUCTION_IDS : flags.only.split(',').map((id) => scenarioById(id.trim()).id);
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('bench: valgrind is not installed (apt-get install valgrind)');
  }
  console.log(
    `bench:instructions: ${ids.length} scenarios, ${plan.warmup} warm-up requests then ${plan.windows} windows of ${plan.requests} counted ones each; npm run build`,
  );
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
      const count = median(measured.main);
      let line = `${id.padEnd(20)} ${fmt(count, 0).padStart(10)} instructions/request (windows ${measured.main.map((w) => fmt(w, 0)).join(' ')}; all threads ${fmt(median(measured.all), 0)})`;
      if (reference !== undefined) {
        const theirs = await countScenario(id, plan, dir, reference).then(
          (c) => median(c.main),
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
  const bare = counts.has('bare') ? median(counts.get('bare')?.main ?? []) : undefined;
  const rows = ids.map((id): InstructionRow => {
    const { main = [], all = [] } = counts.get(id) ?? {};
    const instructions = median(main);
    const row: InstructionRow = {
      id,
      label: scenarioById(id).label,
      instructions,
      windows: main,
      allThreads: median(all),
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
    await writeResults('instructions', stamped(results));
    console.log('wrote bench/results/instructions.json and bench/RESULTS.md');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
