import { describe, expect, it } from "vitest";
import { API_VERSION, type KeycloakClient, type KeycloakInstance, type KeycloakRealm } from "../api/index.js";
import { cachesOf } from "../../test/unit/caches.js";
import {
  clientDependency,
  clientPolicyInput,
  instancePolicyInput,
  namedClientIds,
  namespaceFacts,
  realmDependency,
  realmPolicyInput,
} from "./facts.js";

interface Meta {
  created?: string;
  status?: Record<string, unknown>;
  deleting?: boolean;
}

function meta(namespace: string, name: string, m: Meta) {
  return {
    name,
    namespace,
    ...(m.created ? { creationTimestamp: m.created } : {}),
    ...(m.deleting ? { deletionTimestamp: "2026-02-01T00:00:00Z" } : {}),
  };
}

const instance = (namespace: string, name: string, m: Meta = {}): KeycloakInstance =>
  ({
    apiVersion: API_VERSION,
    kind: "KeycloakInstance",
    metadata: meta(namespace, name, m),
    spec: { external: { url: "https://kc.example.com" }, realmGrants: { namespaces: ["team-a"] } },
    ...(m.status ? { status: m.status } : {}),
  }) as unknown as KeycloakInstance;

const realm = (
  namespace: string,
  name: string,
  instanceRef: { name: string; namespace?: string },
  m: Meta = {},
): KeycloakRealm =>
  ({
    apiVersion: API_VERSION,
    kind: "KeycloakRealm",
    metadata: meta(namespace, name, m),
    spec: { instanceRef, realmName: name },
    ...(m.status ? { status: m.status } : {}),
  }) as unknown as KeycloakRealm;

const client = (
  namespace: string,
  name: string,
  realmRef: { name: string; namespace?: string },
  m: Meta & { spec?: Record<string, unknown> } = {},
): KeycloakClient =>
  ({
    apiVersion: API_VERSION,
    kind: "KeycloakClient",
    metadata: meta(namespace, name, m),
    spec: { realmRef, clientId: name, ...m.spec },
    ...(m.status ? { status: m.status } : {}),
  }) as unknown as KeycloakClient;

const namespace = (
  name: string,
  labels: Record<string, string>,
  annotations: Record<string, string> = {},
) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels, annotations },
});

describe("policy facts: targets", () => {
  it("Given a realm whose instanceRef names no namespace, when its input is built, then the instance is looked up in the realm's namespace", () => {
    const own = instance("team-a", "kc");
    const elsewhere = instance("iam", "kc");
    const r = realm("team-a", "shop", { name: "kc" });
    const input = realmPolicyInput(cachesOf([elsewhere, own, r]), r);
    expect(input.target).toEqual({
      instance: { metadata: { name: "kc", namespace: "team-a" }, spec: own.spec },
    });
  });

  it("Given a realm whose instance is not in the cache, when its input is built, then the target is empty", () => {
    const r = realm("team-a", "shop", { name: "kc", namespace: "iam" });
    expect(realmPolicyInput(cachesOf([instance("team-a", "kc"), r]), r).target).toEqual({});
  });

  it("Given a client, when its input is built, then its realm and the realm's instance are the targets", () => {
    const kc = instance("iam", "kc");
    const shop = realm("platform", "shop", { name: "kc", namespace: "iam" });
    const web = client("team-a", "web", { name: "shop", namespace: "platform" });
    const input = clientPolicyInput(cachesOf([kc, shop, realm("team-a", "shop", { name: "kc" }), web]), web);
    expect(input.target.realm?.metadata).toEqual({ name: "shop", namespace: "platform" });
    expect(input.target.instance?.metadata).toEqual({ name: "kc", namespace: "iam" });
    expect(input.target.clients).toBeUndefined();
  });

  it("Given a client whose realm is missing, when its input is built, then neither realm nor instance is a target", () => {
    const web = client("team-a", "web", { name: "shop" });
    expect(clientPolicyInput(cachesOf([instance("team-a", "kc"), web]), web).target).toEqual({});
  });

  it("Given a client naming roles of clients in its realm and elsewhere, when its input is built, then only its realm's owners are listed, with their roleGrants", () => {
    const shopRef = { name: "shop", namespace: "platform" };
    const orders = client("team-b", "orders", shopRef, { spec: { roleGrants: { namespaces: ["team-a"] } } });
    const ordersElsewhere = client("team-c", "orders", { name: "other", namespace: "platform" });
    const web = client("team-a", "web", shopRef, {
      spec: { serviceAccount: { clientRoles: { orders: ["read"], web: ["own"] } } },
    });
    const input = clientPolicyInput(cachesOf([ordersElsewhere, orders, web]), web);
    expect(input.target.clients).toEqual([
      {
        clientId: "orders",
        metadata: { name: "orders", namespace: "team-b" },
        spec: { roleGrants: { namespaces: ["team-a"] } },
      },
    ]);
  });
});

