// The informer against the real kube-apiserver: it sees creates, updates and deletes; it honours
// namespace and label selector scoping; it recovers when its connection is cut (through a TCP proxy
// the test can sever) and when the resource type appears only after it started (CRD installed late).
import { randomUUID } from "node:crypto";
import * as net from "node:net";
import * as k8s from "@kubernetes/client-node";
import { afterEach, describe, expect, inject, it } from "vitest";
import { Informer, type InformerEvent, type InformerLifecycleEvent } from "../../src/kube/informers.js";

function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(inject("kubeconfigPath"));
  return kc;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function newNamespace(core: k8s.CoreV1Api, prefix: string): Promise<string> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not reached within ${timeoutMs} ms: ${what}`);
}

/** A TCP relay to the API server whose connections the test can cut, like a network failure. */
async function severableProxy(target: URL): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe("Informer against the real kube-apiserver", () => {
  it("Given a namespace, when ConfigMaps are created, updated and deleted, then the cache and handlers follow", async () => {
    const kc = kubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ns = await newNamespace(core, "kube-informer");
    const informer = new Informer<k8s.V1ConfigMap>({
      kubeConfig: kc,
      apiVersion: "v1",
      plural: "configmaps",
      namespaces: [ns],
    });
    cleanups.push(() => informer.stop());
    const events: InformerEvent<k8s.V1ConfigMap>[] = [];
    informer.onChange((e) => events.push(e));

    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "before" }, data: { a: "1" } },
    });
    informer.start();
    await informer.waitForSync(30_000);
    expect(informer.get(ns, "before")?.data).toEqual({ a: "1" });
    expect(informer.get(ns, "before")?.kind).toBe("ConfigMap");

    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "cm" }, data: { v: "1" } },
    });
    await until(() => informer.get(ns, "cm") !== undefined, "created ConfigMap in cache");
    await core.patchNamespacedConfigMap(
      { namespace: ns, name: "cm", body: { data: { v: "2" } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await until(() => informer.get(ns, "cm")?.data?.v === "2", "update in cache");
    await core.deleteNamespacedConfigMap({ namespace: ns, name: "cm" });
    await until(() => informer.get(ns, "cm") === undefined, "delete in cache");

    const forCm = events.filter((e) => e.key === `${ns}/cm`).map((e) => e.type);
    expect(forCm).toEqual(["add", "update", "delete"]);
    // The namespace scope keeps other namespaces out.
    expect(informer.list().every((o) => o.metadata?.namespace === ns)).toBe(true);
  });

  it("Given a label selector, when labelled and unlabelled Secrets exist, then only the labelled ones are cached", async () => {
    const kc = kubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ns = await newNamespace(core, "kube-selector");
    const informer = new Informer<k8s.V1Secret>({
      kubeConfig: kc,
      apiVersion: "v1",
      plural: "secrets",
      namespaces: [ns],
      labelSelector: "app.kubernetes.io/managed-by=keycloak-policy-operator",
    });
    cleanups.push(() => informer.stop());
    informer.start();
    await informer.waitForSync(30_000);
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: "other" }, stringData: { x: "y" } },
    });
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: "ours", labels: { "app.kubernetes.io/managed-by": "keycloak-policy-operator" } },
        stringData: { x: "y" },
      },
    });
    await until(() => informer.get(ns, "ours") !== undefined, "labelled Secret cached");
    expect(informer.get(ns, "other")).toBeUndefined();
  });

  it("Given a watch whose connection is cut, when objects change meanwhile, then the informer reconnects and catches up", async () => {
    const kc = kubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ns = await newNamespace(core, "kube-cut");
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no cluster");
    const proxy = await severableProxy(new URL(cluster.server));
    cleanups.push(() => proxy.close());
    // Same credentials, but through the proxy (the serving certificate is for 127.0.0.1).
    const proxied = new k8s.KubeConfig();
    proxied.loadFromOptions({
      clusters: [{ ...cluster, name: "proxied", server: `https://127.0.0.1:${proxy.port}` }],
      users: kc.getUsers(),
      contexts: [{ name: "proxied", cluster: "proxied", user: kc.getCurrentUser()?.name ?? "" }],
      currentContext: "proxied",
    });
    const informer = new Informer<k8s.V1ConfigMap>({
      kubeConfig: proxied,
      apiVersion: "v1",
      plural: "configmaps",
      namespaces: [ns],
      backoffInitialMs: 50,
      backoffMaxMs: 200,
    });
    cleanups.push(() => informer.stop());
    const lifecycle: InformerLifecycleEvent[] = [];
    informer.onLifecycle((e) => lifecycle.push(e));
    informer.start();
    await informer.waitForSync(30_000);
    await until(() => lifecycle.some((e) => e.type === "watching"), "watch established");

    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "first" } } });
    await until(() => informer.get(ns, "first") !== undefined, "first seen");

    proxy.cut();
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "during-outage" } } });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: "first" });

    await until(
      () => informer.get(ns, "during-outage") !== undefined,
      "object created during the outage seen",
    );
    await until(() => informer.get(ns, "first") === undefined, "object deleted during the outage gone");
    expect(lifecycle.some((e) => e.type === "watch-closed")).toBe(true);
  });

  it("Given the resource type is not served yet, when its CRD is installed later, then the informer backs off and then syncs", async () => {
    const kc = kubeConfig();
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    const objects = kc.makeApiClient(k8s.CustomObjectsApi);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ns = await newNamespace(core, "kube-late-crd");
    const group = `late${randomUUID().slice(0, 6)}.test.kpo.dev`;
    const informer = new Informer({
      kubeConfig: kc,
      apiVersion: `${group}/v1`,
      plural: "gadgets",
      backoffInitialMs: 100,
      backoffMaxMs: 500,
    });
    cleanups.push(() => informer.stop());
    const lifecycle: InformerLifecycleEvent[] = [];
    informer.onLifecycle((e) => lifecycle.push(e));
    informer.start();
    await until(() => lifecycle.some((e) => e.type === "failed"), "first list fails");
    expect(informer.hasSynced()).toBe(false);
    const failure = lifecycle.find((e) => e.type === "failed");
    expect(failure?.type === "failed" && failure.message).toMatch(/404|not found/i);

    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: `gadgets.${group}` },
        spec: {
          group,
          scope: "Namespaced",
          names: { plural: "gadgets", singular: "gadget", kind: "Gadget" },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: "object", x_kubernetes_preserve_unknown_fields: true } },
            },
          ],
        },
      },
    });
    cleanups.push(() => ext.deleteCustomResourceDefinition({ name: `gadgets.${group}` }));
    await informer.waitForSync(60_000);
    // The CRD may be served a moment before creates succeed; retry the create briefly.
    for (let i = 0; ; i++) {
      try {
        await objects.createNamespacedCustomObject({
          group,
          version: "v1",
          namespace: ns,
          plural: "gadgets",
          body: { apiVersion: `${group}/v1`, kind: "Gadget", metadata: { name: "g1" } },
        });
        break;
      } catch (err) {
        if (i > 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await until(() => informer.get(ns, "g1") !== undefined, "custom object seen");
    expect(informer.get(ns, "g1")?.kind).toBe("Gadget");
  });
});
