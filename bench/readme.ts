/** Writes docs/readme/benchmarks.md, the README section, from one run's results. */

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './apps.js';
import type { ScaleResult } from './memory-scale.js';
import { fmt, markdownRatios, markdownScenarios, markdownTable, type Ratio, type Summary } from './report.js';

/** What results.json holds. */
export interface BenchResults {
  machine: { cpu: string; cores: number; node: string; platform: string; memoryGiB: number };
  date: string;
  config: { rounds: number; durationSeconds: number; warmupSeconds: number; connections: number; sessions: number; quick: boolean };
  scenarios: Summary[];
  skipped: { id: string; label: string; reason: string }[];
  ratios: Ratio[];
  scale?: ScaleResult | { error: string } | undefined;
  serializers?: unknown;
}

function scaleSection(scale: BenchResults['scale']): string {
  if (scale === undefined) return '';
  if ('error' in scale) return `### MemoryStore at scale\n\nThe scale run failed: ${scale.error}\n`;
  const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  const n = scale.count.toLocaleString('en-US');
  const rows = [
    ['bytes per session', `${fmt(scale.totalBytesPerSession, 0)} (${fmt(scale.heapBytesPerSession, 0)} heap + ${fmt(scale.arrayBufferBytesPerSession, 0)} array buffers; record ${scale.recordBytes} bytes)`],
    ...scale.lookups.map((l) => [`get at ${l.size.toLocaleString('en-US')} sessions`, `${fmt(l.storeGetNs, 0)} ns (bare \`Map#get\`: ${fmt(l.mapGetNs, 0)} ns)`]),
    ['lookup growth, smallest to largest', `${fmt(scale.lookupGrowth, 2)}x`],
    [`sweep of ${n} expired sessions`, `${fmt(scale.sweep.sweepMs, 0)} ms (sweepInterval ${scale.sweep.sweepInterval} ms)`],
    ['memory: baseline, full, after the sweep', `${mib(scale.sweep.baselineBytes)}, ${mib(scale.sweep.peakBytes)}, ${mib(scale.sweep.afterBytes)} (${fmt(scale.sweep.retainedShare * 100, 1)}% of the growth retained)`],
    ['longest event-loop gap while sweeping', `${fmt(scale.sweep.maxLoopGapMs, 1)} ms (delay histogram max ${fmt(scale.sweep.maxLoopDelayMs, 1)} ms; longest GC pause ${fmt(scale.sweep.maxGcPauseMs, 1)} ms)`],
  ];
  return `### MemoryStore at scale\n\n\`bench/memory-scale.ts\` (run under \`node --expose-gc\`), ${n} sessions holding the benchmark's record:\n\n${markdownTable(['measure', 'value'], rows)}\n`;
}

function serializerSection(serializers: unknown): string {
  if (serializers === undefined) return '';
  return `### Serializers\n\nFrom \`bench/serializers.ts\`:\n\n\`\`\`json\n${JSON.stringify(serializers, null, 2)}\n\`\`\`\n`;
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
(${machine.platform}), ${results.date.slice(0, 10)}. Numbers move from machine to machine; the ratios
within one run are what to compare.

How: each scenario runs in its own server process; autocannon loads it from another process
(${config.connections} connections, no pipelining) while the server counts its requests and its CPU time
(\`process.cpuUsage()\`). Scenarios are interleaved over ${config.rounds} round(s) of ${config.durationSeconds} s after a
${config.warmupSeconds} s warm-up each; the table shows medians. Every scenario answers the same three routes with the
same handler (\`/write\` bumps a counter in a session that also holds a small user record, \`/read\` reads
it, \`/untouched\` never asks for the session), and the load rotates through ${config.sessions} sessions made
before the run, not one hot cookie. koa-session 7 runs with an external in-memory store that keeps
JSON text (as a remote store would); koa-session-kit's MemoryStore keeps serialized bytes too. Both sign
their cookies with the same \`app.keys\`. "server CPU" is CPU time over wall time: near 100% the server was the
limit; on a 2-core machine the load generator takes the other core.

${markdownScenarios(results.scenarios)}
${skipped}
### Ratios

${markdownRatios(results.ratios)}

${scaleSection(results.scale)}
${serializerSection(results.serializers)}
Run it yourself: \`npm run bench\` (about ${config.quick ? 'a minute' : 'eight minutes'}), \`npm run bench -- --quick\`
(one round of 2 s), \`npm run bench -- --only kit-write,bare\`, \`npm run bench -- --scale\` (only the
MemoryStore scale run), \`npm run bench -- --no-scale\`. PostgreSQL and Redis scenarios use \`DATABASE_URL\` and
\`REDIS_URL\` (the local defaults otherwise) and are skipped, with the reason printed, when a store module
or its service is missing. Raw numbers, every round included, are in \`bench/results.json\`.
`;
}

export async function writeOutputs(results: BenchResults): Promise<void> {
  await writeFile(join(ROOT, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  await mkdir(join(ROOT, 'docs', 'readme'), { recursive: true });
  await writeFile(join(ROOT, 'docs', 'readme', 'benchmarks.md'), benchmarksMarkdown(results));
}
