import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const root = process.cwd();
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: Record<string, unknown>;
  typesVersions: Record<string, Record<string, string[]>>;
  type: string;
};

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
    if (!existsSync('dist/src/index.cjs')) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  }, 120_000);

  it('is ESM with types listed first in every exports condition', () => {
    expect(pkg.type).toBe('module');
    const conditions = (value: unknown): Record<string, unknown>[] =>
      typeof value === 'string' ? [] : [value as Record<string, unknown>, ...Object.values(value as object).flatMap(conditions)];
    const withTypes = conditions(pkg.exports).filter((condition) => 'types' in condition);
    expect(withTypes.length).toBeGreaterThan(0);
    for (const condition of withTypes) expect(Object.keys(condition)[0]).toBe('types');
  });

  it('exports exactly the public modules: the main entry and each top-level store and serializer', () => {
    // Folders such as stores/file/ hold a module's private helpers; no exports entry reaches them.
    const modules = (dir: string): string[] =>
      readdirSync(dir)
        .filter((file) => file.endsWith('.ts'))
        .map((file) => `./${dir}/${file.slice(0, -3)}`);
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', './package.json', ...modules('serializers'), ...modules('stores')].sort());
  });

  it('maps the same subpaths through typesVersions, for TypeScript node10 resolution (which ignores exports)', () => {
    const mapped = Object.entries(pkg.typesVersions['*']!).map(([subpath, [types]]) => [`./${subpath}`, types]);
    const exported = Object.entries(pkg.exports)
      .filter(([subpath]) => subpath !== '.' && subpath !== './package.json')
      .map(([subpath, target]) => [subpath, (target as { import: { types: string } }).import.types]);
    expect(mapped.sort()).toEqual(exported.sort());
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
    ['koa-session-kit/stores/mysql', 'MySQLStore'],
    ['koa-session-kit/stores/redis', 'RedisStore'],
    ['koa-session-kit/stores/cookie', 'CookieStore'],
    ['koa-session-kit/stores/sqlite', 'SQLiteStore'],
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
      'dist/src/index.cjs',
      'dist/stores/redis.d.cts',
      'package.json',
      'README.md',
    ]) {
      expect(files).toContain(file);
    }
    expect(files.some((f) => f.startsWith('__tests__') || f.startsWith('dist/__tests__'))).toBe(false);
  });
});
