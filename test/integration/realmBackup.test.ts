// The backup a realm with deletionPolicy Delete leaves behind, and `kpo restore`, against the real
// kube-apiserver and Keycloak: the operator runs as its own process, the test deletes the realm the
// way a user does, reads the backup Secret, and restores it through the command's own function.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import * as k8s from "@kubernetes/client-node";
import { PLURALS, type KeycloakKind } from "../../src/api/index.js";
import { restoreRealms } from "../../src/cli/restoreCommand.js";
import {
  adminClient,
  createInstance,
  createNamespace,
  installCrds,
  kubeConfig,
  Resources,
  startOperatorProcess,
  waitFor,
  type KpoObject,
  type OperatorProcess,
} from "./support.js";
import { normalised, partialExport } from "./realmComparison.js";

type Json = Record<string, unknown>;

const REALMS = "keycloakrealms";

describe("Realm backups before deletion, and kpo restore, against a real API server and Keycloak", () => {
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
      name: "backup",
      extraArgs: ["--leader-election-namespace", platform],
    });
    await createInstance(kc, resources, platform, "main", { namespaces: [team] });
  });

  afterAll(async () => {
    await operator?.stop();
  });

  const backupsOf = async (realm: string) =>
    (
      await core.listNamespacedSecret({
        namespace: team,
        labelSelector: `keycloak.kpo.dev/backup-reason=realm-deletion,keycloak.kpo.dev/backup-realm=${realm}`,
      })
    ).items;

  const createRealm = async (name: string, realmName: string, extra: Json = {}) => {
    await resources.create(REALMS, team, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      metadata: { name },
      spec: {
        instanceRef: { name: "main", namespace: platform },
        realmName,
        deletionPolicy: "Delete",
        roles: [{ name: "buyer", description: "may buy" }, { name: "seller" }],
        ...extra,
      },
    });
    await resources.waitForStatus(REALMS, team, name, (o) => o.status?.phase === "Ready");
  };

  it("given a realm with Delete, roles and a client, when its resource is deleted, then a backup Secret holds its export, the realm goes, and kpo restore brings it back the same", async () => {
    const realmName = `shop-${team}`;
    await createRealm("shop", realmName);
    const admin = await adminClient();
    // A client made in Keycloak directly: a KeycloakClient would have to go before its realm.
    await admin.clients.create({
      realm: realmName,
      clientId: "storefront",
      publicClient: true,
      redirectUris: ["https://shop.example.com/*"],
    });

    await resources.delete(REALMS, team, "shop");
    await waitFor("shop released", () => resources.gone(REALMS, team, "shop"));
    expect(await admin.realms.findOne({ realm: realmName })).toBeNull();

    const [backup, ...others] = await backupsOf("shop");
    expect(others).toEqual([]);
    expect(backup?.metadata?.labels).toMatchObject({
      "app.kubernetes.io/managed-by": "keycloak-policy-operator",
      "keycloak.kpo.dev/backup-reason": "realm-deletion",
      "keycloak.kpo.dev/backup-realm": "shop",
      "keycloak.kpo.dev/backup-of": "main",
    });
    expect(backup?.metadata?.annotations?.["keycloak.kpo.dev/backup-realm-name"]).toBe(realmName);
    expect(backup?.metadata?.annotations?.["keycloak.kpo.dev/backup-time"]).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(backup?.metadata?.ownerReferences ?? []).toEqual([]);
    const name = backup?.metadata?.name ?? "";
    const [exported, ...more] = JSON.parse(
      gunzipSync(Buffer.from(backup?.data?.["realms.json.gz"] ?? "", "base64")).toString("utf8"),
    ) as Json[];
    expect(more).toEqual([]);
    expect(exported?.realm).toBe(realmName);
    const roles = (exported?.roles as { realm?: { name: string }[] } | undefined)?.realm ?? [];
    expect(roles.map((r) => r.name)).toEqual(expect.arrayContaining(["buyer", "seller"]));
    expect(
      ((exported?.clients as { clientId: string }[] | undefined) ?? []).map((c) => c.clientId),
    ).toContain("storefront");

    // The event is what lasts: the resource is gone.
    const events = (
      await core.listNamespacedEvent({ namespace: team, fieldSelector: "involvedObject.name=shop" })
    ).items;
    const backedUp = events.find((e) => e.reason === "RealmBackedUp");
    expect(backedUp?.type).toBe("Normal");
    expect(backedUp?.message).toContain(`Secret ${team}/${name}`);

    const manifestsDir = mkdtempSync(path.join(inject("testEnvDir"), "restore-"));
    const restored = await restoreRealms(kc, {
      backup: { namespace: team, name },
      instance: { namespace: platform, name: "main" },
      writeManifests: manifestsDir,
    });
    expect(restored.realms).toEqual([realmName]);
    const again = await partialExport(admin, realmName);
    expect(normalised(again)).toEqual(normalised(exported));
    // Nobody owns it now: a KeycloakRealm has to adopt it.
    const live = await admin.realms.findOne({ realm: realmName });
    expect(Object.keys(live?.attributes ?? {}).filter((k) => k.startsWith("kpo.dev/owner-"))).toEqual([]);

    // --write-manifests: the resources that take the restored realm over, applied as written once
    // the instance grants the adoption, reach Ready and change nothing in Keycloak.
    const realmDir = path.join(manifestsDir, realmName);
    const written = readdirSync(realmDir)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => parse(readFileSync(path.join(realmDir, f), "utf8")) as KpoObject & { kind: string });
    expect(written.map((m) => m.kind).sort()).toEqual(["KeycloakClient", "KeycloakRealm"]);
    expect(written.every((m) => m.spec?.adopt === true)).toBe(true);
    await resources.patchSpec("keycloakinstances", platform, "main", {
      adoptionGrants: [{ namespaces: [team], realmNames: [realmName] }],
    });
    for (const m of written) await resources.create(PLURALS[m.kind as KeycloakKind], team, m);
    for (const m of written)
      await resources.waitForStatus(
        PLURALS[m.kind as KeycloakKind],
        team,
        m.metadata.name,
        (o) => o.status?.phase === "Ready",
      );
    const adopted = await partialExport(admin, realmName);
    expect(normalised(adopted)).toEqual(normalised(exported));
    for (const m of written) await resources.delete(PLURALS[m.kind as KeycloakKind], team, m.metadata.name);

    // A realm that exists is never overwritten.
    await expect(
      restoreRealms(kc, {
        backup: { namespace: team, name },
        instance: { namespace: platform, name: "main" },
      }),
    ).rejects.toThrow(`realm(s) ${realmName} already exist`);
    await admin.realms.del({ realm: realmName });
  });

  it("given a realm with backup: false, when its resource is deleted, then the realm goes without a backup", async () => {
    const realmName = `nobackup-${team}`;
    await createRealm("nobackup", realmName, { backup: false });
    await resources.delete(REALMS, team, "nobackup");
    await waitFor("nobackup released", () => resources.gone(REALMS, team, "nobackup"));
    const admin = await adminClient();
    expect(await admin.realms.findOne({ realm: realmName })).toBeNull();
    expect(await backupsOf("nobackup")).toEqual([]);
  });
});
