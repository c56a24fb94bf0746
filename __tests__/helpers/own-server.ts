/**
 * Redis and PostgreSQL servers a test file owns: started on a spare port, hung (SIGSTOP), stopped,
 * and always resumed and killed in teardown, so the shared instances on 5432 and 6379 are never touched.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { portAnswers } from './services.js';

/** A server process group of our own. */
export interface OwnServer {
  readonly port: number;
  /** `redis://…` or `postgres://…` for this server. */
  readonly url: string;
  /** SIGSTOPs every process of the server: open connections stay open and nothing answers. */
  hang(): void;
  /** SIGCONTs them. */
  resume(): void;
  /** Stops the server for good: connections drop, new ones are refused. Resolves once it has exited. */
  stop(): Promise<void>;
  /** Resumes and kills whatever is left, and removes its files; safe to call more than once. */
  dispose(): Promise<void>;
}

const STARTUP_MS = 30_000;
const EXIT_WAIT_MS = 5_000;

/** Every group started here, killed on exit even when a test file dies before its teardown. */
const groups = new Set<number>();
process.once('exit', () => {
  for (const pid of groups) {
    signalAll(pid, 'SIGCONT');
    signalAll(pid, 'SIGKILL');
  }
});

function signalGroup(pid: number, ...signals: NodeJS.Signals[]): void {
  for (const signal of signals) {
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is gone already.
    }
  }
}

/**
 * The processes forked by `pid`, from /proc. PostgreSQL backends call setsid(), so they are not in
 * the postmaster's process group and a group signal misses them.
 */
function children(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces, inside parentheses): state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // The process exited while we looked.
    }
  }
  return found;
}

/** Sends `signal` to the group of `pid` and to each of its children. */
function signalAll(pid: number, signal: NodeJS.Signals): void {
  signalGroup(pid, signal);
  for (const child of children(pid)) {
    try {
      process.kill(child, signal);
    } catch {
      // ESRCH: it exited meanwhile.
    }
  }
}

/** A TCP port nothing listens on right now. */
export async function sparePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP port for the test server');
  return address.port;
}

function portOpen(port: number): Promise<boolean> {
  return portAnswers('127.0.0.1', port, 500);
}

async function until(what: string, check: () => Promise<boolean>, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + STARTUP_MS;
  while (!(await check())) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${what}: the process exited (${child.exitCode ?? child.signalCode})`);
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${STARTUP_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves once `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Waits up to EXIT_WAIT_MS for the process to exit, then kills its group. */
async function reap(child: ChildProcess): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, EXIT_WAIT_MS);
  });
  await Promise.race([exited(child), late]);
  clearTimeout(timer);
  signalAll(child.pid!, 'SIGCONT');
  signalAll(child.pid!, 'SIGKILL');
  await exited(child);
}

function ownServer(child: ChildProcess, port: number, url: string, stopSignal: NodeJS.Signals, cleanup: () => Promise<void>): OwnServer {
  const pid = child.pid!;
  groups.add(pid);
  let disposed: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    signalAll(pid, 'SIGCONT');
    child.kill(stopSignal);
    await reap(child);
    groups.delete(pid);
  };
  return {
    port,
    url,
    hang: () => signalAll(pid, 'SIGSTOP'),
    resume: () => signalAll(pid, 'SIGCONT'),
    stop,
    dispose() {
      disposed ??= stop().then(cleanup);
      return disposed;
    },
  };
}

/** True when `redis-server` is on the PATH. */
export function redisServerAvailable(): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => existsSync(join(dir, 'redis-server')));
}

/** A throwaway redis-server (no persistence) on a spare port, ready to answer. */
export async function startRedis(): Promise<OwnServer> {
  const port = await sparePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  const child = spawn('redis-server', args, { detached: true, stdio: 'ignore' });
  const server = ownServer(child, port, `redis://127.0.0.1:${port}`, 'SIGKILL', async () => undefined);
  try {
    await until(`redis-server on port ${port}`, () => portOpen(port), child);
  } catch (error) {
    await server.dispose();
    throw error;
  }
  return server;
}

/** The newest PostgreSQL server binaries installed the Debian way, if any. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((version) => existsSync(join(root, version, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

function run(command: string, args: string[], ids: { uid: number; gid: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...ids, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${stderr}`))));
  });
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  // initdb and postgres refuse to run as root; the Debian packages make this user.
  const id = (flag: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const child = spawn('id', [flag, 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('exit', (code) =>
        code === 0 ? resolve(Number(out.trim())) : reject(new Error('no `postgres` user to run the server as')),
      );
    });
  return { uid: await id('-u'), gid: await id('-g') };
}

/**
 * A throwaway PostgreSQL cluster (trust auth, user postgres, database postgres, fsync off) in a
 * temp directory, on a spare port, run as the `postgres` user. `stop()` is an immediate shutdown.
 */
export async function startPostgres(bin: string): Promise<OwnServer> {
  const ids = await postgresIds();
  const dir = await mkdtemp(join(tmpdir(), 'kss-own-postgres-'));
  await chown(dir, ids.uid, ids.gid);
  const data = join(dir, 'data');
  const removeDir = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    await run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions'], ids);
  } catch (error) {
    await removeDir();
    throw error;
  }
  const port = await sparePort();
  const settings = [
    'listen_addresses=127.0.0.1',
    `unix_socket_directories=${dir}`,
    'fsync=off',
    'max_connections=20',
    'shared_buffers=16MB',
  ];
  const args = ['-D', data, '-p', String(port), ...settings.flatMap((setting) => ['-c', setting])];
  const child = spawn(join(bin, 'postgres'), args, { ...ids, detached: true, stdio: 'ignore' });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  // SIGQUIT: immediate shutdown, the postmaster takes its backends and shared memory with it.
  const server = ownServer(child, port, url, 'SIGQUIT', removeDir);
  try {
    await until(`postgres on port ${port}`, () => accepts(url), child);
  } catch (error) {
    await server.dispose();
    throw error;
  }
  return server;
}

async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
