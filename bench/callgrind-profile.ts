/**
 * `npm run bench:instructions -- --profile`: where a scenario's counted instructions go, by
 * function, from the same callgrind dumps the count comes from. C++ and V8 builtins are named by
 * the node binary's symbols; JavaScript compiled by V8 is named through the map `--perf-basic-prof`
 * writes (/tmp/perf-<pid>.map), which V8 keeps as it installs code.
 */

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import type { Counts } from './callgrind.js';
import { fmt } from './report.js';

/** Node flags for a profiled process: V8 writes the address range and name of each piece of code it makes. */
export const PROFILE_NODE_FLAGS = ['--perf-basic-prof'];

/** Functions shown per scenario. */
const TOP = 25;

interface CodeRange {
  start: number;
  end: number;
  name: string;
}

const mapFile = (pid: number): string => `/tmp/perf-${pid}.map`;

/** The JIT code map of process `pid`, sorted by address (empty when V8 wrote none). */
async function codeMap(pid: number): Promise<CodeRange[]> {
  const file = mapFile(pid);
  if (!existsSync(file)) return [];
  const ranges = (await readFile(file, 'utf8'))
    .split('\n')
    .map((line) => /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, start = '0', size = '0', name = '']) => ({ start: parseInt(start, 16), end: parseInt(start, 16) + parseInt(size, 16), name }));
  return ranges.sort((a, b) => a.start - b.start);
}

/** Deletes the code map V8 wrote for process `pid`. */
export async function removeCodeMap(pid: number): Promise<void> {
  await rm(mapFile(pid), { force: true });
}

/** The code range holding `address`; the latest one made there when V8 reused the address. */
function lookup(ranges: readonly CodeRange[], address: number): string | undefined {
  let found: CodeRange | undefined;
  for (const range of ranges) {
    if (range.start > address) break;
    if (address < range.end) found = range;
  }
  return found?.name;
}

/** Self (or inclusive) instructions per function in one callgrind dump, as callgrind_annotate names them. */
function costs(dump: string, inclusive: boolean): Map<string, number> {
  const args = ['--threshold=100', `--inclusive=${inclusive ? 'yes' : 'no'}`, dump];
  const text = execFileSync('callgrind_annotate', args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const costs = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*([\d,]+) \([\s\d.]+%\)\s+(?:\?\?\?|[^:]*):(.+?)(?: \[.*\])?$/.exec(line);
    if (m === null || m[2] === undefined || m[2] === 'PROGRAM TOTALS') continue;
    costs.set(m[2], (costs.get(m[2]) ?? 0) + Number((m[1] ?? '0').replaceAll(',', '')));
  }
  return costs;
}

/** Per function over `dumps`, JIT addresses named through `ranges`. */
function named(dumps: readonly string[], ranges: readonly CodeRange[], inclusive: boolean): Map<string, number> {
  const totals = new Map<string, number>();
  for (const dump of dumps) {
    for (const [raw, cost] of costs(dump, inclusive)) {
      const address = /^0x([0-9a-f]+)$/.exec(raw);
      const name = address === null ? raw : (lookup(ranges, parseInt(address[1] ?? '0', 16)) ?? 'JIT code not in the map');
      totals.set(name, (totals.get(name) ?? 0) + cost);
    }
  }
  return totals;
}

/** One of the package's functions in a profile: inclusive instructions per request. */
export interface ProfileEntry {
  /** The function's name and where it is, e.g. `commit (src/commit.js:11)`. */
  function: string;
  instructions: number;
}

/** `JS:*commit file:///…/dist/src/commit.js:11:23` as `commit (src/commit.js:11)`. */
function shortName(name: string): string {
  const m = /^JS:\*?(\S*) \S*\/dist\/(\S+?):(\d+):\d+$/.exec(name);
  return m === null ? name : `${m[1] === '' ? '(anonymous)' : m[1]} (${m[2]}:${m[3]})`;
}

/**
 * Prints the functions with the most self instructions per request over a process's last
 * `windows` windows, then the package's own functions (the built dist/) by inclusive instructions:
 * what each step of the request path costs with everything it calls. Returns the latter.
 */
export async function printProfile(id: string, counts: Counts, requests: number, windows: number): Promise<ProfileEntry[]> {
  const ranges = await codeMap(counts.pid);
  const dumps = counts.dumps.slice(-windows);
  const self = named(dumps, ranges, false);
  const all = [...self.values()].reduce((sum, cost) => sum + cost, 0);
  const perRequest = (cost: number): number => cost / (requests * dumps.length);
  const print = (entries: [string, number][]): void => {
    for (const [name, cost] of entries)
      console.log(`  ${fmt(perRequest(cost), 0).padStart(8)}  ${fmt((cost / all) * 100, 1).padStart(5)}%  ${name}`);
  };
  console.log(
    `profile of ${id}: self instructions per request, main thread, last ${dumps.length} window(s), ${fmt(perRequest(all), 0)} in all`,
  );
  print([...self].sort((a, b) => b[1] - a[1]).slice(0, TOP));
  // Inclusive counts add up along a call chain (and over recursion): read them one by one.
  const own = [...named(dumps, ranges, true)]
    .filter(([name]) => name.includes('/dist/'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP);
  console.log(`profile of ${id}: the package's functions, inclusive instructions per request`);
  print(own);
  return own.map(([name, cost]) => ({ function: shortName(name), instructions: perRequest(cost) }));
}
