// Where the operator keeps realm backups: a gzipped JSON array of Keycloak partial realm exports
// (Keycloak's own format: realm settings, clients, roles, groups; secrets come out masked, users are
// not included) in one Secret, one Secret per backup. Two callers take them: a managed instance
// before an image upgrade (every realm, src/managed/backup.ts) and a KeycloakRealm before its
// realm is deleted (./realmDeletion.ts). `kpo restore` reads them back (src/cli/restoreCommand.ts).
//
// A backup belongs to a series (the Secrets matching `series`, e.g. one instance's upgrades or one
// realm's deletions); the newest `kept` of a series stay, older ones are deleted after each new one.
// The Secrets have no owner reference: a backup must outlive what it was taken of. A backup that does
// not fit in a Secret is refused (PermanentError), never split: the caller stops the destructive step.
import { gunzipSync, gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { ApiException, type CoreV1Api, type V1Secret } from "@kubernetes/client-node";
import type { KeycloakConnection } from "../keycloak/connection.js";
import { apiMessageOf } from "../kube/apiRequest.js";
import { FIELD_MANAGER } from "../kube/apply.js";
import { PermanentError, TransientError } from "../lifecycle/errors.js";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../managed/render.js";

/** Managed instances: the instance's name. Realm deletions: the name of the realm's instance. */
export const BACKUP_INSTANCE_LABEL = "keycloak.kpo.dev/backup-of";
export const BACKUP_GENERATION_LABEL = "keycloak.kpo.dev/backup-generation";
export const BACKUP_REASON_LABEL = "keycloak.kpo.dev/backup-reason";
/** Realm deletions: the KeycloakRealm's name (as a label value; see labelValue). */
export const BACKUP_REALM_LABEL = "keycloak.kpo.dev/backup-realm";
/** Realm deletions: the uid of the KeycloakRealm whose deletion took it. */
export const BACKUP_UID_LABEL = "keycloak.kpo.dev/backup-uid";
export const BACKUP_TIME_ANNOTATION = "keycloak.kpo.dev/backup-time";
export const BACKUP_REALMS_ANNOTATION = "keycloak.kpo.dev/backup-realms";
export const BACKUP_KEY = "realms.json.gz";

export type BackupReason = "upgrade" | "realm-deletion";

/** A Secret holds at most 1 MiB; leave room for the metadata. */
export const MAX_BACKUP_BYTES = 900 * 1024;

/** The backup was not stored because it is larger than a Secret holds. */
export class BackupTooLargeError extends PermanentError {
  override name = "BackupTooLargeError";
  readonly bytes: number;
  constructor(message: string, bytes: number) {
    super(message);
    this.bytes = bytes;
  }
}

export interface BackupTarget {
  namespace: string;
  /** The Secret's name is `<prefix>-backup-<time>`; the prefix is shortened to fit. */
  prefix: string;
  reason: BackupReason;
  /** Labels beyond managed-by and reason; they (with those two) also select the series. */
  series: Record<string, string>;
  /** Labels that do not select the series (a generation, a uid). */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** How many backups of the series are kept. */
  kept: number;
  /** What the backup is of, for messages: `KeycloakInstance ns/name`. */
  subject: string;
  /** The sentence appended when the backup is too large: what did not happen, and what to do. */
  tooLarge: string;
}

const seriesLabels = (target: Pick<BackupTarget, "reason" | "series">): Record<string, string> => ({
  [MANAGED_BY_LABEL]: MANAGED_BY,
  [BACKUP_REASON_LABEL]: target.reason,
  ...target.series,
});

const selectorOf = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

/**
 * A label value for any string: itself when it is a valid label value, else a readable part of it
 * and a hash, so that different names never share a value.
 */
export function labelValue(text: string): string {
  if (/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(text) && text.length <= 63) return text;
  const hash = createHash("sha256").update(text).digest("hex").slice(0, 10);
  const readable = text
    .replace(/[^-A-Za-z0-9_.]/g, "-")
    .slice(0, 52)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
  return readable ? `${readable}-${hash}` : hash;
}

/** `20261203-061500` from a time: names sort by it. */
const stampOf = (now: Date) =>
  now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-").toLowerCase();

export function backupName(prefix: string, now: Date): string {
  const suffix = `-backup-${stampOf(now)}`;
  return `${prefix.slice(0, 253 - suffix.length).replace(/[-.]+$/, "")}${suffix}`;
}

/** Oldest first: by the time annotation, then by name (which holds the time too). */
function byAge(a: V1Secret, b: V1Secret): number {
  const time = (s: V1Secret) => s.metadata?.annotations?.[BACKUP_TIME_ANNOTATION] ?? "";
  return time(a).localeCompare(time(b)) || (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "");
}

/** The backups of a series, oldest first. */
export async function listBackups(
  core: CoreV1Api,
  target: Pick<BackupTarget, "namespace" | "reason" | "series" | "subject">,
): Promise<V1Secret[]> {
  const { namespace } = target;
  try {
    const list = await core.listNamespacedSecret({
      namespace,
      labelSelector: selectorOf(seriesLabels(target)),
    });
    return list.items.sort(byAge);
  } catch (err) {
    throw new TransientError(`listing the backups of ${target.subject} failed: ${apiMessageOf(err)}`);
  }
}

/** Stores `exports` (partial realm exports) as a new backup of the series and prunes it; the Secret's name. */
export async function storeBackup(
  core: CoreV1Api,
  exports: unknown[],
  target: BackupTarget,
  now: Date = new Date(),
): Promise<string> {
  const { namespace } = target;
  const data = gzipSync(JSON.stringify(exports));
  if (data.length > MAX_BACKUP_BYTES) {
    throw new BackupTooLargeError(
      `${target.subject}: the backup is ${data.length} bytes gzipped, more than a Secret holds; ${target.tooLarge}`,
      data.length,
    );
  }
  const name = backupName(target.prefix, now);
  const body: V1Secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace,
      labels: { ...seriesLabels(target), ...target.labels },
      annotations: {
        [BACKUP_TIME_ANNOTATION]: now.toISOString(),
        ...target.annotations,
        [BACKUP_REALMS_ANNOTATION]: String(exports.length),
      },
    },
    type: "Opaque",
    data: { [BACKUP_KEY]: data.toString("base64") },
  };
  try {
    await core.createNamespacedSecret({ namespace, body, fieldManager: FIELD_MANAGER });
  } catch (err) {
    // Our own earlier request of the same second (retried after a lost answer): it is the backup.
    if (!(err instanceof ApiException && err.code === 409)) {
      throw new TransientError(`storing the backup Secret ${namespace}/${name} failed: ${apiMessageOf(err)}`);
    }
  }
  await pruneBackups(core, target);
  return name;
}

