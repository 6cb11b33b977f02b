// The operator's finalizer keeps a custom resource in the API server until its external state
// (the Keycloak realm or client) has been cleaned up. Both helpers read the object, compute the
// new finalizer list, and write it with a merge patch that carries the resourceVersion read: the
// API server refuses the write (409) if anyone changed the object in between, and the helper
// reads and tries again. Finalizers owned by others are never dropped.
import type { CustomObjectsApi } from "@kubernetes/client-node";
import { apiMessageOf, statusCodeOf } from "./apiRequest.js";
import { ConflictError, mergePatchOptions, refString, type CustomObjectRef } from "./status.js";

export const FINALIZER = "keycloak.kpo.dev/finalizer";

interface ObjectWithMeta {
  metadata?: { finalizers?: string[]; resourceVersion?: string; deletionTimestamp?: string | Date };
}

export function hasFinalizer(obj: ObjectWithMeta, finalizer = FINALIZER): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

async function updateFinalizers(
  api: CustomObjectsApi,
  ref: CustomObjectRef,
  change: (current: string[], obj: ObjectWithMeta) => string[] | undefined,
  verb: string,
  maxAttempts: number,
): Promise<ObjectWithMeta | undefined> {
  const params = {
    group: ref.group,
    version: ref.version,
    namespace: ref.namespace,
    plural: ref.plural,
    name: ref.name,
  };
  for (let attempt = 1; ; attempt++) {
    let current: ObjectWithMeta;
    try {
      current = (await api.getNamespacedCustomObject(params)) as ObjectWithMeta;
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw new Error(`${verb} finalizer on ${refString(ref)}: reading it failed: ${apiMessageOf(err)}`, {
        cause: err,
      });
    }
    const next = change(current.metadata?.finalizers ?? [], current);
    if (next === undefined) return current;
    try {
      return (await api.patchNamespacedCustomObject(
        {
          ...params,
          body: { metadata: { finalizers: next, resourceVersion: current.metadata?.resourceVersion } },
        },
        mergePatchOptions(),
      )) as ObjectWithMeta;
    } catch (err) {
      const code = statusCodeOf(err);
      if (code === 409 && attempt < maxAttempts) continue;
      if (code === 404) return undefined;
      if (code === 409)
        throw new ConflictError(
          `${verb} finalizer on ${refString(ref)}: kept conflicting with other writers; requeue`,
        );
      throw new Error(`${verb} finalizer on ${refString(ref)} failed: ${apiMessageOf(err)}`, { cause: err });
    }
  }
}

/**
 * Add the finalizer if missing. Returns the object as stored (unchanged if it was there), or
 * undefined if the object no longer exists. Refuses to add one to an object being deleted.
 */
export async function ensureFinalizer(
  api: CustomObjectsApi,
  ref: CustomObjectRef,
  finalizer = FINALIZER,
  maxAttempts = 5,
): Promise<ObjectWithMeta | undefined> {
  return updateFinalizers(
    api,
    ref,
    // The API server forbids new finalizers on an object being deleted; there is nothing to protect.
    (current, obj) =>
      current.includes(finalizer) || obj.metadata?.deletionTimestamp ? undefined : [...current, finalizer],
    "adding",
    maxAttempts,
  );
}

/** Remove the finalizer (after cleanup). Returns the stored object, or undefined if it is gone. */
export async function removeFinalizer(
  api: CustomObjectsApi,
  ref: CustomObjectRef,
  finalizer = FINALIZER,
  maxAttempts = 5,
): Promise<ObjectWithMeta | undefined> {
  return updateFinalizers(
    api,
    ref,
    (current) => (current.includes(finalizer) ? current.filter((f) => f !== finalizer) : undefined),
    "removing",
    maxAttempts,
  );
}
