import { describe, expect, it } from "vitest";
import { initialContext, policyOutcome, restoreFromStatus, statusMergePatch, toStatus } from "./status.js";
import type { LifecycleContext, LifecyclePhase } from "./types.js";

const T0 = new Date("2026-05-04T10:00:00.000Z");
const T1 = new Date("2026-05-04T10:05:00.000Z");

function ctx(overrides: Partial<LifecycleContext> = {}): LifecycleContext {
  return { ...initialContext(), reason: "Provisioned", message: "Realm applied.", ...overrides };
}

const statusOf = (phase: LifecyclePhase, c = ctx()) =>
  toStatus({ phase, context: c, generation: 3, now: T0, nextAttemptAt: undefined, previous: undefined });
const get = (s: ReturnType<typeof statusOf>, type: string) => s.conditions.find((c) => c.type === type)!;

describe("toStatus", () => {
  it.each([
    ["Ready", "True", "False", "False"],
    ["Pending", "False", "True", "False"],
    ["Provisioning", "False", "True", "False"],
    ["Degraded", "False", "True", "False"],
    ["Failed", "False", "False", "True"],
    ["Deleting", "False", "True", "False"],
  ] as const)(
    "Given phase %s, When mapped, Then Ready=%s Reconciling=%s Stalled=%s (kstatus)",
    (phase, ready, reconciling, stalled) => {
      const s = statusOf(phase);
      expect(s.phase).toBe(phase);
      expect(get(s, "Ready").status).toBe(ready);
      expect(get(s, "Reconciling").status).toBe(reconciling);
      expect(get(s, "Stalled").status).toBe(stalled);
      expect(s.observedGeneration).toBe(3);
      for (const c of s.conditions) {
        expect(c.reason).toMatch(/^[A-Z][A-Za-z]*$/);
        expect(c.message.length).toBeGreaterThan(0);
      }
    },
  );

  it("Given a condition whose status does not change, When mapped again later, Then lastTransitionTime is kept; When it flips, Then it moves", () => {
    const first = statusOf("Ready");
    const same = toStatus({
      phase: "Ready",
      context: ctx({ message: "Realm re-synced." }),
      generation: 4,
      now: T1,
      nextAttemptAt: undefined,
      previous: first,
    });
    expect(get(same, "Ready").lastTransitionTime).toBe(T0.toISOString());
    expect(get(same, "Ready").message).toBe("Realm re-synced.");
    const flipped = toStatus({
      phase: "Degraded",
      context: ctx({ reason: "TransientError", message: "503" }),
      generation: 4,
      now: T1,
      nextAttemptAt: T1,
      previous: first,
    });
    expect(get(flipped, "Ready").lastTransitionTime).toBe(T1.toISOString());
    expect(get(flipped, "Stalled").lastTransitionTime).toBe(T0.toISOString());
    expect(flipped.nextAttemptAt).toBe(T1.toISOString());
  });

  it("Given no policy evaluation yet, When mapped, Then PolicyCompliant is Unknown", () => {
    expect(get(statusOf("Pending"), "PolicyCompliant")).toMatchObject({
      status: "Unknown",
      reason: "NotEvaluated",
    });
  });
});

describe("statusMergePatch", () => {
  it("Given a stored retry deadline and error, When the new status has neither, Then the patch deletes them with null", () => {
    const next = statusOf("Ready");
    const patch = statusMergePatch(
      { phase: "Degraded", nextAttemptAt: T1.toISOString(), lastError: "503" },
      next,
    );
    expect(patch).toMatchObject({ phase: "Ready", nextAttemptAt: null, lastError: null });
    expect(statusMergePatch(undefined, next)).not.toHaveProperty("nextAttemptAt");
  });

  it("Given a failure, When mapped, Then lastError carries its message", () => {
    const s = statusOf("Degraded", ctx({ reason: "TransientError", message: "Keycloak answered 503" }));
    expect(s.lastError).toBe("Keycloak answered 503");
  });
});

describe("policyOutcome", () => {
  it("Given enforce violations, Then it is non-compliant with the policies' own messages", () => {
    const o = policyOutcome({
      allowed: false,
      violations: [
        {
          policy: "quota",
          code: "TooManyRealms",
          message: "team-a already has 5 realms (limit 5)",
          enforcement: "enforce",
        },
        { policy: "production", code: "NoSmtp", message: "set spec.smtpServer", enforcement: "warn" },
      ],
      warnings: [],
    });
    expect(o).toEqual({
      compliant: false,
      reason: "PolicyDenied",
      message: "team-a already has 5 realms (limit 5)",
    });
  });
});

describe("restoreFromStatus", () => {
  it("Given a stored status, When restored and mapped back, Then phase, attempts, reason and policy round-trip", () => {
    const c = ctx({
      attempts: 2,
      reason: "TransientError",
      message: "503",
      observedGeneration: 3,
      policyRevision: "r7",
      policy: { compliant: true, reason: "Compliant", message: "ok" },
    });
    const s = toStatus({
      phase: "Degraded",
      context: c,
      generation: 3,
      now: T0,
      nextAttemptAt: T1,
      previous: undefined,
    });
    const restored = restoreFromStatus(s);
    expect(restored.phase).toBe("Degraded");
    expect(restored.context).toEqual({ ...c, armedTimer: undefined });
  });

  it("Given no status or a garbled phase, When restored, Then it starts from Pending", () => {
    expect(restoreFromStatus(undefined).phase).toBe("Pending");
    expect(restoreFromStatus({ phase: "Bogus", attempts: 0, conditions: [] }).phase).toBe("Pending");
  });
});
