/**
 * One scenario process under callgrind for `npm run bench:instructions`: starts
 * bench/instructions-child.ts under `valgrind --tool=callgrind --instr-atstart=no`, switches
 * instrumentation on for each counting window with `callgrind_control`, and reads each window's
 * dump back as instructions per request, on the main thread and on all threads.
 */

import { execFileSync, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './package.js';

/**
 * V8 flags that make a count repeat across processes and settle within the warm-up:
 * - `--single-threaded`: the optimizing compiler and GC run on the main thread, so optimized code
 *   is installed after a fixed number of calls instead of whenever a helper thread, scheduled by
 *   valgrind, finishes; and the GC work a window causes is counted in that window.
 * - `--interrupt-budget` at a quarter of V8's default: a function is optimized after a quarter of
 *   the bytecode it would otherwise run first. Small functions called once per request (getters)
 *   otherwise reach it only after tens of thousands of requests, and their compilation, now on the
 *   main thread, lands in a counting window. The optimized code is what a long-running server runs.
 * - `--predictable-gc-schedule`: a fixed young generation (no resizing from survival rates) and a
 *   fixed heap growth, so the same allocations make the same collections.
 * - `--random-seed`: the same object hashes and Math.random in every process.
 * - `--expose-gc`: the child collects everything between windows (uncounted), so every window starts
 *   from an empty young generation and pays for its own garbage only.
 */
export const STEADY_NODE_FLAGS = [
  '--single-threaded',
  '--interrupt-budget=16384',
  '--predictable-gc-schedule',
  '--random-seed=1',
  '--expose-gc',
];

/** A scenario process that takes longer than this under valgrind is stopped (and the run fails). */
const PROCESS_TIMEOUT_MS = 900_000;

/** What one process counts, and how. */
export interface ProcessPlan {
  id: string;
  warmup: number;
  /** Requests per counting window. */
  requests: number;
  sessions: number;
  nodeFlags: readonly string[];
  /** Where callgrind writes its dumps (a temp dir the caller removes). */
  dir: string;
  /** Distinguishes this process's dump files from the others' in `dir`. */
  tag: string;
  /** Another checkout's package (`--against`). */
  packageRoot?: string;
}

/** Instructions per request in each counting window: on the main thread, and on all threads. */
export interface Counts {
  main: number[];
  all: number[];
  /** The dump files of each window's main thread, kept for `--profile`. */
  dumps: string[];
  pid: number;
}

/**
 * Runs one scenario process; counts windows until `enough(main counts so far)` says stop.
 * Threads are counted apart: the main thread runs the requests, the helper threads (few under
 * {@link STEADY_NODE_FLAGS}) work whenever V8 decides to.
 */
export async function countProcess(plan: ProcessPlan, enough: (main: readonly number[]) => boolean): Promise<Counts> {
  const out = join(plan.dir, `callgrind.${plan.tag}.out`);
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
  if (plan.packageRoot !== undefined) env.BENCH_PACKAGE_ROOT = plan.packageRoot;
  const args = ['--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${out}`];
  const child = spawn(
    'valgrind',
    [
      ...args,
      process.execPath,
      ...plan.nodeFlags,
      // Some V8 flags (--perf-basic-prof) also write a log, by default into the working directory.
      `--logfile=${out}.v8.log`,
      '--no-logfile-per-isolate',
      '--import',
      'tsx',
      join(ROOT, 'bench', 'instructions-child.ts'),
      plan.id,
      '0',
      String(plan.requests),
      String(plan.sessions),
    ],
    { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), PROCESS_TIMEOUT_MS);
  const control = (...more: string[]): void => {
    execFileSync('callgrind_control', [...more, String(child.pid)], { stdio: 'ignore', timeout: 60_000 });
  };
  const counts: Counts = { main: [], all: [], dumps: [], pid: child.pid ?? 0 };
  // The warm-up runs as uncounted windows: the same requests, the same collection and the same
  // line protocol on stdio between them, whose stream code shares functions with the sockets'.
  // Warmed up without it, the first counted windows see new shapes there and V8 re-optimizes.
  let uncounted = Math.ceil(plan.warmup / plan.requests);
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      if (uncounted > 0) {
        if (line === 'done') uncounted--;
        if (line === 'ready' || line === 'done') child.stdin.write('next\n');
        continue;
      }
      if (line === 'ready') {
        if (enough(counts.main)) {
          child.stdin.write('stop\n');
          continue;
        }
        control('-i', 'on');
      } else if (line === 'done') {
        control('-i', 'off');
        // Writes this window's counts to `${out}.<n>-<thread>` and zeroes them.
        control('-d');
        const window = await readWindow(out, counts.main.length + 1, plan.requests);
        counts.main.push(window.main);
        counts.all.push(window.all);
        counts.dumps.push(window.mainFile);
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
  if (code !== 0) throw new Error(`bench: ${plan.id} under callgrind exited with ${code}:\n${stderr}`);
  return counts;
}

/** Instructions per request in counting window `n` (callgrind's dump `n`): main thread and all threads. */
async function readWindow(out: string, n: number, requests: number): Promise<{ main: number; all: number; mainFile: string }> {
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
  return { main: main / requests, all: all / requests, mainFile: join(dir, `${prefix}01`) };
}
