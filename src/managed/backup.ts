// The backup a managed instance takes before it replaces Keycloak's image: every realm's partial
// export (Keycloak's own format: realm settings, clients, roles, groups; secrets come out masked, users
// are not included), gzipped into one Secret in the instance's namespace, named in the status and
// in the waiting message. One backup per upgrade: it is labelled with the instance's generation, so
// the reconciles that wait for the old pods to stop find it instead of taking another.
//
// The Secret has no owner reference (a backup must outlive the instance it was taken of) and the
// last BACKUPS_KEPT of an instance are kept. A backup that does not fit in a Secret stops the
// upgrade (PermanentError): the old pods keep running, and the message says so.
import { gzipSync } from "node:zlib";
import { ApiException, type CoreV1Api, type V1Secret } from "@kubernetes/client-node";
import type { KeycloakInstance } from "../api/index.js";
import type { KeycloakConnection } from "../keycloak/connection.js";
import { apiMessageOf } from "../kube/apiRequest.js";
import { FIELD_MANAGER } from "../kube/apply.js";
import { objectKey } from "../kube/objectKey.js";
import { PermanentError, TransientError } from "../lifecycle/errors.js";
import { MANAGED_BY, MANAGED_BY_LABEL, managedNames } from "./render.js";

export const BACKUP_INSTANCE_LABEL = "keycloak.kpo.dev/backup-of";
export const BACKUP_GENERATION_LABEL = "keycloak.kpo.dev/backup-generation";
export const BACKUP_REASON_LABEL = "keycloak.kpo.dev/backup-reason";
export const BACKUP_KEY = "realms.json.gz";
export const BACKUPS_KEPT = 5;
/** A Secret holds at most 1 MiB; leave room for the metadata. */
const MAX_BACKUP_BYTES = 900 * 1024;

export interface BackupRequest {
  reason: "upgrade";
  fromImage: string;
  toImage: string;
}

const selectorOf = (instance: KeycloakInstance) =>
  `${MANAGED_BY_LABEL}=${MANAGED_BY},${BACKUP_INSTANCE_LABEL}=${instance.metadata.name ?? ""}`;

async function listBackups(core: CoreV1Api, instance: KeycloakInstance): Promise<V1Secret[]> {
  const namespace = instance.metadata.namespace ?? "";
  try {
    const list = await core.listNamespacedSecret({ namespace, labelSelector: selectorOf(instance) });
    return list.items.sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
  } catch (err) {
    throw new TransientError(
      `listing the backups of KeycloakInstance ${objectKey(instance)} failed: ${apiMessageOf(err)}`,
    );
  }
}

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
  const namespace = instance.metadata.namespace ?? "";
  const key = objectKey(instance);
  const realms = await conn.call({ method: "GET", what: "list realms for the backup", namespace }, (admin) =>
    admin.realms.find(),
  );
  const exports: unknown[] = [];
  for (const realm of realms
    .map((r) => r.realm ?? "")
    .filter(Boolean)
    .sort()) {
    exports.push(
      await conn.call(
        { method: "POST", what: `export realm "${realm}" for the backup`, namespace, realm },
        (admin) => admin.realms.export({ realm, exportClients: true, exportGroupsAndRoles: true }),
      ),
    );
  }
  const data = gzipSync(JSON.stringify(exports));
  if (data.length > MAX_BACKUP_BYTES) {
    throw new PermanentError(
      `KeycloakInstance ${key}: the backup before the upgrade to ${request.toImage} is ${data.length} bytes ` +
        `gzipped, more than a Secret holds; the upgrade does not go ahead without one and the old pods keep ` +
        `running. Export the realms yourself (kc.sh export) and revert spec.managed.image, or contact the operator's maintainers`,
    );
  }
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-").toLowerCase();
  const name = `${managedNames(instance).statefulSet}-backup-${stamp}`.slice(0, 253);
  const body: V1Secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace,
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY,
        [BACKUP_INSTANCE_LABEL]: instance.metadata.name ?? "",
        [BACKUP_GENERATION_LABEL]: String(instance.metadata.generation ?? 0),
        [BACKUP_REASON_LABEL]: request.reason,
      },
      annotations: {
        "keycloak.kpo.dev/backup-time": now.toISOString(),
        "keycloak.kpo.dev/backup-from-image": request.fromImage,
        "keycloak.kpo.dev/backup-to-image": request.toImage,
        "keycloak.kpo.dev/backup-realms": String(exports.length),
      },
    },
    type: "Opaque",
    data: { [BACKUP_KEY]: data.toString("base64") },
  };
  try {
    await core.createNamespacedSecret({ namespace, body, fieldManager: FIELD_MANAGER });
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) {
      throw new TransientError(`storing the backup Secret ${namespace}/${name} failed: ${apiMessageOf(err)}`);
    }
  }
  await pruneBackups(core, instance);
  return name;
}

/** Deletes all but the newest BACKUPS_KEPT backups of the instance (names sort by time). */
async function pruneBackups(core: CoreV1Api, instance: KeycloakInstance): Promise<void> {
  const namespace = instance.metadata.namespace ?? "";
  const backups = await listBackups(core, instance);
  for (const old of backups.slice(0, Math.max(0, backups.length - BACKUPS_KEPT))) {
    try {
      await core.deleteNamespacedSecret({ name: old.metadata?.name ?? "", namespace });
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 404)) throw new TransientError(apiMessageOf(err));
    }
  }
}
