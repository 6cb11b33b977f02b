// The operator's writes against the real kube-apiserver: status through the /status subresource
// with a merge patch, finalizers with optimistic concurrency, server-side apply of a Secret with the
// operator's field manager, and aggregated Events.
import { randomUUID } from "node:crypto";
import * as k8s from "@kubernetes/client-node";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { FIELD_MANAGER, serverSideApply } from "../../src/kube/apply.js";
import { EventRecorder } from "../../src/kube/events.js";
import {
  FINALIZER,
  addFinalizerPatch,
  ensureFinalizer,
  hasFinalizer,
  jsonPatchOptions,
  removeFinalizer,
  removeFinalizerPatch,
  withFinalizer,
} from "../../src/kube/finalizer.js";
import { ConflictError, patchStatus, type CustomObjectRef } from "../../src/kube/status.js";
import { ensureTestCrd } from "./support.js";

const group = "test.kpo.dev";
const plural = "widgets";

function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(inject("kubeconfigPath"));
  return kc;
}

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const objects = kc.makeApiClient(k8s.CustomObjectsApi);

interface Widget {
  metadata: { name: string; resourceVersion?: string; finalizers?: string[]; generation?: number };
  spec?: { size?: number };
  status?: Record<string, unknown>;
}

async function newNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

async function newWidget(ns: string, name = "w1"): Promise<CustomObjectRef> {
  await objects.createNamespacedCustomObject({
    group,
    version: "v1",
    namespace: ns,
    plural,
    body: { apiVersion: `${group}/v1`, kind: "Widget", metadata: { name }, spec: { size: 3 } },
  });
  return { group, version: "v1", plural, namespace: ns, name };
}

async function readWidget(ref: CustomObjectRef): Promise<Widget> {
  return (await objects.getNamespacedCustomObject({ ...ref })) as Widget;
}

