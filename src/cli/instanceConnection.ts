// How the CLI reaches the Keycloak of a KeycloakInstance: the way the operator reaches it
// (ConnectionPool: the instance's URL, TLS settings and admin credentials Secret), read through the
// caller's kubeconfig. Shared by the commands that talk to a live Keycloak.
import { readFileSync } from "node:fs";
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import type { Command } from "commander";
import { GROUP, INSTANCE_PLURAL, VERSION, type KeycloakInstance } from "../api/index.js";
import type { AdminCredentials, KeycloakConnection } from "../keycloak/connection.js";
import { defaultLimiterConfig } from "../keycloak/limits.js";
import { apiMessageOf } from "../kube/apiRequest.js";
import { formatKey, parseKey, type ObjectKey } from "../kube/objectKey.js";
import { ConnectionPool } from "../operator/connections.js";

/** A command's own failure: printed as its message, exit code 1. */
export class CommandError extends Error {
  override name = "CommandError";
}

/** `NAMESPACE/NAME` of a flag, or a CommandError naming the flag. */
export function keyOption(flag: string, value: string): ObjectKey {
  const key = parseKey(value);
  if (!key.namespace || !key.name) throw new CommandError(`${flag}: expected NAMESPACE/NAME, got "${value}"`);
  return key;
}

export async function readInstance(kubeConfig: KubeConfig, key: ObjectKey): Promise<KeycloakInstance> {
  const objects = kubeConfig.makeApiClient(CustomObjectsApi);
  return (await objects
    .getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: INSTANCE_PLURAL,
      namespace: key.namespace,
      name: key.name,
    })
    .catch((err: unknown) => {
      throw new CommandError(`reading KeycloakInstance ${formatKey(key)} failed: ${apiMessageOf(err)}`);
    })) as KeycloakInstance;
}

/** A connection to the instance's Keycloak; the caller closes it. */
export async function connectToInstance(
  kubeConfig: KubeConfig,
  key: ObjectKey,
  timeoutMs = 60_000,
): Promise<KeycloakConnection> {
  const instance = await readInstance(kubeConfig, key);
  const pool = new ConnectionPool({
    core: kubeConfig.makeApiClient(CoreV1Api),
    timeoutMs,
    limits: defaultLimiterConfig,
  });
  return pool.forInstance(instance);
}

/** The flags of a command that reaches a Keycloak by --url: its admin credentials and CA. */
export interface UrlAccessOptions {
  username?: string;
  passwordFile?: string;
  clientId?: string;
  clientSecretFile?: string;
  adminRealm: string;
  caFile?: string;
}

/** Adds the UrlAccessOptions flags to a command. */
export function withUrlAccessOptions(command: Command): Command {
  return command
    .option("--username <name>", "admin user for --url")
    .option("--password-file <file>", "file holding the admin user's password (or set KPO_ADMIN_PASSWORD)")
    .option("--client-id <id>", "service-account client for --url")
    .option("--client-secret-file <file>", "file holding that client's secret")
    .option("--admin-realm <name>", "realm of the admin user or client", "master")
    .option("--ca-file <file>", "CA bundle to trust for --url");
}

const readSecretFile = (file: string, flag: string) => {
  try {
    return readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new CommandError(`${flag} ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
};

/** The admin credentials --url needs, from the flags (or KPO_ADMIN_PASSWORD). */
export function urlCredentials(opts: UrlAccessOptions): AdminCredentials {
  if (opts.clientId && opts.clientSecretFile) {
    return {
      kind: "clientCredentials",
      clientId: opts.clientId,
      clientSecret: readSecretFile(opts.clientSecretFile, "--client-secret-file"),
      realm: opts.adminRealm,
    };
  }
  const password = opts.passwordFile
    ? readSecretFile(opts.passwordFile, "--password-file")
    : process.env.KPO_ADMIN_PASSWORD;
  if (opts.username && password)
    return { kind: "password", username: opts.username, password, realm: opts.adminRealm };
  throw new CommandError(
    "--url needs admin credentials: --username with --password-file (or the KPO_ADMIN_PASSWORD environment variable), or --client-id with --client-secret-file",
  );
}
