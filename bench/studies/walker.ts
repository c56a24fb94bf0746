/**
 * Study: what the read-once strict walker costs, against the walker before it (commit fa4eb7c by
 * default), in one process. `npx tsx bench/studies/walker.ts [--against <ref>] [--rounds N] [--parts]`.
 *
 * - Default: encode and decode CPU µs per call for json, superjson and msgpack, on the bench's
 *   session (bench/handlers.ts: a counter and a small user) and on the typical session of
 *   ./serializers.ts, the two implementations alternating slice by slice; medians over rounds, and
 *   the median of the per-round ratios (now / before).
 * - `--parts`: the walker's pieces on the typical session, each alone (a descriptor per key, one
 *   getOwnPropertyDescriptors per object, isProxy, the symbol-key check, Object.keys against for-in,
 *   JSON.stringify), so a change to the walk can be priced before it is made.
 *
 * The reference is taken from git at run time, as `npm run bench -- --against <ref>` does
 * (bench/against.ts): `git archive` of the ref into a temp directory, this tree's node_modules
 * linked (the serializers' dependencies are the same), its own `npm run build`, removed at the end.
 * This tree is built too, and both sides load the built `dist/serializers/*.js`, so both go
 * through the same compiler. CPU time (process.cpuUsage) rather than wall time: on a shared
 * machine a slice that waits for a core is not counted.
 */

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { types } from 'node:util';
import type { Serializer } from '../../src/serializer.js';
import { prepareReference } from '../against.js';
import { benchUser } from '../handlers.js';
import { build } from '../harness.js';
import { ROOT } from '../package.js';
import { typicalSession } from './serializers.js';

let sink: unknown;

/** CPU µs per call of `fn` over `calls` calls. */
function cpuPerCall(fn: () => unknown, calls: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) sink = fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / calls;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/**
 * Runs every case once per round, in an order that rotates each round (so none always goes first
 * after another's garbage), after three rounds of warm-up; the medians per case.
 */
function alternate(cases: Readonly<Record<string, () => unknown>>, calls: number, rounds: number): Record<string, number[]> {
  const names = Object.keys(cases);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = -3; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round + 3) % names.length] as string;
      const us = cpuPerCall(cases[name] as () => unknown, calls);
      if (round >= 0) samples[name]?.push(us);
    }
  }
  return samples;
}

/** The session the bench's `/write` stores (bench/handlers.ts). */
function benchSession(): Record<string, unknown> {
  return { views: 7, user: benchUser() };
}

interface Row {
  serializer: string;
  session: string;
  before: { encode: number; decode: number };
  now: { encode: number; decode: number };
  /** Medians of the per-round ratios now / before. */
  ratio: { encode: number; decode: number };
}

function compare(name: string, session: string, before: Serializer, now: Serializer, value: unknown, rounds: number): Row {
  const bytesBefore = before.serialize(value);
  const bytesNow = now.serialize(value);
  const calls = session === 'bench' ? 10_000 : 1_000;
  const samples = alternate(
    {
      encodeBefore: () => before.serialize(value),
      encodeNow: () => now.serialize(value),
      decodeBefore: () => before.deserialize(bytesBefore),
      decodeNow: () => now.deserialize(bytesNow),
    },
    calls,
    rounds,
  );
  const at = (key: string): number[] => samples[key] ?? [];
  const ratios = (a: number[], b: number[]): number => median(a.map((x, i) => x / (b[i] ?? Number.NaN)));
  return {
    serializer: name,
    session,
    before: { encode: median(at('encodeBefore')), decode: median(at('decodeBefore')) },
    now: { encode: median(at('encodeNow')), decode: median(at('decodeNow')) },
    ratio: { encode: ratios(at('encodeNow'), at('encodeBefore')), decode: ratios(at('decodeNow'), at('decodeBefore')) },
  };
}

const SERIALIZERS = ['json', 'superjson', 'msgpack'] as const;

/** The factories (`jsonSerializer`, ...) of the package built in `root`'s dist/. */
async function builtSerializers(root: string): Promise<Record<string, () => Serializer>> {
  const factories: Record<string, () => Serializer> = {};
  for (const name of SERIALIZERS) {
    const file = join(root, 'dist', 'serializers', `${name}.js`);
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const factory = module[`${name}Serializer`];
    if (typeof factory !== 'function') throw new Error(`walker study: ${file} does not export \`${name}Serializer\``);
    // Every version's factory takes optional options and returns the Serializer contract.
    factories[name] = factory as () => Serializer;
  }
  return factories;
}

/** Every serializer on both sessions: the typical one with Dates where the serializer carries them. */
export function runWalkerStudy(
  before: Readonly<Record<string, () => Serializer>>,
  now: Readonly<Record<string, () => Serializer>>,
  rounds: number,
): Row[] {
  const rows: Row[] = [];
  for (const name of SERIALIZERS) {
    const [b, n] = [before[name] as () => Serializer, now[name] as () => Serializer];
    rows.push(compare(name, 'bench', b(), n(), benchSession(), rounds));
    rows.push(compare(name, 'typical', b(), n(), typicalSession(name !== 'json'), rounds));
  }
  return rows;
}

