import { KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { beforeEach, describe, expect, it } from "vitest";
import { API_VERSION, type KeycloakClient, type KeycloakInstance, type KeycloakRealm } from "../api/index.js";
import { cachesOf } from "../../test/unit/caches.js";
import { Informer } from "../kube/informers.js";
import { formatKey, type ObjectKey } from "../kube/objectKey.js";
import { startWatches, type Enqueuer } from "../kube/watches.js";
import type { Caches } from "./facts.js";
import { NamedClientIndex, operatorWatches } from "./watches.js";

type Meta = { generation?: number; phase?: string; labels?: Record<string, string>; finalizers?: string[] };

const metaOf = (namespace: string, name: string, m: Meta) => ({
  namespace,
  name,
  generation: m.generation ?? 1,
  ...(m.labels ? { labels: m.labels } : {}),
  ...(m.finalizers ? { finalizers: m.finalizers } : {}),
});
const statusOf = (m: Meta) => (m.phase ? { status: { phase: m.phase } } : {});

const instance = (ns: string, name: string, m: Meta = {}) =>
  ({
    apiVersion: API_VERSION,
    kind: "KeycloakInstance",
    metadata: metaOf(ns, name, m),
    spec: { external: { url: "https://kc.example.com" } },
    ...statusOf(m),
  }) as unknown as KeycloakInstance;

const realm = (ns: string, name: string, instanceRef: { name: string; namespace?: string }, m: Meta = {}) =>
  ({
    apiVersion: API_VERSION,
    kind: "KeycloakRealm",
    metadata: metaOf(ns, name, m),
    spec: { instanceRef, realmName: name },
    ...statusOf(m),
  }) as unknown as KeycloakRealm;

const client = (
  ns: string,
  name: string,
  realmRef: { name: string; namespace?: string },
  m: Meta & { clientId?: string; clientRoles?: Record<string, string[]> } = {},
) =>
  ({
    apiVersion: API_VERSION,
    kind: "KeycloakClient",
    metadata: metaOf(ns, name, m),
    spec: {
      realmRef,
      clientId: m.clientId ?? name,
      ...(m.clientRoles ? { serviceAccount: { enabled: true, clientRoles: m.clientRoles } } : {}),
    },
    ...statusOf(m),
  }) as unknown as KeycloakClient;

const namespace = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels },
});

/** Records every key a watch queues, with its reason, per controller. */
class Recorder implements Enqueuer {
  readonly queued: Array<{ key: string; reason: string }> = [];
  enqueue(key: ObjectKey, reason: string): void {
    this.queued.push({ key: formatKey(key), reason });
  }
  keys(): string[] {
    return [...new Set(this.queued.map((q) => q.key))].sort();
  }
  reasonFor(key: string): string[] {
    return this.queued.filter((q) => q.key === key).map((q) => q.reason);
  }
}

