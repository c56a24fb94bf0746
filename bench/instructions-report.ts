/** What `npm run bench:instructions` records, the ratios it reports, and its sections of RESULTS.md. */

import type { ProfileEntry } from './callgrind-profile.js';
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
  /** With `--profile`: the package's functions on the request path, inclusive instructions per request. */
  profile?: ProfileEntry[];
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

/** Issue 16's goal for the kit's write and read-only overhead over bare, as a share of koa-session's. */
const OVERHEAD_GOAL = 0.25;

/** The kit scenarios held to {@link OVERHEAD_GOAL}, each beside the koa-session scenario it is measured against. */
const OVERHEAD_PAIRS = [
  ['kit-write', 'koa-session-write'],
  ['kit-read', 'koa-session-read'],
] as const;

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
    ...ratio('write over bare: kit / koa-session', over('kit-write'), over('koa-session-write'), { op: '<=', target: OVERHEAD_GOAL }),
    ...ratio('read-only over bare: kit / koa-session', over('kit-read'), over('koa-session-read'), { op: '<=', target: OVERHEAD_GOAL }),
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
${profileMarkdown(r.rows)}`;
}

/**
 * The step each of the package's modules does on the request path, and the page of docs/ (and its
 * section) stating the guarantee it keeps: a profile reads as the mandated work the goals are
 * measured against.
 */
const STEPS: Record<string, string> = {
  'src/middleware.js':
    'the middleware: a slot per request, the commit awaited before Koa answers, Set-Cookie and `Vary: Cookie` (semantics.md: Commit timing)',
  'src/slot.js': 'the per-request slot: the session loaded on the first `getSession` only (semantics.md: Lazy)',
  'src/load.js':
    'loading: cookie read, id verified (once per value), record fetched and checked for age (semantics.md: Bad input is a fresh session, Expiry)',
  'src/cookie.js': "the Cookie header read for this session's name (semantics.md: Bad input is a fresh session)",
  'src/cookie-ids.js': 'cookie value to id and store key, verified once per value (security.md: Signing the id cookie)',
  'src/setup.js': 'decoding: envelope opened, data parsed by the serializer and checked (security.md: Stored bytes are untrusted input)',
  'src/envelope.js': 'the envelope: metadata kept out of user data (semantics.md: What a store holds)',
  'src/strict/walker.js':
    'the strict walk over every value: written only if it comes back equal, decoded without pollution (security.md: Strict serializers)',
  'src/strict/encoded.js': 'the strict check before a write: every value must come back equal (security.md: Strict serializers)',
  'src/commit.js': 'the commit: data serialized and compared with what was loaded, then written (semantics.md: Save only what changed)',
  'src/conflicts.js': 'no lost updates: the per-id queue, the versioned write, its cookie line (semantics.md: Concurrent requests)',
  'src/keyed-queue.js': "the per-id queue of this process's writes (semantics.md: Concurrent requests)",
  'src/set-cookie.js': 'the Set-Cookie line (semantics.md: Expiry)',
  'stores/memory.js': 'the store itself (MemoryStore)',
};

/** The module an entry's function is in (`src/commit.js`), and its name. */
function parts(entry: ProfileEntry): { file: string; name: string } {
  const m = /^(.*) \((\S+):\d+\)$/.exec(entry.function);
  return { name: m?.[1] ?? entry.function, file: m?.[2] ?? '' };
}

/** The profiled scenarios shown: the goals' two kit scenarios and koa-session's beside them. */
const PROFILE_SHOWN: ReadonlySet<string> = new Set(OVERHEAD_PAIRS.flat());

/** Functions below this share of their scenario's overhead are left out of the table. */
const SMALLEST_SHARE = 0.01;

/**
 * The middleware's own figure is left out: inclusive, it holds everything downstream of it (the
 * handler, Koa's response), which bare Koa pays too.
 */
function isMiddleware(entry: ProfileEntry, peer: boolean): boolean {
  const { file, name } = parts(entry);
  return peer ? name === 'session' && file.endsWith('index.js') : file === 'src/middleware.js';
}

/** The largest inclusive figure among the entries `matches` picks: they nest, so the largest is the outermost. */
function outermost(profile: readonly ProfileEntry[], matches: (where: { file: string; name: string }) => boolean): number {
  return Math.max(0, ...profile.filter((e) => matches(parts(e))).map((e) => e.instructions));
}

/**
 * A missed overhead goal, split into the steps that do not nest: loading (decoding inside it),
 * committing (the strict check and the versioned write inside it), and the rest: the middleware,
 * the Session, and what Koa and Node do for the headers and promises the session adds.
 */
function missedGoal(kit: InstructionRow, peer: number): string {
  const profile = kit.profile ?? [];
  const over = kit.overBare ?? 0;
  const allowed = OVERHEAD_GOAL * peer;
  const inFile = (file: string): number => outermost(profile, (where) => where.file === file);
  const named = (name: string): number => outermost(profile, (where) => where.name === name);
  const load = inFile('src/load.js');
  const commit = inFile('src/commit.js');
  const n = (value: number): string => fmt(value, 0);
  const share = (value: number): string => `${fmt((value / over) * 100, 0)}%`;
  const inCommit =
    commit === 0
      ? ''
      : `, of it the strict check before the write (\`assertCarries\`) ${n(named('assertCarries'))} and the per-id queue with the versioned write and its cookie line (src/conflicts.js) ${n(inFile('src/conflicts.js'))}`;
  return `- ${kit.label}: the goal allows ${n(allowed)} instructions over bare (${OVERHEAD_GOAL} × koa-session's ${n(peer)}); the kit spends ${n(over)}, ${n(over - allowed)} more. Loading (src/load.js) ${n(load)} (${share(load)}), of it decoding with the strict check on read (\`decode\`) ${n(named('decode'))}; committing (src/commit.js) ${n(commit)} (${share(commit)})${inCommit}; the remaining ${n(over - load - commit)} (${share(over - load - commit)}) is outside both: the middleware and its per-request slot, \`getSession\` and the \`Session\`, and what Koa and Node do for the Set-Cookie and Vary headers and the extra promises.`;
}

