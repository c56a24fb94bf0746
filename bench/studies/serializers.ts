/**
 * Study: encode + decode per second for each serializer against the bare library call, on a
 * typical session. After `npm run build`: `npx tsx bench/studies/serializers.ts [--quick] [--write]`;
 * prints a table, and with `--write` records it in bench/RESULTS.md.
 */

import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Packr, Unpackr } from 'msgpackr';
import { SuperJSON } from 'superjson';
import type { Serializer } from '../../src/index.js';
import { exported, loadEntry } from '../package.js';
import { stamped, writeResults } from '../results.js';

/** The serializer a public entry point makes (`koa-session-kit/serializers/<name>`). */
async function kitSerializer(name: 'json' | 'superjson' | 'msgpack'): Promise<Serializer> {
  const entry = `koa-session-kit/serializers/${name}`;
  return exported<() => Serializer>(await loadEntry(entry), `${name}Serializer`, entry)();
}

/** One serializer's numbers: `ratio` is bare ops/s divided by strict ops/s (1.3 means the checks cost 30%), the median over back-to-back pairs. */
export interface SerializerBenchResult {
  strictOpsPerSec: number;
  bareOpsPerSec: number;
  ratio: number;
  /** Size of the typical session in this serializer's bytes. */
  bytes: number;
}

/** Options for {@link runSerializerBench}. */
export interface SerializerBenchOptions {
  /** Measuring time per case per round, in ms. @default 300 */
  durationMs?: number;
  /** Rounds; each case's median round is reported. @default 5 */
  rounds?: number;
}

/** A typical session: a user object, a few dates, a cart of 20 items. JSON gets ISO strings for the dates. */
export function typicalSession(withDates: boolean): Record<string, unknown> {
  const at = (ms: number): unknown => (withDates ? new Date(ms) : new Date(ms).toISOString());
  const base = 1_767_225_600_000;
  return {
    user: { id: 'u_8f14e45fceea167a', name: 'Ada Lovelace', email: 'ada@example.com', roles: ['customer', 'beta'], verified: true },
    loginAt: at(base),
    lastSeen: at(base + 3_600_000),
    csrf: 'b5d4045c3f466fa91fe2cc6abe79232a1a57cdf104f7a26e716e0a1e2789df78',
    cart: {
      updatedAt: at(base + 1_800_000),
      currency: 'EUR',
      items: Array.from({ length: 20 }, (_, i) => ({
        sku: `SKU-${1000 + i}`,
        title: `Item number ${i}`,
        qty: (i % 3) + 1,
        price: 9.99 + i,
        addedAt: at(base + i * 60_000),
      })),
    },
    flash: null,
  };
}

interface Codec {
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

function bareJson(): Codec {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  return { encode: (v) => encoder.encode(JSON.stringify(v)), decode: (b) => JSON.parse(decoder.decode(b)) as unknown };
}

function bareSuperjson(): Codec {
  const instance = new SuperJSON();
  const encoder = new TextEncoder();
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  return {
    encode: (v) => encoder.encode(JSON.stringify(instance.serialize(v as Parameters<SuperJSON['serialize']>[0]))),
    decode: (b) => instance.deserialize(JSON.parse(decoder.decode(b)) as Parameters<SuperJSON['deserialize']>[0]),
  };
}

function bareMsgpack(): Codec {
  // The same options msgpackSerializer uses.
  const options = { structuredClone: true, useBigIntExtension: true, useRecords: true, mapsAsObjects: false };
  const packr = new Packr(options);
  const unpackr = new Unpackr(options);
  return { encode: (v) => packr.pack(v), decode: (b) => unpackr.unpack(b) as unknown };
}

function strict(serializer: Serializer): Codec {
  return { encode: (v) => serializer.serialize(v), decode: (b) => serializer.deserialize(b) };
}

let sink: unknown;

/** Process CPU time in ms (user + system). */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Round trips per second of CPU time: on a shared machine, time spent waiting for a core would
 * otherwise land on whichever side of a pair it happened to hit.
 */
function opsPerSec(codec: Codec, value: unknown, durationMs: number): number {
  let ops = 0;
  const start = cpuMs();
  let now = start;
  while (now - start < durationMs) {
    for (let i = 0; i < 200; i++) sink = codec.decode(codec.encode(value));
    ops += 200;
    now = cpuMs();
  }
  return (ops * 1000) / (now - start);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * Runs every serializer and its bare library call in one process. Each round measures the two
 * back to back (alternating which goes first) and keeps their ratio, so load from other processes
 * hits both sides of a pair alike; the report gives the median ratio and median ops/s.
 */
export async function runSerializerBench(options: SerializerBenchOptions = {}): Promise<Record<string, SerializerBenchResult>> {
  const durationMs = options.durationMs ?? 300;
  const rounds = options.rounds ?? 5;
  // Short pairs, many of them: a pair spans ~2 slices, so a burst of load rarely lands on one side only.
  const slices = Math.max(3, Math.round(durationMs / 50));
  const sliceMs = durationMs / slices;
  const cases = [
    { name: 'json', strict: strict(await kitSerializer('json')), bare: bareJson(), value: typicalSession(false) },
    { name: 'superjson', strict: strict(await kitSerializer('superjson')), bare: bareSuperjson(), value: typicalSession(true) },
    { name: 'msgpack', strict: strict(await kitSerializer('msgpack')), bare: bareMsgpack(), value: typicalSession(true) },
  ];
  const results: Record<string, SerializerBenchResult> = {};
  for (const c of cases) {
    opsPerSec(c.strict, c.value, durationMs / 2);
    opsPerSec(c.bare, c.value, durationMs / 2);
  }
  for (const c of cases) {
    const strictSamples: number[] = [];
    const bareSamples: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < rounds * slices; i++) {
      const strictFirst = i % 2 === 0;
      const first = opsPerSec(strictFirst ? c.strict : c.bare, c.value, sliceMs);
      const second = opsPerSec(strictFirst ? c.bare : c.strict, c.value, sliceMs);
      const [s, b] = strictFirst ? [first, second] : [second, first];
      strictSamples.push(s);
      bareSamples.push(b);
      ratios.push(b / s);
    }
    results[c.name] = {
      strictOpsPerSec: Math.round(median(strictSamples)),
      bareOpsPerSec: Math.round(median(bareSamples)),
      ratio: Number(median(ratios).toFixed(3)),
      bytes: c.strict.encode(c.value).length,
    };
  }
  void sink;
  return results;
}

/** Prints the results as a table. */
export function printSerializerBench(results: Record<string, SerializerBenchResult>): void {
  console.log('serializer  strict ops/s  bare ops/s  bare/strict  bytes');
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `${name.padEnd(10)}  ${String(r.strictOpsPerSec).padStart(12)}  ${String(r.bareOpsPerSec).padStart(10)}  ${r.ratio.toFixed(2).padStart(11)}x  ${String(r.bytes).padStart(5)}`,
    );
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, write: { type: 'boolean', default: false } },
    strict: true,
  });
  (async () => {
    const results = await runSerializerBench(values.quick ? { durationMs: 100, rounds: 3 } : {});
    printSerializerBench(results);
    if (values.write) await writeResults('serializers', await stamped(results));
  })().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
