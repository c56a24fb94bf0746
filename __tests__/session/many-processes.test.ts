/**
 * The example app in 4 `node:cluster` workers on one shared store (Redis, PostgreSQL, MariaDB,
 * a SQLite file): 50 clients on 10 shared sessions lose no update, a logged-out or invalidated
 * session never comes back, and every worker sees every login.
 */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, startExampleCluster, type Answer, type ExampleCluster } from '../helpers/example-cluster.js';
import { mysqlShared, postgresShared, redisShared, sqliteShared, type SharedStoreTarget } from '../helpers/shared-store-targets.js';

const WORKERS = ['1', '2', '3', '4'];
const SESSIONS = 10;
const CLIENTS_PER_SESSION = 5;
const BUMPS = 10;
/** Requests a client may make before every worker has answered it; the balancer takes turns, so a few do. */
const MAX_TRIES = 40;
/** Per test: generous, since CI runs other suites beside this one on two cores. */
const TEST_MS = 60_000;

/** One logged-in session and the clients sharing it; `cookie` is its id cookie as logged in. */
interface Group {
  cookie: string;
  clients: { name: string; browser: Browser; token: string }[];
}

/** The CSRF token of the form on a page of the example. */
function formToken(page: Answer): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
  if (token === undefined) throw new Error(`page rendered no CSRF token (status ${page.status}): ${page.text.slice(0, 200)}`);
  return token;
}

/** Logs `browser` in as ada through the example's form, then renders `/` once (which gives the session its CSRF secret). */
async function logIn(browser: Browser): Promise<string> {
  const form = await browser.get('/login');
  const login = await browser.post('/login', { username: 'ada', password: 'lovelace', _csrf: formToken(form) });
  if (login.status !== 302) throw new Error(`login answered ${login.status}: ${login.text}`);
  return formToken(await browser.get('/'));
}

/** Sends `send()` until every worker has answered it (at most MAX_TRIES times); resolves to every answer. */
async function onEveryWorker(send: () => Promise<Answer>): Promise<Answer[]> {
  const answers: Answer[] = [];
  const seen = new Set<string | undefined>();
  while (seen.size < WORKERS.length && answers.length < MAX_TRIES) {
    const answer = await send();
    answers.push(answer);
    seen.add(answer.worker);
  }
  return answers;
}

/** How many more events of `type` the workers counted in `after` than in `before`. */
const more = (before: Record<string, number>, after: Record<string, number>, type: string): number =>
  (after[type] ?? 0) - (before[type] ?? 0);

const workersOf = (answers: Answer[]): (string | undefined)[] => [...new Set(answers.map((a) => a.worker))].sort();

