// KeycloakRealm: diff-based sync of realm settings, roles, groups and SMTP into the instance's
// Keycloak; deletion as spec.deletionPolicy says.
import type { CoreV1Api } from "@kubernetes/client-node";
import type { KeycloakRealm } from "../api/index.js";
import { instanceRefOf } from "../api/refs.js";
import { backupBeforeDeletion } from "../backup/realmDeletion.js";
import { deleteRealm, syncRealm, type Owner } from "../keycloak/index.js";
import { formatKey, objectKey } from "../kube/objectKey.js";
import { BlockedError, TransientError } from "../lifecycle/errors.js";
import type { DecideFn } from "../policy/decision.js";
import { desiredRealm } from "../resources/realmRepresentation.js";
import { realmSecretReferences } from "../resources/secretReferences.js";
import { classified } from "./classify.js";
import { publicBaseUrl, type ConnectionPool } from "./connections.js";
import { realmDependency, realmPolicyInput, type Caches } from "./facts.js";
import { cleanupSkipped, type KindHandler } from "./handler.js";
import { checkLivePrivilege } from "./privilegeCheck.js";
import { clientsReferencing, referrerList, usersReferencing } from "./referrers.js";
import { resolveSecretReferences } from "./secrets.js";

export function ownerOf(obj: {
  kind: string;
  metadata: { uid?: string; namespace?: string; name?: string };
}): Owner {
  return {
    uid: obj.metadata.uid ?? "",
    namespace: obj.metadata.namespace ?? "",
    name: obj.metadata.name ?? "",
    kind: obj.kind,
  };
}

/** The Normal event that names the backup taken before a realm was deleted in Keycloak. */
export const REALM_BACKED_UP = "RealmBackedUp";

export interface RealmHandlerOptions {
  /** Deletion backups kept per KeycloakRealm (--realm-backups-kept). */
  backupsKept?: number;
}

export function realmHandler(
  caches: Caches,
  pool: ConnectionPool,
  core: CoreV1Api,
  decide: DecideFn,
  options: RealmHandlerOptions = {},
): KindHandler<KeycloakRealm> {
  const backupsKept = options.backupsKept ?? 5;
  const instanceOf = (realm: KeycloakRealm) => {
    const ref = instanceRefOf(realm);
    const instance = caches.instances.get(ref.namespace, ref.name);
    if (!instance) throw new TransientError(`KeycloakInstance ${formatKey(ref)} does not exist`);
    return instance;
  };
  return {
    dependency: (realm) => realmDependency(caches, realm),
    policyInput: (realm) => realmPolicyInput(caches, realm),
    async provision(realm, log) {
      const instance = instanceOf(realm);
      const conn = await pool.forInstance(instance);
      const namespace = realm.metadata.namespace ?? "";
      const secrets = await resolveSecretReferences(
        core,
        namespace,
        realmSecretReferences(realm.spec),
        objectKey(realm),
      );
      const desired = desiredRealm(realm.spec, secrets);
      const realmName = desired.realm.realm;
      await classified(`checking the roles realm ${realmName} grants`, () =>
        checkLivePrivilege(conn, realmName, realmPolicyInput(caches, realm), decide),
      );
      const result = await classified(`KeycloakRealm ${objectKey(realm)}`, () =>
        syncRealm(conn, desired, ownerOf(realm), { adopt: realm.spec.adopt ?? false }),
      );
      if (result.writes > 0)
        log.info(
          { created: result.created, writes: result.writes, changed: result.changedFields },
          `realm ${realmName} synced`,
        );
      const baseUrl = publicBaseUrl(instance);
      return {
        // The same words after a create, an update and a check (as for clients): words that told
        // them apart changed the status on the next reconcile, a status write per realm. The log
        // line above says what was written.
        message: `Realm ${realmName} is in sync`,
        status: { realmName, issuer: `${baseUrl}/realms/${realmName}` },
      };
    },
    async teardown(realm, log, note) {
      if ((realm.spec.deletionPolicy ?? "Retain") !== "Delete") return;
      // Clients and users first: deleting a realm under them would orphan their credentials Secrets
      // and leave their resources unable to clean up, silently.
      const dependents = [...clientsReferencing(caches, realm), ...usersReferencing(caches, realm)];
      if (dependents.length > 0) {
        const clients = dependents.filter((d) => d.kind === "KeycloakClient").length;
        const users = dependents.length - clients;
        const what = [
          ...(clients > 0 ? [`${clients} KeycloakClient(s)`] : []),
          ...(users > 0 ? [`${users} KeycloakUser(s)`] : []),
        ].join(" and ");
        log.info(
          { referrers: dependents.map((d) => `${d.kind} ${objectKey(d)}`).sort() },
          `KeycloakRealm ${objectKey(realm)}: deletion waits for the KeycloakClients and KeycloakUsers that reference it`,
        );
        throw new BlockedError(
          `deletion of realm waits for ${what} that reference it ` +
            `(${referrerList(realm.metadata.namespace ?? "", dependents)}); ` +
            `delete them, or set spec.deletionPolicy: Retain on this realm`,
        );
      }
      const realmName = realm.status?.realmName ?? realm.spec.realmName;
      const ref = instanceRefOf(realm);
      const instance = caches.instances.get(ref.namespace, ref.name);
      if (!instance) {
        // Nothing can reach that Keycloak any more: waiting would keep the realm Deleting forever.
        return cleanupSkipped(`KeycloakInstance ${formatKey(ref)}`, `realm ${realmName}`);
      }
      const conn = await pool.forInstance(instance);
      const key = objectKey(realm);
      // Only `backup: false` deletes without one; a backup that fails stops the deletion.
      let backup: string | undefined;
      const beforeDelete = async () => {
        const stored = await classified(
          `KeycloakRealm ${key}: the backup before deleting realm ${realmName}`,
          () => backupBeforeDeletion(core, conn, realm, realmName, backupsKept),
        );
        backup = stored.name;
        note({ lastBackup: backup });
        log.info(
          { backup: `${realm.metadata.namespace ?? ""}/${backup}`, taken: stored.taken },
          `KeycloakRealm ${key}: realm ${realmName} backed up to Secret ${backup} before its deletion`,
        );
      };
      try {
        await classified(`deleting realm of KeycloakRealm ${key}`, () =>
          deleteRealm(conn, realmName, ownerOf(realm), realm.spec.backup === false ? {} : { beforeDelete }),
        );
      } catch (err) {
        if (backup === undefined || !(err instanceof Error)) throw err;
        // The backup is there; say so, so nobody takes the stuck deletion for a lost realm.
        err.message = `${err.message} (its backup, Secret ${backup}, is stored)`;
        throw err;
      }
      if (backup === undefined) return;
      return {
        notice: {
          reason: REALM_BACKED_UP,
          message: `Realm ${realmName} was exported to Secret ${realm.metadata.namespace ?? ""}/${backup} before its deletion; kpo restore --backup ${realm.metadata.namespace ?? ""}/${backup} re-creates it`,
        },
      };
    },
  };
}
