/**
 * Study: MemoryStore at scale: bytes per session at a million sessions, lookup cost as the map
 * grows, memory after a million sessions expire and the sweep runs, and the longest event-loop
 * pause while it sweeps. After `npm run build`:
 * `node --expose-gc --import tsx bench/studies/memory-scale.ts [--count N] [--write]`; prints a
 * summary, and with `--write` records it in bench/RESULTS.md.
 */

import { createHash } from 'node:crypto';
import { PerformanceObserver } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type * as Kit from '../../src/index.js';
import type { MemoryStore } from '../../stores/memory.js';
import { benchUser } from '../handlers.js';
import { exported, loadEntry, loadInternal } from '../package.js';
import { stamped, writeResults } from '../results.js';

type MemoryStoreClass = new (...args: ConstructorParameters<typeof MemoryStore>) => MemoryStore;

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
  lookups: { size: number; storeGetNs: number; mapGetNs: number; longestGetMs: number }[];
  /** storeGetNs at the largest size over storeGetNs at the smallest. */
  lookupGrowth: number;
  sweep: {
    pruneInterval: number;
    /** From the first expired entry going to the store being empty. */
    sweepMs: number;
    baselineBytes: number;
    peakBytes: number;
    afterBytes: number;
    /** (after - baseline) / (peak - baseline): 0 is all memory back, 1 is none. */
    retainedShare: number;
    /** The deletion sweep's longest single slice (one run of its timer or setImmediate callback), ms of wall time. */
    longestSliceMs: number;
    /** CPU time this process spent in that slice, ms (other threads included). */
    longestSliceCpuMs: number;
    /** GC pauses that fell inside that slice, ms: a pause the heap's size causes, not the sweep's own work. */
    longestSliceGcMs: number;
    /** The same three for sweeps that ran before the sessions expired, visiting a million live ones. */
    liveSweep: { longestSliceMs: number; longestSliceCpuMs: number; longestSliceGcMs: number };
    /** Longest gap between consecutive setImmediate callbacks during the deletion sweep, ms of wall time. */
    maxLoopGapMs: number;
    /** The same probe for one pruneInterval with nothing sweeping, ms: the machine's own noise. */
    idleMaxLoopGapMs: number;
    /** Longest single GC pause during the deletion sweep, ms. */
    maxGcPauseMs: number;
  };
}

