// How side-effect functions (provision / teardown) tell the lifecycle what kind of failure
// happened. Transient errors are retried with backoff; permanent ones go straight to Failed.
// Anything else thrown is treated as transient: a bug or an unexpected error is retried a few
// times and then lands in Failed with retries exhausted, rather than hiding a fixable outage.
//
// Messages end up in status conditions and Events: never put a secret value in one.

import type { Decision } from "../policy/decision.js";

export type ErrorClass = "transient" | "permanent" | "blocked";

/** Retrying may help: Keycloak unreachable, 5xx, 429, circuit open, a conflict on write. */
export class TransientError extends Error {
  override name = "TransientError";
  readonly errorClass = "transient" as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
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

export function classifyError(error: unknown): ErrorClass {
  if (error instanceof PermanentError) return "permanent";
  return error instanceof BlockedError ? "blocked" : "transient";
}

const MAX_MESSAGE_LENGTH = 1024;

/** A one-line, bounded message for status and Events. */
export function errorMessage(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  const oneLine = raw.replace(/\s+/g, " ").trim() || "unknown error";
  return oneLine.length > MAX_MESSAGE_LENGTH ? `${oneLine.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : oneLine;
}