class FakePolicy {
  readonly #handlers = new Set<(revision: string) => void>();
  onChange(handler: (revision: string) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }
  publish(revision: string): void {
    for (const h of this.#handlers) h(revision);
  }
}

interface World {
  caches: Caches;
  secrets: Informer<V1Secret>;
  watchedSecrets: Informer<V1Secret>;
  policy: FakePolicy;
  instance: Recorder;
  realm: Recorder;
  client: Recorder;
  clear(): void;
  stop(): void;
}

function world(objects: readonly { kind?: string }[], secrets: V1Secret[] = []): World {
  const caches = cachesOf(objects);
  const secretCache = new Informer<V1Secret>({
    kubeConfig: new KubeConfig(),
    apiVersion: "v1",
    plural: "secrets",
  });
  for (const s of secrets) secretCache.upsert(s);
  const watchedSecrets = new Informer<V1Secret>({
    kubeConfig: new KubeConfig(),
    apiVersion: "v1",
    plural: "secrets",
  });
  const policy = new FakePolicy();
  const table = operatorWatches({ ...caches, credentialSecrets: secretCache, watchedSecrets, policy });
  const recorders = { instance: new Recorder(), realm: new Recorder(), client: new Recorder() };
  const stops = [
    startWatches(recorders.instance, table.instance),
    startWatches(recorders.realm, table.realm),
    startWatches(recorders.client, table.client),
  ];
  return {
    caches,
    secrets: secretCache,
    watchedSecrets,
    policy,
    ...recorders,
    clear: () => {
      for (const r of Object.values(recorders)) r.queued.length = 0;
    },
    stop: () => {
      for (const s of stops) s();
    },
  };
}

const none = { instance: [], realm: [], client: [] };
const queuedOf = (w: World) => ({
  instance: w.instance.keys(),
  realm: w.realm.keys(),
  client: w.client.keys(),
});

describe("operator watch table", () => {
  let w: World;
  beforeEach(() => {
    w = world([
      namespace("team-a", { env: "dev" }),
      namespace("team-b"),
      instance("kc", "main", { phase: "Ready" }),
      instance("kc", "other", { phase: "Ready" }),
      realm("team-a", "shop", { name: "main", namespace: "kc" }, { phase: "Ready" }),
      realm("team-a", "blog", { name: "other", namespace: "kc" }, { phase: "Ready" }),
      realm("team-b", "crm", { name: "main", namespace: "kc" }, { phase: "Ready" }),
      client("team-a", "web", { name: "shop" }, { phase: "Ready" }),
      client("team-a", "api", { name: "shop" }, { phase: "Ready" }),
      client("team-a", "worker", { name: "shop" }, { phase: "Ready", clientRoles: { api: ["read"] } }),
      client("team-b", "portal", { name: "shop", namespace: "team-a" }, { phase: "Ready" }),
      client("team-b", "crm-ui", { name: "crm" }, { phase: "Ready" }),
    ]);
    w.clear();
  });

  it("Given a status-only write, When the cache sees it, Then nothing is queued", () => {
    w.caches.realms.upsert(realm("team-a", "shop", { name: "main", namespace: "kc" }, { phase: "Ready" }));
    w.caches.clients.upsert(client("team-a", "web", { name: "shop" }, { phase: "Ready" }));
    w.caches.instances.upsert(instance("kc", "main", { phase: "Ready" }));
    expect(queuedOf(w)).toEqual(none);
  });

  it("Given a live object, When only our finalizer is added, Then nothing is queued", () => {
    w.caches.clients.upsert(client("team-a", "web", { name: "shop" }, { phase: "Ready", finalizers: ["f"] }));
    expect(queuedOf(w)).toEqual(none);
  });

  it("Given an instance, When it stops being usable, Then the realms on it are queued, not the instance", () => {
    w.caches.instances.upsert(instance("kc", "main", { phase: "Failed" }));
    expect(queuedOf(w)).toEqual({ instance: [], realm: ["team-a/shop", "team-b/crm"], client: [] });
    expect(w.realm.reasonFor("team-a/shop")).toEqual(["its KeycloakInstance kc/main changed"]);
  });

  it("Given an instance, When its spec changes, Then it and its realms are queued", () => {
    w.caches.instances.upsert(instance("kc", "other", { phase: "Ready", generation: 2 }));
    expect(queuedOf(w)).toEqual({ instance: ["kc/other"], realm: ["team-a/blog"], client: [] });
    expect(w.instance.reasonFor("kc/other")).toEqual(["its spec or metadata changed"]);
  });

  it("Given a realm, When its phase changes, Then the clients referencing it (any namespace) are queued", () => {
    w.caches.realms.upsert(realm("team-a", "shop", { name: "main", namespace: "kc" }, { phase: "Failed" }));
    expect(queuedOf(w)).toEqual({
      instance: [],
      realm: [],
      client: ["team-a/api", "team-a/web", "team-a/worker", "team-b/portal"],
    });
    expect(w.client.reasonFor("team-b/portal")).toEqual(["its KeycloakRealm team-a/shop changed"]);
  });

  it("Given a Ready realm, When its own status write moves it to Degraded and back (both usable), Then none of its clients is queued", () => {
    w.caches.realms.upsert(realm("team-a", "shop", { name: "main", namespace: "kc" }, { phase: "Degraded" }));
    w.caches.realms.upsert(realm("team-a", "shop", { name: "main", namespace: "kc" }, { phase: "Ready" }));
    expect(queuedOf(w)).toEqual(none);
  });

  it("Given a Ready realm, When its spec changes (a grant), Then its clients are queued even though its phase did not change", () => {
    w.caches.realms.upsert(
      realm("team-a", "shop", { name: "main", namespace: "kc" }, { phase: "Ready", generation: 2 }),
    );
    expect(queuedOf(w).client).toEqual(["team-a/api", "team-a/web", "team-a/worker", "team-b/portal"]);
  });

  it("Given a Failed realm, When it moves to Pending (still not usable), Then its waiting clients are queued (their message names the phase)", () => {
    w.caches.realms.upsert(realm("team-b", "crm", { name: "main", namespace: "kc" }, { phase: "Failed" }));
    w.clear();
    w.caches.realms.upsert(realm("team-b", "crm", { name: "main", namespace: "kc" }, { phase: "Pending" }));
    expect(queuedOf(w).client).toEqual(["team-b/crm-ui"]);
  });

  it("Given an instance, When its status moves between usable phases, Then its realms are not queued", () => {
    w.caches.instances.upsert(instance("kc", "main", { phase: "Degraded" }));
    w.caches.instances.upsert(instance("kc", "main", { phase: "Ready" }));
    expect(queuedOf(w)).toEqual(none);
    w.caches.instances.upsert(instance("kc", "main", { phase: "Failed" }));
    expect(queuedOf(w).realm).toEqual(["team-a/shop", "team-b/crm"]);
  });

  it("Given a realm, When it is deleted, Then it, its clients, its namespace's realms and its instance are queued", () => {
    w.caches.realms.remove(realm("team-a", "shop", { name: "main", namespace: "kc" }));
    expect(queuedOf(w)).toEqual({
      instance: ["kc/main"],
      realm: ["team-a/blog", "team-a/shop"],
      client: ["team-a/api", "team-a/web", "team-a/worker", "team-b/portal"],
    });
    expect(w.instance.reasonFor("kc/main")).toEqual(["its KeycloakRealm team-a/shop was deleted"]);
    expect(w.realm.reasonFor("team-a/shop")).toEqual(["the KeycloakRealm was deleted"]);
    expect(w.realm.reasonFor("team-a/blog")).toEqual([
      "KeycloakRealm team-a/shop in its namespace was deleted (quota)",
    ]);
  });

  it("Given a client whose roles another names, When its spec changes, Then it and that client are queued", () => {
    w.caches.clients.upsert(client("team-a", "api", { name: "shop" }, { phase: "Ready", generation: 2 }));
    expect(queuedOf(w)).toEqual({ instance: [], realm: [], client: ["team-a/api", "team-a/worker"] });
    expect(w.client.reasonFor("team-a/worker")).toEqual([
      "KeycloakClient team-a/api, whose roles it names, changed",
    ]);
  });

  it("Given a client, When its phase alone changes, Then nothing is queued", () => {
    w.caches.clients.upsert(client("team-a", "api", { name: "shop" }, { phase: "Degraded" }));
    expect(queuedOf(w)).toEqual(none);
  });

  it("Given a client, When it is deleted, Then it and its realm are queued", () => {
    w.caches.clients.remove(client("team-b", "portal", { name: "shop", namespace: "team-a" }));
    expect(queuedOf(w)).toEqual({ instance: [], realm: ["team-a/shop"], client: ["team-b/portal"] });
    expect(w.realm.reasonFor("team-a/shop")).toEqual(["its KeycloakClient team-b/portal was deleted"]);
  });

  it("Given a namespace, When its labels change, Then everything living there is queued", () => {
    w.caches.namespaces.upsert(namespace("team-a", { env: "prod" }));
    expect(queuedOf(w)).toEqual({
      instance: [],
      realm: ["team-a/blog", "team-a/shop"],
      client: ["team-a/api", "team-a/web", "team-a/worker"],
    });
    expect(w.realm.reasonFor("team-a/shop")).toEqual(["its namespace's labels or annotations changed"]);
  });

  it("Given a namespace, When it is relisted unchanged, Then nothing is queued", () => {
    w.caches.namespaces.upsert(namespace("team-a", { env: "dev" }));
    expect(queuedOf(w)).toEqual(none);
  });

  it("Given a credentials Secret, When it is edited or deleted, Then its client is queued; a relist queues nothing", () => {
    const secret = (rv: string, labels: Record<string, string>) =>
      ({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { namespace: "team-a", name: "web-creds", resourceVersion: rv, labels },
      }) as V1Secret;
    const labels = { "keycloak.kpo.dev/client": "web" };
    w.secrets.upsert(secret("1", labels));
    expect(w.client.reasonFor("team-a/web")).toEqual(["its credentials Secret team-a/web-creds was added"]);
    w.clear();
    w.secrets.upsert(secret("1", labels));
    expect(queuedOf(w)).toEqual(none);
    w.secrets.upsert(secret("2", labels));
    w.secrets.remove(secret("2", labels));
    expect(w.client.reasonFor("team-a/web")).toEqual([
      "its credentials Secret team-a/web-creds changed",
      "its credentials Secret team-a/web-creds was deleted",
    ]);
    w.clear();
    w.secrets.upsert(secret("3", {}));
    expect(queuedOf(w)).toEqual(none);
  });

  it("Given a managed instance, When a Secret its pods read changes, Then it is queued; a relist or another Secret queues nothing", () => {
    w.caches.instances.upsert({
      ...instance("kc", "managed"),
      spec: {
        managed: {
          database: { vendor: "postgres", host: "db", credentialsSecretRef: { name: "db-creds" } },
          tls: { secretName: "kc-tls" },
        },
      },
    } as unknown as KeycloakInstance);
    w.clear();
    const secret = (name: string, rv: string) =>
      ({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { namespace: "kc", name, resourceVersion: rv },
      }) as V1Secret;
    for (const name of ["db-creds", "kc-tls", "managed-admin"]) w.watchedSecrets.upsert(secret(name, "1"));
    w.clear();
    w.watchedSecrets.upsert(secret("db-creds", "1"));
    w.watchedSecrets.upsert(secret("unrelated", "1"));
    w.watchedSecrets.upsert(secret("unrelated", "2"));
    expect(queuedOf(w)).toEqual(none);
    w.watchedSecrets.upsert(secret("db-creds", "2"));
    w.watchedSecrets.upsert(secret("kc-tls", "2"));
    w.watchedSecrets.upsert(secret("managed-admin", "2"));
    expect(w.instance.reasonFor("kc/managed")).toEqual([
      "Secret kc/db-creds, which its pods read, changed",
      "Secret kc/kc-tls, which its pods read, changed",
      "Secret kc/managed-admin, which its pods read, changed",
    ]);
    expect(queuedOf(w).instance).toEqual(["kc/managed"]);
  });

  it("Given the policy bundle, When it changes, Then every resource of every kind is queued", () => {
    w.policy.publish("r2");
    expect(queuedOf(w)).toEqual({
      instance: ["kc/main", "kc/other"],
      realm: ["team-a/blog", "team-a/shop", "team-b/crm"],
      client: ["team-a/api", "team-a/web", "team-a/worker", "team-b/crm-ui", "team-b/portal"],
    });
    expect(w.instance.reasonFor("kc/main")).toEqual(["the policy bundle changed (revision r2)"]);
  });

  it("Given started watches, When they are stopped, Then no event queues anything", () => {
    w.stop();
    w.policy.publish("r3");
    w.caches.realms.remove(realm("team-a", "shop", { name: "main", namespace: "kc" }));
    expect(queuedOf(w)).toEqual(none);
  });
});

describe("NamedClientIndex", () => {
  const informer = () =>
    new Informer<KeycloakClient>({
      kubeConfig: new KubeConfig(),
      apiVersion: API_VERSION,
      plural: "keycloakclients",
    });
  const named = (index: NamedClientIndex, realmNs: string, realmName: string, clientId: string) =>
    index.naming({ namespace: realmNs, name: realmName }, clientId).map(formatKey).sort();

  it("Given clients naming another's roles, When they are added, changed and deleted, Then the index follows, per realm", () => {
    const clients = informer();
    // Present before the index exists: seeded from the cache.
    clients.upsert(client("a", "worker", { name: "shop" }, { clientRoles: { api: ["read"] } }));
    const index = new NamedClientIndex(clients);
    clients.upsert(client("b", "portal", { name: "shop", namespace: "a" }, { clientRoles: { api: ["x"] } }));
    clients.upsert(client("a", "other", { name: "blog" }, { clientRoles: { api: ["read"] } }));
    expect(named(index, "a", "shop", "api")).toEqual(["a/worker", "b/portal"]);
    expect(named(index, "a", "blog", "api")).toEqual(["a/other"]);

    // worker stops naming api, and names billing instead.
    clients.upsert(client("a", "worker", { name: "shop" }, { clientRoles: { billing: ["pay"] } }));
    expect(named(index, "a", "shop", "api")).toEqual(["b/portal"]);
    expect(named(index, "a", "shop", "billing")).toEqual(["a/worker"]);

    clients.remove(client("b", "portal", { name: "shop", namespace: "a" }));
    expect(named(index, "a", "shop", "api")).toEqual([]);
  });
});
