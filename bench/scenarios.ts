/** The benchmark scenarios: which app a server process builds, which route the load hits, with which cookies. */

/** What a server process builds. */
export interface AppSpec {
  /**
   * `bare`: Koa, no session; `bare-middleware`: the same with one empty async middleware in front
   * (what any middleware that acts after the handler costs, the floor for untouched routes); `floor`: the least a session with the kit's guarantees can do
   * (bench/floor.ts); `naive-file` / `bare-pg`: the hand-written baselines issues 4 and 5 ask for.
   */
  readonly kind: 'bare' | 'bare-middleware' | 'koa-session' | 'kit' | 'floor' | 'naive-file' | 'bare-pg';
  readonly store?: 'memory' | 'file' | 'file-nofsync' | 'postgres' | 'redis' | 'cookie';
  readonly serializer?: 'json' | 'superjson' | 'msgpack';
}

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

function kitScenario(id: string, label: string, app: AppSpec, route: Route, cookies: Scenario['cookies'] = 'seeded'): Scenario {
  return { id, label, app, route, cookies };
}

/** Every scenario, in table order. */
export const SCENARIOS: readonly Scenario[] = [
  { id: 'bare', label: 'bare Koa (no session)', app: { kind: 'bare' }, route: '/write', cookies: 'synthetic' },
  { id: 'koa-session-write', label: 'koa-session 7, write', app: { kind: 'koa-session' }, route: '/write', cookies: 'seeded' },
  { id: 'koa-session-read', label: 'koa-session 7, read-only', app: { kind: 'koa-session' }, route: '/read', cookies: 'seeded' },
  {
    id: 'koa-session-untouched',
    label: 'koa-session 7, untouched route',
    app: { kind: 'koa-session' },
    route: '/untouched',
    cookies: 'seeded',
  },
  kitScenario('kit-write', 'kit Memory+JSON, write', kit('memory'), '/write'),
  kitScenario('kit-read', 'kit Memory+JSON, read-only', kit('memory'), '/read'),
  kitScenario('kit-untouched', 'kit Memory+JSON, untouched route', kit('memory'), '/untouched'),
  {
    id: 'bare-middleware',
    label: 'bare Koa + one empty async middleware',
    app: { kind: 'bare-middleware' },
    route: '/untouched',
    cookies: 'synthetic',
  },
  kitScenario('kit-first-visit', 'kit Memory+JSON, first visit (no cookie)', kit('memory'), '/write', 'none'),
  { id: 'floor-write', label: 'floor (hand-written minimum), write', app: { kind: 'floor' }, route: '/write', cookies: 'seeded' },
  { id: 'floor-read', label: 'floor (hand-written minimum), read-only', app: { kind: 'floor' }, route: '/read', cookies: 'seeded' },
  kitScenario('kit-superjson-write', 'kit Memory+superjson, write', kit('memory', 'superjson'), '/write'),
  kitScenario('kit-msgpack-write', 'kit Memory+msgpack, write', kit('memory', 'msgpack'), '/write'),
  kitScenario('file-write', 'kit FileStore (fsync), write', kit('file'), '/write'),
  kitScenario('file-read', 'kit FileStore, read-only', kit('file'), '/read'),
  kitScenario('file-nofsync-write', 'kit FileStore (fsync: false), write', kit('file-nofsync'), '/write'),
  {
    id: 'naive-file-write',
    label: 'naive files (writeFile/readFile), write',
    app: { kind: 'naive-file' },
    route: '/write',
    cookies: 'seeded',
  },
  { id: 'naive-file-read', label: 'naive files (readFile), read-only', app: { kind: 'naive-file' }, route: '/read', cookies: 'seeded' },
  kitScenario('postgres-write', 'kit PostgresStore, write', kit('postgres'), '/write'),
  kitScenario('postgres-read', 'kit PostgresStore, read-only', kit('postgres'), '/read'),
  { id: 'bare-pg-write', label: 'bare pg (same statements), write', app: { kind: 'bare-pg' }, route: '/write', cookies: 'seeded' },
  { id: 'bare-pg-read', label: 'bare pg (same statements), read-only', app: { kind: 'bare-pg' }, route: '/read', cookies: 'seeded' },
  kitScenario('redis-write', 'kit RedisStore, write', kit('redis'), '/write'),
  kitScenario('redis-read', 'kit RedisStore, read-only', kit('redis'), '/read'),
  kitScenario('cookie-write', 'kit CookieStore, write', kit('cookie'), '/write'),
  kitScenario('cookie-read', 'kit CookieStore, read-only', kit('cookie'), '/read'),
];

/** The scenario with this id, or a clear error (a typo in `--only`). */
export function scenarioById(id: string): Scenario {
  const found = SCENARIOS.find((scenario) => scenario.id === id);
  if (found === undefined) throw new Error(`bench: no scenario \`${id}\` (known: ${SCENARIOS.map((s) => s.id).join(', ')})`);
  return found;
}
