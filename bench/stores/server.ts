/**
 * One side's server process for `npm run bench:stores` (forked by bench/stores/run.ts): the loop of
 * bench/server-loop.ts, and it also counts the bumps it acknowledged (a 2xx after the session
 * middleware committed) and lets the requests in flight finish before it reports.
 */

import { serve, type ServerReport } from '../server-loop.js';
import { buildSide, type SideId } from './apps.js';

/** What a side counts besides CPU time and requests. */
interface SideCounts {
  acked: number;
  retries: number;
}

/** Messages to the runner. */
export type SideReport = ServerReport<SideCounts>;

const side = process.argv[2] as SideId; // the runner passes one of its own SideIds
let retries = 0;
serve<SideCounts>(
  side,
  () => buildSide(side, () => retries++),
  (app) => {
    let acked = 0;
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
    return {
      start() {
        acked = 0;
        retries = 0;
      },
      async stop() {
        // Requests the load generator gave up on at the end still commit; their bumps count too.
        const deadline = Date.now() + 10_000;
        while (inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
        return { acked, retries };
      },
    };
  },
);