describe("policy facts: namespace", () => {
  it("Given a Namespace in the cache, when facts are read, then its labels and annotations are given", () => {
    const caches = cachesOf([
      namespace("team-a", { env: "prod" }, { "kpo.dev/max-realms-per-namespace": "3" }),
    ]);
    expect(namespaceFacts(caches, "team-a")).toEqual({
      name: "team-a",
      labels: { env: "prod" },
      annotations: { "kpo.dev/max-realms-per-namespace": "3" },
    });
  });

  it("Given a namespace the cache does not hold, when facts are read, then labels and annotations are empty", () => {
    expect(namespaceFacts(cachesOf([]), "gone")).toEqual({ name: "gone", labels: {}, annotations: {} });
  });

  it("Given a resource, when its input is built, then the namespace facts are those of its own namespace", () => {
    const kc = instance("iam", "kc");
    const caches = cachesOf([namespace("iam", { tier: "shared" }), namespace("team-a", { env: "dev" }), kc]);
    expect(instancePolicyInput(caches, kc).namespace.labels).toEqual({ tier: "shared" });
  });
});

describe("policy facts: quota counts", () => {
  it("Given realms created at different times, when counted, then only those created before it in its namespace count", () => {
    const ref = { name: "kc" };
    const older = realm("team-a", "zeta", ref, { created: "2026-01-01T00:00:00Z" });
    const self = realm("team-a", "mid", ref, { created: "2026-01-02T00:00:00Z" });
    const newer = realm("team-a", "alpha", ref, { created: "2026-01-03T00:00:00Z" });
    const otherNamespace = realm("team-b", "old", ref, { created: "2025-01-01T00:00:00Z" });
    const caches = cachesOf([newer, self, older, otherNamespace]);
    expect(realmPolicyInput(caches, self).counts).toEqual({ realmsInNamespace: 1 });
    expect(realmPolicyInput(caches, older).counts).toEqual({ realmsInNamespace: 0 });
    expect(realmPolicyInput(caches, newer).counts).toEqual({ realmsInNamespace: 2 });
  });

  it("Given realms created at the same time, when counted, then the name breaks the tie, so the first N stay admitted", () => {
    const at = { created: "2026-01-01T00:00:00Z" };
    const [a, b, c] = ["a", "b", "c"].map((n) => realm("team-a", n, { name: "kc" }, at));
    const caches = cachesOf([c!, a!, b!]);
    expect([a!, b!, c!].map((r) => realmPolicyInput(caches, r).counts.realmsInNamespace)).toEqual([0, 1, 2]);
  });

  it("Given clients in several realms and namespaces, when counted, then per namespace and per realm counts differ", () => {
    const shop = { name: "shop", namespace: "platform" };
    const at = (day: number) => ({ created: `2026-01-0${day}T00:00:00Z` });
    const self = client("team-a", "web", shop, at(5));
    const caches = cachesOf([
      client("team-a", "api", shop, at(1)), // same namespace, same realm
      client("team-a", "cli", { name: "other", namespace: "platform" }, at(2)), // same namespace only
      client("team-b", "orders", shop, at(3)), // same realm only
      client("team-b", "late", shop, at(9)), // created after
      self,
    ]);
    expect(clientPolicyInput(caches, self).counts).toEqual({ clientsInNamespace: 2, clientsInRealm: 2 });
  });
});

