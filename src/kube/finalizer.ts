// The operator's finalizer keeps a custom resource in the API server until its external state
// (the Keycloak realm or client) has been cleaned up. `withFinalizer` is the one place that decides
// what a reconcile does about it, as a match on (has our finalizer × is being deleted), the way
// kube-rs `kube_runtime::finalizer` does; ensureFinalizer / removeFinalizer are its two writes.
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from "@kubernetes/client-node";
import { apiMessageOf, statusCodeOf } from "./apiRequest.js";
import { ConflictError, refString, type CustomObjectRef } from "./status.js";

export const FINALIZER = "keycloak.kpo.dev/finalizer";

export interface ObjectWithMeta {
  metadata?: { finalizers?: string[]; resourceVersion?: string; deletionTimestamp?: string | Date };
}

export function hasFinalizer(obj: ObjectWithMeta, finalizer = FINALIZER): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

/** What a reconcile hands withFinalizer: the live path and the deletion path. */
export interface FinalizerHandlers<R> {
  /**
   * The object is live and holds our finalizer. `stored` is the object as the API server last
   * returned it (after our finalizer was added, if it was), for resourceVersion preconditions.
   */
  apply(stored: ObjectWithMeta): Promise<R>;
  /** The object is being deleted and holds our finalizer. `release: true` removes it. */
  cleanup(stored: ObjectWithMeta): Promise<{ release: boolean; result: R }>;
}

/**
 * Run a reconcile under the operator's finalizer: one match on (has our finalizer, is deleting).
 *
 * | finalizer | deleting | what happens                                                        |
 * |-----------|----------|---------------------------------------------------------------------|
 * | no        | no       | add it, then `apply` (nothing if the object vanished meanwhile)     |
 * | yes       | no       | `apply`                                                              |
 * | yes       | yes      | `cleanup`; if it says release, remove the finalizer                 |
 * | no        | yes      | nothing: our cleanup finished, or never had anything to clean up    |
 *
 * Guarantees:
 * - `apply` never runs without our finalizer stored on the object, so nothing `apply` creates
 *   outside the cluster can outlive the object without `cleanup` having run.
 * - `cleanup` runs only for an object being deleted that still holds our finalizer, and the
 *   finalizer goes only after a `cleanup` that asked for it. A failed removal runs `cleanup`
 *   again on the next reconcile, so `cleanup` must be idempotent.
 * - A finalizer is never added to an object being deleted (the API server forbids it, and there
 *   would be nothing to protect): an object deleted before its first reconcile is left alone.
 * - The writes touch our entry only, with a JSON-patch `test` precondition: a concurrent change to
 *   the finalizer list fails the test, and the helper re-reads and decides again. Removing ours
 *   never drops a finalizer someone added meanwhile; adding ours never adds it twice.
 */
export async function withFinalizer<R>(
  api: CustomObjectsApi,
  ref: CustomObjectRef,
  obj: ObjectWithMeta,
  handlers: FinalizerHandlers<R>,
  empty: R,
  finalizer = FINALIZER,
): Promise<R> {
  const deleting = Boolean(obj.metadata?.deletionTimestamp);
  switch (`${hasFinalizer(obj, finalizer)}/${deleting}` as const) {
    case "false/false": {
      const stored = await ensureFinalizer(api, ref, finalizer, 5, obj);
      if (!stored || !hasFinalizer(stored, finalizer)) return empty;
      return handlers.apply(stored);
    }
    case "true/false":
      return handlers.apply(obj);
    case "true/true": {
      const { release, result } = await handlers.cleanup(obj);
      if (!release) return result;
      await removeFinalizer(api, ref, finalizer, 5, obj);
      return empty;
    }
    case "false/true":
      return empty;
  }
}

export type JsonPatch = Array<
  | { op: "test"; path: string; value: unknown }
  | { op: "add"; path: string; value: unknown }
  | { op: "remove"; path: string }
>;

/**
 * The JSON patch that adds `finalizer` to an object read with these finalizers and resourceVersion,
 * or undefined if there is nothing to do. The `test` makes the server refuse it if the list changed.
 */