beforeAll(async () => {
  await ensureTestCrd(kc, { group, plural, singular: "widget", kind: "Widget" });
  // Established, and creates accepted (the REST endpoint can lag the condition slightly).
  const probeNs = await newNamespace("kube-crd-probe");
  for (let i = 0; ; i++) {
    try {
      await newWidget(probeNs, "probe");
      return;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});

describe("patchStatus", () => {
  it("Given a widget, when its status is patched twice, then both patches merge into /status and spec is untouched", async () => {
    const ref = await newWidget(await newNamespace("kube-status"));
    await patchStatus(objects, ref, { phase: "Provisioning", attempts: 1 });
    const stored = await patchStatus(objects, ref, { phase: "Ready", observedGeneration: 1 });
    expect((stored as unknown as Widget).status).toEqual({
      phase: "Ready",
      attempts: 1,
      observedGeneration: 1,
    });
    const read = await readWidget(ref);
    expect(read.status).toEqual({ phase: "Ready", attempts: 1, observedGeneration: 1 });
    expect(read.spec).toEqual({ size: 3 });
  });

  it("Given a status patch that tries to change spec, when sent to /status, then spec is not changed", async () => {
    const ref = await newWidget(await newNamespace("kube-status-spec"));
    await objects.patchNamespacedCustomObjectStatus(
      { ...ref, body: { spec: { size: 99 }, status: { phase: "Ready" } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    expect((await readWidget(ref)).spec?.size).toBe(3);
  });

  it("Given a stale resourceVersion precondition, when the status is patched, then a ConflictError says to requeue", async () => {
    const ref = await newWidget(await newNamespace("kube-status-conflict"));
    const before = await readWidget(ref);
    await patchStatus(objects, ref, { phase: "Provisioning" });
    await expect(
      patchStatus(objects, ref, { phase: "Ready" }, { resourceVersion: before.metadata.resourceVersion }),
    ).rejects.toThrow(ConflictError);
    expect((await readWidget(ref)).status?.phase).toBe("Provisioning");
  });

  it("Given a missing object, when its status is patched, then the error names the object and the likely cause", async () => {
    const ns = await newNamespace("kube-status-missing");
    await expect(
      patchStatus(objects, { group, version: "v1", plural, namespace: ns, name: "nope" }, { phase: "Ready" }),
    ).rejects.toThrow(new RegExp(`widgets.test.kpo.dev ${ns}/nope.*deleted`));
  });
});

describe("finalizers", () => {
  it("Given a widget with a foreign finalizer, when ours is ensured twice and removed, then only ours comes and goes", async () => {
    const ref = await newWidget(await newNamespace("kube-finalizer"));
    await objects.patchNamespacedCustomObject(
      { ...ref, body: { metadata: { finalizers: ["example.com/other"] } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await ensureFinalizer(objects, ref);
    const again = await ensureFinalizer(objects, ref);
    expect(again?.metadata?.finalizers).toEqual(["example.com/other", FINALIZER]);
    expect(hasFinalizer(await readWidget(ref))).toBe(true);

    await removeFinalizer(objects, ref);
    expect((await readWidget(ref)).metadata.finalizers).toEqual(["example.com/other"]);
  });

  it("Given a deleted widget held by our finalizer, when the finalizer is removed, then the object disappears", async () => {
    const ref = await newWidget(await newNamespace("kube-finalizer-delete"));
    await ensureFinalizer(objects, ref);
    await objects.deleteNamespacedCustomObject({ ...ref });
    const deleting = await readWidget(ref);
    expect(deleting.metadata).toHaveProperty("deletionTimestamp");
    // No new finalizer may be added to an object being deleted; ours is already there.
    expect((await ensureFinalizer(objects, ref))?.metadata?.finalizers).toEqual([FINALIZER]);
    await removeFinalizer(objects, ref);
    await expect(readWidget(ref)).rejects.toMatchObject({ code: 404 });
    expect(await removeFinalizer(objects, ref)).toBeUndefined();
  });
});

describe("finalizer patches with a test precondition", () => {
  const mergePatch = () => k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
  const setFinalizers = (ref: CustomObjectRef, finalizers: string[]) =>
    objects.patchNamespacedCustomObject({ ...ref, body: { metadata: { finalizers } } }, mergePatch());
  const sendJsonPatch = (ref: CustomObjectRef, body: unknown) =>
    objects.patchNamespacedCustomObject({ ...ref, body }, jsonPatchOptions());

  it("Given a removal built from a stale read, when another writer changed the list meanwhile, then the server refuses it and removeFinalizer keeps their finalizer", async () => {
    const ref = await newWidget(await newNamespace("kube-finalizer-race-rm"));
    await setFinalizers(ref, ["example.com/other", FINALIZER]);
    const stale = await readWidget(ref);
    // Another controller drops its finalizer and adds a new one: ours moved to index 0.
    await setFinalizers(ref, [FINALIZER, "example.com/late"]);

    // Without the test op this would remove index 1, "example.com/late".
    await expect(sendJsonPatch(ref, removeFinalizerPatch(stale))).rejects.toMatchObject({ code: 422 });
    expect((await readWidget(ref)).metadata.finalizers).toEqual([FINALIZER, "example.com/late"]);

    await removeFinalizer(objects, ref);
    expect((await readWidget(ref)).metadata.finalizers).toEqual(["example.com/late"]);
  });

  it("Given an addition built from a read without finalizers, when another writer added one meanwhile, then the server refuses it and ensureFinalizer keeps both", async () => {
    const ref = await newWidget(await newNamespace("kube-finalizer-race-add"));
    const stale = await readWidget(ref);
    expect(stale.metadata.finalizers).toBeUndefined();
    await setFinalizers(ref, ["example.com/late"]);

    // "add" on /metadata/finalizers would replace the list; the resourceVersion test refuses it.
    await expect(sendJsonPatch(ref, addFinalizerPatch(stale))).rejects.toMatchObject({ code: 422 });
    expect((await readWidget(ref)).metadata.finalizers).toEqual(["example.com/late"]);

    await ensureFinalizer(objects, ref);
    expect((await readWidget(ref)).metadata.finalizers).toEqual(["example.com/late", FINALIZER]);
  });

  it("Given an addition built from a stale list, when another replica added ours meanwhile, then it is not added twice", async () => {
    const ref = await newWidget(await newNamespace("kube-finalizer-race-dup"));
    await setFinalizers(ref, ["example.com/other"]);
    const stale = await readWidget(ref);
    await setFinalizers(ref, ["example.com/other", FINALIZER]);

    await expect(sendJsonPatch(ref, addFinalizerPatch(stale))).rejects.toMatchObject({ code: 422 });
    await ensureFinalizer(objects, ref);
    expect((await readWidget(ref)).metadata.finalizers).toEqual(["example.com/other", FINALIZER]);
  });
});

describe("withFinalizer", () => {
  const handlers = (calls: string[], release: boolean) => ({
    apply: (stored: { metadata?: { resourceVersion?: string } }) => {
      calls.push(`apply@${stored.metadata?.resourceVersion ?? "?"}`);
      return Promise.resolve("applied");
    },
    cleanup: () => {
      calls.push("cleanup");
      return Promise.resolve({ release, result: "cleaning" });
    },
  });

  it("Given a live widget without our finalizer, when reconciled, then the finalizer is stored before apply runs, with the new resourceVersion", async () => {
    const ref = await newWidget(await newNamespace("kube-with-finalizer"));
    const calls: string[] = [];
    const result = await withFinalizer(objects, ref, await readWidget(ref), handlers(calls, false), "none");
    const stored = await readWidget(ref);
    expect(result).toBe("applied");
    expect(stored.metadata.finalizers).toEqual([FINALIZER]);
    expect(calls).toEqual([`apply@${stored.metadata.resourceVersion ?? ""}`]);
  });

  it("Given a cached copy older than the stored widget, when reconciled, then the patch built from it is refused, and ours is added after a read beside the other writer's", async () => {
    const ref = await newWidget(await newNamespace("kube-with-finalizer-stale"));
    const cachedCopy = await readWidget(ref);
    await objects.patchNamespacedCustomObject(
      { ...ref, body: { metadata: { finalizers: ["example.com/late"] } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    const calls: string[] = [];
    const result = await withFinalizer(objects, ref, cachedCopy, handlers(calls, false), "none");
    const stored = await readWidget(ref);
    expect(result).toBe("applied");
    expect(stored.metadata.finalizers).toEqual(["example.com/late", FINALIZER]);
    expect(calls).toEqual([`apply@${stored.metadata.resourceVersion ?? ""}`]);
  });

  it("Given a deleting widget with our finalizer, when cleanup holds it and then releases it, then it goes only after the release", async () => {
    const ref = await newWidget(await newNamespace("kube-with-finalizer-delete"));
    await ensureFinalizer(objects, ref);
    await objects.deleteNamespacedCustomObject({ ...ref });
    const calls: string[] = [];
    expect(await withFinalizer(objects, ref, await readWidget(ref), handlers(calls, false), "none")).toBe(
      "cleaning",
    );
    expect((await readWidget(ref)).metadata.finalizers).toEqual([FINALIZER]);
    expect(await withFinalizer(objects, ref, await readWidget(ref), handlers(calls, true), "none")).toBe(
      "none",
    );
    await expect(readWidget(ref)).rejects.toMatchObject({ code: 404 });
    expect(calls).toEqual(["cleanup", "cleanup"]);
  });

  it("Given a deleting widget held only by someone else's finalizer, when reconciled, then nothing runs and no finalizer is added", async () => {
    const ref = await newWidget(await newNamespace("kube-with-finalizer-foreign"));
    await objects.patchNamespacedCustomObject(
      { ...ref, body: { metadata: { finalizers: ["example.com/other"] } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await objects.deleteNamespacedCustomObject({ ...ref });
    const calls: string[] = [];
    expect(await withFinalizer(objects, ref, await readWidget(ref), handlers(calls, true), "none")).toBe(
      "none",
    );
    expect(calls).toEqual([]);
    expect((await readWidget(ref)).metadata.finalizers).toEqual(["example.com/other"]);
  });
});

describe("serverSideApply", () => {
  it("Given a desired Secret, when applied twice with a change, then it is stored and owned by the operator's field manager", async () => {
    const ns = await newNamespace("kube-ssa");
    const api = k8s.KubernetesObjectApi.makeApiClient(kc);
    const desired = (value: string): k8s.V1Secret => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "client-credentials",
        namespace: ns,
        labels: { "app.kubernetes.io/managed-by": "keycloak-policy-operator" },
      },
      type: "Opaque",
      data: {
        "client-id": Buffer.from("app").toString("base64"),
        "client-secret": Buffer.from(value).toString("base64"),
      },
    });
    await serverSideApply(api, desired("first-value"));
    await serverSideApply(api, desired("second-value"));
    const stored = await core.readNamespacedSecret({ namespace: ns, name: "client-credentials" });
    expect(Buffer.from(stored.data?.["client-secret"] ?? "", "base64").toString()).toBe("second-value");
    const managers = (stored.metadata?.managedFields ?? []).map((m) => `${m.manager}:${m.operation}`);
    expect(managers).toContain(`${FIELD_MANAGER}:Apply`);
  });

  it("Given a field set by another manager, when the operator applies it with force, then the operator's value wins", async () => {
    const ns = await newNamespace("kube-ssa-force");
    const api = k8s.KubernetesObjectApi.makeApiClient(kc);
    const secret = (value: string): k8s.V1Secret => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s", namespace: ns },
      data: { issuer: Buffer.from(value).toString("base64") },
    });
    await serverSideApply(api, secret("https://someone-else"), { fieldManager: "someone-else" });
    await expect(serverSideApply(api, secret("https://kc/realms/a"), { force: false })).rejects.toThrow(
      new RegExp(`Secret ${ns}/s failed: .*conflict`, "i"),
    );
    await serverSideApply(api, secret("https://kc/realms/a"));
    const stored = await core.readNamespacedSecret({ namespace: ns, name: "s" });
    expect(Buffer.from(stored.data?.issuer ?? "", "base64").toString()).toBe("https://kc/realms/a");
  });
});

describe("EventRecorder", () => {
  it("Given the same warning three times and another once, when recorded, then one Event counts 3 and the other 1", async () => {
    const ns = await newNamespace("kube-events");
    const ref = await newWidget(ns);
    const widget = await readWidget(ref);
    const recorder = new EventRecorder({ kubeConfig: kc, instance: "test-instance" });
    const involved = {
      apiVersion: `${group}/v1`,
      kind: "Widget",
      namespace: ns,
      name: ref.name,
      uid: (widget.metadata as { uid?: string }).uid,
    };
    const denied = "namespace team-a is not in spec.realmGrants of KeycloakInstance kc/main; add it there";
    await recorder.record(involved, "Warning", "PolicyDenied", denied);
    await Promise.all([
      recorder.record(involved, "Warning", "PolicyDenied", denied),
      recorder.record(involved, "Warning", "PolicyDenied", denied),
    ]);
    await recorder.record(
      involved,
      "Normal",
      "Provisioned",
      "realm team-a created; password=hunter2 never shown",
    );

    const list = await core.listNamespacedEvent({ namespace: ns });
    const forWidget = list.items.filter((e) => e.involvedObject.name === ref.name);
    expect(forWidget).toHaveLength(2);
    const warning = forWidget.find((e) => e.reason === "PolicyDenied");
    expect(warning?.count).toBe(3);
    expect(warning?.type).toBe("Warning");
    expect(warning?.message).toBe(denied);
    expect(warning?.involvedObject.uid).toBe(involved.uid);
    expect(warning?.reportingComponent).toBe("keycloak-policy-operator");
    const normal = forWidget.find((e) => e.reason === "Provisioned");
    expect(normal?.count).toBe(1);
    expect(normal?.message).not.toContain("hunter2");
  });
});
