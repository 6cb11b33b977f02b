// Rate limiters for the work queue, with client-go's semantics (k8s.io/client-go/util/workqueue):
// a per-item exponential failure backoff, an overall token bucket, and the max of several.

export interface RateLimiter {
  /** How long to wait before the key may be processed again; records one more failure. */
  when(key: string): number;
  /** Stop tracking the key: its next failure starts again from the base delay. */
  forget(key: string): void;
  /** How many times the key has been requeued since it was last forgotten. */
  numRequeues(key: string): number;
}

/** Per-key delay `base * 2^failures`, capped at `max`. client-go's default is 5 ms .. 1000 s. */
export class ItemExponentialFailureRateLimiter implements RateLimiter {
  readonly #failures = new Map<string, number>();
  readonly #baseMs: number;
  readonly #maxMs: number;

  constructor(baseMs = 5, maxMs = 1_000_000) {
    if (!(baseMs > 0) || !(maxMs >= baseMs)) {
      throw new Error(`rate limiter: baseMs (${baseMs}) must be > 0 and maxMs (${maxMs}) >= baseMs`);
    }
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  when(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // 2^failures overflows to Infinity long after the cap is reached; Math.min keeps it finite.
    return Math.min(this.#baseMs * 2 ** failures, this.#maxMs);
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}

/**
 * An overall token bucket (client-go default: 10 per second, burst 100). It bounds the total retry
 * rate when many keys fail at once, e.g. while Keycloak is down. It does not track keys.
 */
export class BucketRateLimiter implements RateLimiter {
  readonly #qps: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(qps = 10, burst = 100, now: () => number = () => performance.now()) {
    if (!(qps > 0) || !(burst >= 1)) {
      throw new Error(`bucket rate limiter: qps (${qps}) must be > 0 and burst (${burst}) >= 1`);
    }
    this.#qps = qps;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#last = now();
  }

  when(_key: string): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
    this.#last = now;
    // Reserve a token even if it is not there yet (like golang.org/x/time/rate Reserve): the
    // caller waits for the time it takes to refill to zero debt.
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.#qps) * 1000;
  }

  forget(_key: string): void {}

  numRequeues(_key: string): number {
    return 0;
  }
}

/** The longest delay of all limiters; each of them records the failure. */
export class MaxOfRateLimiter implements RateLimiter {
  readonly #limiters: RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    if (limiters.length === 0) throw new Error("MaxOfRateLimiter needs at least one limiter");
    this.#limiters = limiters;
  }

  when(key: string): number {
    return Math.max(...this.#limiters.map((l) => l.when(key)));
  }

  forget(key: string): void {
    for (const l of this.#limiters) l.forget(key);
  }

  numRequeues(key: string): number {
    return Math.max(...this.#limiters.map((l) => l.numRequeues(key)));
  }
}
