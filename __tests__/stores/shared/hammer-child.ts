/** Body of a forked hammer child: bumps its own key of one shared session `count` times, at-version, retrying on conflict. */

import type { Store } from '../../../src/store.js';

/**
 * Runs once the parent sends any message; argv is `<location> <id> <key> <count>`, where
 * `location` is whatever `open` needs to reach the parent's store (a directory, a file name).
 */
export function runHammerChild(open: (location: string) => Store, owner?: string): void {
  const [location, id, key, countText] = process.argv.slice(2);
  const count = Number(countText);
  const send = (message: unknown): Promise<void> => new Promise((resolve) => process.send!(message, () => resolve()));

  async function run(): Promise<void> {
    const store = open(location!);
    let conflicts = 0;
    try {
      for (let i = 0; i < count; i++) {
        for (;;) {
          const record = await store.get(id!);
          if (record === undefined) throw new Error('the shared session vanished');
          // JSON.parse throws on a torn or spliced record: the test counts that as a failure.
          const value = JSON.parse(Buffer.from(record.data).toString('utf8')) as Record<string, number | string>;
          value[key!] = Number(value[key!] ?? 0) + 1;
          const data = Buffer.from(JSON.stringify(value));
          const write = owner === undefined ? { data, expires: record.expires } : { data, expires: record.expires, owner };
          const version = await store.update(id!, write, record.version);
          if (version !== undefined) break;
          conflicts++;
        }
      }
      await store.close?.();
      await send({ type: 'done', conflicts });
      process.exit(0);
    } catch (error) {
      await send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.exit(1);
    }
  }

  process.once('message', () => void run());
  void send({ type: 'ready' });
}
