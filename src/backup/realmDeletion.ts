// The backup a KeycloakRealm with deletionPolicy Delete takes before its realm is deleted in
// Keycloak: the realm's partial export in a backup Secret (./store.ts) in the KeycloakRealm's own
// namespace, where the team that owns it can read it and `kpo restore` can bring it back. One
// backup per deletion: it carries the KeycloakRealm's uid, so a teardown retried after a failed
// delete finds it instead of taking another. The newest `kept` of a realm (by its name in the
// namespace) are kept.
import type { CoreV1Api } from "@kubernetes/client-node";
import type { KeycloakRealm } from "../api/index.js";
import { instanceRefOf } from "../api/refs.js";
import type { KeycloakConnection } from "../keycloak/connection.js";
import { formatKey, objectKey } from "../kube/objectKey.js";
import {
  BACKUP_INSTANCE_LABEL,
  BACKUP_REALM_LABEL,
  BACKUP_UID_LABEL,
  exportRealm,
  labelValue,
  listBackups,
  storeBackup,
  type BackupTarget,
} from "./store.js";

export const BACKUP_REALM_NAME_ANNOTATION = "keycloak.kpo.dev/backup-realm-name";
export const BACKUP_INSTANCE_ANNOTATION = "keycloak.kpo.dev/backup-instance";

/** Where the backups of a realm's deletions go, and how they are labelled. */
export function realmDeletionTarget(realm: KeycloakRealm, realmName: string, kept: number): BackupTarget {
  const instance = instanceRefOf(realm);
  return {
    namespace: realm.metadata.namespace ?? "",
    prefix: realm.metadata.name ?? "realm",
    reason: "realm-deletion",
    series: {
      [BACKUP_REALM_LABEL]: labelValue(realm.metadata.name ?? ""),
      [BACKUP_INSTANCE_LABEL]: labelValue(instance.name),
    },
    labels: { [BACKUP_UID_LABEL]: labelValue(realm.metadata.uid ?? "") },
    annotations: {
      [BACKUP_REALM_NAME_ANNOTATION]: realmName,
      [BACKUP_INSTANCE_ANNOTATION]: formatKey(instance),
    },
    kept,
    subject: `KeycloakRealm ${objectKey(realm)}`,
    tooLarge:
      `realm ${realmName} is not deleted without a backup. Export it yourself (admin console: Realm settings → ` +
      `Action → Partial export), then set spec.backup: false to delete it without one, or spec.deletionPolicy: Retain to keep it`,
  };
}

/**
 * The backup of this deletion: the one already stored for this KeycloakRealm (same uid), else a new
 * export of `realmName`. Its Secret's name, and whether it was taken now.
 */
export async function backupBeforeDeletion(
  core: CoreV1Api,
  conn: KeycloakConnection,
  realm: KeycloakRealm,
  realmName: string,
  kept: number,
  now: Date = new Date(),
): Promise<{ name: string; taken: boolean }> {
  const target = realmDeletionTarget(realm, realmName, kept);
  const uid = target.labels?.[BACKUP_UID_LABEL];
  const existing = (await listBackups(core, target))
    .filter((s) => s.metadata?.labels?.[BACKUP_UID_LABEL] === uid)
    .at(-1)?.metadata?.name;
  if (existing) return { name: existing, taken: false };
  const exported = await exportRealm(conn, realmName, target.namespace);
  return { name: await storeBackup(core, [exported], target, now), taken: true };
}
