/** The store side-by-side's numbers: medians per side and cell, the issue 16 ratios, and their tables. */

import { fmt, markdownRatios, markdownTable, median, type Ratio } from '../report.js';
import type { SideId } from './apps.js';

/** One side of the comparison: an app on one backend. */
export interface Side {
  id: SideId;
  label: string;
  backend: 'Redis' | 'PostgreSQL';
  /** `peer`: koa-session on an external store; `kit`: the kit as users get it; `variant`: the kit tuned. */
  role: 'peer' | 'kit' | 'variant';
}

/** How the load hits a server: how many clients, each on a session of its own or all on one. */
export interface Cell {
  clients: number;
  shared: boolean;
}

/** One measured round of one side in one cell. */
export interface SideRound {
  rps: number;
  cpuMicrosPerRequest: number;
  /** Bumps the server answered with a 2xx. */
  acked: number;
  /** Acknowledged bumps missing from the stored counters after the round. */
  lost: number;
  /** Writes the kit tried again after losing a version race (koa-session never checks one). */
  retries: number;
  non2xx: number;
  errors: number;
}

/** A side in a cell: a round's fields, the rates as medians over rounds and the counts as sums. */
export interface SideCell extends Cell, SideRound {
  side: SideId;
  label: string;
  backend: Side['backend'];
  rounds: SideRound[];
}

/** What `npm run bench:stores` measured. */
export interface StoresRun {
  config: { rounds: number; durationSeconds: number; warmupSeconds: number; quick: boolean };
  results: SideCell[];
  skipped: { id: string; label: string; reason: string }[];
  ratios: Ratio[];
}

/**
 * What `npm run bench:stores -- --profile` measured: each side's busy server CPU by who owns the
 * code, over the loads it ran. A run of its own: the profiler slows every server.
 */
export interface StoresProfile {
  config: StoresRun['config'];
  /** The loads profiled, as the tables name them. */
  loads: string[];
  sides: {
    side: SideId;
    label: string;
    role: Side['role'];
    backend: Side['backend'];
    cpuMicrosPerRequest: number;
    shares: { owner: string; share: number }[];
  }[];
}

/** A load as the tables name it. */
export const cellName = (cell: Cell): string =>
  cell.clients === 1 ? '1 client' : `${cell.clients} clients, ${cell.shared ? 'one session' : 'a session each'}`;

/** A side's rounds in one cell: medians of the rates, sums of the counts. */
export function summarizeSide(side: Side, cell: Cell, rounds: SideRound[]): SideCell {
  const sum = (key: keyof SideRound): number => rounds.reduce((total, round) => total + round[key], 0);
  return {
    ...cell,
    side: side.id,
    label: side.label,
    backend: side.backend,
    rps: median(rounds.map((round) => round.rps)),
    cpuMicrosPerRequest: median(rounds.map((round) => round.cpuMicrosPerRequest)),
    acked: sum('acked'),
    lost: sum('lost'),
    retries: sum('retries'),
    non2xx: sum('non2xx'),
    errors: sum('errors'),
    rounds,
  };
}

/** a/b of req/s (or b/a of CPU per request), per round and then the median: both ran seconds apart in each round. */
function pairRatio(a: SideCell, b: SideCell, key: 'rps' | 'cpuMicrosPerRequest'): number {
  const count = Math.min(a.rounds.length, b.rounds.length);
  const samples = Array.from({ length: count }, (_, i) => (a.rounds[i] as SideRound)[key] / (b.rounds[i] as SideRound)[key]);
  return median(samples);
}

/**
 * Issue 16's ratios for each cell where both sides ran: the kit against koa-session on req/s (with
 * the goals: ≥ 2 at 100 clients with a session each, ≥ 1 with every client on one session and no
 * update lost), on CPU per request, and the tuned kit against the plain one.
 */
