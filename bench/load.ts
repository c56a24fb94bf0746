/**
 * The load process (forked by run.ts): runs autocannon against one server at a time, no
 * pipelining. Each connection cycles through its own share of the seeded cookies, so many distinct
 * sessions are in flight and no two connections hit the same session at once.
 */

import autocannon, { type AutocannonRequest } from 'autocannon';

/** One load run. */
export interface LoadCommand {
  type: 'run';
  port: number;
  path: string;
  /** Cookie headers to rotate through; empty for no cookie at all. */
  cookies: string[];
  connections: number;
  /** Seconds. */
  duration: number;
}

/** What the runner gets back. */
export interface LoadReport {
  type: 'result';
  requests: number;
  /** Seconds autocannon measured. */
  duration: number;
  latencyP50: number;
  latencyP99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU µs this load process spent, to see whether the client, not the server, was the limit. */
  clientCpuMicros: number;
}

/**
 * The requests connection `index` cycles through: its own share of the cookies, so every session
 * is in use but no two connections ever send the same one (no version conflicts between them), and
 * autocannon encodes only as many requests per run as there are cookies.
 */
function requestsFor(command: LoadCommand, index: number): AutocannonRequest[] {
  const { cookies, path } = command;
  if (cookies.length === 0) return [{ method: 'GET', path }];
  const list: AutocannonRequest[] = [];
  for (let i = index; i < cookies.length; i += command.connections) {
    list.push({ method: 'GET', path, headers: { cookie: cookies[i] as string } });
  }
  return list.length > 0 ? list : [{ method: 'GET', path, headers: { cookie: cookies[index % cookies.length] as string } }];
}

async function run(command: LoadCommand): Promise<LoadReport> {
  let client = 0;
  const cpu = process.cpuUsage();
  const result = await autocannon({
    url: `http://127.0.0.1:${command.port}`,
    connections: command.connections,
    pipelining: 1,
    duration: command.duration,
    timeout: 10,
    // Static request lists are encoded once per connection; a setupRequest hook would re-encode
    // every request in this process and make the client, not the server, the bottleneck.
    requests: requestsFor(command, 0),
    setupClient: (c) => c.setRequests(requestsFor(command, client++ % command.connections)),
  });
  const used = process.cpuUsage(cpu);
  return {
    type: 'result',
    requests: result.requests.total,
    duration: result.duration,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    clientCpuMicros: used.user + used.system,
  };
}

process.on('message', (command: LoadCommand | { type: 'exit' }) => {
  if (command.type === 'exit') process.exit(0);
  run(command).then(
    (report) => process.send?.(report),
    (error: unknown) => process.send?.({ type: 'error', message: error instanceof Error ? error.stack : String(error) }),
  );
});
process.send?.({ type: 'ready' });
