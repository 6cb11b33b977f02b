// What differs between the three kinds, as one small interface. Everything they share — finalizer,
// lifecycle machine, status, events, requeue — lives once in reconciler.ts.
import type { KeycloakResource } from "../api/index.js";
import type { Logger } from "../observability/logger.js";
import type { PolicyInput } from "../policy/decision.js";
import type { DependencyFacts } from "../lifecycle/types.js";

export interface ProvisionOutcome {
  /** Goes into the Ready condition's message. */
  message?: string;
  /** Kind-specific status facts (realm issuer, client Secret name, instance version). */
  status?: Record<string, unknown>;
}

/** The reason of the Warning event when a teardown released a resource without cleaning up Keycloak. */
export const KEYCLOAK_CLEANUP_SKIPPED = "KeycloakCleanupSkipped";

export interface TeardownOutcome {
  /** Teardown finished but had to leave something behind (a Warning event says what and why). */
  warning?: { reason: string; message: string };
  /** Something a reader needs to find later (a backup taken before a deletion): a Normal event. */
  notice?: { reason: string; message: string };
}

/**
 * Status facts a teardown established before it finished (the backup it stored), handed over as
 * soon as they hold: written with the status if the teardown then fails, so the retry's reader sees
 * them; lost with the object once it is released, which is why the lasting record is an event.
 */
export type TeardownNote = (status: Record<string, unknown>) => void;

/**
 * What to say when nothing can reach Keycloak any more (`gone`: the instance or realm that went):
 * waiting would keep the resource Deleting forever, so it is released with a Warning.
 */
export function cleanupSkipped(gone: string, what: string): TeardownOutcome {
  return {
    warning: {
      reason: KEYCLOAK_CLEANUP_SKIPPED,
      message: `${gone} is gone, so ${what} could not be deleted from Keycloak and may still exist there; the finalizer was released`,
    },
  };
}

export interface KindHandler<T extends KeycloakResource> {
  /** Is what this resource depends on Ready? */
  dependency(obj: T): DependencyFacts;
  /** The document the policies decide on, gathered from the caches. */
  policyInput(obj: T): PolicyInput;
  /** Make Keycloak (and owned objects) match the spec. Throw TransientError / PermanentError. */
  provision(obj: T, log: Logger): Promise<ProvisionOutcome>;
  /** Undo provision as deletionPolicy says. */
  teardown(obj: T, log: Logger, note: TeardownNote): Promise<TeardownOutcome | void>;
}
