// The shared reconcile against the real kube-apiserver: the status (the lifecycle machine's durable
// memory) is written only over the object the reconcile read. A write that lands in between makes
// the status patch fail its resourceVersion precondition; the reconcile asks to run again at once
// instead of overwriting, and the next run, from the newer object, stores its status.
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_VERSION, INSTANCE_PLURAL, type KeycloakInstance } from "../../src/api/index.js";
import type { ReconcileContext } from "../../src/kube/controller.js";
import type { EventRecorder } from "../../src/kube/events.js";
import { FINALIZER } from "../../src/kube/finalizer.js";
import { Informer } from "../../src/kube/informers.js";
import { loadMachines } from "../../src/lifecycle/loader.js";
import { loggerFor } from "../../src/observability/logger.js";
import type { KindHandler } from "../../src/operator/handler.js";
import { kindReconciler } from "../../src/operator/reconciler.js";
import type { PolicyInput } from "../../src/policy/decision.js";
import type { PolicyEngine } from "../../src/policy/engine.js";
import { createNamespace, group, installCrds, kubeConfig, version, waitFor } from "./support.js";

const kc = kubeConfig();
const objects = kc.makeApiClient(k8s.CustomObjectsApi);
let namespace = "";
let informer: Informer<KeycloakInstance>;

const ctx = (): ReconcileContext => ({
  reconcileId: "test",
  log: loggerFor("test"),
  signal: new AbortController().signal,
});

const read = async (name: string) =>
  (await objects.getNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: INSTANCE_PLURAL,
    name,
  })) as KeycloakInstance;

/** A KeycloakInstance created in the test namespace, once the cache holds it. */
async function createCachedInstance(name: string): Promise<void> {
  await objects.createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: INSTANCE_PLURAL,
    body: {
      apiVersion: API_VERSION,
      kind: "KeycloakInstance",
      metadata: { name },
      spec: {
        external: { url: "https://kc.example.com", adminCredentials: { secretRef: { name: "kc-admin" } } },
      },
    },
  });
  await waitFor("the cache to hold the instance", () => Promise.resolve(informer.get(namespace, name)));
}

/** The shared reconcile for KeycloakInstances with `handler`, writing through `api`, every policy allowing. */
function instanceReconciler(handler: KindHandler<KeycloakInstance>, api: k8s.CustomObjectsApi) {
  const machine = loadMachines().get("KeycloakInstance");
  if (!machine) throw new Error("no KeycloakInstance machine");
  return kindReconciler<KeycloakInstance>({
    kind: "KeycloakInstance",
    plural: INSTANCE_PLURAL,
    machine,
    informer,
    handler,
    api,
    events: { record: () => Promise.resolve() } as unknown as EventRecorder,
    policy: {
      decide: () => ({ allowed: true, violations: [], warnings: [] }),
      revision: "test",
    } as unknown as PolicyEngine,
    resyncPeriodMs: 600_000,
  });
}

beforeAll(async () => {
  await installCrds(kc);
  namespace = await createNamespace(kc, "reconcile-conflict");
  informer = new Informer<KeycloakInstance>({
    kubeConfig: kc,
    apiVersion: API_VERSION,
    plural: INSTANCE_PLURAL,
    namespaces: [namespace],
  });
  informer.start();
  await informer.waitForSync(30_000);
});

afterAll(() => informer.stop());

describe("kindReconciler status writes", () => {
  it("Given a write to the object while it is reconciled, when the status is patched, then it is not overwritten and the reconcile runs again", async () => {
    const name = "kc";
    await createCachedInstance(name);

    let provisions = 0;
    let interfere = true;
    const handler: KindHandler<KeycloakInstance> = {
      dependency: () => ({ ready: true }),
      policyInput: () => ({}) as PolicyInput,
      provision: async () => {
        provisions++;
        if (interfere) {
          interfere = false;
          // Someone else writes the object while our side effect runs.
          await objects.patchNamespacedCustomObject(
            {
              group,
              version,
              namespace,
              plural: INSTANCE_PLURAL,
              name,
              body: { metadata: { labels: { edited: "yes" } } },
            },
            k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
          );
        }
        return { message: "connected", status: { version: "test" } };
      },
      teardown: () => Promise.resolve(),
    };
    const reconcile = instanceReconciler(handler, objects);

    const first = await reconcile(`${namespace}/${name}`, ctx());
    expect(first).toEqual({ requeue: true });
    const afterConflict = await read(name);
    expect(afterConflict.metadata.finalizers).toEqual([FINALIZER]);
    expect(afterConflict.metadata.labels).toEqual({ edited: "yes" });
    expect(afterConflict.status).toBeUndefined();

    await waitFor("the cache to see the edit", () =>
      Promise.resolve(informer.get(namespace, name)?.metadata.labels?.edited === "yes"),
    );
    const second = await reconcile(`${namespace}/${name}`, ctx());
    expect(second.requeueAfterMs).toBeGreaterThan(0);
    expect(provisions).toBe(2);
    const stored = await read(name);
    expect((stored.status as { phase?: string; version?: string } | undefined)?.phase).toBe("Ready");
    expect(stored.status?.version).toBe("test");
  });

  it("Given a Ready object whose status the API server returned, when it is reconciled again with nothing changed, then no status patch is sent", async () => {
    const name = "kc-steady";
    await createCachedInstance(name);
    let statusPatches = 0;
    const counting = new Proxy(objects, {
      get(target, prop, receiver) {
        if (prop === "patchNamespacedCustomObjectStatus") statusPatches++;
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const reconcile = instanceReconciler(
      {
        dependency: () => ({ ready: true }),
        policyInput: () => ({}) as PolicyInput,
        provision: () => Promise.resolve({ message: "connected", status: { version: "test" } }),
        teardown: () => Promise.resolve(),
      },
      counting,
    );
    await reconcile(`${namespace}/${name}`, ctx());
    expect(statusPatches).toBe(1);
    const ready = await read(name);
    expect((ready.status as { phase?: string } | undefined)?.phase).toBe("Ready");
    await waitFor("the cache to hold the stored status", () =>
      Promise.resolve(
        informer.get(namespace, name)?.metadata.resourceVersion === ready.metadata.resourceVersion,
      ),
    );
    // The cache holds the status as the API server returns it (its conditions' keys in its own order).
    await reconcile(`${namespace}/${name}`, ctx());
    await reconcile(`${namespace}/${name}`, ctx());
    expect(statusPatches).toBe(1);
    expect((await read(name)).metadata.resourceVersion).toBe(ready.metadata.resourceVersion);
  });
});
