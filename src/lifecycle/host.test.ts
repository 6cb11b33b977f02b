import { describe, expect, it, vi } from "vitest";
import { register } from "prom-client";
import type { Decision, PolicyInput, Violation } from "../policy/decision.js";
import { BlockedError, PermanentError, TransientError } from "./errors.js";
import {
  reconcileLifecycle,
  type LifecycleEffects,
  type LifecycleFacts,
  type ReconcileArgs,
} from "./host.js";
import { loadMachineFile, type LoadedMachine } from "./loader.js";
import { initTransitions } from "./metrics.js";
import type { StoredStatus } from "./types.js";

// The production chart with the fixture's numbers (fixtures/realm.json), not the tunable ones in
// machines/realm.json: these tests count milliseconds and attempts.
const REALM_FILE = new URL("./fixtures/realm.json", import.meta.url).pathname;
const realm = (): LoadedMachine => loadMachineFile(REALM_FILE, "src/lifecycle/fixtures/realm.json");

const T0 = new Date("2026-05-04T10:00:00.000Z");
const at = (ms: number) => new Date(T0.getTime() + ms);

const violation = (enforcement: Violation["enforcement"], message: string): Violation => ({
  policy: "authorization",
  code: "RealmNamespaceNotGranted",
  message,
  enforcement,
});
const ALLOW: Decision = { allowed: true, violations: [], warnings: [] };
const DENY: Decision = {
  allowed: false,
  violations: [
    violation("enforce", "namespace team-a may not use instance kc/main: add team-a to spec.realmGrants"),
  ],
  warnings: [],
};

function facts(decision: Decision = ALLOW, ready = true, revision = "rev-1"): LifecycleFacts {
  return {
    policy: { decision, revision },
    dependency: ready
      ? { ready: true }
      : { ready: false, reason: "InstanceNotReady", message: "KeycloakInstance kc/main is Pending" },
  };
}

function spyEffects(
  provision: () => Promise<{ message?: string } | void> = () =>
    Promise.resolve({ message: "Realm applied." }),
) {
  const effects = {
    provision: vi.fn(provision),
    teardown: vi.fn(() => Promise.resolve()),
  } satisfies LifecycleEffects;
  return effects;
}

function args(overrides: Partial<ReconcileArgs> & { effects: LifecycleEffects }): ReconcileArgs {
  return {
    status: undefined,
    generation: 1,
    deleting: false,
    now: T0,
    facts: facts(),
    random: () => 0,
    ...overrides,
  };
}

/** Drives a realm into Degraded with `failures` transient errors in a row. */
async function degraded(machine: LoadedMachine, failures: number): Promise<StoredStatus> {
  const effects = spyEffects(() => Promise.reject(new TransientError("Keycloak answered 503")));
  let r = await reconcileLifecycle(machine, args({ effects }));
  for (let i = 1; i < failures; i++) {
    r = await reconcileLifecycle(
      machine,
      args({ effects, status: r.status, now: new Date(r.status.nextAttemptAt!) }),
    );
  }
  expect(r.status.phase).toBe("Degraded");
  return r.status;
}

const cond = (s: StoredStatus, type: string) => (s.conditions ?? []).find((c) => c.type === type)!;

