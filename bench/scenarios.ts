/** The benchmark scenarios: which app a server process builds, which route the load hits, with which cookies. */

/** What a server process builds. */
export interface AppSpec {
  /**
   * `bare`: Koa, no session; `bare-middleware`: the same with one empty async middleware in front
   * (what any middleware that acts after the handler costs, the floor for untouched routes); `floor`: the least a session with the kit's guarantees can do
   * (bench/floor.ts); `naive-file`: issue 4's hand-written file baseline; `bare-<driver>`: a
   * store's own statements through its bare driver (issues 5 and 15, bench/bare-drivers.ts).
   */
  readonly kind: 'bare' | 'bare-middleware' | 'koa-session' | 'kit' | 'floor' | 'naive-file' | BareDriverKind;
  readonly store?: 'memory' | 'file' | 'file-nofsync' | 'postgres' | 'mysql' | 'sqlite' | 'redis' | 'cookie';
  readonly serializer?: 'json' | 'superjson' | 'msgpack';
  /** Kit only: `session({ ctxSession: true })`, the handler working on `ctx.session` as koa-session users do. */
  readonly ctxSession?: boolean;
  /** About how many bytes (as JSON) each session holds; the benchmark's small record when unset. */
  readonly sessionBytes?: number;
}

/** The database stores' baselines: each store's own statements through its bare driver. */
export type BareDriverKind = 'bare-pg' | 'bare-mysql' | 'bare-sqlite' | 'bare-redis';

/** The three routes every app answers; see `handlers.ts`. */
export type Route = '/write' | '/read' | '/untouched';

/** One measured row of the table. */
export interface Scenario {
  readonly id: string;
  readonly label: string;
  readonly app: AppSpec;
  readonly route: Route;
  /**
   * `seeded`: rotate through sessions made before the run (many sessions, not one hot cookie);
   * `none`: every request is a first visit; `synthetic`: cookies of the kit's shape that nothing
   * reads (bare Koa), so every scenario parses requests of about the same size.
   */
  readonly cookies: 'seeded' | 'none' | 'synthetic';
}

const kit = (store: NonNullable<AppSpec['store']>, serializer: NonNullable<AppSpec['serializer']> = 'json'): AppSpec => ({
  kind: 'kit',
  store,
  serializer,
});

const view: AppSpec = { kind: 'kit', store: 'memory', serializer: 'json', ctxSession: true };

function scenario(id: string, label: string, app: AppSpec, route: Route, cookies: Scenario['cookies'] = 'seeded'): Scenario {
  return { id, label, app, route, cookies };
}

/**
 * A database store's four rows: the kit on it, and its own statements (or scripts) through its bare
 * driver, each writing and reading. `sent` names what the bare rows send: `[for a write, for a read]`.
 */
function againstItsDriver(
  store: 'postgres' | 'mysql' | 'sqlite' | 'redis',
  storeClass: string,
  driver: BareDriverKind,
  driverName: string,
  sent: readonly [string, string] = ['statements', 'statements'],
): Scenario[] {
  return [
    scenario(`${store}-write`, `kit ${storeClass}, write`, kit(store), '/write'),
    scenario(`${store}-read`, `kit ${storeClass}, read-only`, kit(store), '/read'),
    scenario(`${driver}-write`, `bare ${driverName} (same ${sent[0]}), write`, { kind: driver }, '/write', 'seeded'),
    scenario(`${driver}-read`, `bare ${driverName} (same ${sent[1]}), read-only`, { kind: driver }, '/read', 'seeded'),
  ];
}

