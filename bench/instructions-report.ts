/** What `npm run bench:instructions` records, the ratios it reports, and its sections of RESULTS.md. */

import type { Ratio } from './report.js';
import { fmt, markdownRatios, markdownTable } from './report.js';

/** One process's count: the median of its last windows, every window beside it. */
export interface ProcessCount {
  instructions: number;
  windows: number[];
  /** The same median with V8's helper threads included. */
  allThreads: number;
  /** Whether its last windows agreed before it ran out of windows. */
  settled: boolean;
}

/**
 * One scenario: the median of its processes' counts on the main thread, and their spread
 * ((highest - lowest) / median); `settled` when every process settled and they agree;
 * `overBare` what it costs beyond bare Koa; `reference` the ref's count under `--against`.
 */
export interface InstructionRow {
  id: string;
  label: string;
  instructions: number;
  spread: number;
  allThreads: number;
  settled: boolean;
  processes: ProcessCount[];
  overBare: number | undefined;
  /** Size-scaling scenarios: about how many bytes (as JSON) each session holds. */
  sessionBytes?: number;
  reference?: number;
}

/** What results/instructions.json (and instructions-sizes.json) holds. */
export interface InstructionResults {
  warmupRequests: number;
  /** Requests per counting window, and the most windows a process may take to settle. */
  requests: number;
  windows: number;
  processes: number;
  /** Largest spread allowed between a process's last windows, and between a scenario's processes. */
  windowSpread: number;
  processSpread: number;
  nodeFlags: string[];
  rows: InstructionRow[];
  ratios: Ratio[];
  against?: { ref: string; commit: string };
}

/** The issue 16 ratios, over bare Koa's count, for the scenarios that ran. */
export function instructionRatios(rows: readonly InstructionRow[]): Ratio[] {
  const over = (id: string): number | undefined => rows.find((row) => row.id === id)?.overBare;
  const bare = rows.find((row) => row.id === 'bare')?.instructions;
  const ratio = (name: string, a: number | undefined, b: number | undefined, goal?: Ratio['goal']): Ratio[] => {
    if (a === undefined || b === undefined) return [];
    const value = a / b;
    const met = goal === undefined ? {} : { goal, met: goal.op === '<=' ? value <= goal.target : value >= goal.target };
    return [{ name, value, ...met, detail: `${fmt(a, 0)} / ${fmt(b, 0)} instructions` }];
  };
  return [
    ...ratio('write over bare: kit / koa-session', over('kit-write'), over('koa-session-write'), { op: '<=', target: 0.25 }),
    ...ratio('read-only over bare: kit / koa-session', over('kit-read'), over('koa-session-read'), { op: '<=', target: 0.25 }),
    ...ratio('untouched over bare / bare', over('kit-untouched'), bare, { op: '<=', target: 0.01 }),
    ...ratio('empty async middleware over bare / bare', over('bare-middleware'), bare),
    ...ratio('ctx.session view, write over bare: view / kit', over('kit-view-write'), over('kit-write')),
    ...ratio('ctx.session view, read-only over bare: view / kit', over('kit-view-read'), over('kit-read')),
    ...ratio('ctx.session view, untouched over bare / bare', over('kit-view-untouched'), bare),
    ...ratio('first visit over bare: kit / kit write', over('kit-first-visit'), over('kit-write')),
    ...ratio('write over bare: floor / koa-session', over('floor-write'), over('koa-session-write')),
    ...ratio('write over bare: kit / floor', over('kit-write'), over('floor-write')),
    ...ratio('read-only over bare: kit / floor', over('kit-read'), over('floor-read')),
  ];
}

/** How one serializer's cost on one route grows from the smallest session to the largest. */
export interface Growth {
  serializer: string;
  route: string;
  /** Session bytes and instructions per request, smallest first. */
  points: { bytes: number; instructions: number }[];
  /** Extra instructions per extra KB of session, between each pair of neighbouring sizes. */
  perKB: number[];
  text: string;
}

/** Neighbouring slopes within this share of each other count as linear growth. */
const LINEAR_WITHIN = 0.25;