describe("reconcileLifecycle: policy guards", () => {
  it("Given an enforce-mode deny, When a new realm is reconciled, Then no side effect runs and it is Failed with the policy's message", async () => {
    const effects = spyEffects();
    const r = await reconcileLifecycle(realm(), args({ effects, facts: facts(DENY) }));
    expect(effects.provision).not.toHaveBeenCalled();
    expect(r.effectsRun).toEqual([]);
    expect(r.status.phase).toBe("Failed");
    expect(cond(r.status, "PolicyCompliant")).toMatchObject({ status: "False", reason: "PolicyDenied" });
    expect(cond(r.status, "PolicyCompliant").message).toContain("add team-a to spec.realmGrants");
    expect(cond(r.status, "Stalled")).toMatchObject({ status: "True", reason: "PolicyDenied" });
    expect(r.events).toEqual([expect.objectContaining({ type: "Warning", reason: "PolicyDenied" })]);
  });

  it("Given a deny, When reconciled from Ready, from a due Degraded and from Failed with a new generation, Then the side effect never runs", async () => {
    const machine = realm();
    const ready = (await reconcileLifecycle(machine, args({ effects: spyEffects() }))).status;
    expect(ready.phase).toBe("Ready");
    const waiting = await degraded(machine, 1);
    const failed = (await reconcileLifecycle(machine, args({ effects: spyEffects(), facts: facts(DENY) })))
      .status;
    const cases: Array<[StoredStatus, Date, number]> = [
      [ready, at(1), 1],
      [waiting, new Date(waiting.nextAttemptAt!), 1],
      [failed, at(1), 2],
    ];
    for (const [status, now, generation] of cases) {
      const effects = spyEffects();
      const r = await reconcileLifecycle(
        machine,
        args({ effects, status, now, generation, facts: facts(DENY) }),
      );
      expect(effects.provision, `from ${status.phase}`).not.toHaveBeenCalled();
      expect(r.status.phase).toBe("Failed");
    }
  });

  it("Given a warn-mode violation, When reconciled, Then it provisions, records the warning and emits a Warning event", async () => {
    const effects = spyEffects();
    const warn: Decision = {
      allowed: true,
      violations: [violation("warn", "realm has no SMTP server")],
      warnings: [],
    };
    const r = await reconcileLifecycle(realm(), args({ effects, facts: facts(warn) }));
    expect(effects.provision).toHaveBeenCalledTimes(1);
    expect(r.status.phase).toBe("Ready");
    expect(cond(r.status, "PolicyCompliant")).toMatchObject({
      status: "True",
      reason: "CompliantWithWarnings",
    });
    expect(cond(r.status, "PolicyCompliant").message).toContain("realm has no SMTP server");
    expect(r.events).toContainEqual(expect.objectContaining({ type: "Warning", reason: "PolicyWarning" }));
  });

  it("Given a dryrun-mode violation, When reconciled, Then it provisions and only records it in the condition", async () => {
    const effects = spyEffects();
    const dry: Decision = {
      allowed: true,
      violations: [violation("dryrun", "would need a grant")],
      warnings: [],
    };
    const r = await reconcileLifecycle(realm(), args({ effects, facts: facts(dry) }));
    expect(effects.provision).toHaveBeenCalledTimes(1);
    expect(cond(r.status, "PolicyCompliant")).toMatchObject({
      status: "True",
      reason: "CompliantWithDryRunViolations",
    });
    expect(cond(r.status, "PolicyCompliant").message).toContain("would need a grant");
    expect(r.events.filter((e) => e.type === "Warning")).toEqual([]);
  });

  it("Given a PolicyInput and a decide function, When reconciled, Then the decision is computed once from that input", async () => {
    const decide = vi.fn((input: PolicyInput): Decision =>
      input.namespace.name === "team-a" ? DENY : ALLOW,
    );
    const input = {
      operation: "create",
      kind: "KeycloakRealm",
      resource: { metadata: { name: "main", namespace: "team-a" }, spec: {} },
      namespace: { name: "team-a", labels: {} },
      target: {},
      counts: {},
      environment: {},
    } satisfies PolicyInput;
    const effects = spyEffects();
    const r = await reconcileLifecycle(
      realm(),
      args({ effects, facts: { policy: { input, decide, revision: "r9" }, dependency: { ready: true } } }),
    );
    expect(decide).toHaveBeenCalledTimes(1);
    expect(decide).toHaveBeenCalledWith(input);
    expect(r.status.phase).toBe("Failed");
    expect(r.status.policyRevision).toBe("r9");
  });
});

