// Status writes go to the /status subresource with a JSON merge patch, so the operator never
// overwrites spec or metadata and never needs the whole object. client-node 1.x picks
// `application/json-patch+json` for custom-object patches by default; the Content-Type is set
// explicitly through its middleware options (setHeaderOptions), otherwise the API server would
// read `{"status": ...}` as a malformed JSON patch.
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from "@kubernetes/client-node";
import { apiMessageOf, statusCodeOf } from "./apiRequest.js";

/** Which custom object: API group, version, plural, namespace and name. */
export interface CustomObjectRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

export function refString(ref: CustomObjectRef): string {
  return `${ref.plural}.${ref.group} ${ref.namespace}/${ref.name}`;
}

/** A write lost a race: the object changed since it was read. Requeue and reconcile again. */
export class ConflictError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConflictError";
  }
}

export const mergePatchOptions = () => setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export interface PatchStatusOptions {
  /**
   * Only write if the object is still at this resourceVersion (a precondition): a 409 then
   * throws ConflictError instead of being retried.
   */
  resourceVersion?: string;
  /** Attempts on 409 without a precondition (admission webhooks, storage races). Default 5. */
  maxAttempts?: number;
}

/**
 * Merge-patch `status` into the object's /status subresource. Fields absent from `status` are
 * kept; a field set to null is removed (RFC 7386). Returns the object as stored.
 */
export async function patchStatus(
  api: CustomObjectsApi,
  ref: CustomObjectRef,
  status: Record<string, unknown>,
  options: PatchStatusOptions = {},
): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = { status };
  if (options.resourceVersion) body.metadata = { resourceVersion: options.resourceVersion };
  const maxAttempts = options.resourceVersion ? 1 : (options.maxAttempts ?? 5);
  for (let attempt = 1; ; attempt++) {
    try {
      return (await api.patchNamespacedCustomObjectStatus(
        {
          group: ref.group,
          version: ref.version,
          namespace: ref.namespace,
          plural: ref.plural,
          name: ref.name,
          body,
        },
        mergePatchOptions(),
      )) as Record<string, unknown>;
    } catch (err) {
      const code = statusCodeOf(err);
      if (code === 409 && attempt < maxAttempts) {
        await new Promise((r) => setTimeout(r, 20 * 2 ** attempt * (0.5 + Math.random() / 2)));
        continue;
      }
      const what = `status patch of ${refString(ref)} failed`;
      if (code === 409)
        throw new ConflictError(
          `${what}: the object changed (resourceVersion precondition); requeue and retry`,
          { cause: err },
        );
      if (code === 404) {
        throw new Error(
          `${what}: ${apiMessageOf(err)}; the object was deleted, or its CRD has no status subresource`,
          { cause: err },
        );
      }
      throw new Error(`${what}: ${apiMessageOf(err)}`, { cause: err });
    }
  }
}
