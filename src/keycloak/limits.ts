// Client-side rate limits for Keycloak calls: one bucket shared by the whole operator and one per
// namespace, so a single team applying hundreds of clients cannot starve the others nor overload
// Keycloak. Token buckets: `burst` requests may go at once, then `ratePerSecond` on average.
import { systemClock, type Clock } from "./clock.js";

export interface BucketConfig {
  /** Sustained requests per second (> 0). */
  ratePerSecond: number;
  /** Requests that may be sent back to back after an idle period (>= 1). */
  burst: number;
}

export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #updatedAt: number;

  constructor(config: BucketConfig, clock: Clock = systemClock) {
    if (!(config.ratePerSecond > 0) || !(config.burst >= 1)) {
      throw new Error(
        `Invalid token bucket (ratePerSecond=${config.ratePerSecond}, burst=${config.burst}): ` +
          "ratePerSecond must be > 0 and burst >= 1",
      );
    }
    this.#rate = config.ratePerSecond;
    this.#burst = config.burst;
    this.#clock = clock;
    this.#tokens = config.burst;
    this.#updatedAt = clock.now();
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = Math.max(0, now - this.#updatedAt) / 1000;
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#rate);
    this.#updatedAt = now;
  }

  /** Takes a token if one is available now; otherwise returns the wait in ms until one will be. */
  tryTake(): { ok: true } | { ok: false; waitMs: number } {
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return { ok: true };
    }
    return { ok: false, waitMs: Math.ceil(((1 - this.#tokens) / this.#rate) * 1000) };
  }

  /** Tokens available now (fractional). */
  available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Gives back a token taken by `tryTake` that was not used. */
  refund(): void {
    this.#tokens = Math.min(this.#burst, this.#tokens + 1);
  }
}

export interface LimiterConfig {
  global: BucketConfig;
  perNamespace: BucketConfig;
}

/** Defaults: generous enough for a resync storm of a few hundred objects, gentle on one Keycloak. */
export const defaultLimiterConfig: LimiterConfig = {
  global: { ratePerSecond: 50, burst: 100 },
  perNamespace: { ratePerSecond: 10, burst: 20 },
};

/** The global bucket plus one bucket per namespace (created on first use). */
export class RequestLimiter {
  readonly #config: LimiterConfig;
  readonly #clock: Clock;
  readonly #global: TokenBucket;
  readonly #namespaces = new Map<string, TokenBucket>();

  constructor(config: LimiterConfig = defaultLimiterConfig, clock: Clock = systemClock) {
    this.#config = config;
    this.#clock = clock;
    this.#global = new TokenBucket(config.global, clock);
  }

  #bucketFor(namespace: string): TokenBucket {
    let bucket = this.#namespaces.get(namespace);
    if (!bucket) {
      bucket = new TokenBucket(this.#config.perNamespace, this.#clock);
      this.#namespaces.set(namespace, bucket);
    }
    return bucket;
  }

  /**
   * Waits until both the namespace's bucket and the global bucket grant a token. The namespace
   * bucket is asked first so a throttled namespace never holds global tokens while it waits.
   * Requests without a namespace (instance-level calls) only use the global bucket.
   */
  async acquire(namespace?: string): Promise<void> {
    const local = namespace === undefined ? undefined : this.#bucketFor(namespace);
    for (;;) {
      const l = local ? local.tryTake() : ({ ok: true } as const);
      if (!l.ok) {
        await this.#clock.sleep(l.waitMs);
        continue;
      }
      const g = this.#global.tryTake();
      if (g.ok) return;
      local?.refund();
      await this.#clock.sleep(g.waitMs);
    }
  }
}
