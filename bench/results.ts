/**
 * Where the bench keeps what it measured: one JSON file per command in bench/results/, and
 * bench/RESULTS.md rendered from all of them, so a run of one command keeps the others' sections.
 */

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { instructionsMarkdown, sizesMarkdown, type InstructionResults } from './instructions-report.js';
import { ROOT } from './package.js';
import {
  fmt,
  markdownComparison,
  markdownRatios,
  markdownScenarios,
  markdownTable,
  type Comparison,
  type Ratio,
  type Summary,
} from './report.js';
import type { ScaleResult } from './studies/memory-scale.js';
import type { SerializerBenchResult } from './studies/serializers.js';
import { storesProfileSection, storesSection, type StoresProfile, type StoresRun } from './stores/report.js';

/** The machine a result was measured on. */
export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  platform: string;
  memoryGiB: number;
}

/** A result with when, where and on which commit it was measured. */
export interface Stamped<T> {
  date: string;
  /** Short hash, with `+` when the tree had uncommitted changes. */
  commit: string;
  machine: Machine;
  result: T;
}

/** What `npm run bench` measured. */
export interface HttpRun {
  config: { rounds: number; durationSeconds: number; warmupSeconds: number; connections: number; sessions: number; quick: boolean };
  scenarios: Summary[];
  skipped: { id: string; label: string; reason: string }[];
  ratios: Ratio[];
  /** With `--against`: the same scenarios on another commit, in the same rounds. */
  against?: { ref: string; commit: string; scenarios: Comparison[] };
}

/** Each command's results, by the name of its file in bench/results/. */
interface Results {
  http: Stamped<HttpRun>;
  instructions: Stamped<InstructionResults>;
  'instructions-sizes': Stamped<InstructionResults>;
  'memory-scale': Stamped<ScaleResult>;
  serializers: Stamped<Record<string, SerializerBenchResult>>;
  stores: Stamped<StoresRun>;
  'stores-profile': Stamped<StoresProfile>;
}

const DIR = join(ROOT, 'bench', 'results');
const MARKDOWN = join(ROOT, 'bench', 'RESULTS.md');

export function machine(): Machine {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    node: process.version,
    platform: `${platform()} ${release()}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

/** This tree's commit, with `+` when it has uncommitted changes to tracked files. */
export function currentCommit(): string {
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
  return `${git('rev-parse', '--short', 'HEAD')}${dirty ? '+' : ''}`;
}

/** `result` stamped with now, this machine and `commit` (this tree's, taken when the run started). */
export function stamped<T>(result: T, commit = currentCommit()): Stamped<T> {
  return { date: new Date().toISOString(), commit, machine: machine(), result };
}

/** Saves one command's results and renders bench/RESULTS.md again from every command's latest. */
export async function writeResults<K extends keyof Results>(name: K, data: Results[K]): Promise<void> {
  await mkdir(DIR, { recursive: true });
  await writeFile(join(DIR, `${name}.json`), `${JSON.stringify(data, null, 2)}\n`);
  const all: Partial<Results> = {};
  for (const key of ['http', 'instructions', 'instructions-sizes', 'memory-scale', 'serializers', 'stores', 'stores-profile'] as const) {
    const file = join(DIR, `${key}.json`);
    // Each file was written by this module from the matching type.
    if (existsSync(file)) Object.assign(all, { [key]: JSON.parse(await readFile(file, 'utf8')) as Results[typeof key] });
  }
  const markdown = render(all);
  // Formatted as `npm run lint` (prettier --check) expects, so a run leaves the tree clean.
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(MARKDOWN)) ?? {};
  await writeFile(MARKDOWN, await prettier.format(markdown, { ...options, filepath: MARKDOWN }));
}

function when(stamp: Stamped<unknown>): string {
  const m = stamp.machine;
  return `Measured ${stamp.date.slice(0, 10)} on commit \`${stamp.commit}\`, ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node} (${m.platform}).`;
}

function render(all: Partial<Results>): string {
  const sections = [
    all.http && httpSection(all.http),
    all.instructions && instructionsMarkdown(all.instructions.result, when(all.instructions)),
    all['instructions-sizes'] && sizesMarkdown(all['instructions-sizes'].result, when(all['instructions-sizes'])),
    all.stores && storesSection(all.stores.result, when(all.stores)),
    all['stores-profile'] && storesProfileSection(all['stores-profile'].result, when(all['stores-profile'])),
    all['memory-scale'] && scaleSection(all['memory-scale']),
    all.serializers && serializerSection(all.serializers),
  ].filter((section): section is string => section !== undefined);
  return `# Benchmark results

Written by the bench commands (see [README.md](README.md) for how to run them and what each measures);
do not edit by hand. Each section says when, on which commit and on which machine it was measured:
absolute numbers belong to that machine, compare the ratios within one run.

${sections.join('\n')}`;
}