describe("policy facts: operation", () => {
  it.each([
    ["no status", undefined, "create"],
    ["Pending", { phase: "Pending" }, "create"],
    ["Failed, never Ready", { phase: "Failed", conditions: [{ type: "Ready", status: "False" }] }, "create"],
    ["Ready", { phase: "Ready" }, "update"],
    ["Degraded", { phase: "Degraded" }, "update"],
    [
      "Provisioning with a Ready condition",
      { phase: "Provisioning", conditions: [{ type: "Ready", status: "True" }] },
      "update",
    ],
  ])(
    "Given a realm with %s, when its input is built, then the operation is %s",
    (_what, status, operation) => {
      const r = realm("team-a", "shop", { name: "kc" }, status ? { status } : {});
      expect(realmPolicyInput(cachesOf([r]), r).operation).toBe(operation);
    },
  );
});

describe("namedClientIds", () => {
  it("Given service-account client roles, role composites and hardcoded role mappers, when read, then every named clientId but its own is given", () => {
    const ids = namedClientIds({
      realmRef: { name: "shop" },
      clientId: "web",
      serviceAccount: { clientRoles: { orders: ["read"], web: ["self"] } },
      roles: [{ name: "admin", composites: { client: { billing: ["pay"] } } }],
      protocolMappers: [
        { name: "m1", protocolMapper: "oidc-hardcoded-role-mapper", config: { role: "my.app.viewer" } },
        { name: "m2", protocolMapper: "oidc-hardcoded-role-mapper", config: { role: "offline_access" } },
        { name: "m3", protocolMapper: "oidc-hardcoded-role-mapper", config: { role: ".leading" } },
        { name: "m4", protocolMapper: "oidc-usermodel-attribute-mapper", config: { role: "audit.read" } },
      ],
    });
    expect([...ids].sort()).toEqual(["billing", "my.app", "orders"]);
  });

  it("Given a spec that names no other client, when read, then the set is empty", () => {
    expect(namedClientIds({ realmRef: { name: "shop" }, clientId: "web" }).size).toBe(0);
  });
});

describe("dependencies", () => {
  it("Given a realm's instance missing, not ready, being deleted, Degraded or Ready, when checked, then only the last two are usable", () => {
    const r = realm("team-a", "shop", { name: "kc" });
    const check = (...objs: KeycloakInstance[]) => realmDependency(cachesOf([...objs, r]), r);
    expect(check()).toMatchObject({ ready: false, reason: "KeycloakInstanceNotFound" });
    expect(check(instance("team-a", "kc", { status: { phase: "Provisioning" } }))).toMatchObject({
      ready: false,
      reason: "KeycloakInstanceNotReady",
    });
    expect(check(instance("team-a", "kc", { status: { phase: "Ready" }, deleting: true })).message).toContain(
      "being deleted",
    );
    expect(check(instance("team-a", "kc", { status: { phase: "Degraded" } }))).toEqual({ ready: true });
    expect(check(instance("team-a", "kc", { status: { phase: "Ready" } }))).toEqual({ ready: true });
  });

  it("Given a client whose realm is in another namespace, when checked, then that realm is the dependency", () => {
    const web = client("team-a", "web", { name: "shop", namespace: "platform" });
    const caches = cachesOf([realm("platform", "shop", { name: "kc" }, { status: { phase: "Ready" } }), web]);
    expect(clientDependency(caches, web)).toEqual({ ready: true });
    expect(clientDependency(cachesOf([realm("team-a", "shop", { name: "kc" }), web]), web)).toMatchObject({
      reason: "KeycloakRealmNotFound",
      message: expect.stringContaining("platform/shop") as string,
    });
  });
});