describe("reconcileLifecycle: dependencies", () => {
  it("Given the instance is not Ready, When reconciled, Then the realm stays Pending with the reason, and proceeds once it is Ready", async () => {
    const machine = realm();
    const effects = spyEffects();
    const first = await reconcileLifecycle(machine, args({ effects, facts: facts(ALLOW, false) }));
    expect(effects.provision).not.toHaveBeenCalled();
    expect(first.status.phase).toBe("Pending");
    expect(cond(first.status, "Ready")).toMatchObject({ status: "False", reason: "InstanceNotReady" });
    expect(cond(first.status, "Reconciling")).toMatchObject({ status: "True", reason: "InstanceNotReady" });
    expect(cond(first.status, "Reconciling").message).toContain("kc/main is Pending");
    expect(first.requeueAfterMs).toBeUndefined();

    const second = await reconcileLifecycle(machine, args({ effects, status: first.status, now: at(5) }));
    expect(effects.provision).toHaveBeenCalledTimes(1);
    expect(second.status.phase).toBe("Ready");
    expect(second.transitions).toEqual([
      { from: "Pending", to: "Provisioning" },
      { from: "Provisioning", to: "Ready" },
    ]);
  });

  it("Given a Ready realm, When its instance stops being Ready, Then it goes back to Pending without calling Keycloak", async () => {
    const machine = realm();
    const ready = (await reconcileLifecycle(machine, args({ effects: spyEffects() }))).status;
    const effects = spyEffects();
    const r = await reconcileLifecycle(
      machine,
      args({ effects, status: ready, now: at(1), facts: facts(ALLOW, false) }),
    );
    expect(effects.provision).not.toHaveBeenCalled();
    expect(r.status.phase).toBe("Pending");
  });
});

