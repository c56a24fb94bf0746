import { describe, expect, it } from '@jest/globals';
import { KeyedQueue } from '../../src/keyed-queue.js';

/** A promise and the function that settles it, for work a test finishes when it chooses. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('KeyedQueue#batch()', () => {
  it('runs at once on an idle key, alone, and lets nobody join work that has started', async () => {
    const queue = new KeyedQueue();
    const seen: string[][] = [];
    const running = gate();
    const first = queue.batch('k', 'a', async (items) => {
      seen.push([...items]);
      await running.promise;
      return items.map((item) => `${item}!`);
    });
    expect(seen).toEqual([['a']]);
    const second = queue.batch('k', 'b', async (items) => {
      seen.push([...items]);
      return items.map((item) => `${item}?`);
    });
    running.open();
    expect(await Promise.all([first, second])).toEqual(['a!', 'b?']);
    expect(seen).toEqual([['a'], ['b']]);
  });

  it('gathers the callers that arrive while the key is busy into one batch, in arrival order, each with its own result', async () => {
    const queue = new KeyedQueue();
    const ahead = gate();
    const busy = queue.run('k', () => ahead.promise);
    const batches: string[][] = [];
    const work = async (items: readonly string[]): Promise<string[]> => {
      batches.push([...items]);
      return items.map((item) => item.toUpperCase());
    };
    const answers = Promise.all(['a', 'b', 'c'].map((item) => queue.batch('k', item, work)));
    const otherKey = queue.batch('other', 'z', work);
    expect(await otherKey).toBe('Z');
    ahead.open();
    await busy;
    expect(await answers).toEqual(['A', 'B', 'C']);
    expect(batches).toEqual([['z'], ['a', 'b', 'c']]);
    expect(queue.busy('k')).toBe(false);
  });

  it('keeps the order of work queued with run(): a later caller starts a new batch behind it', async () => {
    const queue = new KeyedQueue();
    const order: string[] = [];
    const ahead = gate();
    const busy = queue.run('k', async () => {
      await ahead.promise;
      order.push('first');
    });
    const work = async (items: readonly string[]): Promise<string[]> => {
      order.push(items.join('+'));
      return [...items];
    };
    const early = [queue.batch('k', 'a', work), queue.batch('k', 'b', work)];
    const alone = queue.run('k', async () => void order.push('alone'));
    const late = queue.batch('k', 'c', work);
    ahead.open();
    await Promise.all([busy, ...early, alone, late]);
    expect(order).toEqual(['first', 'a+b', 'alone', 'c']);
  });

  it('fails every caller of a batch whose work fails, and the next batch still runs', async () => {
    const queue = new KeyedQueue();
    const ahead = gate();
    const busy = queue.run('k', () => ahead.promise);
    const failing = ['a', 'b'].map((item) =>
      queue.batch('k', item, async () => {
        throw new Error('store down');
      }),
    );
    ahead.open();
    await busy;
    for (const caller of failing) await expect(caller).rejects.toThrow('store down');
    expect(await queue.batch('k', 'c', async (items) => [...items])).toBe('c');
  });
});
