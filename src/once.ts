/** Setup that must succeed once (a store creating its table): shared while it runs, tried again after a failure. */

/**
 * Runs a piece of setup until it has succeeded once. Calls while an attempt runs share it; a
 * failed attempt is forgotten, so the next call tries again rather than failing for ever.
 */
export class Once {
  #done: boolean;
  #running: Promise<void> | undefined;

  /** @param needed False when there is nothing to do (the caller turned the setup off). */
  constructor(needed: boolean) {
    this.#done = !needed;
  }

  /**
   * Resolves once `work` has succeeded, now or before. A failure rejects every call sharing the
   * attempt with `fail`'s error, made from the call that started it.
   */
  async run(work: () => Promise<unknown>, fail: (error: unknown) => Error): Promise<void> {
    if (this.#done) return;
    this.#running ??= work().then(
      () => {
        this.#done = true;
      },
      (error: unknown) => {
        this.#running = undefined;
        throw fail(error);
      },
    );
    await this.#running;
  }
}
