import { describe, expect, it } from "vitest";
import { ManualClock } from "./manualClock.js";
import { RequestLimiter, TokenBucket } from "./limits.js";

describe("TokenBucket", () => {
  it("Given a full bucket of burst 3, When 4 tokens are taken at once, Then 3 succeed and the 4th must wait 1/rate", () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ ratePerSecond: 2, burst: 3 }, clock);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()].every((r) => r.ok)).toBe(true);
    expect(bucket.tryTake()).toEqual({ ok: false, waitMs: 500 });
  });

  it("Given an empty bucket, When time passes, Then it refills at the rate up to the burst only", () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5 }, clock);
    for (let i = 0; i < 5; i++) bucket.tryTake();
    clock.advance(200);
    expect(bucket.available()).toBeCloseTo(2);
    clock.advance(60_000);
    expect(bucket.available()).toBe(5);
  });

  it("Given an invalid configuration, When a bucket is built, Then it says which value is wrong", () => {
    expect(() => new TokenBucket({ ratePerSecond: 0, burst: 1 })).toThrow(/ratePerSecond must be > 0/);
    expect(() => new TokenBucket({ ratePerSecond: 1, burst: 0 })).toThrow(/burst >= 1/);
  });
});

describe("RequestLimiter", () => {
  it("Given a per-namespace burst of 2, When one namespace sends 4 requests, Then the last 2 wait for its bucket", async () => {
    const clock = new ManualClock();
    const limiter = new RequestLimiter(
      { global: { ratePerSecond: 100, burst: 100 }, perNamespace: { ratePerSecond: 1, burst: 2 } },
      clock,
    );
    for (let i = 0; i < 4; i++) await limiter.acquire("team-a");
    expect(clock.sleeps).toEqual([1000, 1000]);
  });

  it("Given one namespace exhausted its bucket, When another namespace sends, Then it is not slowed down", async () => {
    const clock = new ManualClock();
    const limiter = new RequestLimiter(
      { global: { ratePerSecond: 100, burst: 100 }, perNamespace: { ratePerSecond: 1, burst: 1 } },
      clock,
    );
    await limiter.acquire("team-a");
    await limiter.acquire("team-b");
    await limiter.acquire("team-c");
    expect(clock.sleeps).toEqual([]);
  });

  it("Given a global burst of 2, When three namespaces send one request each, Then the third waits for the global bucket", async () => {
    const clock = new ManualClock();
    const limiter = new RequestLimiter(
      { global: { ratePerSecond: 4, burst: 2 }, perNamespace: { ratePerSecond: 10, burst: 10 } },
      clock,
    );
    await limiter.acquire("a");
    await limiter.acquire("b");
    await limiter.acquire("c");
    expect(clock.sleeps).toEqual([250]);
  });

  it("Given a throttled global bucket, When a namespace waits, Then its own token is given back while waiting", async () => {
    const clock = new ManualClock();
    const limiter = new RequestLimiter(
      { global: { ratePerSecond: 1, burst: 1 }, perNamespace: { ratePerSecond: 1, burst: 1 } },
      clock,
    );
    await limiter.acquire(undefined);
    // The namespace token taken before the global wait was refunded: only the global wait happens.
    await limiter.acquire("a");
    expect(clock.sleeps).toEqual([1000]);
  });
});
