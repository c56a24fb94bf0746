/**
 * MemoryStore at scale: bytes per session at a million sessions, lookup cost as the map grows,
 * memory after a million sessions expire and the sweep runs, and the longest event-loop pause
 * while it sweeps. Run with `node --expose-gc --import tsx bench/memory-scale.ts [--count N]`
 * (run.ts does); prints a summary, and sends the numbers to a parent process over IPC.
 */

import { createHash } from 'node:crypto';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { jsonSerializer } from '../serializers/json.js';
import { EnvelopeCodec } from '../src/envelope.js';
import { MemoryStore } from '../stores/memory.js';
import { benchUser } from './handlers.js';

/** Everything this script measures; run.ts stores it in results.json. */
export interface ScaleResult {
  count: number;
  recordBytes: number;
  /** heapUsed growth per session after gc (ids, Map slots, entry objects, small byte arrays kept on the V8 heap). */
  heapBytesPerSession: number;
  /** arrayBuffers growth per session (record bytes kept off the V8 heap). */
  arrayBufferBytesPerSession: number;
  totalBytesPerSession: number;
  /** ns per `await store.get(id)` on random live ids, and a bare `Map#get` over the same keys for reference. */
  lookups: { size: number; storeGetNs: number; mapGetNs: number }[];
  /** storeGetNs at the largest size over storeGetNs at the smallest. */
  lookupGrowth: number;
  sweep: {
    sweepInterval: number;
    /** From the first expired entry going to the store being empty. */
    sweepMs: number;
    baselineBytes: number;
    peakBytes: number;
    afterBytes: number;
    /** (after - baseline) / (peak - baseline): 0 is all memory back, 1 is none. */
    retainedShare: number;
    /** Longest gap between consecutive setImmediate callbacks while sweeping, ms. */
    maxLoopGapMs: number;
    /** monitorEventLoopDelay's max (1 ms resolution) while sweeping, ms. */
    maxLoopDelayMs: number;
    /** Longest single GC pause seen while sweeping, ms (a pause the sweep causes indirectly). */
    maxGcPauseMs: number;
  };
}

const gc = (globalThis as { gc?: () => void }).gc;
const idOf = (i: number): string => createHash('sha256').update(`session-${i}`).digest('base64url');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Collects garbage until the heap stops shrinking, so a reading is live memory only. */
async function settle(): Promise<{ heap: number; buffers: number }> {
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heap: heapUsed, buffers: arrayBuffers };
}

/** A real stored record: the envelope the middleware writes for the benchmark's session data. */
function sampleRecord(): Uint8Array {
  const payload = jsonSerializer().serialize({ views: 12, user: benchUser() });
  return new EnvelopeCodec('json').encode(Date.now(), undefined, payload);
}

function randomIds(limit: number, sample: number): string[] {
  return Array.from({ length: sample }, () => idOf(Math.floor(Math.random() * limit)));
}

async function timeStoreGets(store: MemoryStore, ids: readonly string[], rounds: number): Promise<number> {
  let found = 0;
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < ids.length; i++) if ((await store.get(ids[i] as string)) !== undefined) found++;
  }
  const elapsed = Number(process.hrtime.bigint() - start);
  if (found !== ids.length * rounds) throw new Error(`memory-scale: ${ids.length * rounds - found} lookups missed`);
  return elapsed / (ids.length * rounds);
}

function timeMapGets(map: Map<string, unknown>, ids: readonly string[], rounds: number): number {
  let found = 0;
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (let i = 0; i < ids.length; i++) if (map.get(ids[i] as string) !== undefined) found++;
  const elapsed = Number(process.hrtime.bigint() - start);
  if (found !== ids.length * rounds) throw new Error('memory-scale: map lookups missed');
  return elapsed / (ids.length * rounds);
}

async function fill(store: MemoryStore, from: number, to: number, data: Uint8Array, expires: number): Promise<void> {
  for (let i = from; i < to; i++) await store.create(idOf(i), { data, expires });
}

/** Bytes per session and lookup cost at growing sizes. */
async function sizeAndLookups(count: number, data: Uint8Array): Promise<Pick<ScaleResult, 'heapBytesPerSession' | 'arrayBufferBytesPerSession' | 'totalBytesPerSession' | 'lookups' | 'lookupGrowth'>> {
  const sizes = [10_000, 100_000, count].filter((size, i, all) => size <= count && all.indexOf(size) === i);
  const far = Date.now() + 3_600_000;
  const base = await settle();
  const store = new MemoryStore({ maxSessions: count, sweepInterval: 3_600_000 });
  const lookups: ScaleResult['lookups'] = [];
  let filled = 0;
  let perSession = { heap: 0, buffers: 0 };
  for (const size of sizes) {
    await fill(store, filled, size, data, far);
    filled = size;
    if (size === count) {
      const now = await settle();
      perSession = { heap: (now.heap - base.heap) / count, buffers: (now.buffers - base.buffers) / count };
    }
    const ids = randomIds(size, 100_000);
    const map = new Map<string, number>();
    for (let i = 0; i < size; i++) map.set(idOf(i), i);
    await timeStoreGets(store, ids, 1); // warm-up: JIT and caches
    timeMapGets(map, ids, 1);
    lookups.push({ size, storeGetNs: await timeStoreGets(store, ids, 3), mapGetNs: timeMapGets(map, ids, 3) });
  }
  await store.close();
  const first = lookups[0]?.storeGetNs ?? Number.NaN;
  const last = lookups[lookups.length - 1]?.storeGetNs ?? Number.NaN;
  return {
    heapBytesPerSession: perSession.heap,
    arrayBufferBytesPerSession: perSession.buffers,
    totalBytesPerSession: perSession.heap + perSession.buffers,
    lookups,
    lookupGrowth: last / first,
  };
}

