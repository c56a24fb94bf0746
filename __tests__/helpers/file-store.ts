/** FileStore test helpers: temp directories that clean up after themselves, and forked tsx children. */

import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const made: string[] = [];

/** A fresh directory under the OS temp dir, removed by {@link removeTempDirs}. */
export async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `kss-file-${label}-`));
  made.push(dir);
  return dir;
}

/** Removes every directory {@link tempDir} made; call from afterAll. */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** Forks `__tests__/stores/file/fixtures/<name>.ts` under tsx, with an IPC channel. */
export function forkFixture(name: string, args: string[]): ChildProcess {
  const script = fileURLToPath(new URL(`../stores/file/fixtures/${name}.ts`, import.meta.url));
  return fork(script, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** The next IPC message of `type` from `child`; rejects if it exits, or reports an error, first. */
export function nextMessage(child: ChildProcess, type: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no "${type}" message from the child within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: unknown): void => {
      const value = message as Record<string, unknown>; // our fixtures send plain objects with a `type`
      if (value.type === 'error') finish(new Error(`child failed: ${String(value.message)}`));
      else if (value.type === type) finish(undefined, value);
    };
    const onExit = (code: number | null, signal: string | null): void =>
      finish(new Error(`child exited (code ${code}, signal ${signal}) before "${type}"`));
    function finish(error: Error | undefined, value?: Record<string, unknown>): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value!);
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Resolves with the exit code and signal once `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}