describe("reconcileLifecycle: errors, retries and durable timers", () => {
  it("Given a transient error, When reconciled, Then it is Degraded with a deadline from the backoff rule and a Warning event", async () => {
    const machine = realm();
    const effects = spyEffects(() => Promise.reject(new TransientError("Keycloak answered 503")));
    const r = await reconcileLifecycle(machine, args({ effects, random: () => 0.5 }));
    // fixtures/realm.json: 5s * 2^(attempts-1), jitter factor 0.5 + 0.5 * random = 0.75 -> 3750 ms.
    expect(r.status).toMatchObject({ phase: "Degraded", attempts: 1, nextAttemptAt: at(3750).toISOString() });
    expect(r.requeueAfterMs).toBe(3750);
    expect(cond(r.status, "Reconciling")).toMatchObject({ status: "True", reason: "TransientError" });
    expect(r.events).toEqual([expect.objectContaining({ type: "Warning", reason: "TransientError" })]);
  });

  it("Given a transient error with a reason of its own, When reconciled, Then it is Degraded under that reason, recorded as an error with its message", async () => {
    const effects = spyEffects(() =>
      Promise.reject(
        new TransientError("database at db:5432: ECONNREFUSED", { reason: "DatabaseUnreachable" }),
      ),
    );
    const r = await reconcileLifecycle(realm(), args({ effects, random: () => 0.5 }));
    expect(r.status).toMatchObject({
      phase: "Degraded",
      attempts: 1,
      lastError: "database at db:5432: ECONNREFUSED",
    });
    expect(cond(r.status, "Ready")).toMatchObject({ status: "False", reason: "DatabaseUnreachable" });
    expect(r.events).toEqual([expect.objectContaining({ type: "Warning", reason: "DatabaseUnreachable" })]);
  });

  it("Given a status saved mid-backoff, When a restarted operator reconciles it, Then the retry fires at the original deadline and not before", async () => {
    const saved = await degraded(realm(), 2);
    const deadline = new Date(saved.nextAttemptAt!);
    const restarted = realm(); // a fresh load: no in-memory timer survives
    const effects = spyEffects();

    const early = await reconcileLifecycle(
      restarted,
      args({ effects, status: saved, now: new Date(deadline.getTime() - 250) }),
    );
    expect(effects.provision).not.toHaveBeenCalled();
    expect(early.requeueAfterMs).toBe(250);
    expect(early.status.nextAttemptAt).toBe(saved.nextAttemptAt);
    expect(early.status.phase).toBe("Degraded");

    const onTime = await reconcileLifecycle(
      restarted,
      args({ effects, status: early.status, now: deadline }),
    );
    expect(effects.provision).toHaveBeenCalledTimes(1);
    expect(onTime.status.phase).toBe("Ready");
    expect(onTime.status.attempts).toBe(0);
    expect(onTime.status.nextAttemptAt).toBeUndefined();
  });

  it("Given consecutive transient errors, When the retries-exhausted rule says so, Then it is Failed and Stalled", async () => {
    const machine = realm();
    const status = await degraded(machine, 5);
    const effects = spyEffects(() => Promise.reject(new TransientError("Keycloak answered 503")));
    const r = await reconcileLifecycle(
      machine,
      args({ effects, status, now: new Date(status.nextAttemptAt!) }),
    );
    expect(r.status.phase).toBe("Failed");
    expect(r.status.attempts).toBe(6);
    expect(cond(r.status, "Stalled")).toMatchObject({ status: "True", reason: "RetriesExhausted" });
    expect(cond(r.status, "Reconciling").status).toBe("False");
    // The re-check delay (10 min +/- 10%) replaces the retry backoff.
    expect(r.requeueAfterMs).toBe(540_000);
  });

  it("Given a rollout under way (progressing), When it waits longer than the retry budget, Then it stays Degraded, counts no attempt and polls at a steady interval; a real failure after it still counts", async () => {
    const machine = realm();
    const status = await degraded(machine, 5); // one failure short of fixtures/realm.json's 6
    const waiting = new TransientError("StatefulSet kc/main: 0/1 pods ready; waiting for Keycloak to start", {
      reason: "KeycloakNotReady",
      progressing: true,
    });
    const effects = spyEffects(() => Promise.reject(waiting));
    let r = await reconcileLifecycle(
      machine,
      args({ effects, status, now: new Date(status.nextAttemptAt!) }),
    );
    const events = [...r.events];
    for (let poll = 1; poll < 12; poll++) {
      r = await reconcileLifecycle(
        machine,
        args({ effects, status: r.status, now: new Date(r.status.nextAttemptAt!) }),
      );
      events.push(...r.events);
    }
    expect(effects.provision).toHaveBeenCalledTimes(12);
    expect(r.status).toMatchObject({ phase: "Degraded", attempts: 5 });
    expect(cond(r.status, "Ready")).toMatchObject({ status: "False", reason: "KeycloakNotReady" });
    // fixtures/realm.json: a steady 5 s * 0.5 while progressing, not the 5th failure's 40 s * 0.5.
    expect(r.requeueAfterMs).toBe(2500);
    // One Warning when the reason changed, none for each poll.
    expect(events).toEqual([expect.objectContaining({ type: "Warning", reason: "KeycloakNotReady" })]);

    const failing = spyEffects(() =>
      Promise.reject(
        new TransientError("pod kc-0 container keycloak: CrashLoopBackOff", { reason: "KeycloakPodFailing" }),
      ),
    );
    const f = await reconcileLifecycle(
      machine,
      args({ effects: failing, status: r.status, now: new Date(r.status.nextAttemptAt!) }),
    );
    expect(f.status).toMatchObject({ phase: "Failed", attempts: 6 });
    expect(cond(f.status, "Ready").message).toContain("CrashLoopBackOff");
  });

  it("Given a permanent error, When reconciled, Then it is Failed at once without a retry backoff", async () => {
    const effects = spyEffects(() =>
      Promise.reject(new PermanentError("Keycloak answered 400: realm name is invalid")),
    );
    const r = await reconcileLifecycle(realm(), args({ effects }));
    expect(r.status.phase).toBe("Failed");
    expect(cond(r.status, "Stalled")).toMatchObject({ status: "True", reason: "PermanentError" });
    expect(cond(r.status, "Ready").message).toContain("realm name is invalid");
    expect(r.requeueAfterMs).toBe(540_000);
  });

  it("Given a Degraded realm, When a resync comes before the deadline, Then nothing runs; When the spec changes, Then it retries at once", async () => {
    const machine = realm();
    const status = await degraded(machine, 1);
    const effects = spyEffects();
    const resync = await reconcileLifecycle(machine, args({ effects, status, now: at(10) }));
    expect(effects.provision).not.toHaveBeenCalled();
    expect(resync.status.nextAttemptAt).toBe(status.nextAttemptAt);
    const changed = await reconcileLifecycle(machine, args({ effects, status, now: at(10), generation: 2 }));
    expect(effects.provision).toHaveBeenCalledTimes(1);
    expect(changed.status).toMatchObject({ phase: "Ready", observedGeneration: 2 });
  });
});

