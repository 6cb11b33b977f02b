import { describe, expect, it } from "vitest";
import { CircuitBreaker, type CircuitState } from "./breaker.js";
import { isTransient } from "../lifecycle/errors.js";
import { CircuitOpenError } from "./errors.js";
import { ManualClock } from "./manualClock.js";

function breaker(threshold = 3, cooldownMs = 10_000) {
  const clock = new ManualClock();
  const states: CircuitState[] = [];
  const b = new CircuitBreaker("ns/kc", { failureThreshold: threshold, cooldownMs }, clock, (s) =>
    states.push(s),
  );
  return { b, clock, states };
}

describe("CircuitBreaker", () => {
  it("Given a closed circuit, When fewer failures than the threshold occur, Then it stays closed", () => {
    const { b } = breaker(3);
    for (let i = 0; i < 2; i++) {
      b.admit();
      b.onFailure();
    }
    expect(b.state).toBe("closed");
    expect(b.admit()).toBe(false);
  });

  it("Given failures interrupted by a success, When counted, Then only consecutive failures open the circuit", () => {
    const { b } = breaker(3);
    b.onFailure();
    b.onFailure();
    b.onSuccess();
    b.onFailure();
    b.onFailure();
    expect(b.state).toBe("closed");
    b.onFailure();
    expect(b.state).toBe("open");
  });

  it("Given an open circuit, When a request asks before the cool-down, Then it is refused with a transient CircuitOpenError", () => {
    const { b, clock } = breaker(1, 10_000);
    b.admit();
    b.onFailure();
    clock.advance(9_999);
    let err: unknown;
    try {
      b.admit();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(isTransient(err)).toBe(true);
    expect((err as CircuitOpenError).retryAt).toBe(clock.now() + 1);
  });

  it("Given the cool-down passed, When requests ask, Then exactly one probe goes through (half-open)", () => {
    const { b, clock } = breaker(1, 10_000);
    b.onFailure();
    clock.advance(10_000);
    expect(b.admit()).toBe(true);
    expect(b.state).toBe("half-open");
    expect(() => b.admit()).toThrow(CircuitOpenError);
  });

  it("Given a half-open probe, When it succeeds, Then the circuit closes; When it fails, Then it reopens for a new cool-down", () => {
    const ok = breaker(1, 1_000);
    ok.b.onFailure();
    ok.clock.advance(1_000);
    ok.b.admit();
    ok.b.onSuccess();
    expect(ok.b.state).toBe("closed");
    expect(ok.states).toEqual(["closed", "open", "half-open", "closed"]);

    const bad = breaker(5, 1_000);
    for (let i = 0; i < 5; i++) bad.b.onFailure();
    bad.clock.advance(1_000);
    bad.b.admit();
    bad.b.onFailure();
    expect(bad.b.state).toBe("open");
    expect(() => bad.b.admit()).toThrow(CircuitOpenError);
  });

  it("Given a half-open probe that ended without an answer, When onNeutral is called, Then another probe may go", () => {
    const { b, clock } = breaker(1, 0);
    b.onFailure();
    clock.advance(1);
    b.admit();
    b.onNeutral();
    expect(() => b.admit()).not.toThrow();
  });
});
