// Reading values out of Secrets the custom resources reference. Messages name the Secret and key,
// never the value.
import { ApiException, type CoreV1Api, type V1Secret } from "@kubernetes/client-node";
import { apiMessageOf } from "../kube/apiRequest.js";
import { TransientError } from "../lifecycle/errors.js";
import type { ResolvedSecrets, SecretReference } from "../resources/secretReferences.js";

export async function readSecretValue(
  core: CoreV1Api,
  namespace: string,
  name: string,
  key: string,
  referencedBy: string,
): Promise<string> {
  const [value] = await readSecretValues(core, namespace, name, [key], referencedBy);
  return value ?? "";
}

/** Several keys of one Secret, with one read. */
export async function readSecretValues(
  core: CoreV1Api,
  namespace: string,
  name: string,
  keys: readonly string[],
  referencedBy: string,
): Promise<string[]> {
  const data = await readSecretData(core, namespace, name, referencedBy);
  requireKeys({ metadata: { namespace, name }, ...(data ? { data } : {}) }, keys, referencedBy);
  return keys.map((key) => Buffer.from(data?.[key] ?? "", "base64").toString("utf8"));
}

/** A key that may be absent (undefined then); the Secret itself must exist. */
export async function optionalSecretValue(
  core: CoreV1Api,
  namespace: string,
  name: string,
  key: string,
  referencedBy: string,
): Promise<string | undefined> {
  const encoded = (await readSecretData(core, namespace, name, referencedBy))?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, "base64").toString("utf8");
}

async function readSecretData(
  core: CoreV1Api,
  namespace: string,
  name: string,
  referencedBy: string,
): Promise<Record<string, string> | undefined> {
  const secret = await readSecretIfExists(core, namespace, name, referencedBy);
  // Transient: the Secret may well be created after the resource that points at it.
  if (!secret)
    throw new TransientError(`Secret ${namespace}/${name} (${referencedBy}) does not exist; create it`);
  return secret.data;
}

/** The Secret, or undefined when it does not exist; any other failure is a TransientError. */
export async function readSecretIfExists(
  core: CoreV1Api,
  namespace: string,
  name: string,
  referencedBy: string,
): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ name, namespace });
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw new TransientError(
      `reading Secret ${namespace}/${name} (${referencedBy}) failed: ${apiMessageOf(err)}`,
    );
  }
}

/** Throws what to add when `secret` lacks one of `keys`. */
export function requireKeys(secret: V1Secret, keys: readonly string[], referencedBy: string): void {
  const missing = keys.filter((k) => secret.data?.[k] === undefined);
  if (missing.length === 0) return;
  const where = `${secret.metadata?.namespace ?? ""}/${secret.metadata?.name ?? ""}`;
  throw new TransientError(
    `Secret ${where} (${referencedBy}) has no key ${missing.map((k) => `"${k}"`).join(", ")}; add it`,
  );
}

/** Reads every reference (Secrets in the resource's own namespace), keyed by the spec path. */
export async function resolveSecretReferences(
  core: CoreV1Api,
  namespace: string,
  refs: readonly SecretReference[],
  resource: string,
): Promise<ResolvedSecrets> {
  const values = new Map<string, string>();
  for (const ref of refs)
    values.set(
      ref.field,
      await readSecretValue(core, namespace, ref.name, ref.key, `${resource} ${ref.field}`),
    );
  return values;
}
