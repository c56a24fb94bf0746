/**
 * One scenario's server process (forked by run.ts): builds the app, listens on a free port, and
 * reports over IPC the CPU time it spent between `start` and `stop` and how many requests it served.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from './apps.js';
import { SkipScenario } from './package.js';
import { scenarioById } from './scenarios.js';

/** Messages from the runner. */
export type ServerCommand = { type: 'start' } | { type: 'stop' } | { type: 'close' };

/** Messages to the runner. */
export type ServerReport =
  | { type: 'ready'; port: number }
  | { type: 'skip'; reason: string }
  | { type: 'started' }
  | { type: 'stopped'; cpuMicros: number; userMicros: number; requests: number; wallMs: number; errors: number }
  | { type: 'closed' };

function send(report: ServerReport): void {
  process.send?.(report);
}

async function main(): Promise<void> {
  const id = process.argv[2];
  if (id === undefined) throw new Error('bench/server.ts: pass a scenario id');
  let built;
  try {
    built = await buildApp(scenarioById(id).app);
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
    if (errors === 1) console.error(`[${id}] ${error instanceof Error ? error.stack : String(error)}`);
  });

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
  process.on('message', (message: ServerCommand) => {
    switch (message.type) {
      case 'start':
        requests = 0;
        errorsAtStart = errors;
        cpuStart = process.cpuUsage();
        wallStart = performance.now();
        send({ type: 'started' });
        return;
      case 'stop': {
        const cpu = process.cpuUsage(cpuStart);
        send({
          type: 'stopped',
          cpuMicros: cpu.user + cpu.system,
          userMicros: cpu.user,
          requests,
          wallMs: performance.now() - wallStart,
          errors: errors - errorsAtStart,
        });
        return;
      }
      case 'close':
        server.closeAllConnections();
        server.close();
        close()
          .catch((error: unknown) => console.error(`[${id}] cleanup failed: ${String(error)}`))
          .finally(() => {
            send({ type: 'closed' });
            process.exit(0);
          });
    }
  });
  server.listen(0, '127.0.0.1', () => send({ type: 'ready', port: (server.address() as AddressInfo).port }));
}

main().catch((error: unknown) => {
  send({ type: 'skip', reason: `crashed: ${error instanceof Error ? error.message : String(error)}` });
  process.exit(1);
});