export function sideRatios(results: readonly SideCell[], sides: readonly Side[]): Ratio[] {
  const list: Ratio[] = [];
  const find = (role: Side['role'], backend: Side['backend'], cell: Cell): SideCell | undefined => {
    const ids = sides.filter((s) => s.role === role && s.backend === backend).map((s) => s.id);
    return results.find((r) => ids.includes(r.side) && r.clients === cell.clients && r.shared === cell.shared);
  };
  for (const result of results) {
    const side = sides.find((s) => s.id === result.side);
    if (side === undefined || side.role === 'peer') continue;
    const peer = find('peer', side.backend, result);
    const where = `${side.backend}, ${cellName(result)}`;
    if (peer !== undefined) {
      const value = pairRatio(result, peer, 'rps');
      const ratio: Ratio = {
        name: `${side.label} / ${peer.label}, req/s, ${where}`,
        value,
        detail: `${fmt(result.rps, 0)} / ${fmt(peer.rps, 0)} req/s; CPU ${fmt(result.cpuMicrosPerRequest, 0)} / ${fmt(peer.cpuMicrosPerRequest, 0)} µs/req (${fmt(pairRatio(result, peer, 'cpuMicrosPerRequest'), 2)}x); lost ${result.lost} / ${peer.lost}`,
      };
      const goal = side.role !== 'kit' ? undefined : result.clients === 100 && !result.shared ? 2 : result.shared ? 1 : undefined;
      if (goal !== undefined) {
        ratio.goal = { op: '>=', target: goal };
        // "Level while losing no update": a lost update misses the goal whatever the speed.
        ratio.met = value >= goal && (!result.shared || result.lost === 0);
      }
      list.push(ratio);
    }
    if (peer !== undefined && side.role === 'kit') {
      // The steadier measure on a shared machine: each side's own CPU, whatever the neighbours did to req/s.
      list.push({
        name: `server CPU per request, ${peer.label} / ${side.label}, ${where}`,
        value: 1 / pairRatio(result, peer, 'cpuMicrosPerRequest'),
        detail: `${fmt(peer.cpuMicrosPerRequest, 0)} / ${fmt(result.cpuMicrosPerRequest, 0)} µs/req (medians)`,
      });
    }
    const plain = side.role === 'variant' ? find('kit', side.backend, result) : undefined;
    if (plain !== undefined) {
      list.push({
        name: `${side.label} / ${plain.label}, req/s, ${where}`,
        value: pairRatio(result, plain, 'rps'),
        detail: `${fmt(result.rps, 0)} / ${fmt(plain.rps, 0)} req/s; CPU ${fmt(result.cpuMicrosPerRequest, 0)} / ${fmt(plain.cpuMicrosPerRequest, 0)} µs/req`,
      });
    }
  }
  return list;
}

const HEAD = ['load', 'side', 'req/s', 'rounds ±', 'server CPU µs/req', 'bumps acknowledged', 'updates lost', 'retries', 'non-2xx+err'];

function rows(results: readonly SideCell[]): string[][] {
  return results.map((r) => [
    cellName(r),
    r.label,
    fmt(r.rps, 0),
    `±${fmt((50 * (Math.max(...r.rounds.map((x) => x.rps)) - Math.min(...r.rounds.map((x) => x.rps)))) / r.rps, 0)}%`,
    fmt(r.cpuMicrosPerRequest, 0),
    String(r.acked),
    r.lost === 0 ? '0' : `${r.lost} (${fmt((r.lost / Math.max(1, r.acked)) * 100, 1)}%)`,
    String(r.retries),
    String(r.non2xx + r.errors),
  ]);
}

/** The section of bench/RESULTS.md; `when` says when, where and on which commit. */
export function storesSection(run: StoresRun, when: string): string {
  const { config, results, skipped, ratios } = run;
  const backends = [...new Set(results.map((r) => r.backend))];
  const table = (backend: string): string => {
    const lines = markdownTable(HEAD, rows(results.filter((r) => r.backend === backend))).split('\n');
    // The side is text: aligned left like the load.
    lines[1] = lines[1]?.replace(/^\| --- \| ---: \|/, '| --- | --- |') ?? '';
    return `### ${backend}\n\n${lines.join('\n')}\n`;
  };
  const tables = backends.map(table).join('\n');
  const notRun = skipped.length === 0 ? '' : `\nNot measured in this run: ${skipped.map((s) => `${s.label} (${s.reason})`).join('; ')}.\n`;
  return `## Stores side by side: \`npm run bench:stores\`

${when} ${config.rounds} interleaved round(s) of ${config.durationSeconds} s per side and load after a ${config.warmupSeconds} s warm-up.
Every request reads its session and bumps its client's own counter in it. req/s and CPU are medians over
rounds ("rounds ±": half the spread of req/s over the rounds); "bumps acknowledged" (2xx answers) and
"updates lost" (acknowledged bumps the stored counters do not hold afterwards) are sums over the rounds. The file store is not compared: npm
has no file store for koa-session (see bench/README.md).

${tables}${notRun}
### Ratios

Issue 16's goals: the kit at least 2x koa-session's req/s at 100 clients with a session each, at least
level with every client on one session while losing no update. Each ratio is the median over rounds of
the two sides' ratio within a round.

${markdownRatios(ratios)}
`;
}

/** Shares below this are summed into one row. */
const SMALLEST_SHARE = 0.01;