/** Every scenario, in table order. */
export const SCENARIOS: readonly Scenario[] = [
  scenario('bare', 'bare Koa (no session)', { kind: 'bare' }, '/write', 'synthetic'),
  scenario('koa-session-write', 'koa-session 7, write', { kind: 'koa-session' }, '/write', 'seeded'),
  scenario('koa-session-read', 'koa-session 7, read-only', { kind: 'koa-session' }, '/read', 'seeded'),
  scenario('koa-session-untouched', 'koa-session 7, untouched route', { kind: 'koa-session' }, '/untouched', 'seeded'),
  scenario('kit-write', 'kit Memory+JSON, write', kit('memory'), '/write'),
  scenario('kit-read', 'kit Memory+JSON, read-only', kit('memory'), '/read'),
  scenario('kit-untouched', 'kit Memory+JSON, untouched route', kit('memory'), '/untouched'),
  scenario('bare-middleware', 'bare Koa + one empty async middleware', { kind: 'bare-middleware' }, '/untouched', 'synthetic'),
  scenario('kit-view-write', 'kit Memory+JSON, ctx.session view, write', view, '/write'),
  scenario('kit-view-read', 'kit Memory+JSON, ctx.session view, read-only', view, '/read'),
  scenario('kit-view-untouched', 'kit Memory+JSON, ctx.session view, untouched route', view, '/untouched'),
  scenario('kit-first-visit', 'kit Memory+JSON, first visit (no cookie)', kit('memory'), '/write', 'none'),
  scenario('floor-write', 'floor (hand-written minimum), write', { kind: 'floor' }, '/write', 'seeded'),
  scenario('floor-read', 'floor (hand-written minimum), read-only', { kind: 'floor' }, '/read', 'seeded'),
  scenario('kit-superjson-write', 'kit Memory+superjson, write', kit('memory', 'superjson'), '/write'),
  scenario('kit-msgpack-write', 'kit Memory+msgpack, write', kit('memory', 'msgpack'), '/write'),
  scenario('file-write', 'kit FileStore (fsync), write', kit('file'), '/write'),
  scenario('file-read', 'kit FileStore, read-only', kit('file'), '/read'),
  scenario('file-nofsync-write', 'kit FileStore (fsync: false), write', kit('file-nofsync'), '/write'),
  scenario('naive-file-write', 'naive files (writeFile/readFile), write', { kind: 'naive-file' }, '/write', 'seeded'),
  scenario('naive-file-read', 'naive files (readFile), read-only', { kind: 'naive-file' }, '/read', 'seeded'),
  ...againstItsDriver('postgres', 'PostgresStore', 'bare-pg', 'pg'),
  ...againstItsDriver('mysql', 'MySQLStore', 'bare-mysql', 'mysql2'),
  ...againstItsDriver('sqlite', 'SQLiteStore', 'bare-sqlite', 'better-sqlite3'),
  ...againstItsDriver('redis', 'RedisStore', 'bare-redis', 'ioredis', ['scripts', 'commands']),
  scenario('cookie-write', 'kit CookieStore, write', kit('cookie'), '/write'),
  scenario('cookie-read', 'kit CookieStore, read-only', kit('cookie'), '/read'),
];

/** Session sizes of the size-scaling scenarios, in bytes of JSON. */
export const SESSION_SIZES = [200, 2000, 20000] as const;

/**
 * The size-scaling scenarios (issue 16): kit on MemoryStore under each serializer, write and read,
 * with sessions of each of {@link SESSION_SIZES}. Not in {@link SCENARIOS}: `npm run bench` runs
 * them only when named with `--only`; `npm run bench:instructions -- --sizes` runs them all.
 */
export const SIZE_SCENARIOS: readonly Scenario[] = (['json', 'superjson', 'msgpack'] as const).flatMap((serializer) =>
  SESSION_SIZES.flatMap((bytes) =>
    (['/write', '/read'] as const).map((route) =>
      scenario(
        `size-${serializer}-${bytes}-${route.slice(1)}`,
        `kit Memory+${serializer}, ${bytes.toLocaleString('en-US')} B session, ${route === '/write' ? 'write' : 'read-only'}`,
        { ...kit('memory', serializer), sessionBytes: bytes },
        route,
      ),
    ),
  ),
);

/** The scenario with this id, or a clear error (a typo in `--only`). */
export function scenarioById(id: string): Scenario {
  const found = SCENARIOS.find((scenario) => scenario.id === id) ?? SIZE_SCENARIOS.find((scenario) => scenario.id === id);
  if (found === undefined) {
    throw new Error(`bench: no scenario \`${id}\` (known: ${[...SCENARIOS, ...SIZE_SCENARIOS].map((s) => s.id).join(', ')})`);
  }
  return found;
}