/** The objects of a value, plain ones and arrays apart. */
function objectsOf(value: unknown): { plain: object[]; arrays: unknown[][] } {
  const plain: object[] = [];
  const arrays: unknown[][] = [];
  const visit = (v: unknown): void => {
    if (typeof v !== 'object' || v === null) return;
    if (Array.isArray(v)) arrays.push(v);
    else plain.push(v);
    for (const key in v) visit((v as Record<string, unknown>)[key]);
  };
  visit(value);
  return { plain, arrays };
}

/** The walker's pieces, each over every object of the typical session (JSON form). */
export function runParts(rounds: number): Record<string, number> {
  const value = typicalSession(false);
  const { plain, arrays } = objectsOf(value);
  const all = [...plain, ...arrays];
  const lookupGetter = (Object.prototype as unknown as { __lookupGetter__: (this: object, key: PropertyKey) => unknown }).__lookupGetter__;
  let n = 0;
  const cases: Record<string, () => unknown> = {
    'isProxy, per object': () => all.forEach((o) => types.isProxy(o) && n++),
    'getPrototypeOf, per object': () => all.forEach((o) => Object.getPrototypeOf(o) === null && n++),
    'getOwnPropertySymbols, per object': () => all.forEach((o) => (n += Object.getOwnPropertySymbols(o).length)),
    'getOwnPropertyNames, per plain object': () => plain.forEach((o) => (n += Object.getOwnPropertyNames(o).length)),
    'Object.keys, per plain object': () => plain.forEach((o) => (n += Object.keys(o).length)),
    'Reflect.ownKeys, per plain object': () => plain.forEach((o) => (n += Reflect.ownKeys(o).length)),
    'for-in and read': () =>
      plain.forEach((o) => {
        for (const key in o) if ((o as Record<string, unknown>)[key] === 1) n++;
      }),
    'for-in and a descriptor per key': () =>
      plain.forEach((o) => {
        for (const key in o) if (Object.getOwnPropertyDescriptor(o, key)?.writable === undefined) n++;
      }),
    'getOwnPropertyDescriptors, per plain object': () =>
      plain.forEach((o) => (n += Object.keys(Object.getOwnPropertyDescriptors(o)).length)),
    'for-in and __lookupGetter__ per key': () =>
      plain.forEach((o) => {
        for (const key in o) if (lookupGetter.call(o, key) !== undefined) n++;
      }),
    '__lookupGetter__, per array element': () =>
      arrays.forEach((a) => {
        for (let i = 0; i < a.length; i++) if (lookupGetter.call(a, i) !== undefined) n++;
      }),
    'Object.keys, per array': () => arrays.forEach((a) => (n += Object.keys(a).length)),
    'JSON.stringify, whole session': () => JSON.stringify(value),
  };
  const samples = alternate(cases, 2_000, rounds);
  void n;
  return Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, median(s)]));
}

const f = (n: number): string => n.toFixed(2).padStart(7);

function printRows(rows: readonly Row[]): void {
  console.log('serializer  session   encode µs: before    now  now/before | decode µs: before    now  now/before');
  for (const r of rows) {
    console.log(
      `${r.serializer.padEnd(10)}  ${r.session.padEnd(8)}  ${' '.repeat(9)}${f(r.before.encode)}${f(r.now.encode)}  ${r.ratio.encode.toFixed(3).padStart(10)} | ${' '.repeat(9)}${f(r.before.decode)}${f(r.now.decode)}  ${r.ratio.decode.toFixed(3).padStart(10)}`,
    );
  }
}

const { values } = parseArgs({
  options: {
    against: { type: 'string', default: 'fa4eb7c' },
    rounds: { type: 'string', default: '31' },
    parts: { type: 'boolean', default: false },
  },
  strict: true,
});
const rounds = Number(values.rounds);
if (values.parts) {
  const { plain, arrays } = objectsOf(typicalSession(false));
  console.log(`typical session: ${plain.length} plain objects, ${arrays.length} arrays; CPU µs per session, median of ${rounds} rounds`);
  for (const [name, us] of Object.entries(runParts(rounds))) console.log(`${name.padEnd(44)}${f(us)}`);
} else {
  build(ROOT);
  const reference = await prepareReference(values.against, console.error, { linkModules: true });
  try {
    const [before, now] = [await builtSerializers(reference.root), await builtSerializers(ROOT)];
    console.log(
      `CPU µs per call, median of ${rounds} rounds (before: the walker at ${reference.ref}, commit ${reference.commit}, built from git)`,
    );
    printRows(runWalkerStudy(before, now, rounds));
  } finally {
    await reference.remove();
  }
}
void sink;
