/** Writes bench/results.json and the README's benchmark section from one run's results. */

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './modules.js';
import type { HotPathRow } from './hot-path.js';
import type { ScaleResult } from './memory-scale.js';
import { fmt, markdownRatios, markdownScenarios, markdownTable, type Ratio, type Summary } from './report.js';

/** What results.json holds. */
export interface BenchResults {
  machine: {
    cpu: string;
    cores: number;
    node: string;
    platform: string;
    memoryGiB: number;
    /** A fixed loop's ms before and after the run: far apart means the machine's speed moved meanwhile. */
    speedCheckMs?: { before: number; after: number };
  };
  date: string;
  config: { rounds: number; durationSeconds: number; warmupSeconds: number; connections: number; sessions: number; quick: boolean };
  scenarios: Summary[];
  skipped: { id: string; label: string; reason: string }[];
  ratios: Ratio[];
  scale?: ScaleResult | { error: string } | undefined;
  hotPath?: HotPathRow[] | { error: string } | undefined;
  serializers?: unknown;
}

function scaleSection(scale: BenchResults['scale']): string {
  if (scale === undefined) return '';
  if ('error' in scale) return `### MemoryStore at scale\n\nThe scale run failed: ${scale.error}\n`;
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
    [`sweep of ${n} expired sessions`, `${fmt(scale.sweep.sweepMs, 0)} ms (sweepInterval ${scale.sweep.sweepInterval} ms)`],
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
  return `### MemoryStore at scale\n\n\`bench/memory-scale.ts\` (run under \`node --expose-gc\`), ${n} sessions holding the benchmark's record:\n\n${markdownTable(['measure', 'value'], rows)}\n`;
}

function hotPathSection(hotPath: BenchResults['hotPath']): string {
  if (hotPath === undefined) return '';
  if (!Array.isArray(hotPath)) return `### The middleware's own cost\n\nThe in-process run failed: ${hotPath.error}\n`;
  const rows = hotPath.map((row) => [
    row.id,
    fmt(row.microsPerRequest, 2),
    row.overBareMicros === undefined ? '' : `+${fmt(row.overBareMicros, 2)}`,
  ]);
  return `### The middleware's own cost

\`bench/hot-path.ts\` sends the same requests through \`app.callback()\` on in-memory request and response
objects, in one process: no sockets, no kernel, no load generator, so what is left over bare Koa is the session
middleware's JavaScript. Each scenario runs in its own process (so Koa's code is not shared with another app's
requests), three times, cycled; shown is the least CPU µs per request over its batches of 5,000 (other work on the
machine can only add time):

${markdownTable(['scenario', 'µs/request', 'over bare Koa'], rows)}
`;
}

interface SerializerRow {
  strictOpsPerSec: number;
  bareOpsPerSec: number;
  ratio: number;
  bytes: number;
}

function isSerializerRows(value: unknown): value is Record<string, SerializerRow> {
  if (typeof value !== 'object' || value === null || 'error' in value) return false;
  return Object.values(value).every((row: unknown) => typeof (row as Partial<SerializerRow> | null)?.strictOpsPerSec === 'number');
}

function serializerSection(serializers: unknown): string {
  if (serializers === undefined) return '';
  if (!isSerializerRows(serializers)) return `### Serializers\n\n\`bench/serializers.ts\` did not run: ${JSON.stringify(serializers)}\n`;
  const rows = Object.entries(serializers).map(([name, r]) => [
    name,
    String(r.strictOpsPerSec),
    String(r.bareOpsPerSec),
    `${fmt(r.ratio, 2)}x`,
    String(r.bytes),
  ]);
  return `### Serializers\n\nEncode + decode of a typical session per second (\`bench/serializers.ts\`), the kit's strict serializer against the bare library call:\n\n${markdownTable(['serializer', 'strict ops/s', 'bare ops/s', 'bare / strict', 'bytes'], rows)}\n`;
}

