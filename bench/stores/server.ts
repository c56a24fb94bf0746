/**
 * One side's server process for `npm run bench:stores` (forked by bench/stores/run.ts): like
 * bench/server.ts, and it also counts the bumps it acknowledged (a 2xx after the session
 * middleware committed) and lets the requests in flight finish before it reports.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SkipScenario } from '../package.js';
import type { ServerCommand } from '../server.js';
import { buildSide, type SideId } from './apps.js';

/** Messages to the runner. */
export type SideReport =
  | { type: 'ready'; port: number }
  | { type: 'skip'; reason: string }
  | { type: 'started' }
  | { type: 'stopped'; cpuMicros: number; requests: number; acked: number; retries: number; errors: number }
  | { type: 'closed' };

function send(report: SideReport): void {
  process.send?.(report);
}

async function main(): Promise<void> {
  const side = process.argv[2] as SideId; // the runner passes one of its own SideIds
  let retries = 0;
  let built;
  try {
    built = await buildSide(side, () => retries++);
  } catch (error) {
    const reason =
      error instanceof SkipScenario ? error.message : `failed to start: ${error instanceof Error ? error.stack : String(error)}`;
    send({ type: 'skip', reason });
    process.exit(0);
  }
  const { app, close } = built;
  let errors = 0;
  let acked = 0;
  app.silent = true;
  app.on('error', (error: unknown) => {
    errors++;
    if (errors === 1) console.error(`[${side}] ${error instanceof Error ? error.stack : String(error)}`);
  });
  let inFlight = 0;
  // In front of the session middleware: when it resumes, the session was committed (or failed).
  // Counted here, not on the socket: a request whose client hung up still runs to its commit.
  app.middleware.unshift(async (ctx, next) => {
    inFlight++;
    try {
      await next();
      if (ctx.path === '/bump' && ctx.status >= 200 && ctx.status < 300) acked++;
    } finally {
      inFlight--;
    }
  });

  const handle = app.callback();
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    void handle(req, res);
  });
  server.keepAliveTimeout = 30_000;

  let cpuStart = process.cpuUsage();
  let errorsAtStart = 0;
  process.on('message', async (message: ServerCommand) => {
    switch (message.type) {
      case 'start':
        requests = 0;
        acked = 0;
        retries = 0;
        errorsAtStart = errors;
        cpuStart = process.cpuUsage();
        send({ type: 'started' });
        return;
      case 'stop': {
        const cpu = process.cpuUsage(cpuStart);
        const served = requests;
        // Requests the load generator gave up on at the end still commit; their bumps count too.
        const deadline = Date.now() + 10_000;
        while (inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
        send({ type: 'stopped', cpuMicros: cpu.user + cpu.system, requests: served, acked, retries, errors: errors - errorsAtStart });
        return;
      }
      case 'close':
        server.closeAllConnections();
        server.close();
        close()
          .catch((error: unknown) => console.error(`[${side}] cleanup failed: ${String(error)}`))
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
