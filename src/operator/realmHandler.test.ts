import { describe, expect, it } from "vitest";
import type { CoreV1Api, V1Secret } from "@kubernetes/client-node";
import type { KeycloakInstance, KeycloakRealm } from "../api/index.js";
import type { KeycloakConnection } from "../keycloak/connection.js";
import { KeycloakApiError } from "../keycloak/errors.js";
import { ownerAttributes } from "../keycloak/ownership.js";
import { loggerFor } from "../observability/logger.js";
import { cachesOf } from "../../test/unit/caches.js";
import type { ConnectionPool } from "./connections.js";
import { REALM_BACKED_UP, realmHandler } from "./realmHandler.js";

const instance = {
  apiVersion: "keycloak.kpo.dev/v1alpha1",
  kind: "KeycloakInstance",
  metadata: { name: "main", namespace: "team", uid: "i-1" },
  spec: { external: { url: "http://kc", adminCredentials: { secretRef: { name: "a" } } } },
} as unknown as KeycloakInstance;

const realm = (spec: Partial<KeycloakRealm["spec"]> = {}): KeycloakRealm => ({
  apiVersion: "keycloak.kpo.dev/v1alpha1",
  kind: "KeycloakRealm",
  metadata: { name: "shop", namespace: "team", uid: "r-1" },
  spec: { instanceRef: { name: "main" }, realmName: "shop", deletionPolicy: "Delete", ...spec },
});

/** A Keycloak holding the realm "shop" owned by the KeycloakRealm above; `exportFails` breaks exports. */
function world(options: { exportFails?: boolean } = {}) {
  const requests: string[] = [];
  const secrets: V1Secret[] = [];
  const admin = {
    realms: {
      findOne: () =>
        Promise.resolve({
          realm: "shop",
          attributes: ownerAttributes({ uid: "r-1", namespace: "team", name: "shop" }),
        }),
      del: () => Promise.resolve(),
      export: () =>
        options.exportFails
          ? Promise.reject(
              new KeycloakApiError(500, { instance: "team/main", method: "POST", what: "export" }, "boom"),
            )
          : Promise.resolve({ realm: "shop" }),
    },
  };
  const conn = {
    call: (o: { method: string; what: string }, fn: (a: typeof admin) => Promise<unknown>) => {
      requests.push(`${o.method} ${o.what}`);
      return fn(admin);
    },
  } as unknown as KeycloakConnection;
  const pool = { forInstance: () => Promise.resolve(conn) } as unknown as ConnectionPool;
  const core = {
    listNamespacedSecret: () => Promise.resolve({ items: [...secrets] }),
    createNamespacedSecret: ({ body }: { body: V1Secret }) => {
      secrets.push(body);
      return Promise.resolve(body);
    },
    deleteNamespacedSecret: () => Promise.resolve({}),
  } as unknown as CoreV1Api;
  const handler = realmHandler(cachesOf([instance]), pool, core, () => {
    throw new Error("no policy decision in a teardown");
  });
  return { handler, requests, secrets };
}

const log = loggerFor("test");
const deletes = (requests: string[]) => requests.filter((r) => r.startsWith("DELETE"));

describe("KeycloakRealm teardown with deletionPolicy Delete", () => {
  it("given the default spec, when torn down, then the realm is exported into a Secret before it is deleted, and a Normal event and the status name it", async () => {
    const { handler, requests, secrets } = world();
    const noted: Record<string, unknown>[] = [];
    const outcome = await handler.teardown(realm(), log, (s) => noted.push(s));
    const name = secrets[0]?.metadata?.name ?? "";
    expect(name).toMatch(/^shop-backup-\d{8}-\d{6}$/);
    const exportAt = requests.findIndex((r) => r.startsWith("POST export"));
    const deleteAt = requests.findIndex((r) => r.startsWith("DELETE"));
    expect(exportAt).toBeGreaterThanOrEqual(0);
    expect(deleteAt).toBeGreaterThan(exportAt);
    expect(noted).toEqual([{ lastBackup: name }]);
    expect(outcome?.notice?.reason).toBe(REALM_BACKED_UP);
    expect(outcome?.notice?.message).toContain(`Secret team/${name}`);
  });

  it("given Keycloak fails the export, when torn down, then the realm is not deleted and the error says the backup failed", async () => {
    const { handler, requests, secrets } = world({ exportFails: true });
    await expect(handler.teardown(realm(), log, () => undefined)).rejects.toThrow(
      /KeycloakRealm team\/shop: the backup before deleting realm shop: /,
    );
    expect(deletes(requests)).toEqual([]);
    expect(secrets).toEqual([]);
  });

  it("given backup: false, when torn down, then the realm is deleted without an export", async () => {
    const { handler, requests, secrets } = world({ exportFails: true });
    const outcome = await handler.teardown(realm({ backup: false }), log, () => undefined);
    expect(deletes(requests)).toHaveLength(1);
    expect(requests.some((r) => r.startsWith("POST export"))).toBe(false);
    expect(secrets).toEqual([]);
    expect(outcome?.notice).toBeUndefined();
  });
});
