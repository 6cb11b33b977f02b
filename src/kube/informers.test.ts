// Unit tests of the informer's failure paths against a scripted fake API server (plain HTTP):
// 410 Gone, broken and silent watches, failing lists. The happy path and a broken watch are also
// proven against the real kube-apiserver in test/integration/kubeInformer.test.ts.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import {
  Informer,
  metadataOnly,
  objectKey,
  resourcePath,
  trimObject,
  type InformerEvent,
  type InformerLifecycleEvent,
} from "./informers.js";

interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubernetesObject;
  rv: number;
}

/** Serves list and watch of one collection; keeps an event log so watches resume from a resourceVersion. */
class FakeApiServer {
  readonly objects = new Map<string, KubernetesObject>();
  readonly log: WatchEvent[] = [];
  readonly watches = new Set<http.ServerResponse>();
  rv = 100;
  listCalls = 0;
  watchCalls = 0;
  failLists: number[] = [];
  /** Watches from a resourceVersion below this get 410 Gone. */
  compactedBelow = 0;
  readonly #server = http.createServer((req, res) => this.#handle(req, res));

  async start(): Promise<KubeConfig> {
    await new Promise<void>((r) => this.#server.listen(0, "127.0.0.1", r));
    const { port } = this.#server.address() as AddressInfo;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: "fake" }],
      contexts: [{ name: "fake", cluster: "fake", user: "fake" }],
      currentContext: "fake",
    });
    return kc;
  }

  async stop(): Promise<void> {
    this.breakWatches();
    this.#server.closeAllConnections();
    await new Promise((r) => this.#server.close(r));
  }

  put(name: string, data: Record<string, string> = {}, ns = "default"): void {
    const key = `${ns}/${name}`;
    const type = this.objects.has(key) ? "MODIFIED" : "ADDED";
    const obj = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: ns, resourceVersion: String(++this.rv) },
      data,
    } as KubernetesObject;
    this.objects.set(key, obj);
    this.#publish({ type, object: obj, rv: this.rv });
  }

  delete(name: string, ns = "default"): void {
    const key = `${ns}/${name}`;
    const obj = this.objects.get(key);
    if (!obj) return;
    this.objects.delete(key);
    this.#publish({
      type: "DELETED",
      object: { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } },
      rv: this.rv,
    });
  }

  /** Change state without telling current watches (as if their connection were dead). */
  putQuietly(name: string, ns = "default"): void {
    const saved = [...this.watches];
    this.watches.clear();
    this.put(name, {}, ns);
    for (const w of saved) this.watches.add(w);
  }

  breakWatches(): void {
    for (const w of this.watches) w.destroy();
    this.watches.clear();
  }

  sendGone(): void {
    for (const w of this.watches) {
      w.end(
        JSON.stringify({
          type: "ERROR",
          object: { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" },
        }) + "\n",
      );
    }
    this.watches.clear();
  }

  #publish(e: WatchEvent): void {
    this.log.push(e);
    for (const w of this.watches) w.write(JSON.stringify({ type: e.type, object: e.object }) + "\n");
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://fake");
    if (url.searchParams.get("watch") === "true") {
      this.watchCalls++;
      const from = Number(url.searchParams.get("resourceVersion") ?? "0");
      res.writeHead(200, { "Content-Type": "application/json" });
      if (from < this.compactedBelow) {
        res.end(
          JSON.stringify({ type: "ERROR", object: { kind: "Status", code: 410, message: "too old" } }) + "\n",
        );
        return;
      }
      for (const e of this.log)
        if (e.rv > from) res.write(JSON.stringify({ type: e.type, object: e.object }) + "\n");
      this.watches.add(res);
      res.on("close", () => this.watches.delete(res));
      return;
    }
    this.listCalls++;
    const failure = this.failLists.shift();
    if (failure !== undefined) {
      res.writeHead(failure, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "Status",
          code: failure,
          reason: "Forbidden",
          message: "configmaps is forbidden: scripted failure",
        }),
      );
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json" });
    // Like the real API server, list items carry no apiVersion/kind.
    const items = [...this.objects.values()].map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
    res.end(
      JSON.stringify({
        kind: "ConfigMapList",
        apiVersion: "v1",
        metadata: { resourceVersion: String(this.rv) },
        items,
      }),
    );
  }
}

async function until(cond: () => boolean, what: string, turns = 3000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`not reached: ${what}`);
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(options: Partial<ConstructorParameters<typeof Informer>[0]> = {}) {
  const api = new FakeApiServer();
  const kubeConfig = await api.start();
  cleanups.push(() => api.stop());
  const informer = new Informer({
    kubeConfig,
    apiVersion: "v1",
    plural: "configmaps",
    namespaces: ["default"],
    backoffInitialMs: 5,
    backoffMaxMs: 20,
    ...options,
  });
  cleanups.push(() => informer.stop());
  const events: InformerEvent<KubernetesObject>[] = [];
  const lifecycle: InformerLifecycleEvent[] = [];
  informer.onChange((e) => events.push(e));
  informer.onLifecycle((e) => lifecycle.push(e));
  return { api, informer, events, lifecycle };
}

describe("resourcePath and objectKey", () => {
  it("Given core and grouped resources, when their paths are built, then they follow the API layout", () => {
    expect(resourcePath("v1", "secrets", "ns")).toBe("/api/v1/namespaces/ns/secrets");
    expect(resourcePath("v1", "namespaces")).toBe("/api/v1/namespaces");
    expect(resourcePath("keycloak.kpo.dev/v1alpha1", "keycloakrealms")).toBe(
      "/apis/keycloak.kpo.dev/v1alpha1/keycloakrealms",
    );
    expect(objectKey({ metadata: { name: "a", namespace: "n" } })).toBe("n/a");
    expect(objectKey({ metadata: { name: "cluster-wide" } })).toBe("cluster-wide");
  });
});