export function addFinalizerPatch(current: ObjectWithMeta, finalizer = FINALIZER): JsonPatch | undefined {
  const list = current.metadata?.finalizers;
  if (list?.includes(finalizer) || current.metadata?.deletionTimestamp) return undefined;
  if (list === undefined) {
    // No list to test: test the whole object's version instead, so that a list added meanwhile
    // (which "add" on /metadata/finalizers would replace) refuses the patch.
    return [
      { op: "test", path: "/metadata/resourceVersion", value: current.metadata?.resourceVersion },
      { op: "add", path: "/metadata/finalizers", value: [finalizer] },
    ];
  }
  return [
    { op: "test", path: "/metadata/finalizers", value: list },
    { op: "add", path: "/metadata/finalizers/-", value: finalizer },
  ];
}

/** The JSON patch that removes `finalizer` by index, tested to still be ours at that index. */
export function removeFinalizerPatch(current: ObjectWithMeta, finalizer = FINALIZER): JsonPatch | undefined {
  const index = current.metadata?.finalizers?.indexOf(finalizer) ?? -1;
  if (index < 0) return undefined;
  const path = `/metadata/finalizers/${index}`;
  return [
    { op: "test", path, value: finalizer },
    { op: "remove", path },
  ];
}

export const jsonPatchOptions = () => setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

async function updateFinalizers(
  api: CustomObjectsApi,
  ref: CustomObjectRef,
  patchFor: (current: ObjectWithMeta) => JsonPatch | undefined,
  verb: string,
  maxAttempts: number,
  cached?: ObjectWithMeta,
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
      // The first attempt patches from the cache's copy: the patch's `test` makes the server refuse
      // it if that copy is out of date (then it is read). A GET per new object saved.
      current =
        attempt === 1 && cached ? cached : ((await api.getNamespacedCustomObject(params)) as ObjectWithMeta);
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw new Error(`${verb} finalizer on ${refString(ref)}: reading it failed: ${apiMessageOf(err)}`, {
        cause: err,
      });
    }
    const patch = patchFor(current);
    if (patch === undefined) return current;
    try {
      return (await api.patchNamespacedCustomObject(
        { ...params, body: patch },
        jsonPatchOptions(),
      )) as ObjectWithMeta;
    } catch (err) {
      const code = statusCodeOf(err);
      if (code === 404) return undefined;
      // 422: a `test` failed (the list changed since it was read); 409: a storage race. Re-read.
      if ((code === 409 || code === 422) && attempt < maxAttempts) continue;
      if (code === 409 || code === 422)
        throw new ConflictError(
          `${verb} finalizer on ${refString(ref)}: kept conflicting with other writers (${apiMessageOf(err)}); requeue`,
          { cause: err },
        );
      throw new Error(`${verb} finalizer on ${refString(ref)} failed: ${apiMessageOf(err)}`, { cause: err });
    }
  }
}

/**
 * Add the finalizer if missing. Returns the object as stored (unchanged if it was there), or
 * undefined if the object no longer exists. Refuses to add one to an object being deleted.
 */
export const ensureFinalizer = (
  api: CustomObjectsApi,
  ref: CustomObjectRef,
  finalizer = FINALIZER,
  maxAttempts = 5,
  cached?: ObjectWithMeta,
) =>
  updateFinalizers(
    api,
    ref,
    (current) => addFinalizerPatch(current, finalizer),
    "adding",
    maxAttempts,
    cached,
  );

/** Remove the finalizer (after cleanup). Returns the stored object, or undefined if it is gone. */
export const removeFinalizer = (
  api: CustomObjectsApi,
  ref: CustomObjectRef,
  finalizer = FINALIZER,
  maxAttempts = 5,
  cached?: ObjectWithMeta,
) =>
  updateFinalizers(
    api,
    ref,
    (current) => removeFinalizerPatch(current, finalizer),
    "removing",
    maxAttempts,
    cached,
  );