/** The size-scaling rows grouped by serializer and route, with the slope between sizes. */
export function sizeGrowth(rows: readonly InstructionRow[]): Growth[] {
  const groups = new Map<string, InstructionRow[]>();
  for (const r of rows) {
    if (r.sessionBytes === undefined) continue;
    const key = r.id.replace(/-\d+-/, '-');
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups].map(([key, group]): Growth => {
    const [, serializer = '', route = ''] = /^size-(\w+)-(\w+)$/.exec(key) ?? [];
    const points = group.map((r) => ({ bytes: r.sessionBytes ?? 0, instructions: r.instructions })).sort((a, b) => a.bytes - b.bytes);
    const perKB = points
      .slice(1)
      .map((p, i) => ((p.instructions - (points[i]?.instructions ?? 0)) / (p.bytes - (points[i]?.bytes ?? 0))) * 1024);
    const shape =
      perKB.length < 2
        ? ''
        : Math.abs((perKB[1] as number) - (perKB[0] as number)) <= LINEAR_WITHIN * Math.max(...perKB)
          ? 'linear'
          : (perKB[1] as number) > (perKB[0] as number)
            ? 'faster than linear'
            : 'slower than linear';
    const slopes = perKB.map((s) => fmt(s, 0)).join(' then ');
    return {
      serializer,
      route,
      points,
      perKB,
      text: `${serializer} ${route}: ${slopes} instructions per extra KB${shape === '' ? '' : ` (${shape})`}`,
    };
  });
}

function settings(r: InstructionResults): string {
  return `Each scenario in ${r.processes} separate process(es) under \`valgrind --tool=callgrind\`, client and server in that
process over one keep-alive connection${r.nodeFlags.length === 0 ? '' : `, node \`${r.nodeFlags.join(' ')}\``}. After ${r.warmupRequests.toLocaleString('en-US')} warm-up requests,
windows of ${r.requests} requests are counted (instrumentation on for the window only) until the last three agree within
${r.windowSpread * 100}%, at most ${r.windows}; a process's count is the median of those three, a scenario's the median of its processes.
"Spread" is (highest - lowest) / median of the processes' counts; a scenario is "not settled" when a process ran out of
windows or the spread is over ${r.processSpread * 100}%. Counts are the main thread's (the request path); "all threads" adds V8's helper threads.`;
}

function countCells(row: InstructionRow): string[] {
  const each = row.processes.map((p) => `${fmt(p.instructions, 0)}${p.settled ? '' : '*'}`).join(', ');
  const spreadText = row.processes.length < 2 ? 'one process' : `${fmt(row.spread * 100, 1)}%`;
  return [fmt(row.instructions, 0), `${spreadText}${row.settled ? '' : ', not settled'}`, each];
}

/** The instruction table and its ratios. */
export function instructionsMarkdown(r: InstructionResults, when: string): string {
  const head = ['scenario', 'instructions / request', 'over bare Koa', 'spread', 'processes', 'all threads'];
  if (r.against !== undefined) head.push(`${r.against.ref} (\`${r.against.commit}\`)`, `here / ${r.against.ref}`);
  const table = markdownTable(
    head,
    r.rows.map((row) => {
      const [count = '', spreadCell = '', each = ''] = countCells(row);
      const cells = [row.label, count, row.overBare === undefined ? '' : fmt(row.overBare, 0), spreadCell, each, fmt(row.allThreads, 0)];
      if (r.against !== undefined)
        cells.push(fmt(row.reference ?? Number.NaN, 0), fmt(row.instructions / (row.reference ?? Number.NaN), 3));
      return cells;
    }),
  );
  return `## Instructions per request: \`npm run bench:instructions\`

${when} ${settings(r)} A process marked * did not settle.

${table}

${markdownRatios(r.ratios)}
`;
}

/** The size-scaling table: each serializer and route at each session size, and how the cost grows. */
export function sizesMarkdown(r: InstructionResults, when: string): string {
  const table = markdownTable(
    ['scenario', 'instructions / request', 'spread', 'processes'],
    r.rows.map((row) => [row.label, ...countCells(row)]),
  );
  const growth = sizeGrowth(r.rows);
  const sizes = growth[0]?.points.map((p) => `${p.bytes.toLocaleString('en-US')} B`) ?? [];
  const slopeHead = sizes.slice(1).map((s, i) => `per extra KB, ${sizes[i]} to ${s}`);
  const growthTable = markdownTable(
    ['serializer', 'route', ...sizes, ...slopeHead],
    growth.map((g) => [g.serializer, g.route, ...g.points.map((p) => fmt(p.instructions, 0)), ...g.perKB.map((s) => fmt(s, 0))]),
  );
  return `## Instructions per request by session size: \`npm run bench:instructions -- --sizes\`

${when} ${settings(r)} Sessions hold the benchmark's counter and user record with a cart
long enough for the session to take about the named size as JSON (msgpack's bytes are fewer).

${table}

${growthTable}

${growth.map((g) => `- ${g.text}`).join('\n')}
`;
}
