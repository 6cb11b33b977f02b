// `kpo restore`: re-create realms from a backup Secret (src/backup/store.ts) through the admin API of
// a KeycloakInstance, reached the way the operator reaches it (ConnectionPool: its URL, TLS settings
// and admin credentials Secret). Each realm is created whole from its partial export
// (POST /admin/realms). A realm that already exists is never overwritten: the restore refuses before
// it writes anything.
//
// The export keeps the ownership attributes of the resource that managed the realm; the restore
// drops them, so the restored realm belongs to nobody until a KeycloakRealm adopts it.
import type { Command } from "commander";
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { GROUP, INSTANCE_PLURAL, VERSION, type KeycloakInstance } from "../api/index.js";
import { readBackup } from "../backup/store.js";
import { defaultLimiterConfig } from "../keycloak/limits.js";
import { managedAttribute } from "../keycloak/ownership.js";
import { apiMessageOf } from "../kube/apiRequest.js";
import { loadKubeConfig } from "../kube/config.js";
import { formatKey, parseKey, type ObjectKey } from "../kube/objectKey.js";
import { ConnectionPool } from "../operator/connections.js";

export interface RestoreOptions {
  /** The backup Secret. */
  backup: ObjectKey;
  /** The KeycloakInstance whose Keycloak gets the realms. */
  instance: ObjectKey;
  /** Only this realm of the backup (by its name in Keycloak); all of them when unset. */
  realm?: string;
  timeoutMs?: number;
}

export class RestoreError extends Error {
  override name = "RestoreError";
}

/** The operator's ownership marks: a restored object belongs to no resource. */
const isOwnershipAttribute = (key: string) => key.startsWith("kpo.dev/owner-") || key === managedAttribute;

/** A copy of a representation without the operator's ownership attributes, at any depth. */
export function withoutOwnership<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => withoutOwnership(v) as unknown) as T;
  if (typeof value !== "object" || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === "attributes" && typeof v === "object" && v !== null && !Array.isArray(v)) {
      copy[k] = Object.fromEntries(
        Object.entries(v as Record<string, unknown>).filter(([a]) => !isOwnershipAttribute(a)),
      );
    } else copy[k] = withoutOwnership(v);
  }
  return copy as T;
}

const realmNameOf = (rep: Record<string, unknown>) => (typeof rep.realm === "string" ? rep.realm : "");

/** Restores the backup's realms into the instance's Keycloak; the names of the realms created. */
export async function restoreRealms(kubeConfig: KubeConfig, options: RestoreOptions): Promise<string[]> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const objects = kubeConfig.makeApiClient(CustomObjectsApi);
  const backupKey = formatKey(options.backup);
  const instanceKey = formatKey(options.instance);

  const secret = await core
    .readNamespacedSecret({ namespace: options.backup.namespace, name: options.backup.name })
    .catch((err: unknown) => {
      throw new RestoreError(`reading the backup Secret ${backupKey} failed: ${apiMessageOf(err)}`);
    });
  const all = readBackup(secret);
  const chosen = options.realm ? all.filter((r) => realmNameOf(r) === options.realm) : all;
  if (chosen.length === 0) {
    const names = all.map(realmNameOf).join(", ") || "none";
    throw new RestoreError(
      options.realm
        ? `the backup ${backupKey} has no realm ${options.realm} (it has: ${names})`
        : `the backup ${backupKey} holds no realm`,
    );
  }

  const instance = (await objects
    .getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: INSTANCE_PLURAL,
      namespace: options.instance.namespace,
      name: options.instance.name,
    })
    .catch((err: unknown) => {
      throw new RestoreError(`reading KeycloakInstance ${instanceKey} failed: ${apiMessageOf(err)}`);
    })) as KeycloakInstance;
  const pool = new ConnectionPool({
    core,
    timeoutMs: options.timeoutMs ?? 60_000,
    limits: defaultLimiterConfig,
  });
  const conn = await pool.forInstance(instance);
  try {
    const existing = new Set(
      (
        await conn.call({ method: "GET", what: "list realms before the restore" }, (admin) =>
          admin.realms.find(),
        )
      ).map((r) => r.realm ?? ""),
    );
    const clashing = chosen.map(realmNameOf).filter((name) => existing.has(name));
    if (clashing.length > 0) {
      throw new RestoreError(
        `realm(s) ${clashing.join(", ")} already exist in the Keycloak of KeycloakInstance ${instanceKey}; ` +
          `nothing was restored. Delete them first, or pick the others with --realm`,
      );
    }
    const created: string[] = [];
    for (const rep of chosen) {
      const name = realmNameOf(rep);
      await conn.call(
        { method: "POST", what: `restore realm "${name}"`, creates: true, timeoutMs: 120_000 },
        (admin) => admin.realms.create(withoutOwnership(rep)),
      );
      created.push(name);
    }
    return created;
  } finally {
    await conn.close();
  }
}

const keyOption = (flag: string, value: string): ObjectKey => {
  const key = parseKey(value);
  if (!key.namespace || !key.name) throw new RestoreError(`${flag}: expected NAMESPACE/NAME, got "${value}"`);
  return key;
};

export function registerRestoreCommand(program: Command): void {
  program
    .command("restore")
    .description(
      "re-create realms in Keycloak from a backup Secret the operator stored (before a realm's deletion or an upgrade)",
    )
    .requiredOption("--backup <ns/name>", "the backup Secret")
    .requiredOption("--instance <ns/name>", "the KeycloakInstance whose Keycloak gets the realms")
    .option("--realm <name>", "only this realm of the backup (its name in Keycloak)")
    .option("--kubeconfig <path>", "kubeconfig file (default: KUBECONFIG or in-cluster)")
    .action(async (opts: { backup: string; instance: string; realm?: string; kubeconfig?: string }) => {
      try {
        const kc = loadKubeConfig(opts.kubeconfig ? { kubeconfigPath: opts.kubeconfig } : {});
        const created = await restoreRealms(kc, {
          backup: keyOption("--backup", opts.backup),
          instance: keyOption("--instance", opts.instance),
          ...(opts.realm ? { realm: opts.realm } : {}),
        });
        for (const name of created) console.log(`realm ${name} restored`);
      } catch (err) {
        console.error(`kpo restore: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      }
    });
}
