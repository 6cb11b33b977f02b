// `kpo export`: a realm → the KeycloakRealm / KeycloakClient / KeycloakUser resources that reproduce
// it (src/export/). The realm comes from a KeycloakInstance's Keycloak (--instance, reached as the
// operator reaches it), from a Keycloak URL with admin credentials (--url), or from Keycloak's own
// export file (--from-file, offline). Resources go to stdout as one YAML stream or one file per
// object (--output-dir); the Secrets they reference are never written into the stream with them:
// into --output-dir/secrets/ or --secrets-file (mode 0600), or listed for the user to create. What
// the resources cannot express is listed on stderr with its JSON path.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { stringify } from "yaml";
import { KeycloakConnection } from "../keycloak/connection.js";
import { loadKubeConfig } from "../kube/config.js";
import { formatKey, type ObjectKey } from "../kube/objectKey.js";
import { keycloakDefaults, type Representation } from "../export/defaults.js";
import { readLiveRealm } from "../export/live.js";
import {
  exportRealmResources,
  FILL_IN_ANNOTATION,
  type ExportResult,
  type Manifest,
} from "../export/manifests.js";
import {
  CommandError,
  connectToInstance,
  keyOption,
  urlCredentials,
  withUrlAccessOptions,
  type UrlAccessOptions,
} from "./instanceConnection.js";

export interface ExportCommandOptions extends UrlAccessOptions {
  instance?: string;
  url?: string;
  fromFile?: string;
  realm?: string;
  kubeconfig?: string;
  namespace?: string;
  instanceRef?: string;
  name?: string;
  realmName?: string;
  users: boolean;
  adopt?: boolean;
  outputDir?: string;
  secretsFile?: string;
  strict: boolean;
}

/** The realm of an export file: the file is one realm, or a list of them (then --realm picks). */
export function realmOfFile(parsed: unknown, realm: string | undefined, file: string): Representation {
  const realms = (Array.isArray(parsed) ? parsed : [parsed]) as Representation[];
  const named = realms.filter((r) => typeof r === "object" && r !== null && typeof r.realm === "string");
  if (named.length === 0) throw new CommandError(`${file} holds no realm (no object with a "realm" field)`);
  if (realm === undefined) {
    if (named.length === 1 && named[0]) return named[0];
    throw new CommandError(
      `${file} holds ${named.length} realms (${named.map((r) => String(r.realm)).join(", ")}); pick one with --realm`,
    );
  }
  const found = named.find((r) => r.realm === realm);
  if (!found)
    throw new CommandError(
      `${file} has no realm "${realm}" (it has: ${named.map((r) => String(r.realm)).join(", ")})`,
    );
  return found;
}

async function readRealm(
  opts: ExportCommandOptions,
): Promise<{ rep: Representation; instanceRef?: ObjectKey; live: boolean }> {
  const sources = [opts.instance, opts.url, opts.fromFile].filter((s) => s !== undefined);
  if (sources.length !== 1) throw new CommandError("give exactly one of --instance, --url and --from-file");
  if (opts.fromFile) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(opts.fromFile, "utf8"));
    } catch (err) {
      throw new CommandError(
        `--from-file ${opts.fromFile}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return { rep: realmOfFile(parsed, opts.realm, opts.fromFile), live: false };
  }
  if (!opts.realm) throw new CommandError("--realm is required with --instance and --url");
  let conn: KeycloakConnection;
  let instanceRef: ObjectKey | undefined;
  if (opts.instance) {
    instanceRef = keyOption("--instance", opts.instance);
    conn = await connectToInstance(
      loadKubeConfig(opts.kubeconfig ? { kubeconfigPath: opts.kubeconfig } : {}),
      instanceRef,
    );
  } else {
    const baseUrl = opts.url ?? "";
    conn = new KeycloakConnection({
      instance: baseUrl,
      baseUrl,
      credentials: urlCredentials(opts),
      timeoutMs: 60_000,
      ...(opts.caFile ? { tls: { caPem: readFileSync(opts.caFile, "utf8") } } : {}),
    });
  }
  try {
    return {
      rep: await readLiveRealm(conn, opts.realm, { users: opts.users }),
      live: true,
      ...(instanceRef ? { instanceRef } : {}),
    };
  } finally {
    await conn.close();
  }
}

/** One YAML document per manifest, `---` between them. */
export const yamlStream = (manifests: Manifest[]) =>
  manifests.map((m) => stringify(m, { lineWidth: 0 })).join("---\n");

const fileName = (m: Manifest) => `${m.kind.toLowerCase()}-${m.metadata.name}.yaml`;

/**
 * Defaults and built-ins are those of the Keycloak the defaults were captured from; a realm of
 * another version differs in its built-ins without anyone having changed them.
 */
function versionNote(rep: Representation): string[] {
  const version = typeof rep.keycloakVersion === "string" ? rep.keycloakVersion : undefined;
  if (version === undefined || version === keycloakDefaults.keycloakVersion) return [];
  return [
    `NOTE: the realm is from Keycloak ${version}; defaults and built-in objects are compared with Keycloak ${keycloakDefaults.keycloakVersion}'s, so built-ins that differ between the versions are listed as changed or deleted`,
  ];
}

