// How side-effect functions (provision / teardown) tell the lifecycle what kind of failure
// happened, and the one place that decides it (`classifyError`, kube-rs's `error_policy`).
// Transient errors are retried with backoff (Degraded); permanent ones go straight to Failed.
//
// Messages end up in status conditions and Events: never put a secret value in one.

import {
  CircuitOpenError,
  KeycloakApiError,
  KeycloakUnreachableError,
  MissingReferenceError,
  OwnershipError,
  httpStatusOf,
  networkReasonOf,
} from "../keycloak/errors.js";
import type { Decision } from "../policy/decision.js";

export type ErrorClass = "transient" | "permanent" | "blocked";

/** Retrying may help: Keycloak unreachable, 5xx, 429, circuit open, a conflict on write. */
export class TransientError extends Error {
  override name = "TransientError";
  readonly errorClass = "transient" as const;
  /**
   * The Ready condition's reason instead of the generic "TransientError" when the failure has a
   * name of its own that a reader acts on (e.g. "DatabaseUnreachable"). It must be listed in the
   * chart's errorReasons so that it counts as a failure (Warning event, status.lastError).
   */
  readonly reason: string | undefined;
  /**
   * Not a failure yet: the work is done and the world is catching up (a StatefulSet's pods
   * starting). The lifecycle waits in Degraded and checks again at a steady interval (the retry
   * rule's `progressing` variable) without counting an attempt, so a slow rollout never exhausts
   * the retries; a failure that has a diagnosis is thrown without it and counts.
   */
  readonly progressing: boolean;
  constructor(message: string, options?: { cause?: unknown; reason?: string; progressing?: boolean }) {
    super(message, options);
    this.reason = options?.reason;
    this.progressing = options?.progressing ?? false;
  }
}

/** Retrying cannot help until something changes: a 4xx for invalid input, an invalid reference. */
export class PermanentError extends Error {
  override name = "PermanentError";
  readonly errorClass = "permanent" as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The policies, asked again right before a write with facts only Keycloak has (the live composites
 * of the roles a spec grants), deny it. Permanent: nothing is retried until the spec, the policies
 * or those roles change.
 */
export class PolicyDeniedError extends PermanentError {
  override name = "PolicyDeniedError";
  readonly decision: Decision;
  constructor(decision: Decision) {
    const enforced = decision.violations.filter((v) => v.enforcement === "enforce").map((v) => v.message);
    super(enforced.join("; ") || "denied by policy");
    this.decision = decision;
  }
}

/**
 * Not a failure: other Kubernetes objects must go first (an instance waits for the realms that
 * reference it, a realm for its clients). Checking again costs only a cache lookup and the change
 * that unblocks it re-queues the resource, so the lifecycle waits without a backoff timer.
 */
export class BlockedError extends Error {
  override name = "BlockedError";
  readonly errorClass = "blocked" as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const transientStatuses = new Set([408, 425, 429]);

const statusClass = (status: number): ErrorClass =>
  status >= 500 || transientStatuses.has(status) ? "transient" : "permanent";

/**
 * Transient when a retry can succeed without anyone changing anything: a TransientError, network
 * errors, timeouts, 5xx, 429 (and 408/425), an open circuit, a create that conflicts. Permanent: a
 * PermanentError, other 4xx (400/403/404, other 409s), ownership refusals, missing references.
 * A 404 for the realm itself is transient: the realm's own resource creates it.
 *
 * Anything else is `unrecognised`. Thrown by a side effect at large it is transient: a bug or an
 * unexpected error is retried a few times and then lands in Failed with retries exhausted, rather
 * than hiding a fixable outage. Thrown by a Keycloak call (`isTransient`) it is permanent: the
 * Keycloak layer turns every outage into one of its own errors, so what is left is a refusal or a
 * bug that a retry repeats.
 */
export function classifyError(error: unknown, unrecognised: ErrorClass = "transient"): ErrorClass {
  if (error instanceof PermanentError) return "permanent";
  if (error instanceof TransientError) return "transient";
  if (error instanceof BlockedError) return "blocked";
  if (error instanceof CircuitOpenError || error instanceof KeycloakUnreachableError) return "transient";
  if (error instanceof KeycloakApiError) {
    // A create that conflicts means the object appeared between our read and our write (often our
    // own earlier request, still running when the operator restarted): the retry re-reads it and
    // either continues (it is ours) or refuses it with an ownership error.
    if (error.status === 409 && error.context.creates === true) return "transient";
    // The realm itself is missing: its KeycloakRealm has not created it yet (it may be Degraded,
    // waiting for a Secret) or is re-creating it after a deletion by hand. A client or user in it
    // retries with backoff instead of waiting for the Failed re-check.
    if (error.status === 404 && error.realmNotFound) return "transient";
    return statusClass(error.status);
  }
  if (error instanceof OwnershipError || error instanceof MissingReferenceError) return "permanent";
  const status = httpStatusOf(error);
  if (status !== undefined) return statusClass(status);
  if (networkReasonOf(error) !== undefined) return "transient";
  return unrecognised;
}

/** Is a failed Keycloak call worth retrying? `classifyError` with unrecognised errors permanent. */
export function isTransient(error: unknown): boolean {
  return classifyError(error, "permanent") === "transient";
}

const MAX_MESSAGE_LENGTH = 1024;

/** A one-line, bounded message for status and Events. */
export function errorMessage(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  const oneLine = raw.replace(/\s+/g, " ").trim() || "unknown error";
  return oneLine.length > MAX_MESSAGE_LENGTH ? `${oneLine.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : oneLine;
}
