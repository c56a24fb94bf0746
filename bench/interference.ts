/**
 * How much CPU the rest of the machine used while one scenario was measured: all busy CPU time
 * (/proc/stat) minus the server's, the load generator's and the database servers' (PostgreSQL
 * and Redis processes, which store scenarios use on purpose). On a shared machine a burst of
 * someone else's work can halve a round; run.ts measures such a round again.
 */

import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc times (USER_HZ is 100 on every mainstream Linux build). */
const TICKS_PER_SECOND = 100;
/** Other processes using more than this many cores' worth of CPU during a round spoil it (run.ts measures it again). */
export const FOREIGN_CORES_LIMIT = 0.25;
/** Processes whose CPU belongs to the scenario, not to interference. */
const SERVICES = new Set(['postgres', 'redis-server']);

/** A reading of the machine's CPU counters, in ticks. */
export interface CpuSnapshot {
  busyTicks: number;
  serviceTicks: number;
}

/** Current counters, or undefined where /proc is not there (not Linux): then nothing is filtered. */
export function snapshot(): CpuSnapshot | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  // cpu  user nice system idle iowait irq softirq steal ...
  const fields = (stat.split('\n', 1)[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return { busyTicks: user + nice + system + irq + softirq + steal, serviceTicks: serviceTicks() };
}

function serviceTicks(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      if (!SERVICES.has(stat.slice(open + 1, close))) continue;
      // After "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
      const rest = stat.slice(close + 2).split(' ');
      ticks += Number(rest[11]) + Number(rest[12]);
    } catch {
      // The process ended between readdir and read.
    }
  }
  return ticks;
}

/**
 * Cores' worth of CPU used by everything else between two snapshots: busy time, less the
 * services', less what the server and the load generator reported for themselves (µs).
 */
export function foreignCores(before: CpuSnapshot | undefined, after: CpuSnapshot | undefined, ownMicros: number, wallMs: number): number {
  if (before === undefined || after === undefined || wallMs <= 0) return 0;
  const busyMs = ((after.busyTicks - before.busyTicks - (after.serviceTicks - before.serviceTicks)) * 1000) / TICKS_PER_SECOND;
  return Math.max(0, (busyMs - ownMicros / 1000) / wallMs);
}