/** The Markdown section, with the machine, Node version and date of the run it shows. */
export function benchmarksMarkdown(results: BenchResults): string {
  const { machine, config } = results;
  const skipped =
    results.skipped.length === 0
      ? ''
      : `\nNot measured in this run: ${results.skipped.map((s) => `${s.label} (${s.reason})`).join('; ')}.\n`;
  return `## Benchmarks

Measured by \`npm run bench\` on ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}
(${machine.platform}), ${results.date.slice(0, 10)}. Absolute numbers belong to that machine; compare the ratios
within one run. A fixed loop took ${fmt(machine.speedCheckMs?.before ?? Number.NaN, 1)} ms before the run and ${fmt(machine.speedCheckMs?.after ?? Number.NaN, 1)} ms after.

How it measures: the package is compiled with \`tsc\` first, so the servers run the JavaScript users run. Each
scenario runs in its own server process; autocannon loads it from another process (${config.connections} connections, no
pipelining) while the server counts the requests it answers and the CPU time it spends (\`process.cpuUsage()\`,
user + system). Scenarios are interleaved over ${config.rounds} round(s) of ${config.durationSeconds} s after a ${config.warmupSeconds} s warm-up each; the table
shows each scenario's median round, "rounds ±" half the spread between its fastest and slowest round, and "redone"
the rounds measured again because other processes on the machine used more than a quarter of a core meanwhile
(\`/proc/stat\`, less the server, the load generator, PostgreSQL and Redis; after three tries a round stands and
counts as busy, and busy rounds are left out of medians and ratios while three clean ones remain). Every
scenario answers the same routes with the same handler: \`/write\` bumps a counter in a session that also holds a
small user record, \`/read\` reads it, \`/untouched\` never asks for the session. The load rotates through
${config.sessions} sessions made before the run, each connection from its own offset, never one hot cookie. koa-session 7 runs
with an external in-memory store that keeps JSON text, as a remote store would (koa-session-kit's MemoryStore keeps
serialized bytes too); both sign their cookies with the same \`app.keys\`. The "floor" rows (\`bench/floor.ts\`) are
one hand-written middleware doing only the work the design makes mandatory, with this package's own signer, digest,
envelope, strict JSON serializer and cookie formatting: verify the HMAC, digest the id, fetch, decode; on a write
walk, encode, store and send the cookie with the moved expiry. It has no lazy loading, Session object, commit queue,
version check or error handling, so kit against floor is what that machinery costs, and floor against bare Koa is
the price of the guarantees themselves: a goal the floor misses too asks for more than any implementation of this
design can do on that machine. "bare Koa + one empty async middleware" is the same floor for untouched routes: any
middleware that acts after the handler costs at least that. "server CPU" is CPU time over wall time:
near 100% means the server was the limit. Server and load generator share the machine's cores, so a cheaper
server also leaves more CPU to the load generator, and requests per second compare whole systems; CPU per request
is the server's own cost.

${markdownScenarios(results.scenarios)}
${skipped}
### Ratios

The goals are issue 7's (and issue 5's for PostgresStore against bare \`pg\`); rows without a goal are reported
for comparison. Each ratio is the median over rounds of the two scenarios' ratio within a round (they ran
seconds apart, so a machine that drifts over minutes moves both alike); "from" shows each side's median.
"Session CPU" is CPU per request minus bare Koa's.

${markdownRatios(results.ratios)}

${hotPathSection(results.hotPath)}
${scaleSection(results.scale)}
${serializerSection(results.serializers)}
Run it yourself: \`npm run bench\` (about ten minutes on a quiet machine), \`npm run bench -- --quick\` (one round of
2 s and a smaller scale run), \`npm run bench -- --only kit-write,bare\`, \`npm run bench -- --scale\` (only the
MemoryStore scale run, merged into the last results), \`npm run bench -- --no-scale\`, \`--rounds N\`,
\`--duration S\`, \`--connections N\` (10 to 50). \`npx tsx bench/profile.ts kit-write\` profiles one scenario's
server with \`--cpu-prof\` and prints the functions with the most self time. PostgreSQL and Redis scenarios use
\`DATABASE_URL\` and \`REDIS_URL\` (the local defaults otherwise); a scenario whose store module or service is
missing is skipped, with the reason printed. Raw numbers, every round included, are in \`bench/results.json\`.
Benchmark on a quiet machine: other work on the same cores moves single rounds by half or more.
`;
}

/** Where the README keeps the benchmark section; a run replaces what lies between. */
const README_START = '<!-- bench:start (written by npm run bench) -->';
const README_END = '<!-- bench:end -->';

/** Writes bench/results.json and replaces the README's benchmark section with this run's. */
export async function writeOutputs(results: BenchResults): Promise<void> {
  await writeFile(join(ROOT, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const file = join(ROOT, 'README.md');
  const readme = await readFile(file, 'utf8');
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start === -1 || end < start) throw new Error(`README.md has no ${README_START} … ${README_END} section to replace`);
  const section = `${README_START}\n${benchmarksMarkdown(results).trim()}\n${README_END}`;
  // Formatted as `npm run lint` (prettier --check) expects, so a bench run leaves the tree clean.
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(file)) ?? {};
  const next = readme.slice(0, start) + section + readme.slice(end + README_END.length);
  await writeFile(file, await prettier.format(next, { ...options, filepath: file }));
}
