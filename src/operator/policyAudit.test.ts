import { pino } from "pino";
import { register } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { API_VERSION, type KeycloakRealm } from "../api/index.js";
import { cachesOf } from "../../test/unit/caches.js";
import type { Decision, PolicyInput } from "../policy/decision.js";
import type { PolicyEngine } from "../policy/engine.js";
import { PolicyAudit } from "./policyAudit.js";

const realm = (name: string): KeycloakRealm =>
  ({
    apiVersion: API_VERSION,
    kind: "KeycloakRealm",
    metadata: { name, namespace: "team", uid: name },
    spec: { instanceRef: { name: "kc" }, realmName: name },
  }) as unknown as KeycloakRealm;

/** A policy engine whose answer the test sets, and whose onChange it fires. */
function fakePolicy(answer: (input: PolicyInput) => Decision) {
  const listeners = new Set<(revision: string) => void>();
  const state = { revision: "r1", decisions: 0 };
  const policy = {
    get revision() {
      return state.revision;
    },
    policies: ["production", "quota"],
    evaluate: (input: PolicyInput) => {
      state.decisions++;
      return answer(input);
    },
    onChange: (cb: (revision: string) => void) => {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
  } satisfies Pick<PolicyEngine, "evaluate" | "revision" | "policies" | "onChange">;
  const swap = (revision: string) => {
    state.revision = revision;
    for (const cb of listeners) cb(revision);
  };
  return { policy, state, swap };
}

async function gauge(labels: Record<string, string>): Promise<number | undefined> {
  const metric = register.getSingleMetric("kpo_policy_violations");
  const { values } = (await metric?.get()) ?? { values: [] };
  return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

const audits: PolicyAudit[] = [];
afterEach(async () => {
  for (const a of audits.splice(0)) await a.stop();
});

describe("PolicyAudit", () => {
  it("given cached realms and a dryrun rule, when a pass runs, then every realm is decided and the gauge counts the violations by policy and mode, zero for the others", async () => {
    const caches = cachesOf([realm("a"), realm("b")]);
    const { policy } = fakePolicy((input) => ({
      allowed: true,
      violations:
        input.resource.metadata.name === "a"
          ? [{ policy: "production", code: "P", message: "m", enforcement: "dryrun" }]
          : [],
      warnings: [],
    }));
    const audit = new PolicyAudit({
      caches,
      policy,
      resyncPeriodMs: 600_000,
      log: pino({ level: "silent" }),
    });
    audits.push(audit);
    const pass = await audit.runNow("test");
    expect(pass?.findings.map((f) => [f.resource.name, f.decision?.violations.length])).toEqual([
      ["a", 1],
      ["b", 0],
    ]);
    expect(pass?.reports).toBeUndefined();
    expect(await gauge({ policy: "production", enforcement: "dryrun" })).toBe(1);
    expect(await gauge({ policy: "quota", enforcement: "enforce" })).toBe(0);
  });

  it("given a started audit, when the bundle changes, then a pass runs under the new revision; a deleted realm is no longer decided", async () => {
    const gone = realm("gone");
    const caches = cachesOf([realm("a"), gone]);
    const { policy, swap } = fakePolicy(() => ({ allowed: true, violations: [], warnings: [] }));
    const audit = new PolicyAudit({
      caches,
      policy,
      debounceMs: 1,
      resyncPeriodMs: 600_000,
      log: pino({ level: "silent" }),
    });
    audits.push(audit);
    audit.start();
    const waitForPass = async (predicate: () => boolean) => {
      while (!predicate()) await new Promise((r) => setTimeout(r, 5));
    };
    await waitForPass(() => audit.last !== undefined);
    swap("r2");
    await waitForPass(() => audit.last?.revision === "r2");
    expect(audit.last?.reason).toMatch(/policy bundle changed \(revision r2\)/);
    caches.realms.remove(gone);
    await waitForPass(() => audit.last?.findings.length === 1);
    expect(audit.last?.findings.map((f) => f.resource.name)).toEqual(["a"]);
  });

  it("given a pass running, when more are asked for, then they do not overlap and one more pass follows", async () => {
    const caches = cachesOf([realm("a")]);
    const { policy, state } = fakePolicy(() => ({ allowed: true, violations: [], warnings: [] }));
    const audit = new PolicyAudit({
      caches,
      policy,
      resyncPeriodMs: 600_000,
      log: pino({ level: "silent" }),
    });
    audits.push(audit);
    await Promise.all([audit.runNow("1"), audit.runNow("2"), audit.runNow("3")]);
    while (audit.last?.reason !== "3") await new Promise((r) => setTimeout(r, 5));
    expect(state.decisions).toBe(2);
  });

  it("given a pass that took long, when changes stream in, then the next pass waits for the cost factor times that long, and a pass gives the event loop back", async () => {
    const caches = cachesOf(Array.from({ length: 300 }, (_, i) => realm(`r${i}`)));
    const busyUntil = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        /* a slow decision */
      }
    };
    const { policy, state } = fakePolicy(() => {
      busyUntil(0.2);
      return { allowed: true, violations: [], warnings: [] };
    });
    const audit = new PolicyAudit({
      caches,
      policy,
      debounceMs: 1,
      costFactor: 10,
      resyncPeriodMs: 600_000,
      log: pino({ level: "silent" }),
    });
    audits.push(audit);
    // Timers fire while the pass runs: it yields between chunks of resources.
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    const started = performance.now();
    await audit.runNow("first");
    const passMs = performance.now() - started;
    clearInterval(ticker);
    expect(ticks).toBeGreaterThan(0);
    const decided = state.decisions;
    audit.schedule("a change");
    await new Promise((r) => setTimeout(r, passMs * 5));
    expect(state.decisions).toBe(decided);
    while (audit.last?.reason !== "a change") await new Promise((r) => setTimeout(r, 5));
    expect(performance.now() - started).toBeGreaterThanOrEqual(passMs * 10);
  });
});