describe("reconcileLifecycle: Failed re-checks", () => {
  async function failedByPermanentError(machine: LoadedMachine): Promise<StoredStatus> {
    const effects = spyEffects(() => Promise.reject(new PermanentError("invalid realm name")));
    return (await reconcileLifecycle(machine, args({ effects }))).status;
  }

  it("Given a Failed realm, When resynced with nothing changed, Then nothing runs and the re-check deadline is kept", async () => {
    const machine = realm();
    const failed = await failedByPermanentError(machine);
    const effects = spyEffects();
    const r = await reconcileLifecycle(machine, args({ effects, status: failed, now: at(60_000) }));
    expect(effects.provision).not.toHaveBeenCalled();
    expect(r.status.nextAttemptAt).toBe(failed.nextAttemptAt);
    expect(r.requeueAfterMs).toBe(540_000 - 60_000);
  });

  it("Given a Failed realm, When a new generation, a new policy revision or the re-check deadline arrives, Then it is re-checked immediately", async () => {
    const machine = realm();
    const failed = await failedByPermanentError(machine);
    const triggers: Array<Partial<ReconcileArgs>> = [
      { generation: 2, now: at(1) },
      { facts: facts(ALLOW, true, "rev-2"), now: at(1) },
      { now: new Date(failed.nextAttemptAt!) },
    ];
    for (const trigger of triggers) {
      const effects = spyEffects();
      const r = await reconcileLifecycle(machine, args({ effects, status: failed, ...trigger }));
      expect(effects.provision).toHaveBeenCalledTimes(1);
      expect(r.status.phase).toBe("Ready");
    }
  });

  it("Given a realm Failed by a deny, When the grant is added (the decision now allows), Then it provisions without waiting", async () => {
    const machine = realm();
    const denied = (await reconcileLifecycle(machine, args({ effects: spyEffects(), facts: facts(DENY) })))
      .status;
    const effects = spyEffects();
    const r = await reconcileLifecycle(machine, args({ effects, status: denied, now: at(1) }));
    expect(effects.provision).toHaveBeenCalledTimes(1);
    expect(r.status.phase).toBe("Ready");
    expect(cond(r.status, "PolicyCompliant")).toMatchObject({ status: "True", reason: "Compliant" });
    expect(cond(r.status, "Stalled").status).toBe("False");
  });
});

describe("reconcileLifecycle: deletion", () => {
  it("Given a Ready realm, When it is deleted, Then teardown runs and the finalizer is released", async () => {
    const machine = realm();
    const ready = (await reconcileLifecycle(machine, args({ effects: spyEffects() }))).status;
    const effects = spyEffects();
    const r = await reconcileLifecycle(
      machine,
      args({ effects, status: ready, deleting: true, facts: undefined }),
    );
    expect(effects.teardown).toHaveBeenCalledTimes(1);
    expect(effects.provision).not.toHaveBeenCalled();
    expect(r.finalizerReleased).toBe(true);
    expect(r.transitions).toEqual([
      { from: "Ready", to: "Deleting" },
      { from: "Deleting", to: "Deleted" },
    ]);
  });

  it("Given teardown fails, When deleted, Then it stays Deleting and retries at the deadline, not before", async () => {
    const machine = realm();
    let fail = true;
    const effects = {
      provision: vi.fn(() => Promise.resolve()),
      teardown: vi.fn(() =>
        fail ? Promise.reject(new TransientError("Keycloak unreachable")) : Promise.resolve(),
      ),
    };
    const first = await reconcileLifecycle(machine, args({ effects, deleting: true, facts: undefined }));
    expect(first.status).toMatchObject({ phase: "Deleting", attempts: 1 });
    expect(first.finalizerReleased).toBe(false);
    expect(first.events).toContainEqual(
      expect.objectContaining({ type: "Warning", reason: "TeardownFailed" }),
    );
    const deadline = new Date(first.status.nextAttemptAt!);

    const early = await reconcileLifecycle(
      machine,
      args({ effects, status: first.status, deleting: true, now: at(1) }),
    );
    expect(effects.teardown).toHaveBeenCalledTimes(1);
    expect(early.requeueAfterMs).toBe(deadline.getTime() - at(1).getTime());

    fail = false;
    const done = await reconcileLifecycle(
      machine,
      args({ effects, status: first.status, deleting: true, now: deadline }),
    );
    expect(effects.teardown).toHaveBeenCalledTimes(2);
    expect(done.finalizerReleased).toBe(true);
  });
});

