/**
 * The loop every bench server process runs (bench/server.ts, bench/stores/server.ts): builds its
 * app, listens on a free port, and reports over IPC the CPU time it spent between `start` and
 * `stop`, how many requests it served, and whatever else the process counts.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { SkipScenario, type BenchApp } from './package.js';

/** Messages from the runner. */
export type ServerCommand = { type: 'start' } | { type: 'stop' } | { type: 'close' };

/** What every server measures between `start` and `stop`. */
export interface Measured {
  cpuMicros: number;
  userMicros: number;
  requests: number;
  wallMs: number;
  errors: number;
}

/** Messages to the runner; `Extra` is what a server counts besides {@link Measured}. */
export type ServerReport<Extra extends object = object> =
  | { type: 'ready'; port: number }
  | { type: 'skip'; reason: string }
  | { type: 'started' }
  | ({ type: 'stopped' } & Measured & Extra)
  | { type: 'closed' };

/** Counts a server keeps besides {@link Measured}: zeroed on `start`, read on `stop`. */
export interface Counters<Extra extends object> {
  start(): void;
  /** Called once CPU time and requests are read; may wait (for requests still in flight), and errors are read after it. */
  stop(): Promise<Extra>;
}

function send<Extra extends object>(report: ServerReport<Extra>): void {
  process.send?.(report);
}

/**
 * Runs this process as a bench server named `name` (in log lines): the app from `open` (a
 * SkipScenario or any failure is reported as a skip), and the counters `count` installs on it.
 */
export function serve<Extra extends object = object>(
  name: string,
  open: () => Promise<BenchApp>,
  // With no counters Extra is its default, `object`, which the empty object is.
  count: (app: Koa) => Counters<Extra> = () => ({ start: () => {}, stop: async () => ({}) as Extra }),
): void {
  run(name, open, count).catch((error: unknown) => {
    send({ type: 'skip', reason: `crashed: ${error instanceof Error ? error.message : String(error)}` });
    process.exit(1);
  });
}

async function run<Extra extends object>(name: string, open: () => Promise<BenchApp>, count: (app: Koa) => Counters<Extra>): Promise<void> {
  let built;
  try {
    built = await open();
  } catch (error) {
    const reason =
      error instanceof SkipScenario ? error.message : `failed to start: ${error instanceof Error ? error.stack : String(error)}`;
    send({ type: 'skip', reason });
    process.exit(0);
  }
  const { app, close } = built;
  let errors = 0;
  app.silent = true;
  app.on('error', (error: unknown) => {
    errors++;
    // One line per process is enough to see what broke; a flood would slow the measurement down.
    if (errors === 1) console.error(`[${name}] ${error instanceof Error ? error.stack : String(error)}`);
  });
  const counters = count(app);

  const handle = app.callback();
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    void handle(req, res);
  });
  server.keepAliveTimeout = 30_000;

  let cpuStart = process.cpuUsage();
  let wallStart = performance.now();
  let errorsAtStart = 0;
  process.on('message', async (message: ServerCommand) => {
    switch (message.type) {
      case 'start':
        requests = 0;
        counters.start();
        errorsAtStart = errors;
        cpuStart = process.cpuUsage();
        wallStart = performance.now();
        send({ type: 'started' });
        return;
      case 'stop': {
        const cpu = process.cpuUsage(cpuStart);
        const wallMs = performance.now() - wallStart;
        const served = requests;
        const extra = await counters.stop();
        const measured: Measured = {
          cpuMicros: cpu.user + cpu.system,
          userMicros: cpu.user,
          requests: served,
          wallMs,
          errors: errors - errorsAtStart,
        };
        send<Extra>({ type: 'stopped', ...measured, ...extra });
        return;
      }
      case 'close':
        server.closeAllConnections();
        server.close();
        close()
          .catch((error: unknown) => console.error(`[${name}] cleanup failed: ${String(error)}`))
          .finally(() => {
            send({ type: 'closed' });
            process.exit(0);
          });
    }
  });
  server.listen(0, '127.0.0.1', () => send({ type: 'ready', port: (server.address() as AddressInfo).port }));
}
