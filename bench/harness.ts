/**
 * Process plumbing for run.ts and stores/run.ts: number flags, building the package, forking
 * servers and the load process, seeding sessions, checking answers.
 */

import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ROOT } from './package.js';
import type { LoadCommand, LoadReport } from './load.js';
import type { Scenario } from './scenarios.js';
import type { ServerCommand, ServerReport } from './server-loop.js';

/**
 * Builds the package in `root` with its own `npm run build`, so the servers run the JavaScript
 * users run, resolved through the package's `exports` (bench/package.ts).
 */
export function build(root: string): void {
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  if (result.status !== 0) throw new Error(`bench: \`npm run build\` failed in ${root}:\n${result.stdout}${result.stderr}`);
}

/**
 * Forks a bench module (`server`, `load`, ...) through tsx; `packageRoot` is the checkout whose
 * built package it measures (the reference's, under `--against`).
 */
export function forkBench(name: string, args: string[] = [], options: { nodeFlags?: string[]; packageRoot?: string } = {}): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
  if (options.packageRoot !== undefined) env.BENCH_PACKAGE_ROOT = options.packageRoot;
  return fork(join(ROOT, 'bench', `${name}.ts`), args, {
    execArgv: [...(options.nodeFlags ?? []), '--import', 'tsx'],
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** The next IPC message of one of `types`, or a rejection when the child exits or time runs out. */
export function nextMessage<M extends { type: string }>(child: ChildProcess, types: readonly string[], timeoutMs = 60_000): Promise<M> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: M): void => {
      if (!types.includes(message.type)) return;
      done();
      resolve(message);
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`process exited (code ${code}) while waiting for ${types.join('/')}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no ${types.join('/')} message within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** The flags every bench command takes, as `parseArgs` options (bench/README.md lists them). */
export const COMMON_FLAGS = {
  quick: { type: 'boolean', default: false },
  rounds: { type: 'string' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  only: { type: 'string' },
  'no-write': { type: 'boolean', default: false },
} as const;

/**
 * A number flag of `command` (`bench`, `bench:stores`): `fallback` when absent, else a number from
 * `min` to `max` or a RangeError naming the flag.
 */
export function numberFlag(command: string, name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new RangeError(`${command}: --${name} must be a number from ${min} to ${max} (received ${value})`);
  return n;
}

/** A running scenario server; `packageRoot` is set when it serves another checkout's package. */
export interface ServerHandle {
  scenario: Scenario;
  packageRoot: string | undefined;
  child: ChildProcess;
  port: number;
  cookies: string[];
}

/**
 * Forks a server module (`server`, `stores/server`) and waits until it listens; its process and
 * port, or the reason it was skipped.
 */
export async function forkServer(
  name: string,
  args: string[],
  options: Parameters<typeof forkBench>[2] = {},
): Promise<{ child: ChildProcess; port: number } | { skipped: string }> {
  const child = forkBench(name, args, options);
  try {
    const report = await nextMessage<ServerReport>(child, ['ready', 'skip']);
    if (report.type === 'skip') return { skipped: report.reason };
    if (report.type !== 'ready') throw new Error(`unexpected ${report.type}`);
    return { child, port: report.port };
  } catch (error) {
    child.kill();
    return { skipped: `server did not start: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Forks the scenario's server; resolves to its handle, or to the reason it was skipped. */
export async function startServer(scenario: Scenario, packageRoot?: string): Promise<ServerHandle | { skipped: string }> {
  const started = await forkServer('server', [scenario.id], packageRoot === undefined ? {} : { packageRoot });
  if ('skipped' in started) return started;
  return { scenario, packageRoot, ...started, cookies: [] };
}

/** Sends a command to a server process and waits for its `reply`; `R` is what that server reports. */
export async function command<R extends { type: string } = ServerReport>(
  server: { child: ChildProcess },
  message: ServerCommand,
  reply: R['type'],
): Promise<R> {
  const answer = nextMessage<R>(server.child, [reply]);
  server.child.send(message);
  return answer;
}

/** Asks a server process to close, and kills it when it does not answer. */
export async function stopServer(server: { child: ChildProcess }): Promise<void> {
  await command(server, { type: 'close' }, 'closed').catch(() => server.child.kill());
}

/** A server's answer to {@link get}. */
export interface Answer {
  status: number;
  body: string;
  cookie: string | undefined;
}

/** One GET; `cookie` is the Cookie header to send; the answer's Set-Cookie lines come back as a Cookie header. */
export async function get(port: number, path: string, cookie?: string): Promise<Answer> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, cookie === undefined ? {} : { headers: { cookie } });
  const body = await response.text();
  const lines = response.headers.getSetCookie();
  const pairs = lines.map((line) => line.slice(0, line.indexOf(';') === -1 ? line.length : line.indexOf(';')));
  return { status: response.status, body, cookie: pairs.length === 0 ? undefined : pairs.join('; ') };
}