describe("reconcileLifecycle: a spec change while deleting", () => {
  async function failedTeardown(machine: LoadedMachine, failures: number): Promise<StoredStatus> {
    const effects = spyEffects();
    effects.teardown.mockImplementation(() => Promise.reject(new TransientError("Keycloak unreachable")));
    let r = await reconcileLifecycle(
      machine,
      args({ effects, deleting: true, facts: undefined, generation: 2 }),
    );
    for (let i = 1; i < failures; i++) {
      r = await reconcileLifecycle(
        machine,
        args({
          effects,
          status: r.status,
          deleting: true,
          facts: undefined,
          generation: 2,
          now: new Date(r.status.nextAttemptAt!),
        }),
      );
    }
    expect(r.status).toMatchObject({ phase: "Deleting", attempts: failures, observedGeneration: 2 });
    return r.status;
  }

  it("Given a teardown backing off, When a new generation arrives before the deadline, Then teardown runs at once with fresh attempts", async () => {
    const machine = realm();
    const stuck = await failedTeardown(machine, 4);
    const deadline = new Date(stuck.nextAttemptAt!);
    const now = new Date(deadline.getTime() - 20_000);

    const sameSpec = spyEffects();
    const early = await reconcileLifecycle(
      machine,
      args({ effects: sameSpec, status: stuck, deleting: true, facts: undefined, generation: 2, now }),
    );
    expect(sameSpec.teardown).not.toHaveBeenCalled();
    expect(early.requeueAfterMs).toBe(20_000);

    const effects = spyEffects();
    effects.teardown.mockImplementation(() => Promise.reject(new TransientError("Keycloak unreachable")));
    const respecified = await reconcileLifecycle(
      machine,
      args({ effects, status: stuck, deleting: true, facts: undefined, generation: 3, now }),
    );
    expect(effects.teardown).toHaveBeenCalledTimes(1);
    expect(respecified.status).toMatchObject({ phase: "Deleting", attempts: 1, observedGeneration: 3 });
    expect(new Date(respecified.status.nextAttemptAt!).getTime()).toBeLessThan(deadline.getTime());

    const released = await reconcileLifecycle(
      machine,
      args({ effects: spyEffects(), status: stuck, deleting: true, facts: undefined, generation: 3, now }),
    );
    expect(released.finalizerReleased).toBe(true);
  });

  it("Given a teardown backing off, When a new generation finds it blocked, Then the old deadline is dropped", async () => {
    const machine = realm();
    const stuck = await failedTeardown(machine, 2);
    const effects = spyEffects();
    effects.teardown.mockImplementation(() =>
      Promise.reject(new BlockedError("1 KeycloakClient(s) still reference this realm")),
    );
    const r = await reconcileLifecycle(
      machine,
      args({ effects, status: stuck, deleting: true, facts: undefined, generation: 3, now: at(1) }),
    );
    expect(r.status).toMatchObject({ phase: "Deleting", attempts: 0 });
    expect(r.status.nextAttemptAt).toBeUndefined();
    expect(r.requeueAfterMs).toBeUndefined();
  });
});

