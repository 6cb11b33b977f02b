import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { LeaderElector } from "./leaderElection.js";

const base = {
  kubeConfig: new KubeConfig(),
  namespace: "kpo-system",
  name: "kpo-leader",
  identity: "pod-a",
  onStartedLeading: () => {},
};

describe("LeaderElector options", () => {
  it("Given client-go's defaults, when built, then it is accepted and starts as non-leader", () => {
    expect(new LeaderElector(base).isLeader()).toBe(false);
  });

  it("Given a lease duration not above the renew deadline, when built, then it is refused naming both values", () => {
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(
      /leaseDuration \(10000 ms\) must exceed renewDeadline \(10000 ms\)/,
    );
  });

  it("Given a renew deadline within 1.2 retry periods, when built, then it is refused", () => {
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(
      /renewDeadline \(2000 ms\) must exceed 1.2 x retryPeriod/,
    );
  });

  it("Given an empty identity, when built, then it is refused", () => {
    expect(() => new LeaderElector({ ...base, identity: "" })).toThrow(/identity must not be empty/);
  });
});
