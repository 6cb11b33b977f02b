// The optional objects of a managed instance (render.ts `OptionalObject`: PodDisruptionBudget,
// NetworkPolicy, Ingress, ServiceMonitor): finding the stored one, and removing it once its spec
// field is unset. provision.ts applies an enabled one like every other object (applyOwned).
//
// Removal is the dangerous half, so it is narrow: only an object the instance owns (controller
// owner reference with its uid) and that carries the operator's labels is deleted, with the uid as
// a precondition so that an object re-created meanwhile under the same name is not. Anything else
// of that name is someone else's and left alone.
//
// The ServiceMonitor's kind belongs to the Prometheus Operator and may not exist. client-node
// resolves a kind through API discovery before each request; there is no public call for that, so
// the answer is read off the request itself: a missing object is a 404 carrying a Status with
// reason NotFound, a missing API group is a bare 404 ("404 page not found") from discovery, and a
// group that lacks the kind is client-node's "Unrecognized API version and kind".
import { ApiException, type KubernetesObject, type KubernetesObjectApi } from "@kubernetes/client-node";
import type { KeycloakInstance } from "../api/index.js";
import { apiMessageOf } from "../kube/apiRequest.js";
import { objectKey } from "../kube/objectKey.js";
import { TransientError } from "../lifecycle/errors.js";
import { loggerFor } from "../observability/logger.js";
import { isRenderedFor, type OptionalObject } from "./render.js";

const log = loggerFor("managed");

export type Lookup = { served: false } | { served: true; existing: KubernetesObject | undefined };

function refText(optional: OptionalObject): string {
  const m = optional.ref.metadata;
  return `${optional.ref.kind} ${m.namespace}/${m.name} (${optional.field})`;
}

function isStatusNotFound(err: ApiException<unknown>): boolean {
  const body: unknown = typeof err.body === "string" ? safeParse(err.body) : err.body;
  return typeof body === "object" && body !== null && (body as { reason?: unknown }).reason === "NotFound";
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The stored object of `optional`'s name, or that the API server does not serve its kind. */
export async function lookUp(objects: KubernetesObjectApi, optional: OptionalObject): Promise<Lookup> {
  try {
    return { served: true, existing: await objects.read(structuredClone(optional.ref)) };
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) {
      return isStatusNotFound(err) ? { served: true, existing: undefined } : { served: false };
    }
    if (err instanceof Error && err.message.startsWith("Unrecognized API version and kind")) {
      return { served: false };
    }
    throw new TransientError(`reading ${refText(optional)} failed: ${apiMessageOf(err)}`);
  }
}

/** Instances (uid and kind) already told that their object's kind is not served. */
const toldUnserved = new Set<string>();

/**
 * An enabled object whose kind the API server does not serve is skipped, not failed: the rest of the
 * instance works without it. Said once per instance and kind until the kind is served.
 */
export function noteServed(instance: KeycloakInstance, optional: OptionalObject, served: boolean): void {
  const id = `${instance.metadata.uid ?? ""}/${optional.ref.apiVersion}/${optional.ref.kind}`;
  if (served || !optional.rendered) {
    toldUnserved.delete(id);
    return;
  }
  if (toldUnserved.has(id)) return;
  toldUnserved.add(id);
  log.warn(
    { instance: objectKey(instance), apiVersion: optional.ref.apiVersion, kind: optional.ref.kind },
    `KeycloakInstance ${objectKey(instance)}: ${optional.field} is enabled, but the API server serves no ` +
      `${optional.ref.apiVersion} ${optional.ref.kind}; install its CRD (the Prometheus Operator's) and ` +
      `it is created at the next reconcile, or disable the field`,
  );
}

/** Deletes `existing` if it is this instance's rendering; leaves anything else alone. */
export async function removeRendered(
  objects: KubernetesObjectApi,
  instance: KeycloakInstance,
  optional: OptionalObject,
  existing: KubernetesObject,
): Promise<void> {
  if (!isRenderedFor(instance, existing)) return;
  try {
    await objects.delete(
      structuredClone(optional.ref),
      undefined,
      undefined,
      undefined,
      undefined,
      "Background",
      { preconditions: { uid: existing.metadata?.uid ?? "" } },
    );
  } catch (err) {
    // Gone already, or replaced by another object of that name meanwhile (the uid precondition).
    if (err instanceof ApiException && (err.code === 404 || err.code === 409)) return;
    throw new TransientError(
      `removing ${refText(optional)} after the field was unset failed: ${apiMessageOf(err)}`,
    );
  }
}
