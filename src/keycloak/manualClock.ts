// A manual clock for tests and benchmarks: time moves only when the caller (or a sleeper) advances it.
import type { Clock } from "./clock.js";

export class ManualClock implements Clock {
  #now: number;
  /** Every sleep requested, in order (ms). */
  readonly sleeps: number[] = [];

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  advance(ms: number): void {
    this.#now += ms;
  }

  /** Sleeping advances the clock at once, so waits are observable without real time passing. */
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.#now += ms;
    return Promise.resolve();
  }
}
