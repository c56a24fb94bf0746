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

/** The JIT code map of process `pid`, sorted by address (empty when V8 wrote none). */
async function codeMap(pid: number): Promise<CodeRange[]> {
  const file = `/tmp/perf-${pid}.map`;
  if (!existsSync(file)) return [];
  const ranges = (await readFile(file, 'utf8'))
    .split('\n')
    .map((line) => /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, start = '0', size = '0', name = '']) => ({ start: parseInt(start, 16), end: parseInt(start, 16) + parseInt(size, 16), name }));
  await rm(file, { force: true });
  return ranges.sort((a, b) => a.start - b.start);
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

/** Self instructions per function in one callgrind dump, as callgrind_annotate names them. */
function selfCosts(dump: string): Map<string, number> {
  const text = execFileSync('callgrind_annotate', ['--threshold=100', dump], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const costs = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*([\d,]+) \([\s\d.]+%\)\s+(?:\?\?\?|[^:]*):(.+?)(?: \[.*\])?$/.exec(line);
    if (m === null || m[2] === undefined || m[2] === 'PROGRAM TOTALS') continue;
    costs.set(m[2], (costs.get(m[2]) ?? 0) + Number((m[1] ?? '0').replaceAll(',', '')));
  }
  return costs;
}

/** Prints the functions with the most self instructions per request over a process's last `windows` windows. */
export async function printProfile(id: string, counts: Counts, requests: number, windows: number): Promise<void> {
  const ranges = await codeMap(counts.pid);
  const dumps = counts.dumps.slice(-windows);
  const totals = new Map<string, number>();
  let all = 0;
  for (const dump of dumps) {
    for (const [raw, cost] of selfCosts(dump)) {
      const address = /^0x([0-9a-f]+)$/.exec(raw);
      const name = address === null ? raw : (lookup(ranges, parseInt(address[1] ?? '0', 16)) ?? 'JIT code not in the map');
      totals.set(name, (totals.get(name) ?? 0) + cost);
      all += cost;
    }
  }
  const perRequest = (cost: number): number => cost / (requests * dumps.length);
  console.log(
    `profile of ${id}: self instructions per request, main thread, last ${dumps.length} window(s), ${fmt(perRequest(all), 0)} in all`,
  );
  for (const [name, cost] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    console.log(`  ${fmt(perRequest(cost), 0).padStart(8)}  ${fmt((cost / all) * 100, 1).padStart(5)}%  ${name}`);
  }
}
