// The backup a managed instance takes before it replaces Keycloak's image: every realm's partial
// export, stored as one backup Secret in the instance's namespace (src/backup/store.ts), named in the
// status and in the waiting message. One backup per upgrade: it is labelled with the instance's
// generation, so the reconciles that wait for the old pods to stop find it instead of taking another.
//
// The last BACKUPS_KEPT upgrade backups of an instance are kept. A backup that does not fit in a
// Secret stops the upgrade (PermanentError): the old pods keep running, and the message says so.
import type { CoreV1Api } from "@kubernetes/client-node";
import type { KeycloakInstance } from "../api/index.js";
import type { KeycloakConnection } from "../keycloak/connection.js";
import { objectKey } from "../kube/objectKey.js";
import {
  BACKUP_GENERATION_LABEL,
  BACKUP_INSTANCE_LABEL,
  exportRealm,
  labelValue,
  listBackups as listSeries,
  storeBackup,
  type BackupTarget,
} from "../backup/store.js";
import { managedNames } from "./render.js";

export {
  BACKUP_GENERATION_LABEL,
  BACKUP_INSTANCE_LABEL,
  BACKUP_KEY,
  BACKUP_REASON_LABEL,
} from "../backup/store.js";
export const BACKUPS_KEPT = 5;

export interface BackupRequest {
  reason: "upgrade";
  fromImage: string;
  toImage: string;
}

/** The upgrade backups of an instance: a series of their own, apart from its realms' deletion backups. */
const seriesOf = (instance: KeycloakInstance) => ({
  namespace: instance.metadata.namespace ?? "",
  reason: "upgrade" as const,
  series: { [BACKUP_INSTANCE_LABEL]: labelValue(instance.metadata.name ?? "") },
  subject: `KeycloakInstance ${objectKey(instance)}`,
});

const listBackups = (core: CoreV1Api, instance: KeycloakInstance) => listSeries(core, seriesOf(instance));

/** The backup already taken for the instance's current generation, if any. */
export async function backupOfGeneration(
  core: CoreV1Api,
  instance: KeycloakInstance,
): Promise<string | undefined> {
  const generation = String(instance.metadata.generation ?? 0);
  const found = (await listBackups(core, instance)).filter(
    (s) => s.metadata?.labels?.[BACKUP_GENERATION_LABEL] === generation,
  );
  return found.at(-1)?.metadata?.name;
}

/** The newest backup of the instance, if any. */
export async function latestBackup(core: CoreV1Api, instance: KeycloakInstance): Promise<string | undefined> {
  return (await listBackups(core, instance)).at(-1)?.metadata?.name;
}

/** Exports every realm through `conn` and stores them; returns the Secret's name. */
export async function takeBackup(
  core: CoreV1Api,
  conn: KeycloakConnection,
  instance: KeycloakInstance,
  request: BackupRequest,
  now: Date = new Date(),
): Promise<string> {
  const { namespace } = seriesOf(instance);
  const realms = await conn.call({ method: "GET", what: "list realms for the backup", namespace }, (admin) =>
    admin.realms.find(),
  );
  const exports: unknown[] = [];
  for (const realm of realms
    .map((r) => r.realm ?? "")
    .filter(Boolean)
    .sort()) {
    exports.push(await exportRealm(conn, realm, namespace));
  }
  const target: BackupTarget = {
    ...seriesOf(instance),
    prefix: managedNames(instance).statefulSet,
    labels: { [BACKUP_GENERATION_LABEL]: String(instance.metadata.generation ?? 0) },
    annotations: {
      "keycloak.kpo.dev/backup-from-image": request.fromImage,
      "keycloak.kpo.dev/backup-to-image": request.toImage,
    },
    kept: BACKUPS_KEPT,
    tooLarge:
      `the upgrade to ${request.toImage} does not go ahead without one and the old pods keep running. ` +
      `Export the realms yourself (kc.sh export) and revert spec.managed.image, or contact the operator's maintainers`,
  };
  return storeBackup(core, exports, target, now);
}