/** Deletes all but the newest `kept` backups of the series. */
async function pruneBackups(core: CoreV1Api, target: BackupTarget): Promise<void> {
  const backups = await listBackups(core, target);
  for (const old of backups.slice(0, Math.max(0, backups.length - target.kept))) {
    try {
      await core.deleteNamespacedSecret({ name: old.metadata?.name ?? "", namespace: target.namespace });
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 404)) throw new TransientError(apiMessageOf(err));
    }
  }
}

/** Keycloak's partial export of one realm, with clients, roles and groups (no users; secrets masked). */
export async function exportRealm(
  conn: KeycloakConnection,
  realm: string,
  namespace: string,
): Promise<Record<string, unknown>> {
  return (await conn.call(
    { method: "POST", what: `export realm "${realm}" for the backup`, namespace, realm },
    (admin) => admin.realms.export({ realm, exportClients: true, exportGroupsAndRoles: true }),
  )) as Record<string, unknown>;
}

/** The realm exports a backup Secret holds. */
export function readBackup(secret: V1Secret): Array<Record<string, unknown>> {
  const name = `${secret.metadata?.namespace ?? ""}/${secret.metadata?.name ?? ""}`;
  const encoded = secret.data?.[BACKUP_KEY];
  if (!encoded) throw new Error(`Secret ${name} has no key ${BACKUP_KEY}: it is not a kpo backup`);
  const parsed: unknown = JSON.parse(gunzipSync(Buffer.from(encoded, "base64")).toString("utf8"));
  if (!Array.isArray(parsed)) throw new Error(`Secret ${name}: ${BACKUP_KEY} is not a list of realm exports`);
  return parsed as Array<Record<string, unknown>>;
}
