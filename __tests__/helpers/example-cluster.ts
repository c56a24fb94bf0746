/**
 * The example app in a `node:cluster` of its own (a forked primary, so jest's process is never
 * forked), and browser-like HTTP clients for it: a cookie jar each, a new connection per request
 * so the cluster's balancer spreads them, and the answering worker read from `x-worker`.
 */

import { fork } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { exited, nextMessage } from './file-store.js';

const STARTUP_MS = 30_000;
const STOP_MS = 10_000;
const REQUEST_MS = 15_000;

/** A running cluster of the example app (see `__tests__/session/fixtures/example-cluster.ts`). */
export interface ExampleCluster {
  readonly port: number;
  /** What the primary and workers reported as failures: worker exits, stores that would not close. */
  readonly errors: string[];
  /** Resolves once `count` requests in all are held after loading their session (rejects after `timeoutMs`). */
  held(count: number, timeoutMs?: number): Promise<void>;
  /** Lets every held request go on. */
  release(): void;
  /** The session events of all workers so far, by type (`conflict-retried`, `store-error`, …). */
  events(): Promise<Record<string, number>>;
  /** Stops the workers (they close their stores), then kills whatever is left of the process group. */
  stop(): Promise<void>;
}

/** Every primary started here, killed with its workers when jest's process exits before a teardown ran. */
const groups = new Set<number>();
process.once('exit', () => groups.forEach((pid) => killGroup(pid)));

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: every process of the group has exited.
  }
}

/** Forks the cluster's primary on the store `args` name, and waits until every worker listens. */
export async function startExampleCluster(args: string[]): Promise<ExampleCluster> {
  const script = fileURLToPath(new URL('../session/fixtures/example-cluster.ts', import.meta.url));
  // A group of its own, so one signal reaches the primary and every worker.
  const primary = fork(script, args, { execArgv: ['--import', 'tsx'], detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  groups.add(primary.pid!);
  const errors: string[] = [];
  let heldSoFar = 0;
  primary.on('message', (message: { type?: string; message?: string }) => {
    if (message.type === 'error') errors.push(String(message.message));
    if (message.type === 'held') heldSoFar++;
  });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (primary.connected) primary.send({ type: 'stop' });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited(primary), new Promise((resolve) => (timer = setTimeout(resolve, STOP_MS)))]);
      clearTimeout(timer);
      killGroup(primary.pid!);
      groups.delete(primary.pid!);
      await exited(primary);
    })());
  try {
    const { port } = await nextMessage(primary, 'ready', STARTUP_MS);
    return {
      port: Number(port),
      errors,
      async held(count, timeoutMs = 15_000) {
        const deadline = Date.now() + timeoutMs;
        while (heldSoFar < count) {
          if (Date.now() > deadline) throw new Error(`${heldSoFar} of ${count} requests held within ${timeoutMs} ms`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      },
      release: () => void primary.send({ type: 'release' }),
      async events() {
        const answer = nextMessage(primary, 'counts');
        primary.send({ type: 'count' });
        const total: Record<string, number> = {};
        for (const counts of (await answer).counts as Record<string, number>[]) {
          for (const [type, count] of Object.entries(counts)) total[type] = (total[type] ?? 0) + count;
        }
        return total;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One response: its status, the worker that answered (absent on a 500: Koa drops headers set before), and the body. */
export interface Answer {
  status: number;
  worker: string | undefined;
  text: string;
}

/** A client with a cookie jar, talking to the cluster on `port`. */
export class Browser {
  readonly #port: number;
  readonly #jar = new Map<string, string>();

  constructor(port: number, cookie?: string) {
    this.#port = port;
    if (cookie !== undefined) this.#jar.set(cookie.slice(0, cookie.indexOf('=')), cookie.slice(cookie.indexOf('=') + 1));
  }

  /** The jar as a Cookie header ('' when empty). */
  get cookie(): string {
    return [...this.#jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** A new client holding the same cookies (another tab of one browser, another device signed in the same way). */
  copy(): Browser {
    const other = new Browser(this.#port);
    for (const [name, value] of this.#jar) other.#jar.set(name, value);
    return other;
  }

  get(path: string): Promise<Answer> {
    return this.#send('GET', path);
  }

  /** POSTs `form` urlencoded, as the example's forms do. */
  post(path: string, form: Record<string, string>): Promise<Answer> {
    return this.#send('POST', path, new URLSearchParams(form).toString());
  }

  #send(method: string, path: string, body?: string): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (this.#jar.size > 0) headers.cookie = this.cookie;
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    return new Promise((resolve, reject) => {
      // agent: false is a new connection each time: the balancer hands each one to the next worker.
      const req = request({ host: '127.0.0.1', port: this.#port, method, path, headers, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          for (const line of res.headers['set-cookie'] ?? []) this.#keep(line);
          const worker = res.headers['x-worker'];
          resolve({ status: res.statusCode ?? 0, worker: typeof worker === 'string' ? worker : undefined, text });
        });
      });
      req.setTimeout(REQUEST_MS, () => req.destroy(new Error(`${method} ${path}: no answer within ${REQUEST_MS} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Stores a Set-Cookie line, or forgets the cookie when the line clears it (empty value, or expiry in the past). */
  #keep(line: string): void {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
    const name = pair.slice(0, pair.indexOf('='));
    const value = pair.slice(pair.indexOf('=') + 1);
    const expired = attributes.some((attribute) => {
      const [key = '', setting = ''] = attribute.split('=');
      if (key.toLowerCase() === 'max-age') return Number(setting) <= 0;
      if (key.toLowerCase() === 'expires') return Date.parse(setting) <= Date.now();
      return false;
    });
    if (value === '' || expired) this.#jar.delete(name);
    else this.#jar.set(name, value);
  }
}
