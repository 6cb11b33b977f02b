// Server-side apply for the objects the operator owns (client credential Secrets, and the
// Deployment/Service of a managed Keycloak). The API server merges the applied fields and records
// the operator's field manager as their owner; `force` takes over fields another manager set, so
// the operator's desired state always wins for the fields it declares, and nothing else is touched.
import { PatchStrategy, type KubernetesObject, type KubernetesObjectApi } from "@kubernetes/client-node";
import { apiMessageOf } from "./apiRequest.js";

export const FIELD_MANAGER = "keycloak-policy-operator";

export interface ApplyOptions {
  fieldManager?: string;
  /** Default true: take ownership of conflicting fields. */
  force?: boolean;
}

/**
 * Apply `desired` (apiVersion, kind, metadata.name/namespace and the fields the operator owns).
 * Errors name the object but never include its content: a Secret's data must not reach a log.
 */
export async function serverSideApply<T extends KubernetesObject>(
  api: KubernetesObjectApi,
  desired: T,
  options: ApplyOptions = {},
): Promise<T> {
  const { kind, apiVersion } = desired;
  const name = desired.metadata?.name;
  if (!kind || !apiVersion || !name) {
    throw new Error("server-side apply needs apiVersion, kind and metadata.name on the desired object");
  }
  // SSA refuses managedFields / resourceVersion from a stale read; send only the declared intent.
  const body = { ...desired, metadata: { ...desired.metadata } };
  delete body.metadata.managedFields;
  delete body.metadata.resourceVersion;
  try {
    return await api.patch<T>(
      body,
      undefined,
      undefined,
      options.fieldManager ?? FIELD_MANAGER,
      options.force ?? true,
      PatchStrategy.ServerSideApply,
    );
  } catch (err) {
    const where = `${kind} ${desired.metadata?.namespace ?? ""}/${name}`;
    // No `cause`: client-node's ApiException text embeds the response and request context, and this
    // error may be about a Secret; the API server's Status message is all a reader needs.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(`server-side apply of ${where} failed: ${apiMessageOf(err)}`);
  }
}
