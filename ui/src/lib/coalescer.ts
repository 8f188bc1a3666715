/**
 * Runs an async re-read so that a burst of requests costs two reads, not one per request: a call
 * made while a read runs joins it and causes exactly one more read after it.
 */
export class Coalescer {
  #inFlight: Promise<void> | null = null;
  #again = false;

  run(read: () => Promise<void>): Promise<void> {
    if (this.#inFlight) {
      this.#again = true;
      return this.#inFlight;
    }
    const run = (async () => {
      do {
        this.#again = false;
        await read();
      } while (this.#again);
    })();
    this.#inFlight = run;
    // Cleared in a later microtask, so even a read that ends at once is cleared after this line.
    const clear = () => {
      if (this.#inFlight === run) this.#inFlight = null;
    };
    run.then(clear, clear);
    return run;
  }

  /** Forgets the read in flight (its results are for a context that is gone). */
  reset(): void {
    this.#inFlight = null;
    this.#again = false;
  }
}
