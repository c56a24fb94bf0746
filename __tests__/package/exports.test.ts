import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const root = process.cwd();
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, unknown>; type: string };

/** Imports a specifier through the package's own name, from the built dist/, in plain Node. */
function importNames(specifier: string): string[] {
  const child = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `console.log(JSON.stringify(Object.keys(await import('${specifier}')).sort()))`],
    {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '' },
      encoding: 'utf8',
    },
  );
  if (child.status !== 0) throw new Error(`import('${specifier}') failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as string[];
}

describe('the published package', () => {
  beforeAll(() => {
    // `npm test` builds first; a lone `jest` run builds here.
    if (!existsSync('dist/src/index.js')) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  }, 120_000);

  it('is ESM with types listed first in every exports entry', () => {
    expect(pkg.type).toBe('module');
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (subpath === './package.json') continue;
      expect(Object.keys(target as object)[0]).toBe('types');
    }
  });

  it('exports the public names from the main entry, and no default', () => {
    const names = importNames('koa-session-kit');
    expect(names).toEqual(
      expect.arrayContaining([
        'session',
        'getSession',
        'newSession',
        'MemoryStore',
        'jsonSerializer',
        'SerializationError',
        'SessionStoreError',
        'CookieTooLargeError',
      ]),
    );
    expect(names).not.toContain('default');
  });

  it.each([
    ['koa-session-kit/serializers/json', 'jsonSerializer'],
    ['koa-session-kit/serializers/superjson', 'superjsonSerializer'],
    ['koa-session-kit/serializers/msgpack', 'msgpackSerializer'],
    ['koa-session-kit/stores/memory', 'MemoryStore'],
    ['koa-session-kit/stores/file', 'FileStore'],
    ['koa-session-kit/stores/postgres', 'PostgresStore'],
    ['koa-session-kit/stores/redis', 'RedisStore'],
    ['koa-session-kit/stores/cookie', 'CookieStore'],
  ])('resolves %s to built code exporting %s', (specifier, name) => {
    expect(importNames(specifier)).toContain(name);
  });

  it('ships dist/ with declarations in npm pack', () => {
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }),
    ) as [{ files: { path: string }[] }];
    const files = packed.files.map((f) => f.path);
    for (const file of [
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/stores/postgres.js',
      'dist/serializers/msgpack.d.ts',
      'package.json',
      'README.md',
    ]) {
      expect(files).toContain(file);
    }
    expect(files.some((f) => f.startsWith('__tests__') || f.startsWith('dist/__tests__'))).toBe(false);
  });
});
