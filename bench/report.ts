/** Turns measured rounds into medians, the goal ratios, the comparison with a reference, and tables. */

import type { Scenario } from './scenarios.js';

/** One measured round of one scenario. */
export interface Round {
  rps: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Server CPU (user + system) per request served, µs. */
  cpuMicrosPerRequest: number;
  /** The user-space part of it: the JavaScript, without the kernel's socket work. */
  userMicrosPerRequest: number;
  /** Server CPU time over wall time: near 1 means the server, not the client, was the limit. */
  serverCpuShare: number;
  clientCpuMicrosPerRequest: number;
  non2xx: number;
  errors: number;
}

/** A scenario's medians over its rounds. */
export interface Summary extends Omit<Round, 'latencyP50Ms'> {
  id: string;
  label: string;
  /** (max - min) / median of the rounds' req/s: how much the machine moved under this row. */
  rpsSpread: number;
  rounds: Round[];
}

/** One ratio the issues name, with its goal when they give one. */
export interface Ratio {
  name: string;
  value: number;
  /** `>= 2`, `<= 0.25`, or undefined for a ratio reported without a goal. */
  goal?: { op: '>=' | '<='; target: number };
  met?: boolean;
  detail: string;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function summarize(scenario: Scenario, rounds: Round[]): Summary {
  const pick = (key: keyof Round): number => median(rounds.map((round) => round[key]));
  return {
    id: scenario.id,
    label: scenario.label,
    rps: pick('rps'),
    latencyP99Ms: pick('latencyP99Ms'),
    cpuMicrosPerRequest: pick('cpuMicrosPerRequest'),
    userMicrosPerRequest: pick('userMicrosPerRequest'),
    serverCpuShare: pick('serverCpuShare'),
    clientCpuMicrosPerRequest: pick('clientCpuMicrosPerRequest'),
    non2xx: rounds.reduce((sum, round) => sum + round.non2xx, 0),
    errors: rounds.reduce((sum, round) => sum + round.errors, 0),
    rpsSpread: (Math.max(...rounds.map((r) => r.rps)) - Math.min(...rounds.map((r) => r.rps))) / pick('rps'),
    rounds,
  };
}

/**
 * Throughput ratio a/b: the median over rounds of a's req/s over b's in the same round. Both ran
 * seconds apart within each round, so a machine that speeds up or slows down over minutes moves
 * both sides of each sample alike.
 */
function rpsRatio(by: Map<string, Summary>, name: string, a: string, b: string, goal?: Ratio['goal']): Ratio | undefined {
  const x = by.get(a);
  const y = by.get(b);
  if (x === undefined || y === undefined) return undefined;
  const value = median(pairs(x, y).map(([p, q]) => (p as Round).rps / (q as Round).rps));
  return finish({ name, value, detail: `${fmt(x.rps, 0)} / ${fmt(y.rps, 0)} req/s (medians)` }, goal);
}

/**
 * A store against its bare driver (`<kit>-write` vs `<bare>-write`, the same for read):
 * req/s ratios, with the goal when the issue gives one, then server CPU per request ratios (kit
 * over bare: above 1 is what the kit costs more).
 */
function driverRatios(
  by: Map<string, Summary>,
  [store, kit]: [label: string, id: string],
  [driver, bare]: [label: string, id: string],
  goal?: Ratio['goal'],
): (Ratio | undefined)[] {
  const pairsOf = (['write', 'read'] as const).map((route) => [route, `${kit}-${route}`, `${bare}-${route}`] as const);
  return [
    ...pairsOf.map(([route, a, b]) => rpsRatio(by, `${store} ${route} vs bare driver (${driver})`, a, b, goal)),
    ...pairsOf.map(([route, a, b]) => cpuPerRequestRatio(by, `${store} ${route} vs bare driver (${driver}), server CPU per request`, a, b)),
  ];
}

/** Server CPU per request a/b: the median over rounds of the ratio within each round. */
function cpuPerRequestRatio(by: Map<string, Summary>, name: string, a: string, b: string): Ratio | undefined {
  const x = by.get(a);
  const y = by.get(b);
  if (x === undefined || y === undefined) return undefined;
  const value = median(pairs(x, y).map(([p, q]) => (p as Round).cpuMicrosPerRequest / (q as Round).cpuMicrosPerRequest));
  return { name, value, detail: `${fmt(x.cpuMicrosPerRequest, 1)} / ${fmt(y.cpuMicrosPerRequest, 1)} µs (medians)` };
}

/** Rounds of scenarios side by side: round i of each. */
function pairs(...summaries: Summary[]): Round[][] {
  const count = Math.min(...summaries.map((summary) => summary.rounds.length));
  return Array.from({ length: count }, (_, i) => summaries.map((summary) => summary.rounds[i] as Round));
}

function finish(ratio: Ratio, goal?: Ratio['goal']): Ratio {
  if (goal === undefined) return ratio;
  const met = goal.op === '>=' ? ratio.value >= goal.target : ratio.value <= goal.target;
  return { ...ratio, goal, met };
}

/** Every ratio the issues name (7's goals, 4's file baseline, 5's and 15's bare drivers), for the scenarios that ran. */
export function ratios(summaries: readonly Summary[]): Ratio[] {
  const by = new Map(summaries.map((summary) => [summary.id, summary]));
  const list: (Ratio | undefined)[] = [
    rpsRatio(by, 'write vs koa-session', 'kit-write', 'koa-session-write', { op: '>=', target: 2 }),
    rpsRatio(by, 'write vs bare Koa', 'kit-write', 'bare', { op: '>=', target: 0.45 }),
    rpsRatio(by, 'read-only vs koa-session', 'kit-read', 'koa-session-read', { op: '>=', target: 2 }),
    rpsRatio(by, 'read-only vs bare Koa', 'kit-read', 'bare', { op: '>=', target: 0.6 }),
    rpsRatio(by, 'untouched vs bare Koa', 'kit-untouched', 'bare', { op: '>=', target: 0.95 }),
    cpuRatio(by, 'kit-write', 'cpuMicrosPerRequest'),
    cpuRatio(by, 'kit-write', 'userMicrosPerRequest'),
    // The floor (bench/floor.ts): what the design's mandatory work alone reaches, and the kit against it.
    rpsRatio(by, 'floor write vs koa-session', 'floor-write', 'koa-session-write'),
    rpsRatio(by, 'floor write vs bare Koa', 'floor-write', 'bare'),
    rpsRatio(by, 'floor read-only vs bare Koa', 'floor-read', 'bare'),
    cpuRatio(by, 'floor-write', 'cpuMicrosPerRequest'),
    rpsRatio(by, 'kit write vs floor', 'kit-write', 'floor-write'),
    rpsRatio(by, 'kit read-only vs floor', 'kit-read', 'floor-read'),
    rpsRatio(by, 'empty async middleware vs bare Koa (the untouched floor)', 'bare-middleware', 'bare'),
    rpsRatio(by, 'untouched vs the empty async middleware', 'kit-untouched', 'bare-middleware'),
    rpsRatio(by, 'first visit vs bare Koa', 'kit-first-visit', 'bare'),
    rpsRatio(by, 'koa-session untouched vs bare Koa', 'koa-session-untouched', 'bare'),
    rpsRatio(by, 'superjson write vs JSON write', 'kit-superjson-write', 'kit-write'),
    rpsRatio(by, 'msgpack write vs JSON write', 'kit-msgpack-write', 'kit-write'),
    rpsRatio(by, 'FileStore write vs naive files', 'file-write', 'naive-file-write'),
    rpsRatio(by, 'FileStore (fsync: false) write vs naive files', 'file-nofsync-write', 'naive-file-write'),
    rpsRatio(by, 'FileStore read vs naive files', 'file-read', 'naive-file-read'),
    // What the kit and each database store cost over the store's own statements through its bare
    // driver (issues 5 and 15): in req/s, and in server CPU per request, which a loaded machine
    // moves less (the database's own CPU is in neither).
    ...driverRatios(by, ['PostgresStore', 'postgres'], ['pg', 'bare-pg'], { op: '>=', target: 0.9 }),
    ...driverRatios(by, ['MySQLStore', 'mysql'], ['mysql2', 'bare-mysql']),
    ...driverRatios(by, ['SQLiteStore', 'sqlite'], ['better-sqlite3', 'bare-sqlite']),
    ...driverRatios(by, ['RedisStore', 'redis'], ['ioredis', 'bare-redis']),
    rpsRatio(by, 'MySQLStore write vs bare Koa', 'mysql-write', 'bare'),
    rpsRatio(by, 'MySQLStore read vs bare Koa', 'mysql-read', 'bare'),
    rpsRatio(by, 'SQLiteStore write vs bare Koa', 'sqlite-write', 'bare'),
    rpsRatio(by, 'SQLiteStore read vs bare Koa', 'sqlite-read', 'bare'),
    rpsRatio(by, 'RedisStore write vs bare Koa', 'redis-write', 'bare'),
    rpsRatio(by, 'RedisStore read vs bare Koa', 'redis-read', 'bare'),
    rpsRatio(by, 'CookieStore write vs bare Koa', 'cookie-write', 'bare'),
    rpsRatio(by, 'CookieStore read vs bare Koa', 'cookie-read', 'bare'),
  ];
  return list.filter((ratio): ratio is Ratio => ratio !== undefined);
}

/**
 * Session CPU per write request over bare Koa, the kit's (or the floor's) as a share of
 * koa-session's, per round and then the median: on all CPU time (the goal) and, for reference, on
 * user time alone (the JavaScript without the kernel's socket work).
 */
function cpuRatio(
  by: Map<string, Summary>,
  subject: 'kit-write' | 'floor-write',
  key: 'cpuMicrosPerRequest' | 'userMicrosPerRequest',
): Ratio | undefined {
  const bare = by.get('bare');
  const kit = by.get(subject);
  const koa = by.get('koa-session-write');
  if (bare === undefined || kit === undefined || koa === undefined) return undefined;
  const samples = pairs(bare, kit, koa).map(
    ([b, k, o]) => ((k as Round)[key] - (b as Round)[key]) / ((o as Round)[key] - (b as Round)[key]),
  );
  const user = key === 'userMicrosPerRequest';
  const detail = `${fmt(kit[key] - bare[key], 1)} / ${fmt(koa[key] - bare[key], 1)} µs (medians)`;
  const name = `session ${user ? 'user ' : ''}CPU per write over bare: ${subject === 'kit-write' ? 'kit' : 'floor'} / koa-session`;
  return finish({ name, value: median(samples), detail }, user || subject !== 'kit-write' ? undefined : { op: '<=', target: 0.25 });
}

/** One scenario measured in this tree and in the reference, round by round in the same run. */
export interface Comparison {
  id: string;
  label: string;
  /** Medians over rounds of this tree's value over the reference's within the round. */
  rpsRatio: number;
  cpuRatio: number;
  current: { rps: number; cpuMicrosPerRequest: number };
  reference: { rps: number; cpuMicrosPerRequest: number };
}

/** This tree's scenarios against the reference's, for each id measured on both sides. */
export function compare(current: readonly Summary[], reference: readonly Summary[]): Comparison[] {
  const theirs = new Map(reference.map((summary) => [summary.id, summary]));
  return current.flatMap((ours) => {
    const ref = theirs.get(ours.id);
    if (ref === undefined) return [];
    const rounds = pairs(ours, ref);
    const ratio = (key: 'rps' | 'cpuMicrosPerRequest'): number => median(rounds.map(([a, b]) => (a as Round)[key] / (b as Round)[key]));
    const side = (s: Summary): Comparison['current'] => ({ rps: s.rps, cpuMicrosPerRequest: s.cpuMicrosPerRequest });
    return [
      {
        id: ours.id,
        label: ours.label,
        rpsRatio: ratio('rps'),
        cpuRatio: ratio('cpuMicrosPerRequest'),
        current: side(ours),
        reference: side(ref),
      },
    ];
  });
}

const COMPARISON_HEAD = ['scenario', 'req/s here', 'req/s ref', 'here / ref', 'CPU µs/req here', 'CPU µs/req ref', 'here / ref'];

function comparisonRows(list: readonly Comparison[]): string[][] {
  return list.map((c) => [
    c.label,
    fmt(c.current.rps, 0),
    fmt(c.reference.rps, 0),
    fmt(c.rpsRatio, 3),
    fmt(c.current.cpuMicrosPerRequest, 1),
    fmt(c.reference.cpuMicrosPerRequest, 1),
    fmt(c.cpuRatio, 3),
  ]);
}

export function fmt(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function goalText(ratio: Ratio): string {
  if (ratio.goal === undefined) return '';
  return `${ratio.goal.op === '>=' ? '≥' : '≤'} ${ratio.goal.target}`;
}

function verdict(ratio: Ratio): string {
  if (ratio.met === undefined) return '';
  return ratio.met ? 'met' : 'MISSED';
}

function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

export function scenarioRows(summaries: readonly Summary[]): string[][] {
  return summaries.map((s) => [
    s.label,
    fmt(s.rps, 0),
    `±${fmt((s.rpsSpread * 100) / 2, 0)}%`,
    fmt(s.latencyP99Ms, 0),
    fmt(s.cpuMicrosPerRequest, 1),
    fmt(s.userMicrosPerRequest, 1),
    `${fmt(s.serverCpuShare * 100, 0)}%`,
    s.non2xx + s.errors === 0 ? '0' : String(s.non2xx + s.errors),
  ]);
}

const HEAD = ['scenario', 'req/s', 'rounds ±', 'p99 ms', 'server CPU µs/req', 'of it user', 'server CPU', 'non-2xx+err'];

/** The plain-text tables for stdout. */
export function consoleTables(summaries: readonly Summary[], list: readonly Ratio[], comparison?: readonly Comparison[]): string {
  const ratioRows = list.map((r) => [r.name, fmt(r.value, 3), goalText(r), verdict(r), r.detail]);
  const against = comparison === undefined ? '' : `\n\n${columns([COMPARISON_HEAD, ...comparisonRows(comparison)])}`;
  return `${columns([HEAD, ...scenarioRows(summaries)])}\n\n${columns([['ratio', 'value', 'goal', '', 'from'], ...ratioRows])}${against}`;
}

/** A Markdown table. */
export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  const align = head.map((_, i) => (i === 0 ? '---' : '---:'));
  return [line(head), line(align), ...rows.map(line)].join('\n');
}

export function markdownScenarios(summaries: readonly Summary[]): string {
  return markdownTable(HEAD, scenarioRows(summaries));
}

export function markdownComparison(list: readonly Comparison[]): string {
  return markdownTable(COMPARISON_HEAD, comparisonRows(list));
}

export function markdownRatios(list: readonly Ratio[]): string {
  return markdownTable(
    ['ratio', 'value', 'goal', '', 'from'],
    list.map((r) => [r.name, fmt(r.value, 3), goalText(r), verdict(r), r.detail]),
  );
}
