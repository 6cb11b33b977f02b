// How the CLI reaches the Keycloak of a KeycloakInstance: the way the operator reaches it
// (ConnectionPool: the instance's URL, TLS settings and admin credentials Secret), read through the
// caller's kubeconfig. Shared by the commands that talk to a live Keycloak.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { GROUP, INSTANCE_PLURAL, VERSION, type KeycloakInstance } from "../api/index.js";
import type { KeycloakConnection } from "../keycloak/connection.js";
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