/** Makes `count` sessions through the server's own `/write` route (a first visit each) and keeps their cookies. */
export async function seed(server: ServerHandle, count: number): Promise<void> {
  const { scenario } = server;
  if (scenario.cookies === 'none') return;
  if (scenario.cookies === 'synthetic') {
    // The shape of the kit's signed id cookie, so bare Koa parses requests of the same size.
    const fake = (): string => randomBytes(32).toString('base64url');
    server.cookies = Array.from({ length: count }, () => `koa.sid=${fake()}.${fake()}`);
    return;
  }
  const cookies: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      const answer = await get(server.port, '/write');
      if (answer.status !== 200 || answer.cookie === undefined) {
        throw new Error(
          `seeding got ${answer.status} ${answer.cookie === undefined ? 'without a cookie' : ''}: ${answer.body.slice(0, 200)}`,
        );
      }
      cookies.push(answer.cookie);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  server.cookies = cookies;
}

function views(answer: Answer): number {
  const parsed: unknown = JSON.parse(answer.body);
  const value = (parsed as { views?: unknown } | null)?.views;
  return typeof value === 'number' ? value : Number.NaN;
}

/**
 * Checks that the scenario measures what it claims: a seeded cookie is recognised (its counter
 * moves on write, reads the seeded value on read), a first visit gets a cookie. Returns a problem or undefined.
 */
export async function sanityCheck(server: ServerHandle): Promise<string | undefined> {
  const { scenario, port, cookies } = server;
  const cookie = scenario.cookies === 'none' ? undefined : cookies[cookies.length - 1];
  const first = await get(port, scenario.route, cookie);
  if (first.status !== 200) return `${scenario.route} answered ${first.status}: ${first.body.slice(0, 200)}`;
  if (scenario.cookies === 'none') return first.cookie === undefined ? 'a first visit got no Set-Cookie' : undefined;
  if (scenario.cookies !== 'seeded') return undefined;
  if (scenario.route === '/read' && views(first) !== 1) return `read of a seeded session gave views=${views(first)}, expected 1`;
  if (scenario.route === '/write' && views(first) !== 2)
    return `write on a seeded session gave views=${views(first)}, expected 2 (cookie not recognised?)`;
  return undefined;
}

/** The load process, forked once and reused for every run. */
export class LoadProcess {
  readonly #child = forkBench('load');
  readonly #ready = nextMessage(this.#child, ['ready']);

  async run(command: Omit<LoadCommand, 'type'>): Promise<LoadReport> {
    await this.#ready;
    const answer = nextMessage<LoadReport | { type: 'error'; message: string }>(
      this.#child,
      ['result', 'error'],
      (command.duration + 60) * 1000,
    );
    this.#child.send({ type: 'run', ...command });
    const report = await answer;
    if (report.type === 'error') throw new Error(`load process: ${report.message}`);
    return report;
  }

  close(): void {
    this.#child.send({ type: 'exit' });
  }
}
