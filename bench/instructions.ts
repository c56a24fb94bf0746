/**
 * `npm run bench:instructions`: instructions per request under callgrind, for each scenario in its
 * own process (bench/instructions-child.ts). Instrumentation starts only after a warm-up, switched
 * on with `callgrind_control -i on <pid>`, so module loading and JIT compilation stay out of the
 * count. With `--against <git-ref>` each scenario is counted on the ref's package too. Writes
 * bench/results/instructions.json and bench/RESULTS.md. Why instructions, and what they miss:
 * bench/README.md. Flags: --quick, --warmup N, --requests N, --only id,id, --against <ref>, --no-write.
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { prepareReference, type Reference } from './against.js';
import { build } from './harness.js';
import { ROOT } from './package.js';
import type { Ratio } from './report.js';
import { fmt } from './report.js';
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

/** One scenario's count; `overBare` is what it costs beyond bare Koa; `reference` the ref's count under `--against`. */
export interface InstructionRow {
  id: string;
  label: string;
  instructions: number;
  overBare: number | undefined;
  reference?: number;
}

/** What results/instructions.json holds. */
export interface InstructionResults {
  warmupRequests: number;
  requests: number;
  rows: InstructionRow[];
  ratios: Ratio[];
  against?: { ref: string; commit: string };
}

/** A scenario that takes longer than this under valgrind is stopped (and the run fails). */
const SCENARIO_TIMEOUT_MS = 600_000;

/** Runs one scenario under callgrind; resolves to instructions per measured request. */
async function countScenario(
  id: string,
  counts: { warmup: number; requests: number; sessions: number },
  dir: string,
  reference?: Reference,
): Promise<number> {
  const { warmup, requests, sessions } = counts;
  const out = join(dir, `callgrind.${id}${reference === undefined ? '' : '.ref'}.out`);
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
  if (reference !== undefined) env.BENCH_PACKAGE_ROOT = reference.root;
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
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
  const instrumentation = (state: 'on' | 'off'): void => {
    execFileSync('callgrind_control', ['-i', state, String(child.pid)], { stdio: 'ignore', timeout: 60_000 });
  };
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      if (line === 'warm') instrumentation('on');
      else if (line === 'done') instrumentation('off');
      else continue;
      child.stdin.write('next\n');
    }
  } finally {
    clearTimeout(timer);
  }
  const code = await exited;
  if (code !== 0) throw new Error(`bench: ${id} under callgrind exited with ${code}:\n${stderr}`);
  const totals = /^totals:\s+(\d+)/m.exec(await readFile(out, 'utf8'));
  if (totals === null) throw new Error(`bench: no totals line in ${out}`);
  return Number(totals[1]) / requests;
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
      only: { type: 'string' },
      against: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
    },
    strict: true,
  });
  // A few thousand requests let V8 compile the hot path before counting starts.
  const warmup = Number(flags.warmup ?? (flags.quick ? 1000 : 3000));
  const requests = Number(flags.requests ?? (flags.quick ? 200 : 1000));
  const sessions = flags.quick ? 50 : 200;
  const ids = flags.only === undefined ? INSTRUCTION_IDS : flags.only.split(',').map((id) => scenarioById(id.trim()).id);
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('bench: valgrind is not installed (apt-get install valgrind)');
  }
  console.log(`bench:instructions: ${ids.length} scenarios, ${warmup} warm-up + ${requests} counted requests each; npm run build`);
  build(ROOT);
  const dir = await mkdtemp(join(tmpdir(), 'kss-bench-callgrind-'));
  const counts = new Map<string, number>();
  const referenceCounts = new Map<string, number>();
  let reference: Reference | undefined;
  try {
    if (flags.against !== undefined) reference = await prepareReference(flags.against, console.log);
    for (const id of ids) {
      const started = Date.now();
      const count = await countScenario(id, { warmup, requests, sessions }, dir);
      counts.set(id, count);
      let line = `${id.padEnd(20)} ${fmt(count, 0).padStart(10)} instructions/request`;
      if (reference !== undefined) {
        const theirs = await countScenario(id, { warmup, requests, sessions }, dir, reference).catch((error: unknown) => {
          console.log(`${id}@ref failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
          return Number.NaN;
        });
        referenceCounts.set(id, theirs);
        line += `, ref ${fmt(theirs, 0)} (here / ref ${fmt(count / theirs, 3)})`;
      }
      console.log(`${line}  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await reference?.remove();
  }
  const bare = counts.get('bare');
  const rows = ids.map((id): InstructionRow => {
    const instructions = counts.get(id) ?? Number.NaN;
    const row: InstructionRow = {
      id,
      label: scenarioById(id).label,
      instructions,
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
    const results: InstructionResults = { warmupRequests: warmup, requests, rows, ratios };
    if (reference !== undefined) results.against = { ref: reference.ref, commit: reference.commit };
    await writeResults('instructions', stamped(results));
    console.log('wrote bench/results/instructions.json and bench/RESULTS.md');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