describe("what the cache keeps", () => {
  it("Given an object with managedFields and kubectl's last-applied copy, when trimmed, then both are gone and the rest stays", () => {
    const obj = trimObject({
      metadata: {
        name: "a",
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}", keep: "yes" },
        managedFields: [{ manager: "kubectl", operation: "Apply" }],
      },
      spec: { x: 1 },
    });
    expect(obj.metadata).toEqual({ name: "a", annotations: { keep: "yes" } });
    expect((obj as { spec?: unknown }).spec).toEqual({ x: 1 });
  });

  it("Given a Secret, when reduced to its metadata, then its values are not kept", () => {
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { k: "dg==" } };
    expect(metadataOnly(secret)).toEqual({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" } });
  });
});

describe("Informer against a scripted API server", () => {
  it("Given existing objects, when started, then it syncs, fills the cache with whole objects and emits adds", async () => {
    const { api, informer, events } = await setup();
    api.put("a", { k: "1" });
    api.put("b");
    informer.start();
    await informer.waitForSync(5000);
    expect(informer.hasSynced()).toBe(true);
    expect(
      informer
        .list("default")
        .map((o) => o.metadata?.name)
        .sort(),
    ).toEqual(["a", "b"]);
    expect(informer.get("default", "a")?.kind).toBe("ConfigMap");
    expect(events.map((e) => `${e.type}:${e.key}`).sort()).toEqual(["add:default/a", "add:default/b"]);
  });

  it("Given a synced informer, when objects are created, updated and deleted, then the cache and handlers follow", async () => {
    const { api, informer, events } = await setup();
    informer.start();
    await informer.waitForSync(5000);
    await until(() => api.watches.size === 1, "watching");
    api.put("a", { v: "1" });
    api.put("a", { v: "2" });
    api.delete("a");
    await until(() => events.length === 3, "three events");
    expect(events.map((e) => e.type)).toEqual(["add", "update", "delete"]);
    expect((events[1]?.old as { data?: Record<string, string> }).data?.v).toBe("1");
    expect(informer.get("default", "a")).toBeUndefined();
  });

  it("Given a broken watch connection, when the server drops it, then the informer re-watches and misses nothing", async () => {
    const { api, informer, lifecycle } = await setup();
    informer.start();
    await informer.waitForSync(5000);
    await until(() => api.watches.size === 1, "watching");
    api.putQuietly("while-broken");
    api.breakWatches();
    await until(() => informer.get("default", "while-broken") !== undefined, "object seen after reconnect");
    expect(lifecycle.some((e) => e.type === "watch-closed")).toBe(true);
  });

  it("Given an expired resourceVersion (410 Gone), when the watch reports it, then the informer relists and emits deletes it missed", async () => {
    const { api, informer, events, lifecycle } = await setup();
    api.put("stays");
    api.put("goes");
    informer.start();
    await informer.waitForSync(5000);
    await until(() => api.watches.size === 1, "watching");
    const saved = [...api.watches];
    api.watches.clear();
    api.delete("goes");
    for (const w of saved) api.watches.add(w);
    api.compactedBelow = api.rv + 1;
    api.sendGone();
    await until(
      () => events.some((e) => e.type === "delete" && e.key === "default/goes"),
      "delete after relist",
    );
    expect(lifecycle).toContainEqual({ type: "restart", scope: "default", reason: "gone" });
    expect(informer.get("default", "stays")).toBeDefined();
  });

  it("Given a watch that goes silent, when no event arrives within the timeout, then it is restarted and catches up", async () => {
    const { api, informer, lifecycle } = await setup({ silentTimeoutMs: 150 });
    informer.start();
    await informer.waitForSync(5000);
    await until(() => api.watches.size === 1, "watching");
    api.putQuietly("missed-by-dead-watch");
    await until(() => lifecycle.some((e) => e.type === "restart" && e.reason === "silent"), "silent restart");
    await until(() => informer.get("default", "missed-by-dead-watch") !== undefined, "caught up");
  });

  it("Given lists that fail with 403, when started, then it backs off, reports the failure and syncs once allowed", async () => {
    const { api, informer, lifecycle } = await setup();
    api.failLists = [403, 403];
    api.put("a");
    informer.start();
    await informer.waitForSync(5000);
    const failures = lifecycle.filter((e) => e.type === "failed");
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({ message: expect.stringContaining("forbidden") as unknown });
    expect(api.listCalls).toBe(3);
    expect(informer.get("default", "a")).toBeDefined();
  });

  it("Given a never-synced informer, when waiting for sync times out, then the error says what to check", async () => {
    const { api, informer } = await setup({ backoffInitialMs: 1000, backoffMaxMs: 1000 });
    api.failLists = [404, 404, 404];
    informer.start();
    await expect(informer.waitForSync(100)).rejects.toThrow(/CRDs installed.*RBAC/);
  });

  it("Given a periodic relist, when it fires, then every cached object is delivered again as an update", async () => {
    const { api, informer, events, lifecycle } = await setup({ relistIntervalMs: 100 });
    api.put("a");
    informer.start();
    await informer.waitForSync(5000);
    await until(() => lifecycle.some((e) => e.type === "restart" && e.reason === "relist"), "relist");
    await until(() => events.some((e) => e.type === "update" && e.key === "default/a"), "resync update");
  });

  it("Given a handler that throws, when an event arrives, then the other handlers still run", async () => {
    const { api, informer, events } = await setup();
    informer.onChange(() => {
      throw new Error("handler bug");
    });
    api.put("a");
    informer.start();
    await informer.waitForSync(5000);
    expect(events).toHaveLength(1);
  });
});