/** Where each profiled scenario's instructions go, and for a goal missed, the steps that hold it. */
function profileMarkdown(rows: readonly InstructionRow[]): string {
  const profiled = rows.filter((row) => row.profile !== undefined && PROFILE_SHOWN.has(row.id));
  if (profiled.length === 0) return '';
  const table = markdownTable(
    ['scenario', 'function', 'instructions / request', 'of the overhead', 'step'],
    profiled.flatMap((row) => {
      const over = row.overBare ?? Number.NaN;
      const peer = !row.id.startsWith('kit-');
      return (row.profile ?? [])
        .filter((entry) => !isMiddleware(entry, peer) && entry.instructions >= SMALLEST_SHARE * over)
        .map((entry) => [
          row.label,
          `\`${entry.function}\``,
          fmt(entry.instructions, 0),
          `${fmt((entry.instructions / over) * 100, 0)}%`,
          peer ? "koa-session's own code" : (STEPS[parts(entry).file] ?? ''),
        ]);
    }),
  );
  const missed = OVERHEAD_PAIRS.flatMap(([kitId, peerId]) => {
    const kit = rows.find((row) => row.id === kitId);
    const peer = rows.find((row) => row.id === peerId)?.overBare;
    if (kit?.overBare === undefined || peer === undefined || kit.profile === undefined) return [];
    return kit.overBare <= OVERHEAD_GOAL * peer ? [] : [missedGoal(kit, peer)];
  });
  return `
### Where the instructions go: \`npm run bench:instructions -- --profile\`

The functions of each session library on the request path of the goals' scenarios, by inclusive instructions per
request over the first process's last counting windows (callgrind; JavaScript named through the code map V8 writes
under \`--perf-basic-prof\`). Inclusive means a function's figure holds everything it calls, V8's and Node's work
included, so the figures nest and do not add up; "of the overhead" divides by the scenario's instructions over bare
Koa. Each library's middleware function is left out: its figure holds the downstream handler too. "Step" says what the
function's module does and names the page of docs/ (and its section) stating the guarantee it keeps.

${table}
${missed.length === 0 ? '' : `\nGoals missed, split into steps that do not nest:\n\n${missed.join('\n')}\n`}`;
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
