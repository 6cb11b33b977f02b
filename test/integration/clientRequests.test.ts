// The Keycloak requests one KeycloakClient's provision makes, counted on the connection the handler
// uses, against the real API server (for the credentials Secret) and the real Keycloak. At scale
// every request per client is multiplied by N: a client its CR has not recorded yet is created
// straight away, with a secret the operator made (one request: no lookup before, no secret read
// after); a resync of an unchanged client is the find alone, whose representation carries the
// secret for a caller allowed to manage clients. A create that finds the clientId taken (409) falls
// back to the lookup and the ownership check, and changes nothing it does not own.
// The handler's Secret writes go through OwnWrites on a real Secret informer, as in the operator: the
// watch that restores an edited or deleted Secret sees other writers' changes, never its own.
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeycloakClient, KeycloakInstance } from "../../src/api/index.js";
import { Informer, metadataOnly, type InformerEvent } from "../../src/kube/informers.js";
import { OwnWrites } from "../../src/kube/ownWrites.js";
import { defaultLimiterConfig } from "../../src/keycloak/limits.js";
import type { KeycloakConnection } from "../../src/keycloak/connection.js";
import { deleteRealm, syncRealm } from "../../src/keycloak/realmSync.js";
import type { Owner } from "../../src/keycloak/ownership.js";
import { loggerFor } from "../../src/observability/logger.js";
import { clientHandler, MANAGED_BY, MANAGED_BY_LABEL } from "../../src/operator/clientHandler.js";
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
  waitFor,
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
  let handler: ReturnType<typeof clientHandler>;
  let caches: ReturnType<typeof cachesOf>;
  /** What each provision returned (its message and status fields), in order. */
  const results: unknown[] = [];
  let secrets: Informer<k8s.V1Secret>;
  /** What the watch table would see of the credentials Secrets: "type@resourceVersion". */
  const delivered: string[] = [];
  /** Resolves once the Secret informer holds `name` at the stored resourceVersion (or its absence). */
  const cacheCaughtUp = async (name: string) => {
    const stored = await core.readNamespacedSecret({ namespace, name }).catch(() => undefined);
    const rv = stored?.metadata?.resourceVersion;
    await waitFor(`the Secret cache to hold ${name}@${rv ?? "deleted"}`, () =>
      Promise.resolve(secrets.get(namespace, name)?.metadata?.resourceVersion === rv),
    );
    return rv;
  };

  /** Reads of a Secret's values from the API server by the handler. */
  let secretReads = 0;
  const countingCore = new Proxy(core, {
    get(target, prop, receiver) {
      if (prop === "readNamespacedSecret") secretReads++;
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });

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
    // Its clientId is taken in Keycloak by a client the operator did not make (created in a test).
    const taken = await resources.create(CLIENTS, namespace, {
      apiVersion: API,
      kind: "KeycloakClient",
      metadata: { name: "taken" },
      spec: { realmRef: { name: "apps" }, clientId: "taken" },
    });
    const instance = await resources.get(INSTANCES, namespace, "main");
    // The caches as the operator would hold them once the instance and realm are Ready.
    caches = cachesOf([
      { ...instance, status: { phase: "Ready" } },
      { ...realm, status: { phase: "Ready", realmName } },
      client,
      taken,
    ]);
    realmOwner = { uid: realm.metadata.uid ?? "", namespace, name: "apps" };
    pool = new ConnectionPool({ core, timeoutMs: 60_000, limits: defaultLimiterConfig });
    conn = await pool.forInstance(instance as unknown as KeycloakInstance);
    await syncRealm(conn, { realm: { realm: realmName, enabled: true } }, realmOwner);
    secrets = new Informer<k8s.V1Secret>({
      kubeConfig: kc,
      apiVersion: "v1",
      plural: "secrets",
      namespaces: [namespace],
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`,
      transform: metadataOnly,
    });
    const secretWrites = new OwnWrites<k8s.V1Secret>(secrets);
    secretWrites.onChange((e: InformerEvent<k8s.V1Secret>) =>
      delivered.push(`${e.type}@${e.object.metadata?.resourceVersion ?? ""}`),
    );
    secrets.start();
    await secrets.waitForSync(30_000);
    handler = clientHandler(
      caches,
      pool,
      countingCore,
      k8s.KubernetesObjectApi.makeApiClient(kc),
      () => ({ allowed: true, violations: [], warnings: [] }),
      { cache: secrets, writes: secretWrites },
    );
    const cached = caches.clients.get(namespace, "web") as KeycloakClient;
    // As the reconciler does: each provision sees the status fields the previous one returned.
    let status: Record<string, unknown> = {};
    provision = async () => {
      const result = await handler.provision(
        { ...cached, status: { ...cached.status, ...status } },
        loggerFor("test"),
      );
      status = result.status ?? {};
      results.push(result);
      return result;
    };
  }, 120_000);

  afterAll(async () => {
    secrets?.stop();
    await deleteRealm(conn, realmName, realmOwner).catch(() => undefined);
    await conn?.close();
  });

  it("When a confidential client is provisioned the first time, Then it costs the create alone, and Keycloak and the Secret hold the secret the create carried", async () => {
    expect(await requestsOf(provision)).toBe(1);
    const admin = await adminClient();
    const [created] = await admin.clients.find({ realm: realmName, clientId: "web" });
    const { value } = await admin.clients.getClientSecret({ realm: realmName, id: created?.id ?? "" });
    const secret = await core.readNamespacedSecret({ namespace, name: "web-credentials" });
    expect(value).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(secretValue(secret, "client-secret")).toBe(value);
    // The Secret's creation was the handler's own write: it queues nothing.
    await cacheCaughtUp("web-credentials");
    expect(delivered).toEqual([]);
  });

  it("When it is provisioned again with nothing changed, Then the find alone serves the sync and the secret, the Secret's values are not read again, and nothing is written", async () => {
    const writesBefore = conn.stats.writes;
    const readsBefore = secretReads;
    const stored = await core.readNamespacedSecret({ namespace, name: "web-credentials" });
    expect(await requestsOf(provision)).toBe(1);
    expect(conn.stats.writes).toBe(writesBefore);
    // The cached metadata still has the resourceVersion the first provision wrote: trusted.
    expect(secretReads).toBe(readsBefore);
    const after = await core.readNamespacedSecret({ namespace, name: "web-credentials" });
    expect(after.metadata?.resourceVersion).toBe(stored.metadata?.resourceVersion);
    // The same message and status as the provision that created it: the reconcile after a create
    // has no status to write (at 10,000 clients that was a status write per client on restart).
    expect(results).toHaveLength(2);
    expect(results[1]).toEqual(results[0]);
  });

  it("When the secret is regenerated in Keycloak by hand, Then the next provision delivers the new one", async () => {
    const admin = await adminClient();
    const [found] = await admin.clients.find({ realm: realmName, clientId: "web" });
    const { value } = await admin.clients.generateNewClientSecret({ realm: realmName, id: found?.id ?? "" });
    expect(await requestsOf(provision)).toBe(1);
    const secret = await core.readNamespacedSecret({ namespace, name: "web-credentials" });
    expect(value).toBeTruthy();
    expect(secretValue(secret, "client-secret")).toBe(value);
    await cacheCaughtUp("web-credentials");
    expect(delivered).toEqual([]);
  });

  it("When someone else edits the Secret, Then the watch sees that edit, and not the write that restores it", async () => {
    delivered.length = 0;
    const tampered = Buffer.from("tampered").toString("base64");
    await core.patchNamespacedSecret(
      { namespace, name: "web-credentials", body: { data: { "client-secret": tampered } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    const edited = await cacheCaughtUp("web-credentials");
    expect(delivered).toEqual([`update@${edited}`]);

    // Someone else's write changed the resourceVersion: the values are read again, then restored.
    const readsBefore = secretReads;
    await provision();
    expect(secretReads).toBe(readsBefore + 1);
    const restored = await cacheCaughtUp("web-credentials");
    expect(restored).not.toBe(edited);
    const secret = await core.readNamespacedSecret({ namespace, name: "web-credentials" });
    expect(secretValue(secret, "client-secret")).not.toBe("tampered");
    expect(delivered).toEqual([`update@${edited}`]);
  });

  it("When someone else deletes the Secret, Then the watch sees the deletion, and not the write that recreates it", async () => {
    delivered.length = 0;
    await core.deleteNamespacedSecret({ namespace, name: "web-credentials" });
    await cacheCaughtUp("web-credentials");
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatch(/^delete@/);

    await provision();
    expect(await cacheCaughtUp("web-credentials")).toBeDefined();
    expect(delivered).toHaveLength(1);
  });

  it("When the status no longer records the client it created, Then the create's 409 falls back to the lookup, finds its own client, and writes nothing else", async () => {
    const admin = await adminClient();
    const [before] = await admin.clients.find({ realm: realmName, clientId: "web" });
    const cached = caches.clients.get(namespace, "web") as KeycloakClient;
    const writesBefore = conn.stats.writes;
    // As after a restart between the create and the status write: the CR records nothing yet.
    const requests = await requestsOf(() => handler.provision({ ...cached, status: {} }, loggerFor("test")));
    expect(requests).toBe(2);
    expect(conn.stats.writes - writesBefore).toBe(1); // the refused create, which changed nothing
    const [after] = await admin.clients.find({ realm: realmName, clientId: "web" });
    expect(after).toEqual(before);
    const secret = await core.readNamespacedSecret({ namespace, name: "web-credentials" });
    const { value } = await admin.clients.getClientSecret({ realm: realmName, id: after?.id ?? "" });
    expect(secretValue(secret, "client-secret")).toBe(value);
  });

  it("When a client with the same clientId exists that the operator did not make, Then the create is refused, the client is refused without adopt, and neither it nor its secret changes", async () => {
    const admin = await adminClient();
    await admin.clients.create({ realm: realmName, clientId: "taken", secret: "made-by-hand-secret" });
    const [before] = await admin.clients.find({ realm: realmName, clientId: "taken" });
    const cached = caches.clients.get(namespace, "taken") as KeycloakClient;
    let failure: unknown;
    const requests = await requestsOf(() =>
      handler.provision(cached, loggerFor("test")).catch((err: unknown) => {
        failure = err;
      }),
    );
    expect(requests).toBe(2);
    expect(String(failure)).toMatch(/was not created by this KeycloakClient|adopt/i);
    expect(String(failure)).not.toContain("made-by-hand-secret");
    const [after] = await admin.clients.find({ realm: realmName, clientId: "taken" });
    expect(after).toEqual(before);
    expect(after?.secret).toBe("made-by-hand-secret");
    await expect(core.readNamespacedSecret({ namespace, name: "taken-credentials" })).rejects.toThrow();
  });
});
