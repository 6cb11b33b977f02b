import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { CoreV1Api, V1Secret } from "@kubernetes/client-node";
import type { KeycloakInstance, KeycloakRealm } from "../api/index.js";
import type { KeycloakConnection } from "../keycloak/connection.js";
import { backupOfGeneration, latestBackup, takeBackup } from "../managed/backup.js";
import { backupBeforeDeletion } from "./realmDeletion.js";
import {
  BACKUP_KEY,
  BackupTooLargeError,
  backupName,
  labelValue,
  readBackup,
  storeBackup,
  type BackupTarget,
} from "./store.js";

/** Secrets in memory, with the label selectors the store uses (k=v,k=v). */
function fakeCore() {
  const secrets = new Map<string, V1Secret>();
  const deleted: string[] = [];
  const matches = (s: V1Secret, selector: string) =>
    selector.split(",").every((term) => {
      const [k, v] = term.split("=");
      return s.metadata?.labels?.[k ?? ""] === v;
    });
  const core = {
    createNamespacedSecret: ({ namespace, body }: { namespace: string; body: V1Secret }) => {
      secrets.set(`${namespace}/${body.metadata?.name ?? ""}`, structuredClone(body));
      return Promise.resolve(body);
    },
    listNamespacedSecret: ({ namespace, labelSelector }: { namespace: string; labelSelector: string }) =>
      Promise.resolve({
        // Unordered on purpose: the store must sort.
        items: [...secrets.entries()]
          .filter(([k, s]) => k.startsWith(`${namespace}/`) && matches(s, labelSelector))
          .map(([, s]) => s)
          .reverse(),
      }),
    deleteNamespacedSecret: ({ namespace, name }: { namespace: string; name: string }) => {
      deleted.push(name);
      secrets.delete(`${namespace}/${name}`);
      return Promise.resolve({});
    },
  } as unknown as CoreV1Api;
  return { core, secrets, deleted };
}

/** A connection whose admin client exports realms named in `realms` as small documents. */
function fakeConnection(realms: string[], exported: (realm: string) => unknown = (realm) => ({ realm })) {
  const calls: string[] = [];
  const admin = {
    realms: {
      find: () => Promise.resolve(realms.map((realm) => ({ realm }))),
      export: ({ realm }: { realm: string }) => Promise.resolve(exported(realm)),
    },
  };
  const conn = {
    call: (options: { what: string }, fn: (a: typeof admin) => Promise<unknown>) => {
      calls.push(options.what);
      return fn(admin);
    },
  } as unknown as KeycloakConnection;
  return { conn, calls };
}

const target = (over: Partial<BackupTarget> = {}): BackupTarget => ({
  namespace: "team",
  prefix: "shop",
  reason: "realm-deletion",
  series: { "keycloak.kpo.dev/backup-realm": "shop" },
  kept: 2,
  subject: "KeycloakRealm team/shop",
  tooLarge: "realm shop is not deleted without a backup",
  ...over,
});

const realm = (name: string, uid: string): KeycloakRealm =>
  ({
    apiVersion: "keycloak.kpo.dev/v1alpha1",
    kind: "KeycloakRealm",
    metadata: { name, namespace: "team", uid },
    spec: { instanceRef: { name: "main", namespace: "platform" }, realmName: `${name}-realm` },
  }) satisfies KeycloakRealm;

const at = (minute: number) => new Date(Date.UTC(2026, 11, 3, 6, minute, 0));

