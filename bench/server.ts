/**
 * One scenario's server process (forked by run.ts): the scenario's app in the loop of
 * bench/server-loop.ts, which reports over IPC the CPU time it spent between `start` and `stop`
 * and how many requests it served.
 */

import { buildApp } from './apps.js';
import { scenarioById } from './scenarios.js';
import { serve } from './server-loop.js';

const id = process.argv[2];
serve(id ?? 'server', async () => {
  if (id === undefined) throw new Error('bench/server.ts: pass a scenario id');
  return buildApp(scenarioById(id).app);
});
