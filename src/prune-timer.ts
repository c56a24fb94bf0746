/** The prune schedule a store shares with the others: one run at a time, an unref'd timer, and its report. */

import { reportPrune, type StoreEventSink } from './store.js';

/**
 * Runs a store's prune so that concurrent calls share one run, and, given an interval, on a timer
 * that never keeps the process alive; each scheduled run is reported to the sink the store was
 * handed (see `Store.setEventSink`).
 */
export class PruneTimer {
  readonly #store: string;
  readonly #run: () => Promise<number>;
  #pruning: Promise<number> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sink: StoreEventSink | undefined;

  /**
   * @param store The store's class name, as events name it.
   * @param run One prune to the end, resolving to how many records went.
   * @param interval How often to run it, in ms; `false` for never (the app calls `prune` itself).
   * @param log Called with a scheduled run's error before `prune-failed` is reported.
   */
  constructor(store: string, run: () => Promise<number>, interval: number | false, log: (error: unknown) => void) {
    this.#store = store;
    this.#run = run;
    if (interval === false) return;
    this.#timer = setInterval(() => reportPrune(this.#store, this.prune(), this.#sink, log), interval).unref();
  }

  /** The running prune, or a new one: a call while one runs joins it. */
  prune(): Promise<number> {
    this.#pruning ??= this.#run().finally(() => {
      this.#pruning = undefined;
    });
    return this.#pruning;
  }

  /** Where scheduled runs report; `undefined` stops reporting. */
  setEventSink(sink: StoreEventSink | undefined): void {
    this.#sink = sink;
  }

  /** Stops the timer and waits for a running prune to settle (its failure is its caller's to see). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#pruning?.catch(() => undefined);
  }
}
