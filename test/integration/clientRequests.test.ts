// The Keycloak requests one KeycloakClient's provision makes, counted on the connection the handler
// uses, against the real API server (for the credentials Secret) and the real Keycloak. At scale
// every request per client is multiplied by N: a create is find + create + secret read by the id the
// sync already has (no second lookup of the same client); a resync of an unchanged client is the find
// alone, whose representation carries the secret for a caller allowed to manage clients.
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeycloakClient, KeycloakInstance } from "../../src/api/index.js";
import { defaultLimiterConfig } from "../../src/keycloak/limits.js";
import type { KeycloakConnection } from "../../src/keycloak/connection.js";
import { deleteRealm, syncRealm } from "../../src/keycloak/realmSync.js";
import type { Owner } from "../../src/keycloak/ownership.js";
import { loggerFor } from "../../src/observability/logger.js";
import { clientHandler } from "../../src/operator/clientHandler.js";
import { ConnectionPool } from "../../src/operator/connections.js";
import { cachesOf } from "../unit/caches.js";
import {
  adminClient,
  createInstance,
  createNamespace,
  installCrds,
  kubeConfig,
  Resources,
  secretValue,
} from "./support.js";

const CLIENTS = "keycloakclients";
const REALMS = "keycloakrealms";
const INSTANCES = "keycloakinstances";
const API = "keycloak.kpo.dev/v1alpha1";

describe("Given a KeycloakClient handler against a real API server and Keycloak (no operator running)", () => {
  const kc = kubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const resources = new Resources(kc);
  let namespace = "";
  let realmName = "";
  let realmOwner: Owner;
  let pool: ConnectionPool;
  let conn: KeycloakConnection;
  let provision: () => Promise<unknown>;

  /** Admin API requests (token requests left out) made by `step`. */
  const requestsOf = async (step: () => Promise<unknown>): Promise<number> => {
    const before = conn.stats;
    await step();
    const after = conn.stats;
    return after.requests - after.tokenRequests - (before.requests - before.tokenRequests);
  };

  beforeAll(async () => {
    await installCrds(kc);
    namespace = await createNamespace(kc, "client-requests");
    realmName = `requests-${namespace}`;
    await createInstance(kc, resources, namespace, "main", { namespaces: [namespace] });
    const realm = await resources.create(REALMS, namespace, {
      apiVersion: API,
      kind: "KeycloakRealm",
      metadata: { name: "apps" },
      spec: { instanceRef: { name: "main" }, realmName, clientGrants: { namespaces: [namespace] } },
    });
    const client = await resources.create(CLIENTS, namespace, {
      apiVersion: API,
      kind: "KeycloakClient",
      metadata: { name: "web" },
      spec: { realmRef: { name: "apps" }, clientId: "web", redirectUris: ["https://web.example.com/*"] },
    });
    const instance = await resources.get(INSTANCES, namespace, "main");
    // The caches as the operator would hold them once the instance and realm are Ready.
    const caches = cachesOf([
      { ...instance, status: { phase: "Ready" } },
      { ...realm, status: { phase: "Ready", realmName } },
      client,
    ]);
    realmOwner = { uid: realm.metadata.uid ?? "", namespace, name: "apps" };
    pool = new ConnectionPool({ core, timeoutMs: 60_000, limits: defaultLimiterConfig });
    conn = await pool.forInstance(instance as unknown as KeycloakInstance);
    await syncRealm(conn, { realm: { realm: realmName, enabled: true } }, realmOwner);
    const handler = clientHandler(caches, pool, core, k8s.KubernetesObjectApi.makeApiClient(kc), () => ({
      allowed: true,
      violations: [],
      warnings: [],
    }));
    const cached = caches.clients.get(namespace, "web") as KeycloakClient;
    provision = () => handler.provision(cached, loggerFor("test"));
  }, 120_000);

  afterAll(async () => {
    await deleteRealm(conn, realmName, realmOwner).catch(() => undefined);
    await conn?.close();
  });

  it("When a confidential client is provisioned the first time, Then it costs find + create + one secret read, and the Secret holds that secret", async () => {
    expect(await requestsOf(provision)).toBe(3);
    const admin = await adminClient();
    const [created] = await admin.clients.find({ realm: realmName, clientId: "web" });
    const { value } = await admin.clients.getClientSecret({ realm: realmName, id: created?.id ?? "" });
    const secret = await core.readNamespacedSecret({ namespace, name: "web-credentials" });
    expect(value).toBeTruthy();
    expect(secretValue(secret, "client-secret")).toBe(value);
  });

  it("When it is provisioned again with nothing changed, Then the find alone serves the sync and the secret, and nothing is written", async () => {
    const writesBefore = conn.stats.writes;
    expect(await requestsOf(provision)).toBe(1);
    expect(conn.stats.writes).toBe(writesBefore);
  });

  it("When the secret is regenerated in Keycloak by hand, Then the next provision delivers the new one", async () => {
    const admin = await adminClient();
    const [found] = await admin.clients.find({ realm: realmName, clientId: "web" });
    const { value } = await admin.clients.generateNewClientSecret({ realm: realmName, id: found?.id ?? "" });
    expect(await requestsOf(provision)).toBe(1);
    const secret = await core.readNamespacedSecret({ namespace, name: "web-credentials" });
    expect(value).toBeTruthy();
    expect(secretValue(secret, "client-secret")).toBe(value);
  });
});
