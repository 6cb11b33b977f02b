// The backup a realm with deletionPolicy Delete leaves behind, and `kpo restore`, against the real
// kube-apiserver and Keycloak: the operator runs as its own process, the test deletes the realm the
// way a user does, reads the backup Secret, and restores it through the command's own function.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gunzipSync } from "node:zlib";
import * as k8s from "@kubernetes/client-node";
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
  type OperatorProcess,
} from "./support.js";

const REALMS = "keycloakrealms";

type Json = Record<string, unknown>;

/**
 * Values Keycloak fills in when it creates a realm from a representation that did not have them,
 * at their defaults (realm session limits, the userinfo claim of protocol mappers, a client's
 * post-logout redirect URIs): the same meaning as absent.
 */
const IMPORT_DEFAULTS: Record<string, string> = {
  clientOfflineSessionIdleTimeout: "0",
  clientOfflineSessionMaxLifespan: "0",
  clientSessionIdleTimeout: "0",
  clientSessionMaxLifespan: "0",
  "userinfo.token.claim": "true",
  "post.logout.redirect.uris": "+",
};

/**
 * Server-generated values out: ids, the ownership marks the restore drops on purpose, import
 * defaults; lists of plain values sorted (Keycloak keeps them as sets).
 */
function normalised(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(normalised);
    return items.every((i) => typeof i !== "object" || i === null) ? items.map(String).sort() : items;
  }
  if (typeof value !== "object" || value === null) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    if (k === "id" || k === "containerId") continue;
    if (IMPORT_DEFAULTS[k] !== undefined && v === IMPORT_DEFAULTS[k]) continue;
    if (k === "attributes" && typeof v === "object" && v !== null && !Array.isArray(v)) {
      out[k] = normalised(
        Object.fromEntries(
          Object.entries(v as Record<string, unknown>).filter(([a]) => !a.startsWith("kpo.dev/")),
        ),
      );
    } else out[k] = normalised(v);
  }
  return out;
}

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

    const restored = await restoreRealms(kc, {
      backup: { namespace: team, name },
      instance: { namespace: platform, name: "main" },
    });
    expect(restored).toEqual([realmName]);
    const again = (await admin.realms.export({
      realm: realmName,
      exportClients: true,
      exportGroupsAndRoles: true,
    })) as Json;
    expect(normalised(again)).toEqual(normalised(exported));
    // Nobody owns it now: a KeycloakRealm has to adopt it.
    const live = await admin.realms.findOne({ realm: realmName });
    expect(Object.keys(live?.attributes ?? {}).filter((k) => k.startsWith("kpo.dev/owner-"))).toEqual([]);

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