describe("reconcileLifecycle: blocked deletion", () => {
  it("Given teardown is blocked by other objects, When deleted, Then it waits with a Warning and no timer, and the next reconcile tries again at once", async () => {
    const machine = realm();
    let blocked = true;
    const effects = {
      provision: vi.fn(() => Promise.resolve()),
      teardown: vi.fn(() =>
        blocked
          ? Promise.reject(new BlockedError("2 KeycloakClient(s) still reference this realm (web, api)"))
          : Promise.resolve(),
      ),
    };
    const first = await reconcileLifecycle(machine, args({ effects, deleting: true, facts: undefined }));
    expect(first.status).toMatchObject({ phase: "Deleting", attempts: 0 });
    expect(first.status.nextAttemptAt).toBeUndefined();
    expect(first.requeueAfterMs).toBeUndefined();
    expect(first.finalizerReleased).toBe(false);
    expect(cond(first.status, "Ready")).toMatchObject({
      reason: "DeletionBlocked",
      message: "2 KeycloakClient(s) still reference this realm (web, api)",
    });
    expect(first.events).toEqual([
      {
        type: "Warning",
        reason: "DeletionBlocked",
        message: "2 KeycloakClient(s) still reference this realm (web, api)",
      },
    ]);

    const again = await reconcileLifecycle(
      machine,
      args({ effects, status: first.status, deleting: true, facts: undefined, now: at(1) }),
    );
    expect(effects.teardown).toHaveBeenCalledTimes(2);
    expect(again.events).toEqual([]);

    blocked = false;
    const done = await reconcileLifecycle(
      machine,
      args({ effects, status: again.status, deleting: true, facts: undefined, now: at(2) }),
    );
    expect(effects.teardown).toHaveBeenCalledTimes(3);
    expect(done.finalizerReleased).toBe(true);
  });
});

describe("reconcileLifecycle: contract", () => {
  it("Given a sparse stored status (only a phase, as a user or an old version may leave it), When reconciled, Then it proceeds", async () => {
    const effects = spyEffects();
    const sparse: StoredStatus = { phase: "Ready" };
    const r = await reconcileLifecycle(realm(), args({ effects, status: sparse }));
    expect(effects.provision).toHaveBeenCalledTimes(1);
    expect(r.status).toMatchObject({ phase: "Ready", attempts: 0, observedGeneration: 1 });
  });

  it("Given a loaded machine whose transitions are initialised, When metrics are scraped, Then they are there at zero", async () => {
    initTransitions([realm()]);
    const metric = await register.getSingleMetric("kpo_machine_transitions_total")?.get();
    const series = metric?.values.filter((x) => x.labels.kind === "KeycloakRealm") ?? [];
    expect(series.map((x) => `${x.labels.from}->${x.labels.to}`)).toEqual(
      expect.arrayContaining([
        "Pending->Provisioning",
        "Degraded->Failed",
        "Failed->Deleting",
        "Deleting->Deleted",
      ]),
    );
  });

  it("Given no facts and no deletion, When reconciled, Then it refuses with a message saying what is missing", async () => {
    await expect(
      reconcileLifecycle(realm(), args({ effects: spyEffects(), facts: undefined })),
    ).rejects.toThrow(/needs facts \(policy decision and dependency readiness\)/);
  });

  it("Given a transition, When reconciled, Then kpo_machine_transitions_total counts it by kind, from and to", async () => {
    const read = async () => {
      const metric = await register.getSingleMetric("kpo_machine_transitions_total")?.get();
      const v = metric?.values.find(
        (x) =>
          x.labels.kind === "KeycloakRealm" && x.labels.from === "Provisioning" && x.labels.to === "Ready",
      );
      return v?.value ?? 0;
    };
    const machine = realm();
    const before = await read();
    await reconcileLifecycle(machine, args({ effects: spyEffects() }));
    expect(await read()).toBe(before + 1);
  });

  it("Given a steady Ready realm, When resynced, Then it re-syncs through Provisioning but records no Event", async () => {
    const machine = realm();
    const ready = (await reconcileLifecycle(machine, args({ effects: spyEffects() }))).status;
    const effects = spyEffects();
    const r = await reconcileLifecycle(machine, args({ effects, status: ready, now: at(30_000) }));
    expect(effects.provision).toHaveBeenCalledTimes(1);
    expect(r.events).toEqual([]);
    expect(cond(r.status, "Ready").lastTransitionTime).toBe(T0.toISOString());
  });
});