describe("backup storage", () => {
  it("given a backup, when stored, then its Secret is named by prefix and time, labelled by series and reason, and holds the gzipped exports", async () => {
    const { core, secrets } = fakeCore();
    const name = await storeBackup(
      core,
      [{ realm: "shop", roles: { realm: [{ name: "buyer" }] } }],
      target(),
      at(5),
    );
    expect(name).toBe("shop-backup-20261203-060500");
    const secret = secrets.get(`team/${name}`);
    expect(secret?.metadata?.labels).toEqual({
      "app.kubernetes.io/managed-by": "keycloak-policy-operator",
      "keycloak.kpo.dev/backup-reason": "realm-deletion",
      "keycloak.kpo.dev/backup-realm": "shop",
    });
    expect(secret?.metadata?.annotations).toMatchObject({
      "keycloak.kpo.dev/backup-time": "2026-12-03T06:05:00.000Z",
      "keycloak.kpo.dev/backup-realms": "1",
    });
    expect(Object.keys(secret?.data ?? {})).toEqual([BACKUP_KEY]);
    expect(readBackup(secret ?? {})).toEqual([{ realm: "shop", roles: { realm: [{ name: "buyer" }] } }]);
  });

  it("given more backups of a series than are kept, when one more is stored, then the oldest go by time, and other series are untouched", async () => {
    const { core, secrets, deleted } = fakeCore();
    await storeBackup(
      core,
      [],
      target({ series: { "keycloak.kpo.dev/backup-realm": "other" }, prefix: "other" }),
      at(0),
    );
    // Stored out of order: pruning goes by time, not by insertion.
    for (const minute of [3, 1, 2, 4]) await storeBackup(core, [], target(), at(minute));
    expect(deleted).toEqual(["shop-backup-20261203-060100", "shop-backup-20261203-060200"]);
    expect([...secrets.keys()].sort()).toEqual([
      "team/other-backup-20261203-060000",
      "team/shop-backup-20261203-060300",
      "team/shop-backup-20261203-060400",
    ]);
  });

  it("given an export larger than a Secret holds, when stored, then nothing is written and the error says what does not happen", async () => {
    const { core, secrets } = fakeCore();
    // Random bytes do not compress.
    const big = randomBytes(1024 * 1024).toString("base64");
    const error = await storeBackup(core, [{ big }], target()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupTooLargeError);
    expect((error as Error).message).toMatch(/^KeycloakRealm team\/shop: the backup is \d+ bytes gzipped/);
    expect((error as Error).message).toContain("realm shop is not deleted without a backup");
    expect(secrets.size).toBe(0);
  });

  it("given long or odd names, then Secret names and label values stay valid and distinct", () => {
    expect(backupName("x".repeat(300), at(0))).toHaveLength(253);
    expect(labelValue("shop")).toBe("shop");
    const long = labelValue("a".repeat(80));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).not.toBe(labelValue(`${"a".repeat(79)}b`));
    expect(labelValue("Ümlaut realm")).toMatch(/^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$/);
  });
});

describe("realm deletion backups", () => {
  it("given a KeycloakRealm being deleted, when backed up, then the Secret in its namespace names realm, instance and reason, and a retry of the same deletion reuses it", async () => {
    const { core, secrets } = fakeCore();
    const { conn, calls } = fakeConnection(["shop-realm"]);
    const first = await backupBeforeDeletion(core, conn, realm("shop", "uid-1"), "shop-realm", 5, at(1));
    expect(first).toEqual({ name: "shop-backup-20261203-060100", taken: true });
    const secret = secrets.get(`team/${first.name}`);
    expect(secret?.metadata?.labels).toEqual({
      "app.kubernetes.io/managed-by": "keycloak-policy-operator",
      "keycloak.kpo.dev/backup-reason": "realm-deletion",
      "keycloak.kpo.dev/backup-realm": "shop",
      "keycloak.kpo.dev/backup-of": "main",
      "keycloak.kpo.dev/backup-uid": "uid-1",
    });
    expect(secret?.metadata?.annotations).toMatchObject({
      "keycloak.kpo.dev/backup-realm-name": "shop-realm",
      "keycloak.kpo.dev/backup-instance": "platform/main",
    });
    expect(readBackup(secret ?? {})).toEqual([{ realm: "shop-realm" }]);

    const retry = await backupBeforeDeletion(core, conn, realm("shop", "uid-1"), "shop-realm", 5, at(2));
    expect(retry).toEqual({ name: first.name, taken: false });
    expect(calls.filter((c) => c.startsWith("export"))).toHaveLength(1);
    // A new KeycloakRealm of the same name is a new deletion: a new backup.
    const next = await backupBeforeDeletion(core, conn, realm("shop", "uid-2"), "shop-realm", 5, at(3));
    expect(next.taken).toBe(true);
    expect(secrets.size).toBe(2);
  });

  it("given an instance's upgrade backups and a realm's deletion backup in one namespace, then each series sees only its own", async () => {
    const { core } = fakeCore();
    const instance = {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakInstance",
      metadata: { name: "main", namespace: "team", generation: 3 },
      spec: { managed: {} },
    } as unknown as KeycloakInstance;
    const { conn } = fakeConnection(["a", "b"]);
    const upgrade = await takeBackup(
      core,
      conn,
      instance,
      { reason: "upgrade", fromImage: "x:1", toImage: "x:2" },
      at(1),
    );
    const local = {
      ...realm("shop", "uid-1"),
      spec: { instanceRef: { name: "main" }, realmName: "shop" },
    } as KeycloakRealm;
    await backupBeforeDeletion(core, conn, local, "shop", 5, at(2));
    expect(await latestBackup(core, instance)).toBe(upgrade);
    expect(await backupOfGeneration(core, instance)).toBe(upgrade);
  });
});
