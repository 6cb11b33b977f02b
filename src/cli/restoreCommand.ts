// `kpo restore`: re-create realms from a backup Secret (src/backup/store.ts) through the admin API of
// a KeycloakInstance, reached the way the operator reaches it (ConnectionPool: its URL, TLS settings
// and admin credentials Secret). Each realm is created whole from its partial export
// (POST /admin/realms). A realm that already exists is never overwritten: the restore refuses before
// it writes anything.
//
// The export keeps the ownership attributes of the resource that managed the realm; the restore
// drops them, so the restored realm belongs to nobody until a KeycloakRealm adopts it.
import { join } from "node:path";
import type { Command } from "commander";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { readBackup } from "../backup/store.js";
import { managedAttribute } from "../keycloak/ownership.js";
import { apiMessageOf } from "../kube/apiRequest.js";
import { loadKubeConfig } from "../kube/config.js";
import { formatKey, type ObjectKey } from "../kube/objectKey.js";
import { exportRealmResources, objectName } from "../export/manifests.js";
import { writeExport } from "./exportCommand.js";
import { connectToInstance, keyOption } from "./instanceConnection.js";

export interface RestoreOptions {
  /** The backup Secret. */
  backup: ObjectKey;
  /** The KeycloakInstance whose Keycloak gets the realms. */
  instance: ObjectKey;
  /** Only this realm of the backup (by its name in Keycloak); all of them when unset. */
  realm?: string;
  /**
   * Also write the resources that manage the restored realms (`kpo export` of each, adopting it)
   * into this directory, a subdirectory per realm, in the backup's namespace.
   */
  writeManifests?: string;
  timeoutMs?: number;
}

export interface RestoreResult {
  /** The names of the realms created. */
  realms: string[];
  /** What the written manifests could not express, and the Secrets they need. */
  notes: string[];
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

/** Restores the backup's realms into the instance's Keycloak. */
export async function restoreRealms(kubeConfig: KubeConfig, options: RestoreOptions): Promise<RestoreResult> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
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

  const conn = await connectToInstance(kubeConfig, options.instance, options.timeoutMs);
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
    const notes = options.writeManifests ? manifestsFor(chosen, options, options.writeManifests) : [];
    return { realms: created, notes };
  } finally {
    await conn.close();
  }
}

/** The resources that adopt the restored realms, written as `kpo export -o DIR/<realm>` writes them. */
function manifestsFor(
  realms: Array<Record<string, unknown>>,
  options: RestoreOptions,
  dir: string,
): string[] {
  const { instance, backup } = options;
  return realms.flatMap((rep) => {
    const result = exportRealmResources(rep, {
      namespace: backup.namespace,
      instanceRef: instance.namespace === backup.namespace ? { name: instance.name } : instance,
      adopt: true,
      users: false,
    });
    return writeExport(result, { outputDir: join(dir, objectName(realmNameOf(rep))) });
  });
}

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
    .option(
      "--write-manifests <dir>",
      "also write the KeycloakRealm and KeycloakClient resources that adopt the restored realms (one subdirectory per realm)",
    )
    .action(
      async (opts: {
        backup: string;
        instance: string;
        realm?: string;
        kubeconfig?: string;
        writeManifests?: string;
      }) => {
        try {
          const kc = loadKubeConfig(opts.kubeconfig ? { kubeconfigPath: opts.kubeconfig } : {});
          const created = await restoreRealms(kc, {
            backup: keyOption("--backup", opts.backup),
            instance: keyOption("--instance", opts.instance),
            ...(opts.realm ? { realm: opts.realm } : {}),
            ...(opts.writeManifests ? { writeManifests: opts.writeManifests } : {}),
          });
          for (const name of created.realms) console.log(`realm ${name} restored`);
          for (const line of created.notes) console.error(line);
        } catch (err) {
          console.error(`kpo restore: ${err instanceof Error ? err.message : String(err)}`);
          process.exit(1);
        }
      },
    );
}