/** Each side's server CPU by package, from a profiled run. */
export function storesProfileSection(run: StoresProfile, when: string): string {
  const rows = run.sides.flatMap(({ label, shares, cpuMicrosPerRequest }) => {
    const shown = shares.filter((s) => s.share >= SMALLEST_SHARE);
    const rest = shares.filter((s) => s.share < SMALLEST_SHARE).reduce((sum, s) => sum + s.share, 0);
    const cell = (owner: string, share: number): string[] => [label, owner, `${fmt(share * 100, 1)}%`, fmt(share * cpuMicrosPerRequest, 0)];
    const cells = shown.map((s) => cell(s.owner, s.share));
    return rest > 0 ? [...cells, cell(`${shares.length - shown.length} others`, rest)] : cells;
  });
  return `## Where each store server's CPU goes: \`npm run bench:stores -- --profile\`

${when} A run of its own, ${run.config.rounds} round(s) of ${run.config.durationSeconds} s at ${run.loads.join(', ')}, every server under
\`--cpu-prof\`: the profiler's sampling slows every server alike, so these req/s and CPU figures are not the side by
side's. Each side's busy server CPU, by who owns the code that was running: this package (its built \`dist/\`), each
npm package, Node's own JavaScript, the garbage collector, and native code outside JavaScript (sockets, HTTP parsing,
compilation); "µs/req" is that share of the side's median CPU per request in this run. What a session library can
still win is at most its own rows (the kit's \`koa-session-kit\`; the peer's \`koa-session\`, \`koa-redis\` and their
helpers); the rest is Koa, the store's client (koa-redis brings ioredis 4), Node and V8, which every side pays for.
Work a library asks of Node (its headers, its hashing, its socket writes) counts under Node's rows, so "its own code
free" below is a bound a library could only approach.

${markdownTable(['side', 'code', 'share of busy CPU', 'µs/req'], rows)}
${bounds(run).join('\n')}
`;
}

/** The packages that are the session library itself on each side. */
const LIBRARY: Record<Side['role'], readonly string[]> = {
  // koa-redis 4 ships Babel's runtime and wraps its methods with co (co-wrap-all).
  peer: ['koa-session', 'koa-redis', 'cookies', 'keygrip', '@babel/runtime', 'co', 'co-wrap-all'],
  kit: ['koa-session-kit'],
  variant: ['koa-session-kit'],
};

/** The share of busy CPU that `owners` hold together. */
function shareOf(shares: readonly { owner: string; share: number }[], owners: readonly string[]): number {
  return shares.filter((s) => owners.includes(s.owner)).reduce((sum, s) => sum + s.share, 0);
}

/**
 * For each kit side, what its server would spend per request with its own code free, against its
 * peer's whole cost: the most any change to the kit could win over that peer on this backend.
 */
function bounds(run: StoresProfile): string[] {
  return run.sides
    .filter((kit) => kit.role === 'kit')
    .flatMap((kit) => {
      const peer = run.sides.find((s) => s.role === 'peer' && s.backend === kit.backend);
      if (peer === undefined) return [];
      const own = shareOf(kit.shares, LIBRARY.kit);
      const peerOwn = shareOf(peer.shares, LIBRARY.peer);
      const floor = kit.cpuMicrosPerRequest * (1 - own);
      return [
        `\n- ${kit.label}: its own code is ${fmt(own * 100, 1)}% of its CPU (${fmt(own * kit.cpuMicrosPerRequest, 0)} µs/req; the peer's session code ${fmt(peerOwn * 100, 1)}%, ${fmt(peerOwn * peer.cpuMicrosPerRequest, 0)} µs/req). With its own code free it would still spend ${fmt(floor, 0)} µs/req, ${fmt(floor / peer.cpuMicrosPerRequest, 2)}x ${peer.label}'s ${fmt(peer.cpuMicrosPerRequest, 0)}: on CPU per request it can be at most ${fmt(peer.cpuMicrosPerRequest / floor, 2)}x ahead of that peer here.`,
      ];
    });
}

/** The plain-text table for stdout. */
export function consoleTable(results: readonly SideCell[], ratios: readonly Ratio[]): string {
  const table = [HEAD, ...rows(results)];
  const widths = HEAD.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]): string => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const goals = ratios.map(
    (r) =>
      `${fmt(r.value, 2).padStart(6)}  ${r.goal === undefined ? '' : `(goal ≥ ${r.goal.target}: ${r.met ? 'met' : 'MISSED'}) `}${r.name}: ${r.detail}`,
  );
  return `${table.map(line).join('\n')}\n\n${goals.join('\n')}`;
}