const gc = (globalThis as { gc?: () => void }).gc;
/** The probe's own setImmediate, kept before {@link timeCallbacks} wraps the global one. */
const rawSetImmediate = globalThis.setImmediate;
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
async function sampleRecord(): Promise<Uint8Array> {
  const { EnvelopeCodec } = await loadInternal();
  const jsonSerializer = exported<typeof Kit.jsonSerializer>(await loadEntry('koa-session-kit'), 'jsonSerializer', 'koa-session-kit');
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

/**
 * The longest single `get` over `gets` lookups cycling through `ids`, ms. A get re-inserts its
 * key (the LRU move), which leaves a deleted slot behind; once the table is full of them the next
 * insert rehashes every entry, so this runs twice the store's size to be sure to meet one.
 */
async function longestStoreGet(store: MemoryStore, ids: readonly string[], gets: number): Promise<number> {
  let longest = 0;
  for (let i = 0; i < gets; i++) {
    const start = performance.now();
    await store.get(ids[i % ids.length] as string);
    longest = Math.max(longest, performance.now() - start);
  }
  return longest;
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
type SizeResult = Pick<
  ScaleResult,
  'heapBytesPerSession' | 'arrayBufferBytesPerSession' | 'totalBytesPerSession' | 'lookups' | 'lookupGrowth'
>;

async function sizeAndLookups(MemoryStore: MemoryStoreClass, count: number, data: Uint8Array): Promise<SizeResult & { fillMs: number }> {
  const sizes = [10_000, 100_000, count].filter((size, i, all) => size <= count && all.indexOf(size) === i);
  const far = Date.now() + 3_600_000;
  const base = await settle();
  const store = new MemoryStore({ maxSessions: count, pruneInterval: 3_600_000 });
  const lookups: ScaleResult['lookups'] = [];
  let filled = 0;
  let perSession = { heap: 0, buffers: 0 };
  let fillMs = 0;
  for (const size of sizes) {
    const started = performance.now();
    await fill(store, filled, size, data, far);
    fillMs += performance.now() - started;
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
    const storeGetNs = await timeStoreGets(store, ids, 3);
    lookups.push({ size, storeGetNs, mapGetNs: timeMapGets(map, ids, 3), longestGetMs: await longestStoreGet(store, ids, 2 * size) });
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
    fillMs,
  };
}

type Callback = (...args: unknown[]) => void;

/** One timed callback: when it started (performance.now()), its wall and CPU time, ms. */
interface Slice {
  start: number;
  wallMs: number;
  cpuMs: number;
}

/**
 * Times every callback handed to setImmediate and setInterval after this call (the store's sweep
 * timer and its slices); `take()` returns the longest since the last take.
 */
function timeCallbacks(): { take(): Slice; restore(): void } {
  const originals = { setImmediate: globalThis.setImmediate, setInterval: globalThis.setInterval };
  let longest: Slice = { start: 0, wallMs: 0, cpuMs: 0 };
  const timed =
    (callback: Callback): Callback =>
    (...args) => {
      const start = performance.now();
      const cpu = process.cpuUsage();
      try {
        callback(...args);
      } finally {
        const wallMs = performance.now() - start;
        if (wallMs > longest.wallMs) {
          const used = process.cpuUsage(cpu);
          longest = { start, wallMs, cpuMs: (used.user + used.system) / 1000 };
        }
      }
    };
  // Wrapping keeps each function's signature; the casts only restate it for the compiler.
  const wrap = <F extends (callback: Callback, ...rest: never[]) => unknown>(original: F): F =>
    ((callback: Callback, ...rest: never[]) => original(timed(callback), ...rest)) as F;
  globalThis.setImmediate = wrap(
    originals.setImmediate as unknown as (callback: Callback) => NodeJS.Immediate,
  ) as unknown as typeof setImmediate;
  globalThis.setInterval = wrap(
    originals.setInterval as unknown as (callback: Callback, ms: number) => NodeJS.Timeout,
  ) as unknown as typeof setInterval;
  return {
    take: () => {
      const taken = longest;
      longest = { start: 0, wallMs: 0, cpuMs: 0 };
      return taken;
    },
    restore: () => Object.assign(globalThis, originals),
  };
}

/** Records GC pauses (start and duration, ms) from now until `stop()`. */
function gcPauses(): { within(from: number, to: number): number; longest(from: number, to: number): number; stop(): void } {
  const pauses: { start: number; duration: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push({ start: entry.startTime, duration: entry.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  const inside = (from: number, to: number) => pauses.filter((p) => p.start < to && p.start + p.duration > from);
  return {
    within: (from, to) => inside(from, to).reduce((sum, p) => sum + Math.min(p.start + p.duration, to) - Math.max(p.start, from), 0),
    longest: (from, to) => Math.max(0, ...inside(from, to).map((p) => p.duration)),
    stop: () => observer.disconnect(),
  };
}

/** Watches event-loop turns with a setImmediate chain while `work` runs; resolves to the longest gap, ms. */
async function longestGap(work: Promise<unknown>): Promise<number> {
  let longest = 0;
  let running = true;
  let last = performance.now();
  const tick = (): void => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) rawSetImmediate(tick);
  };
  rawSetImmediate(tick);
  await work;
  running = false;
  return longest;
}

/** Fills the store with sessions that expire at once, then watches the sweep empty it. */
async function expiryAndSweep(
  MemoryStore: MemoryStoreClass,
  count: number,
  data: Uint8Array,
  fillMs: number,
): Promise<ScaleResult['sweep']> {
  const pruneInterval = 1000;
  const idleMaxLoopGapMs = await longestGap(sleep(pruneInterval)); // the probe with nothing sweeping
  const base = await settle();
  const gcs = gcPauses();
  const callbacks = timeCallbacks();
  const store = new MemoryStore({ maxSessions: count, pruneInterval });
  // Every session lives until the store is full and measured, then all expire together.
  const expires = Date.now() + 2 * fillMs + 2000;
  await fill(store, 0, count, data, expires);
  const peak = await settle();
  if (store.size !== count) throw new Error(`memory-scale: ${count - store.size} sessions went before they expired`);
  const wait = expires - Date.now();
  if (wait > 0) await sleep(wait);
  const live = callbacks.take();

  const deadline = Date.now() + pruneInterval + 60_000;
  let sweepStart: number | undefined;
  const phaseStart = performance.now();
  const maxLoopGapMs = await longestGap(
    (async () => {
      while (store.size > 0 && Date.now() < deadline) {
        await sleep(5);
        if (sweepStart === undefined && store.size < count) sweepStart = performance.now();
      }
    })(),
  );
  const phaseEnd = performance.now();
  const sweepMs = sweepStart === undefined ? Number.NaN : phaseEnd - sweepStart;
  const slice = callbacks.take();
  callbacks.restore();
  if (store.size > 0) throw new Error(`memory-scale: the sweep left ${store.size} expired sessions after 60 s`);
  const after = await settle();
  gcs.stop();
  await store.close();

  const total = (reading: { heap: number; buffers: number }): number => reading.heap + reading.buffers;
  const gcIn = (s: Slice): number => gcs.within(s.start, s.start + s.wallMs);
  return {
    pruneInterval,
    sweepMs,
    baselineBytes: total(base),
    peakBytes: total(peak),
    afterBytes: total(after),
    retainedShare: (total(after) - total(base)) / (total(peak) - total(base)),
    longestSliceMs: slice.wallMs,
    longestSliceCpuMs: slice.cpuMs,
    longestSliceGcMs: gcIn(slice),
    liveSweep: { longestSliceMs: live.wallMs, longestSliceCpuMs: live.cpuMs, longestSliceGcMs: gcIn(live) },
    maxLoopGapMs,
    idleMaxLoopGapMs,
    maxGcPauseMs: gcs.longest(phaseStart, phaseEnd),
  };
}

export async function measureScale(count: number): Promise<ScaleResult> {
  if (gc === undefined) throw new Error('memory-scale: run node with --expose-gc');
  const entry = 'koa-session-kit/stores/memory';
  const MemoryStore = exported<MemoryStoreClass>(await loadEntry(entry), 'MemoryStore', entry);
  const data = await sampleRecord();
  const { fillMs, ...sizes } = await sizeAndLookups(MemoryStore, count, data);
  const sweep = await expiryAndSweep(MemoryStore, count, data, fillMs);
  return { count, recordBytes: data.length, ...sizes, sweep };
}

/** A few human lines. */
export function describeScale(result: ScaleResult): string {
  const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  const { sweep } = result;
  return [
    `MemoryStore at ${result.count.toLocaleString('en-US')} sessions (${result.recordBytes}-byte records):`,
    `  ${result.totalBytesPerSession.toFixed(0)} bytes per session (${result.heapBytesPerSession.toFixed(0)} on the V8 heap + ${result.arrayBufferBytesPerSession.toFixed(0)} in array buffers)`,
    ...result.lookups.map(
      (l) =>
        `  get at ${l.size.toLocaleString('en-US').padStart(9)}: ${l.storeGetNs.toFixed(0)} ns (bare Map#get ${l.mapGetNs.toFixed(0)} ns; longest single get ${l.longestGetMs.toFixed(1)} ms)`,
    ),
    `  lookup growth ${result.lookups[0]?.size.toLocaleString('en-US')} -> ${result.count.toLocaleString('en-US')}: ${result.lookupGrowth.toFixed(2)}x`,
    `  sweep of ${result.count.toLocaleString('en-US')} expired sessions: ${sweep.sweepMs.toFixed(0)} ms; memory ${mb(sweep.baselineBytes)} -> ${mb(sweep.peakBytes)} -> ${mb(sweep.afterBytes)} (${(sweep.retainedShare * 100).toFixed(1)}% retained)`,
    `  longest slice of the deletion sweep: ${sweep.longestSliceMs.toFixed(1)} ms (${sweep.longestSliceCpuMs.toFixed(1)} ms CPU, ${sweep.longestSliceGcMs.toFixed(1)} ms of it in GC pauses)`,
    `  longest slice while sweeping live sessions: ${sweep.liveSweep.longestSliceMs.toFixed(1)} ms (${sweep.liveSweep.longestSliceCpuMs.toFixed(1)} ms CPU, ${sweep.liveSweep.longestSliceGcMs.toFixed(1)} ms in GC pauses)`,
    `  longest event-loop gap during the deletion sweep: ${sweep.maxLoopGapMs.toFixed(1)} ms (nothing sweeping: ${sweep.idleMaxLoopGapMs.toFixed(1)} ms; longest GC pause ${sweep.maxGcPauseMs.toFixed(1)} ms)`,
  ].join('\n');
}

// Runs when executed, not when imported (bench/results.ts imports only its types).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { values } = parseArgs({
    options: { count: { type: 'string', default: '1000000' }, write: { type: 'boolean', default: false } },
    strict: true,
  });
  (async () => {
    const result = await measureScale(Number(values.count));
    console.log(describeScale(result));
    if (values.write) await writeResults('memory-scale', await stamped(result));
  })().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
