// The runtime pieces wired together against the real kube-apiserver, the way the operator wires
// them: per process an informer that only enqueues keys, a controller whose reconcile reads the
// cache and writes status, and a leader elector that starts the controller only on the leader.
// Two such "processes" run here; after the leader shuts down, the other one takes over reconciling.
import { randomUUID } from "node:crypto";
import * as k8s from "@kubernetes/client-node";
import { afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { Controller } from "../../src/kube/controller.js";
import { ensureFinalizer } from "../../src/kube/finalizer.js";
import { Informer } from "../../src/kube/informers.js";
import { LeaderElector } from "../../src/kube/leaderElection.js";
import { patchStatus } from "../../src/kube/status.js";
import { metricValue, reconcileTotal } from "../../src/observability/metrics.js";
import { ensureTestCrd } from "./support.js";

const group = "ctl.test.kpo.dev";
const plural = "gizmos";

const kc = new k8s.KubeConfig();
kc.loadFromFile(inject("kubeconfigPath"));
const core = kc.makeApiClient(k8s.CoreV1Api);
const objects = kc.makeApiClient(k8s.CustomObjectsApi);

interface Gizmo extends k8s.KubernetesObject {
  spec?: { size?: number };
  status?: { observedGeneration?: number; size?: number; reconciledBy?: string };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not reached within ${timeoutMs} ms: ${what}`);
}

beforeAll(async () => {
  await ensureTestCrd(kc, { group, plural, singular: "gizmo", kind: "Gizmo" });
});

/** One operator "process": informer → controller (started only while leader) → status writes. */
function operatorProcess(ns: string, lease: string, identity: string) {
  const informer = new Informer<Gizmo>({
    kubeConfig: kc,
    apiVersion: `${group}/v1`,
    plural,
    namespaces: [ns],
  });
  let failedOnce = false;
  const controller = new Controller({
    name: `gizmo-${identity}-${randomUUID().slice(0, 4)}`,
    maxConcurrentReconciles: 2,
    reconcile: async (key, ctx) => {
      const [namespace, name] = key.split("/") as [string, string];
      const gizmo = informer.get(namespace, name);
      if (!gizmo) return {};
      // One transient failure, to go through the rate-limited retry path for real.
      if (!failedOnce) {
        failedOnce = true;
        throw new Error("transient: dependency not reachable yet");
      }
      const ref = { group, version: "v1", plural, namespace, name };
      await ensureFinalizer(objects, ref);
      if (gizmo.status?.observedGeneration === gizmo.metadata?.generation && gizmo.status?.reconciledBy)
        return {};
      ctx.log.info("writing status");
      await patchStatus(objects, ref, {
        observedGeneration: gizmo.metadata?.generation,
        size: gizmo.spec?.size,
        reconciledBy: identity,
      });
      return {};
    },
  });
  informer.onChange((e) => controller.enqueue(e.key));
  const elector = new LeaderElector({
    kubeConfig: kc,
    namespace: ns,
    name: lease,
    identity,
    leaseDurationMs: 2000,
    renewDeadlineMs: 1500,
    retryPeriodMs: 300,
    onStartedLeading: () => controller.start(),
    // A real process exits here (so it restarts as a clean standby); the test just stops the workers.
    onStoppedLeading: () => void controller.stop(5000),
  });
  informer.start();
  elector.start();
  cleanups.push(async () => {
    await elector.stop({ release: false });
    await controller.stop(5000);
    informer.stop();
  });
  return { informer, controller, elector };
}

describe("informer + controller + leader election", () => {
  it("Given two processes, when gizmos change, then only the leader reconciles, and the standby takes over after it leaves", async () => {
    const ns = `kube-ctl-${randomUUID().slice(0, 8)}`;
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const lease = `gizmo-leader-${randomUUID().slice(0, 4)}`;
    const a = operatorProcess(ns, lease, "process-a");
    await until(() => a.elector.isLeader(), "a leads");
    const b = operatorProcess(ns, lease, "process-b");
    await b.informer.waitForSync(30_000);

    await objects.createNamespacedCustomObject({
      group,
      version: "v1",
      namespace: ns,
      plural,
      body: { apiVersion: `${group}/v1`, kind: "Gizmo", metadata: { name: "g1" }, spec: { size: 1 } },
    });
    const read = async () =>
      (await objects.getNamespacedCustomObject({
        group,
        version: "v1",
        namespace: ns,
        plural,
        name: "g1",
      })) as Gizmo;
    await until(async () => (await read()).status?.reconciledBy === "process-a", "a reconciled g1");
    const first = await read();
    expect(first.status?.size).toBe(1);
    expect(first.metadata?.finalizers).toContain("keycloak.kpo.dev/finalizer");
    expect(await metricValue(reconcileTotal, { controller: a.controller.name, result: "error" })).toBe(1);
    expect(await metricValue(reconcileTotal, { controller: b.controller.name, result: "success" })).toBe(0);

    await a.elector.stop(); // graceful: releases the lease
    await until(() => b.elector.isLeader(), "b takes over");
    await objects.patchNamespacedCustomObject(
      { group, version: "v1", namespace: ns, plural, name: "g1", body: { spec: { size: 2 } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await until(async () => (await read()).status?.size === 2, "b reconciled the change");
    const second = await read();
    expect(second.status?.reconciledBy).toBe("process-b");
    expect(second.status?.observedGeneration).toBe(second.metadata?.generation);

    // Let the finalizer go so the namespace can be cleaned up by whoever runs a controller-manager.
    await objects.patchNamespacedCustomObject(
      { group, version: "v1", namespace: ns, plural, name: "g1", body: { metadata: { finalizers: null } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
  });
});
