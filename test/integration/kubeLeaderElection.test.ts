// Leader election against the real kube-apiserver with two electors in one process and short
// timings: one leads, the other waits; a leader that stops renewing (as if killed) is replaced once
// the lease expires; a leader that releases on shutdown is replaced at once; a leader whose lease is
// taken away loses leadership and is told so.
import { randomUUID } from "node:crypto";
import * as k8s from "@kubernetes/client-node";
import { afterEach, describe, expect, inject, it } from "vitest";
import { LeaderElector, type StoppedLeadingReason } from "../../src/kube/leaderElection.js";
import { leaderElectionMasterStatus, metricValue } from "../../src/observability/metrics.js";

function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(inject("kubeconfigPath"));
  return kc;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not reached within ${timeoutMs} ms: ${what}`);
}

const timing = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 300 };

interface Candidate {
  elector: LeaderElector;
  leading: boolean;
  stopped: StoppedLeadingReason[];
  signal?: AbortSignal;
}

function candidate(kc: k8s.KubeConfig, namespace: string, name: string, identity: string): Candidate {
  const c: Candidate = { leading: false, stopped: [] } as unknown as Candidate;
  c.elector = new LeaderElector({
    kubeConfig: kc,
    namespace,
    name,
    identity,
    ...timing,
    onStartedLeading: (signal) => {
      c.leading = true;
      c.signal = signal;
    },
    onStoppedLeading: (reason) => {
      c.leading = false;
      c.stopped.push(reason);
    },
  });
  cleanups.push(() => c.elector.stop({ release: false }));
  return c;
}

async function setup(): Promise<{
  kc: k8s.KubeConfig;
  ns: string;
  lease: string;
  coord: k8s.CoordinationV1Api;
}> {
  const kc = kubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const ns = `kube-leader-${randomUUID().slice(0, 8)}`;
  await core.createNamespace({ body: { metadata: { name: ns } } });
  return {
    kc,
    ns,
    lease: `kpo-test-${randomUUID().slice(0, 6)}`,
    coord: kc.makeApiClient(k8s.CoordinationV1Api),
  };
}

describe("LeaderElector against the real kube-apiserver", () => {
  it("Given two candidates, when the leader stops renewing without releasing, then the standby takes over after the lease expires", async () => {
    const { kc, ns, lease, coord } = await setup();
    const a = candidate(kc, ns, lease, "candidate-a");
    a.elector.start();
    await until(() => a.leading, "a leads");
    const b = candidate(kc, ns, lease, "candidate-b");
    b.elector.start();

    // b keeps trying for longer than a lease duration while a renews: it must stay standby.
    await new Promise((r) => setTimeout(r, timing.leaseDurationMs + 500));
    expect(b.leading).toBe(false);
    expect(a.leading).toBe(true);
    expect(await metricValue(leaderElectionMasterStatus, { name: lease })).toBe(1);

    await a.elector.stop({ release: false }); // a "crashes": it stops renewing and leaves the lease
    await until(() => b.leading, "b takes over", 15_000);
    const stored = await coord.readNamespacedLease({ namespace: ns, name: lease });
    expect(stored.spec?.holderIdentity).toBe("candidate-b");
    expect(stored.spec?.leaseTransitions).toBe(1);
  });

  it("Given a leader that shuts down gracefully, when it releases the lease, then the standby takes over without waiting for expiry", async () => {
    const { kc, ns, lease, coord } = await setup();
    const a = candidate(kc, ns, lease, "candidate-a");
    a.elector.start();
    await until(() => a.leading, "a leads");
    const b = candidate(kc, ns, lease, "candidate-b");
    b.elector.start();
    await new Promise((r) => setTimeout(r, timing.retryPeriodMs * 2));

    await a.elector.stop(); // release
    expect(a.stopped).toEqual(["released"]);
    expect(a.signal?.aborted).toBe(true);
    const released = await coord.readNamespacedLease({ namespace: ns, name: lease });
    expect(released.spec?.holderIdentity ?? "").not.toBe("candidate-a");
    // Well under a lease duration: b sees an empty holder and acquires at its next retry.
    await until(() => b.leading, "b takes over after release", timing.leaseDurationMs);
  });

  it("Given a leader whose lease is taken by someone else, when it cannot renew within the deadline, then it reports lost leadership", async () => {
    const { kc, ns, lease, coord } = await setup();
    const a = candidate(kc, ns, lease, "candidate-a");
    a.elector.start();
    await until(() => a.leading, "a leads");

    const current = await coord.readNamespacedLease({ namespace: ns, name: lease });
    await coord.replaceNamespacedLease({
      namespace: ns,
      name: lease,
      body: { ...current, spec: { ...current.spec, holderIdentity: "intruder", leaseDurationSeconds: 3600 } },
    });
    await until(() => a.stopped.includes("lost"), "a notices it lost the lease", 10_000);
    expect(a.leading).toBe(false);
    expect(a.signal?.aborted).toBe(true);
    expect(await metricValue(leaderElectionMasterStatus, { name: lease })).toBe(0);
  });
});