/** Fills the store with sessions that expire at once, then watches the sweep empty it. */
async function expiryAndSweep(count: number, data: Uint8Array): Promise<ScaleResult['sweep']> {
  const sweepInterval = 1000;
  const base = await settle();
  const store = new MemoryStore({ maxSessions: count, sweepInterval });
  const expires = Date.now() + 500;
  await fill(store, 0, count, data, expires);
  const peak = await settle();
  const wait = expires - Date.now();
  if (wait > 0) await sleep(wait);

  // Probes: a setImmediate chain (every loop turn) and the built-in delay histogram, plus GC pauses.
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let maxGcPauseMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) maxGcPauseMs = Math.max(maxGcPauseMs, entry.duration);
  });
  observer.observe({ entryTypes: ['gc'] });
  let maxGap = 0;
  let last = performance.now();
  let probing = true;
  const probe = (): void => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    if (probing) setImmediate(probe);
  };
  histogram.enable();
  last = performance.now();
  setImmediate(probe);

  const deadline = Date.now() + sweepInterval + 60_000;
  let sweepStart: number | undefined;
  while (store.size > 0 && Date.now() < deadline) {
    await sleep(5);
    if (sweepStart === undefined && store.size < count) sweepStart = performance.now();
  }
  const sweepMs = sweepStart === undefined ? Number.NaN : performance.now() - sweepStart;
  probing = false;
  histogram.disable();
  observer.disconnect();
  if (store.size > 0) throw new Error(`memory-scale: the sweep left ${store.size} expired sessions after 60 s`);
  const after = await settle();
  await store.close();

  const total = (reading: { heap: number; buffers: number }): number => reading.heap + reading.buffers;
  return {
    sweepInterval,
    sweepMs,
    baselineBytes: total(base),
    peakBytes: total(peak),
    afterBytes: total(after),
    retainedShare: (total(after) - total(base)) / (total(peak) - total(base)),
    maxLoopGapMs: maxGap,
    maxLoopDelayMs: histogram.max / 1e6,
    maxGcPauseMs,
  };
}

export async function measureScale(count: number): Promise<ScaleResult> {
  if (gc === undefined) throw new Error('memory-scale: run node with --expose-gc');
  const data = sampleRecord();
  const sizes = await sizeAndLookups(count, data);
  const sweep = await expiryAndSweep(count, data);
  return { count, recordBytes: data.length, ...sizes, sweep };
}

/** A few human lines. */
export function describeScale(result: ScaleResult): string {
  const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  const { sweep } = result;
  return [
    `MemoryStore at ${result.count.toLocaleString('en-US')} sessions (${result.recordBytes}-byte records):`,
    `  ${result.totalBytesPerSession.toFixed(0)} bytes per session (${result.heapBytesPerSession.toFixed(0)} on the V8 heap + ${result.arrayBufferBytesPerSession.toFixed(0)} in array buffers)`,
    ...result.lookups.map((l) => `  get at ${l.size.toLocaleString('en-US').padStart(9)}: ${l.storeGetNs.toFixed(0)} ns (bare Map#get ${l.mapGetNs.toFixed(0)} ns)`),
    `  lookup growth ${result.lookups[0]?.size.toLocaleString('en-US')} -> ${result.count.toLocaleString('en-US')}: ${result.lookupGrowth.toFixed(2)}x`,
    `  sweep of ${result.count.toLocaleString('en-US')} expired sessions: ${sweep.sweepMs.toFixed(0)} ms; memory ${mb(sweep.baselineBytes)} -> ${mb(sweep.peakBytes)} -> ${mb(sweep.afterBytes)} (${(sweep.retainedShare * 100).toFixed(1)}% retained)`,
    `  longest event-loop gap while sweeping: ${sweep.maxLoopGapMs.toFixed(1)} ms (delay histogram max ${sweep.maxLoopDelayMs.toFixed(1)} ms; longest GC pause ${sweep.maxGcPauseMs.toFixed(1)} ms)`,
  ].join('\n');
}

// Runs when executed, not when imported (run.ts imports only its types).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '1000000' } }, strict: true });
  measureScale(Number(values.count)).then(
    (result) => {
      console.log(describeScale(result));
      process.send?.({ type: 'scale', result });
    },
    (error: unknown) => {
      console.error(error);
      process.send?.({ type: 'scale-error', message: error instanceof Error ? error.message : String(error) });
      process.exitCode = 1;
    },
  );
}