/** Writes the result where the options say; the lines to print on stderr. */
export function writeExport(
  result: ExportResult,
  opts: Pick<ExportCommandOptions, "outputDir" | "secretsFile">,
): string[] {
  const notes: string[] = [];
  if (opts.outputDir) {
    mkdirSync(opts.outputDir, { recursive: true });
    for (const m of result.resources)
      writeFileSync(join(opts.outputDir, fileName(m)), stringify(m, { lineWidth: 0 }));
    notes.push(`wrote ${result.resources.length} resource(s) to ${opts.outputDir}`);
  } else process.stdout.write(yamlStream(result.resources));

  if (result.secrets.length > 0) {
    const secretsFile =
      opts.secretsFile ?? (opts.outputDir ? join(opts.outputDir, "secrets", "secrets.yaml") : undefined);
    const missing = result.secrets.filter((s) => s.metadata.annotations?.[FILL_IN_ANNOTATION]);
    if (secretsFile) {
      mkdirSync(join(secretsFile, ".."), { recursive: true });
      writeFileSync(secretsFile, yamlStream(result.secrets), { mode: 0o600 });
      chmodSync(secretsFile, 0o600);
      notes.push(
        `WARNING: ${result.secrets.length} Secret(s) the resources reference are in ${secretsFile} (mode 0600): keep that file out of version control` +
          (missing.length > 0
            ? `; fill in the empty values of ${missing.map((s) => s.metadata.name).join(", ")} before applying`
            : ""),
      );
    } else {
      notes.push(
        `WARNING: the resources reference ${result.secrets.length} Secret(s) that were not written (give --secrets-file or --output-dir to write them); create them before applying:`,
        ...result.secrets.map(
          (s) => `  Secret ${s.metadata.name}: key(s) ${Object.keys(s.stringData ?? {}).join(", ")}`,
        ),
      );
    }
  }
  if (result.report.unexpressed.length > 0) {
    notes.push(
      `${result.report.unexpressed.length} value(s) of the realm could not be expressed by the resources (not exported):`,
    );
    for (const u of result.report.unexpressed) notes.push(`  ${u.path}: ${u.reason}`);
  }
  return notes;
}

export async function runExport(
  opts: ExportCommandOptions,
): Promise<{ result: ExportResult; notes: string[] }> {
  const { rep, instanceRef, live } = await readRealm(opts);
  const ref = opts.instanceRef ? keyOption("--instance-ref", opts.instanceRef) : instanceRef;
  if (!ref)
    throw new CommandError(
      "--instance-ref NAMESPACE/NAME is required with --url and --from-file: the KeycloakInstance the resources name",
    );
  const namespace = opts.namespace ?? ref.namespace;
  const result = exportRealmResources(rep, {
    namespace,
    instanceRef:
      ref.namespace === namespace ? { name: ref.name } : { name: ref.name, namespace: ref.namespace },
    ...(opts.name ? { resourceName: opts.name } : {}),
    ...(opts.realmName ? { realmName: opts.realmName } : {}),
    // Taking over what exists; an import of a file into a new realm (or under another name) creates.
    adopt: opts.adopt ?? (live && (opts.realmName === undefined || opts.realmName === opts.realm)),
    users: opts.users,
  });
  const notes = [...versionNote(rep), ...writeExport(result, opts)];
  if (result.resources.some((r) => r.spec?.adopt === true)) {
    notes.push(
      `the resources set spec.adopt: KeycloakInstance ${formatKey(ref)} must grant namespace ${namespace} the adoption of realm ${String(rep.realm)} (spec.adoptionGrants) and the realm must grant its clients and users`,
    );
  }
  return { result, notes };
}

export function registerExportCommand(program: Command): void {
  const command = program
    .command("export")
    .description(
      "write the KeycloakRealm, KeycloakClient (and KeycloakUser) resources that reproduce a realm",
    )
    .option(
      "--instance <ns/name>",
      "read the realm from this KeycloakInstance's Keycloak (as the operator reaches it)",
    )
    .option(
      "--url <url>",
      "read the realm from this Keycloak (admin credentials: --username/--password-file or --client-id/--client-secret-file)",
    )
    .option(
      "--from-file <file>",
      "read Keycloak's realm export file (kc.sh export, or the admin console's partial export)",
    )
    .option("--realm <name>", "the realm's name in Keycloak (required with --instance and --url)")
    .option("--kubeconfig <path>", "kubeconfig file (default: KUBECONFIG or in-cluster)");
  withUrlAccessOptions(command)
    .option("--instance-ref <ns/name>", "the KeycloakInstance the resources name (default: --instance)")
    .option("--namespace <ns>", "namespace of the written objects (default: the instance's)")
    .option("--name <name>", "metadata.name of the KeycloakRealm (default: from the realm's name)")
    .option("--realm-name <name>", "spec.realmName: import a copy under another name")
    .option("--users", "also write a KeycloakUser per user", false)
    .option("--adopt", "set spec.adopt (default: when reading a live realm under its own name)")
    .option("--no-adopt", "never set spec.adopt")
    .option(
      "-o, --output-dir <dir>",
      "one file per object (Secrets in <dir>/secrets/) instead of one stream on stdout",
    )
    .option("--secrets-file <file>", "where the referenced Secrets are written (mode 0600)")
    .option("--strict", "exit with 1 when something could not be expressed", false)
    .action(async (opts: ExportCommandOptions) => {
      try {
        const { result, notes } = await runExport(opts);
        for (const line of notes) console.error(line);
        if (opts.strict && result.report.unexpressed.length > 0) process.exit(1);
      } catch (err) {
        console.error(`kpo export: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      }
    });
}