/** Runs the suite on a cluster whose workers share a fresh place in `target`, removed after; skipped when `reachable` is false. */
function describeOnCluster(target: SharedStoreTarget, reachable: boolean): void {
  (reachable ? describe : describe.skip)(`the example app in ${WORKERS.length} cluster workers on one ${target.name}`, () => {
    let cluster: ExampleCluster | undefined;
    let cleanup: (() => Promise<void>) | undefined;
    const groups: Group[] = [];

    beforeAll(async () => {
      const place = await target.prepare('many_processes');
      cleanup = place.cleanup;
      cluster = await startExampleCluster(place.args);
      const port = cluster.port;
      for (let g = 0; g < SESSIONS; g++) {
        const leader = new Browser(port);
        const token = await logIn(leader);
        const clients = Array.from({ length: CLIENTS_PER_SESSION }, (_, i) => ({
          name: `c${g * CLIENTS_PER_SESSION + i}`,
          browser: i === 0 ? leader : leader.copy(),
          token,
        }));
        groups.push({ cookie: leader.cookie, clients });
      }
    }, 45_000);

    afterAll(async () => {
      try {
        await cluster?.stop();
        expect(cluster?.errors ?? []).toEqual([]);
      } finally {
        await cleanup?.();
      }
    }, 30_000);

    const everyClient = (): Group['clients'] => groups.flatMap((group) => group.clients);

    it(
      'shows every login on every worker',
      async () => {
        // One leader at a time: the balancer hands connections round the workers in turn, so leaders
        // asking side by side take turns with each other, and one leader's connections can keep landing
        // on the same few workers for all its tries. Alone, a leader's next connections go round all of them.
        const seen: { workers: (string | undefined)[]; notLoggedIn: number }[] = [];
        for (const {
          clients: [leader],
        } of groups) {
          const answers = await onEveryWorker(() => leader!.browser.get('/'));
          seen.push({
            workers: workersOf(answers),
            notLoggedIn: answers.filter((a) => a.status !== 200 || !a.text.includes('Hello, Ada Lovelace.')).length,
          });
        }
        expect(seen).toEqual(groups.map(() => ({ workers: WORKERS, notLoggedIn: 0 })));
      },
      TEST_MS,
    );

    it(
      `lands every one of ${BUMPS} bumps of each of ${SESSIONS * CLIENTS_PER_SESSION} clients, ${CLIENTS_PER_SESSION} to a session`,
      async () => {
        const before = await cluster!.events();
        const workers = new Set<string | undefined>();
        const failures: string[] = [];
        await Promise.all(
          everyClient().map(async ({ name, browser, token }) => {
            for (let i = 1; i <= BUMPS; i++) {
              const answer = await browser.post('/tally', { client: name, _csrf: token });
              workers.add(answer.worker);
              const value = answer.status === 200 ? (JSON.parse(answer.text) as { value: number }).value : undefined;
              if (value !== i) failures.push(`${name} bump ${i}: ${answer.status} ${answer.text.slice(0, 100)}`);
            }
          }),
        );
        expect(failures).toEqual([]);
        expect([...workers].sort()).toEqual(WORKERS);
        // The workers' writes really met (otherwise this proves nothing about the version check), and no store failed.
        const after = await cluster!.events();
        expect(more(before, after, 'conflict-retried')).toBeGreaterThan(0);
        expect(after['store-error'] ?? 0).toBe(0);
        for (const group of groups) {
          const shown = JSON.parse((await group.clients[0]!.browser.get('/session')).text) as { data: Record<string, unknown> };
          const tallies = Object.fromEntries(Object.entries(shown.data).filter(([key]) => key.startsWith('tally:')));
          expect({ user: shown.data.passport, tallies }).toEqual({
            user: { user: 'ada' },
            tallies: Object.fromEntries(group.clients.map(({ name }) => [`tally:${name}`, BUMPS])),
          });
        }
      },
      TEST_MS,
    );

    it(
      'brings back no logged-out or invalidated session, not even through writes that loaded it before',
      async () => {
        // Four clients of each session load it and wait; the fifth logs out (even sessions, the
        // example's form) or invalidates it (odd ones); then the four write, late.
        const late = groups.flatMap((group) =>
          group.clients.slice(1).map(({ name, browser, token }) => browser.post('/tally', { client: name, _csrf: token, hold: '1' })),
        );
        // Settled from the start: if a step below fails, these end in the teardown without an unhandled rejection.
        const lateAnswers = Promise.allSettled(late);
        await cluster!.held(late.length);
        const before = await cluster!.events();
        const leaving = await Promise.all(
          groups.map(({ clients: [leaver] }, g) =>
            g % 2 === 0
              ? leaver!.browser.post('/logout', { _csrf: leaver!.token })
              : leaver!.browser.post('/forget', { _csrf: leaver!.token }),
          ),
        );
        expect(leaving.map((a) => a.status)).toEqual(groups.map((_, g) => (g % 2 === 0 ? 302 : 204)));
        cluster!.release();
        const statuses = (await lateAnswers).map((r) => (r.status === 'fulfilled' ? r.value.status : String(r.reason)));
        expect(statuses).toEqual(late.map(() => 200));
        // Each late write reached the store, found the session gone, and gave up at once.
        expect(more(before, await cluster!.events(), 'conflict-retried')).toBe(late.length);

        // The cookie as it was at login, on every worker, then each client with whatever its jar now holds.
        const reads = await Promise.all(
          groups.flatMap((group) => [
            onEveryWorker(() => new Browser(cluster!.port, group.cookie).get('/session')),
            ...group.clients.map(({ browser }) => browser.get('/session').then((answer) => [answer])),
          ]),
        );
        const shown = reads.flat().map(({ worker, status, text }) => ({
          worker,
          status,
          data: status === 200 ? (JSON.parse(text) as { data: object }).data : text,
        }));
        expect(shown.filter(({ status, data }) => status !== 200 || Object.keys(data).length > 0)).toEqual([]);
        expect(workersOf(reads.flat())).toEqual(WORKERS);
      },
      TEST_MS,
    );
  });
}

for (const target of [redisShared, postgresShared, mysqlShared, sqliteShared]) describeOnCluster(target, await target.reachable());
