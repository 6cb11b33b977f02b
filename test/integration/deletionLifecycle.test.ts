// End to end, the deletion paths that must not leave a resource stuck: the operator runs as its own
// process against the real kube-apiserver and Keycloak, and the test deletes resources the way a
// user does and reads their status, their events and Keycloak's admin API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
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
} from "./support.js";

const REALMS = "keycloakrealms";
const INSTANCES = "keycloakinstances";
const CLIENTS = "keycloakclients";

const realm = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: "keycloak.kpo.dev/v1alpha1",
  kind: "KeycloakRealm",
  metadata: { name },
  spec,
});

describe("Deletion against a real API server and Keycloak", () => {
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let resources: Resources;
  let operator: OperatorProcess;
  let platform: string;
  let team: string;

  beforeAll(async () => {
    kc = kubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    resources = new Resources(kc);
    await installCrds(kc);
    platform = await createNamespace(kc, "platform");
    team = await createNamespace(kc, "team");
    operator = await startOperatorProcess({
      name: "deletion",
      extraArgs: ["--leader-election-namespace", platform],
    });
  });

  afterAll(async () => {
    await operator?.stop();
  });

  /** The Events recorded on one object, newest last. */
  const eventsOf = async (namespace: string, name: string) =>
    (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` })).items;

  it("given an instance that realms still reference, when it is deleted, then its deletion waits for them, naming only those of its own namespace, and completes as soon as the last one is gone", async () => {
    await createInstance(kc, resources, platform, "main", { namespaces: [team] });
    await resources.create(
      REALMS,
      platform,
      realm("local", {
        instanceRef: { name: "main" },
        realmName: `local-${platform}`,
        deletionPolicy: "Delete",
      }),
    );
    await resources.create(
      REALMS,
      team,
      realm("remote", {
        instanceRef: { name: "main", namespace: platform },
        realmName: `remote-${team}`,
        deletionPolicy: "Delete",
      }),
    );
    await resources.waitForStatus(REALMS, platform, "local", (o) => o.status?.phase === "Ready");
    await resources.waitForStatus(REALMS, team, "remote", (o) => o.status?.phase === "Ready");

    await resources.delete(INSTANCES, platform, "main");
    const blocked = await waitFor("instance deletion blocked", async () => {
      const o = await resources.get(INSTANCES, platform, "main");
      return o.status?.phase === "Deleting" && condition(o, "Ready")?.reason === "DeletionBlocked"
        ? o
        : false;
    });
    expect(blocked.metadata.finalizers).toContain("keycloak.kpo.dev/finalizer");
    expect(blocked.status?.nextAttemptAt).toBeUndefined();
    const message = condition(blocked, "Ready")?.message ?? "";
    expect(message).toContain("2 KeycloakRealm(s)");
    expect(message).toContain("(local and 1 in another namespace)");
    // The other tenant's realm is counted, not named; the operator's log has its full name.
    expect(message).not.toContain(team);
    expect(message).not.toContain("remote");
    const warning = await waitFor("DeletionBlocked event", async () =>
      (await eventsOf(platform, "main")).find((e) => e.type === "Warning" && e.reason === "DeletionBlocked"),
    );
    expect(warning.message).toBe(message);
    expect(await readFile(operator.logFile, "utf8")).toContain(`${team}/remote`);

    // The realms are deleted from Keycloak through the instance that waited for them.
    const admin = await adminClient();
    await resources.delete(REALMS, platform, "local");
    await waitFor("local realm gone", () => resources.gone(REALMS, platform, "local"));
    expect(await admin.realms.findOne({ realm: `local-${platform}` })).toBeNull();
    await resources.waitForStatus(INSTANCES, platform, "main", (o) =>
      (condition(o, "Ready")?.message ?? "").includes("1 KeycloakRealm(s)"),
    );
    expect(await resources.gone(INSTANCES, platform, "main")).toBe(false);

    await resources.delete(REALMS, team, "remote");
    await waitFor("remote realm gone", () => resources.gone(REALMS, team, "remote"));
    expect(await admin.realms.findOne({ realm: `remote-${team}` })).toBeNull();
    // No timer is pending: the realm's deletion itself re-queues the instance.
    await waitFor("instance gone", () => resources.gone(INSTANCES, platform, "main"), 10_000);
  });

  it("given a realm whose instance does not exist, when it is deleted, then it is released with a Warning that its Keycloak realm may remain", async () => {
    await resources.create(
      REALMS,
      team,
      realm("orphan", {
        instanceRef: { name: "never-created" },
        realmName: `orphan-${team}`,
        deletionPolicy: "Delete",
      }),
    );
    await resources.waitForStatus(REALMS, team, "orphan", (o) => o.status?.phase === "Pending");
    await resources.delete(REALMS, team, "orphan");
    await waitFor("orphan realm released", () => resources.gone(REALMS, team, "orphan"), 30_000);
    const warning = (await eventsOf(team, "orphan")).find((e) => e.reason === "KeycloakCleanupSkipped");
    expect(warning?.type).toBe("Warning");
    expect(warning?.message).toContain(`KeycloakInstance ${team}/never-created is gone`);
    expect(warning?.message).toMatch(
      /realm orphan-\S+ could not be deleted from Keycloak and may still exist there/,
    );
  });

  it("given a client whose realm is gone, when it is deleted, then it is released with a Warning and its credentials Secret is deleted", async () => {
    await createInstance(kc, resources, platform, "kc", { namespaces: [team] });
    const realmName = `kept-${platform}`;
    await resources.create(
      REALMS,
      platform,
      realm("kept", {
        instanceRef: { name: "kc" },
        realmName,
        clientGrants: { namespaces: [team] },
        deletionPolicy: "Retain",
      }),
    );
    await resources.waitForStatus(REALMS, platform, "kept", (o) => o.status?.phase === "Ready");
    await resources.create(CLIENTS, team, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakClient",
      metadata: { name: "app" },
      spec: {
        realmRef: { name: "kept", namespace: platform },
        clientId: `app-${team}`,
        serviceAccountsEnabled: true,
        standardFlowEnabled: false,
        deletionPolicy: "Delete",
      },
    });
    await resources.waitForStatus(CLIENTS, team, "app", (o) => o.status?.phase === "Ready");
    await core.readNamespacedSecret({ namespace: team, name: "app-credentials" });

    // A retained realm does not wait for its clients.
    await resources.delete(REALMS, platform, "kept");
    await waitFor("kept realm gone", () => resources.gone(REALMS, platform, "kept"));
    await resources.delete(CLIENTS, team, "app");
    await waitFor("client released", () => resources.gone(CLIENTS, team, "app"), 30_000);
    const warning = (await eventsOf(team, "app")).find((e) => e.reason === "KeycloakCleanupSkipped");
    expect(warning?.type).toBe("Warning");
    expect(warning?.message).toContain(`KeycloakRealm ${platform}/kept is gone`);
    expect(warning?.message).toContain(
      `client app-${team} could not be deleted from Keycloak and may still exist there`,
    );
    await expect(core.readNamespacedSecret({ namespace: team, name: "app-credentials" })).rejects.toThrow();
    // And indeed it does: the realm was retained, the client in it was never deleted.
    const admin = await adminClient();
    expect(await admin.clients.find({ realm: realmName, clientId: `app-${team}` })).toHaveLength(1);
    await admin.realms.del({ realm: realmName });
  });

  it("given a realm whose teardown backs off (its Keycloak is unreachable), when deletionPolicy is set to Retain, then it is released at once, not at the next retry", async () => {
    await deleteRealmOnUnreachableKeycloak(kc, resources, team, "unreachable", "stuck");
    // After the 4th failed teardown the next retry is 20-40 s away (machines/realm.json).
    const backingOff = await waitFor("teardown backing off", async () => {
      const o = await resources.get(REALMS, team, "stuck");
      return o.status?.phase === "Deleting" && Number(o.status.attempts ?? 0) >= 4 ? o : false;
    });
    expect(Date.parse(String(backingOff.status?.nextAttemptAt)) - Date.now()).toBeGreaterThan(15_000);

    await resources.patchSpec(REALMS, team, "stuck", { deletionPolicy: "Retain" });
    // A bound well below the pending backoff: released by the spec change, not by the timer.
    await waitFor(
      "realm released after the spec change",
      () => resources.gone(REALMS, team, "stuck"),
      10_000,
    );
  });
});
