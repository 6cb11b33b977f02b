// Drift made by hand in Keycloak is repaired by the periodic resync, also for a setting the
// KeycloakClient does not name: the schema gives `enabled` Keycloak's default (true), so a client
// applied without it and disabled in the admin console is enabled again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as k8s from "@kubernetes/client-node";
import type KcAdminClient from "@keycloak/keycloak-admin-client";
import {
  adminClient,
  createInstance,
  createNamespace,
  installCrds,
  kubeConfig,
  Resources,
  startOperatorProcess,
  waitFor,
  type OperatorProcess,
} from "./support.js";

const API = "keycloak.kpo.dev/v1alpha1";
const CLIENTS = "keycloakclients";
const REALMS = "keycloakrealms";

describe("drift repair against a real API server and Keycloak", () => {
  let kc: k8s.KubeConfig;
  let kcAdmin: KcAdminClient;
  let resources: Resources;
  let operator: OperatorProcess;
  let platform: string;
  let realmName: string;

  beforeAll(async () => {
    kc = kubeConfig();
    kcAdmin = await adminClient();
    resources = new Resources(kc);
    await installCrds(kc);
    platform = await createNamespace(kc, "drift");
    realmName = `drift-${platform}`;
    operator = await startOperatorProcess({
      name: "drift",
      extraArgs: ["--resync-period-ms", "3000", "--leader-election-namespace", platform],
    });
    await createInstance(kc, resources, platform, "main", { namespaces: [platform] });
    await resources.create(REALMS, platform, {
      apiVersion: API,
      kind: "KeycloakRealm",
      metadata: { name: "drift" },
      spec: {
        instanceRef: { name: "main" },
        realmName,
        clientGrants: { namespaces: [platform] },
        deletionPolicy: "Delete",
      },
    });
    await resources.waitForStatus(REALMS, platform, "drift", (o) => o.status?.phase === "Ready", 120_000);
  }, 180_000);

  afterAll(async () => {
    await operator?.stop();
    await kcAdmin?.realms.del({ realm: realmName }).catch(() => undefined);
  });

  it("Given a client applied without spec.enabled, When it is disabled by hand in Keycloak, Then the next resync enables it again", async () => {
    await resources.create(CLIENTS, platform, {
      apiVersion: API,
      kind: "KeycloakClient",
      metadata: { name: "web" },
      spec: { realmRef: { name: "drift" }, clientId: "web", deletionPolicy: "Delete" },
    });
    const ready = await resources.waitForStatus(
      CLIENTS,
      platform,
      "web",
      (o) => o.status?.phase === "Ready",
      120_000,
    );
    // The API server filled in Keycloak's default.
    expect((ready.spec as { enabled?: boolean }).enabled).toBe(true);
    const [client] = await kcAdmin.clients.find({ realm: realmName, clientId: "web" });
    expect(client?.enabled).toBe(true);

    await kcAdmin.clients.update({ realm: realmName, id: client!.id! }, { ...client, enabled: false });
    expect((await kcAdmin.clients.findOne({ realm: realmName, id: client!.id! }))?.enabled).toBe(false);

    const repaired = await waitFor("the operator to re-enable the client", async () => {
      const c = await kcAdmin.clients.findOne({ realm: realmName, id: client!.id! });
      return c?.enabled === true ? c : undefined;
    });
    expect(repaired.enabled).toBe(true);
    expect(repaired.clientId).toBe("web");
  });
});