function httpSection(stamp: Stamped<HttpRun>): string {
  const { config, scenarios, skipped, ratios, against } = stamp.result;
  const notRun = skipped.length === 0 ? '' : `\nNot measured in this run: ${skipped.map((s) => `${s.label} (${s.reason})`).join('; ')}.\n`;
  const comparison =
    against === undefined
      ? ''
      : `\n### Against ${against.ref} (\`${against.commit}\`)\n\nThe same scenarios on the package built from ${against.ref}, interleaved in the same rounds; each ratio is the median over rounds of this tree's value over the reference's within the round.\n\n${markdownComparison(against.scenarios)}\n`;
  return `## HTTP: \`npm run bench\`

${when(stamp)} ${config.rounds} round(s) of ${config.durationSeconds} s per scenario after a ${config.warmupSeconds} s warm-up, ${config.connections} connections, ${config.sessions} sessions.

${markdownScenarios(scenarios)}
${notRun}
### Ratios

The goals are issue 7's (and issue 5's for PostgresStore against bare \`pg\`); rows without a goal are
reported for comparison. Each ratio is the median over rounds of the two scenarios' ratio within a round;
"from" shows each side's median. "Session CPU" is CPU per request minus bare Koa's.

${markdownRatios(ratios)}
${comparison}`;
}

function scaleSection(stamp: Stamped<ScaleResult>): string {
  const scale = stamp.result;
  const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  const n = scale.count.toLocaleString('en-US');
  const rows = [
    [
      'bytes per session',
      `${fmt(scale.totalBytesPerSession, 0)} (${fmt(scale.heapBytesPerSession, 0)} heap + ${fmt(scale.arrayBufferBytesPerSession, 0)} array buffers; record ${scale.recordBytes} bytes)`,
    ],
    ...scale.lookups.map((l) => [
      `get at ${l.size.toLocaleString('en-US')} sessions`,
      `${fmt(l.storeGetNs, 0)} ns (bare \`Map#get\`: ${fmt(l.mapGetNs, 0)} ns; longest single get ${fmt(l.longestGetMs, 1)} ms)`,
    ]),
    ['lookup growth, smallest to largest', `${fmt(scale.lookupGrowth, 2)}x`],
    [`sweep of ${n} expired sessions`, `${fmt(scale.sweep.sweepMs, 0)} ms (pruneInterval ${scale.sweep.pruneInterval} ms)`],
    [
      'memory: baseline, full, after the sweep',
      `${mib(scale.sweep.baselineBytes)}, ${mib(scale.sweep.peakBytes)}, ${mib(scale.sweep.afterBytes)} (${fmt(scale.sweep.retainedShare * 100, 1)}% of the growth retained)`,
    ],
    [
      'longest slice of the sweep that deletes them',
      `${fmt(scale.sweep.longestSliceMs, 1)} ms (${fmt(scale.sweep.longestSliceCpuMs, 1)} ms CPU, ${fmt(scale.sweep.longestSliceGcMs, 1)} ms of it in GC pauses)`,
    ],
    [
      'longest slice of a sweep over live sessions',
      `${fmt(scale.sweep.liveSweep.longestSliceMs, 1)} ms (${fmt(scale.sweep.liveSweep.longestSliceCpuMs, 1)} ms CPU, ${fmt(scale.sweep.liveSweep.longestSliceGcMs, 1)} ms in GC pauses)`,
    ],
    [
      'longest event-loop gap during the deleting sweep',
      `${fmt(scale.sweep.maxLoopGapMs, 1)} ms (same probe, nothing sweeping: ${fmt(scale.sweep.idleMaxLoopGapMs, 1)} ms; longest GC pause ${fmt(scale.sweep.maxGcPauseMs, 1)} ms)`,
    ],
  ];
  return `## Study: MemoryStore at scale

${when(stamp)} \`bench/studies/memory-scale.ts\`, ${n} sessions holding the benchmark's record:

${markdownTable(['measure', 'value'], rows)}
`;
}

function serializerSection(stamp: Stamped<Record<string, SerializerBenchResult>>): string {
  const rows = Object.entries(stamp.result).map(([name, r]) => [
    name,
    String(r.strictOpsPerSec),
    String(r.bareOpsPerSec),
    `${fmt(r.ratio, 2)}x`,
    String(r.bytes),
  ]);
  return `## Study: serializers

${when(stamp)} Encode + decode of a typical session per second (\`bench/studies/serializers.ts\`), the kit's strict
serializer against the bare library call:

${markdownTable(['serializer', 'strict ops/s', 'bare ops/s', 'bare / strict', 'bytes'], rows)}
`;
}
