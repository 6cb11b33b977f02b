// End to end, as a user does it: the operator runs as its own process (`kpo run`) against the real
// kube-apiserver and Keycloak; the test applies KeycloakInstance / KeycloakRealm resources and reads
// their status and Keycloak's admin API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as k8s from "@kubernetes/client-node";
import {
  adminClient,
  condition,
  createInstance,
  createNamespace,
  deleteRealmOnUnreachableKeycloak,
  installCrds,
  kubeConfig,
  Resources,
  startOperatorProcess,
  waitFor,
  type OperatorProcess,
  keycloakTraffic,
} from "./support.js";

const REALMS = "keycloakrealms";
const INSTANCES = "keycloakinstances";

describe("KeycloakRealm lifecycle against a real API server and Keycloak", () => {
  let kc: k8s.KubeConfig;
  let resources: Resources;
  let operator: OperatorProcess;
  let platform: string;
  let team: string;

  beforeAll(async () => {
    kc = kubeConfig();
    resources = new Resources(kc);
    await installCrds(kc);
    platform = await createNamespace(kc, "platform");
    team = await createNamespace(kc, "team");
    operator = await startOperatorProcess({
      name: "realm",
      extraArgs: ["--resync-period-ms", "3000", "--leader-election-namespace", platform],
    });
    await createInstance(kc, resources, platform, "main", { namespaces: [team] });
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it("given admin credentials, when an external instance is applied, then it becomes Ready with the server version", async () => {
    const instance = await resources.waitForStatus(
      INSTANCES,
      platform,
      "main",
      (o) => o.status?.phase === "Ready",
    );
    expect(instance.status?.version).toMatch(/^26\./);
    expect(condition(instance, "Ready")?.status).toBe("True");
  });

  it("given a granted namespace, when a realm is applied, then Keycloak has it with its settings, roles and groups", async () => {
    await resources.create(REALMS, team, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      metadata: { name: "shop" },
      spec: {
        instanceRef: { name: "main", namespace: platform },
        realmName: `shop-${team}`,
        displayName: "Shop",
        sslRequired: "external",
        bruteForceProtection: { enabled: true },
        roles: [{ name: "viewer" }, { name: "editor", composites: { realm: ["viewer"] } }],
        groups: [
          { name: "staff", realmRoles: ["editor"], subGroups: [{ name: "interns", realmRoles: ["viewer"] }] },
        ],
        deletionPolicy: "Delete",
      },
    });
    const realm = await resources.waitForStatus(REALMS, team, "shop", (o) => o.status?.phase === "Ready");
    const { url } = await import("vitest").then((v) => v.inject("keycloak"));
    expect(realm.status?.issuer).toBe(`${url}/realms/shop-${team}`);
    expect(condition(realm, "PolicyCompliant")?.status).toBe("True");
    expect(realm.metadata.finalizers).toContain("keycloak.kpo.dev/finalizer");

    const admin = await adminClient();
    const inKeycloak = await admin.realms.findOne({ realm: `shop-${team}` });
    expect(inKeycloak?.displayName).toBe("Shop");
    expect(inKeycloak?.bruteForceProtected).toBe(true);
    const editor = await admin.roles.findOneByName({ name: "editor", realm: `shop-${team}` });
    expect(editor?.composite).toBe(true);
    const groups = await admin.groups.find({ realm: `shop-${team}`, briefRepresentation: false });
    expect(groups.map((g) => g.name)).toContain("staff");
  });

  it("shows phase and readiness in kubectl's columns (the Table API)", async () => {
    const cluster = kc.getCurrentCluster();
    const table = await waitFor("realm table", async () => {
      const res: unknown = await kc
        .makeApiClient(k8s.CustomObjectsApi)
        .listNamespacedCustomObject(
          { group: "keycloak.kpo.dev", version: "v1alpha1", namespace: team, plural: REALMS },
          k8s.setHeaderOptions("Accept", "application/json;as=Table;g=meta.k8s.io;v=v1"),
        );
      return res as {
        columnDefinitions: Array<{ name: string }>;
        rows: Array<{ cells: unknown[] }>;
      };
    });
    expect(cluster?.server).toMatch(/^https:\/\/127\.0\.0\.1:/);
    const columns = table.columnDefinitions.map((c) => c.name.toLowerCase());
    expect(columns).toContain("phase");
    const phaseAt = columns.indexOf("phase");
    expect(table.rows.map((r) => r.cells[phaseAt])).toContain("Ready");
  });

  it("given a namespace the instance does not grant, when a realm is applied, then it is denied with the policy's message and nothing reaches Keycloak; granting it makes it Ready", async () => {
    const outsider = await createNamespace(kc, "outsider");
    await resources.create(REALMS, outsider, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      metadata: { name: "sneaky" },
      spec: { instanceRef: { name: "main", namespace: platform }, realmName: `sneaky-${outsider}` },
    });
    const denied = await resources.waitForStatus(
      REALMS,
      outsider,
      "sneaky",
      (o) => o.status?.phase === "Failed",
    );
    const compliant = condition(denied, "PolicyCompliant");
    expect(compliant?.status).toBe("False");
    expect(compliant?.message).toContain(outsider);
    expect(compliant?.message).toMatch(/realmGrants/);
    const admin = await adminClient();
    expect(await admin.realms.findOne({ realm: `sneaky-${outsider}` })).toBeNull();

    await resources.patchSpec(INSTANCES, platform, "main", { realmGrants: { namespaces: [team, outsider] } });
    await resources.waitForStatus(REALMS, outsider, "sneaky", (o) => o.status?.phase === "Ready");
    expect((await admin.realms.findOne({ realm: `sneaky-${outsider}` }))?.realm).toBe(`sneaky-${outsider}`);
  });

  it("given a change made in Keycloak directly, when the realm resyncs, then the drift is repaired; an unchanged realm resyncs with no writes", async () => {
    const admin = await adminClient();
    const realmName = `shop-${team}`;
    await admin.realms.update({ realm: realmName }, { displayName: "Tampered" });
    await waitFor(
      "drift repaired",
      async () => (await admin.realms.findOne({ realm: realmName }))?.displayName === "Shop",
      60_000,
    );

    // Several resync periods (3 s) with nothing changed: no PUT, DELETE or non-token POST.
    const writes = async () => keycloakTraffic(await operator.metrics()).writes;
    const reads = async () => keycloakTraffic(await operator.metrics()).reads;
    await new Promise((r) => setTimeout(r, 3_000));
    const [writesBefore, readsBefore] = [await writes(), await reads()];
    await new Promise((r) => setTimeout(r, 10_000));
    expect(await reads()).toBeGreaterThan(readsBefore);
    expect(await writes()).toBe(writesBefore);
  });

  it("given deletionPolicy Delete, when the realm is deleted, then Keycloak's realm is gone and the finalizer released; Retain keeps it", async () => {
    const admin = await adminClient();
    await resources.delete(REALMS, team, "shop");
    await waitFor("realm CR gone", () => resources.gone(REALMS, team, "shop"));
    expect(await admin.realms.findOne({ realm: `shop-${team}` })).toBeNull();

    await resources.create(REALMS, team, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      metadata: { name: "kept" },
      spec: {
        instanceRef: { name: "main", namespace: platform },
        realmName: `kept-${team}`,
        deletionPolicy: "Retain",
      },
    });
    await resources.waitForStatus(REALMS, team, "kept", (o) => o.status?.phase === "Ready");
    await resources.delete(REALMS, team, "kept");
    await waitFor("retained realm CR gone", () => resources.gone(REALMS, team, "kept"));
    expect((await admin.realms.findOne({ realm: `kept-${team}` }))?.realm).toBe(`kept-${team}`);
  });
  it("given a namespace quota of one realm, then a second realm is refused with the quota message, and admitted once the first is deleted", async () => {
    await kc
      .makeApiClient(k8s.CoreV1Api)
      .patchNamespace(
        { name: platform, body: { metadata: { annotations: { "kpo.dev/max-realms-per-namespace": "1" } } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
    const spec = (n: string) => ({
      instanceRef: { name: "main" },
      realmName: `${n}-${platform}`,
      deletionPolicy: "Delete",
    });
    await resources.create(REALMS, platform, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      metadata: { name: "q1" },
      spec: spec("q1"),
    });
    await resources.waitForStatus(REALMS, platform, "q1", (o) => o.status?.phase === "Ready");
    await resources.create(REALMS, platform, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      metadata: { name: "q2" },
      spec: spec("q2"),
    });
    const refused = await resources.waitForStatus(
      REALMS,
      platform,
      "q2",
      (o) => o.status?.phase === "Failed",
    );
    expect(condition(refused, "PolicyCompliant")?.message).toMatch(/kpo\.dev\/max-realms-per-namespace/);
    const admin = await adminClient();
    expect(await admin.realms.findOne({ realm: `q2-${platform}` })).toBeNull();

    await resources.delete(REALMS, platform, "q1");
    await resources.waitForStatus(REALMS, platform, "q2", (o) => o.status?.phase === "Ready");
  });

  it("given a realm that breaks the schema or its CEL rules, then the API server refuses it with a readable message", async () => {
    const bad = await resources
      .create(REALMS, team, {
        apiVersion: "keycloak.kpo.dev/v1alpha1",
        kind: "KeycloakRealm",
        metadata: { name: "bad" },
        spec: {
          instanceRef: { name: "main", namespace: platform },
          realmName: "has spaces",
          sslRequired: "sometimes",
        },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(bad).toBeInstanceOf(k8s.ApiException);
    const body = String((bad as k8s.ApiException<unknown>).body);
    expect(body).toContain("spec.realmName");
    expect(body).toContain("spec.sslRequired");

    await resources.create(REALMS, team, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      metadata: { name: "fixed-name" },
      spec: { instanceRef: { name: "main", namespace: platform }, realmName: `fixed-${team}` },
    });
    const renamed = await resources.patchSpec(REALMS, team, "fixed-name", { realmName: "other" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(renamed).toBeInstanceOf(k8s.ApiException);
    expect(String((renamed as k8s.ApiException<unknown>).body)).toMatch(/immutable/i);
  });

  it("given a realm whose Keycloak is unreachable, when it is deleted, then it waits; the documented procedure (deletionPolicy Retain) releases it", async () => {
    await deleteRealmOnUnreachableKeycloak(kc, resources, team, "gone", "stuck");
    const waiting = await waitFor("teardown failing", async () => {
      const o = await resources.get(REALMS, team, "stuck");
      return o.status?.phase === "Deleting" && Number(o.status.attempts ?? 0) >= 1 ? o : false;
    });
    expect(waiting.metadata.finalizers).toContain("keycloak.kpo.dev/finalizer");

    await resources.patchSpec(REALMS, team, "stuck", { deletionPolicy: "Retain" });
    await waitFor("stuck realm released", () => resources.gone(REALMS, team, "stuck"), 60_000);
  });
});
