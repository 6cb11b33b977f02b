// Types shared by the lifecycle loader, the machine implementations, the host and the status
// mapping. The status shape here is what the CRDs' `status` holds for every kind (kind-specific
// facts such as a realm's issuer URL are added by the resource reconcilers).
import {
  CONDITION_TYPES,
  PHASES as STATUS_PHASES,
  type CommonStatus,
  type Condition,
  type ConditionStatus,
  type ConditionType,
  type Phase,
} from "../api/index.js";
import type { Decision } from "../policy/decision.js";

/**
 * The machine's states: every status phase (src/api, from the CRDs), plus `Deleted`, the final
 * state once the finalizer is released, which no status ever holds.
 */
export const PHASES = [...STATUS_PHASES, "Deleted"] as const;
export type LifecyclePhase = Phase | "Deleted";

export { CONDITION_TYPES, type Condition, type ConditionStatus, type ConditionType };
/** The condition types by name, for code that reads a status (`CONDITION.Ready`). */
export const CONDITION: Readonly<{ [T in ConditionType]: T }> = {
  Ready: "Ready",
  Reconciling: "Reconciling",
  Stalled: "Stalled",
  PolicyCompliant: "PolicyCompliant",
};

/**
 * The lifecycle part of a CR status as read back: what the machine restores from. Any field may be
 * missing and the phase is checked before use (a status is writable by anyone with that right).
 */
export type StoredStatus = Omit<CommonStatus, "phase"> & { phase?: string };

/** The lifecycle part of a CR status as the machine writes it: every field it owns is set. */
export interface LifecycleStatus extends Omit<CommonStatus, "phase" | "attempts" | "conditions"> {
  phase: LifecyclePhase;
  /** Consecutive failed attempts (provisioning or teardown) since the last success or new generation. */
  attempts: number;
  conditions: Condition[];
}

/** What the policies said, as recorded in the machine context and the PolicyCompliant condition. */
export interface PolicyOutcome {
  compliant: boolean;
  reason: string;
  message: string;
}

/** Machine context: everything a guard or action needs, restorable from LifecycleStatus. */
export interface LifecycleContext {
  attempts: number;
  observedGeneration: number | undefined;
  policyRevision: string | undefined;
  /** Why the resource is in its current state (CamelCase) and a human message. */
  reason: string;
  message: string;
  policy: PolicyOutcome | undefined;
  /** Set by the `armTimer` action during one reconcile; the host turns it into nextAttemptAt. */
  armedTimer: string | undefined;
  /**
   * Set by `recordProgressing` during one reconcile (never stored): the side effect is waiting for
   * progress, not failing, and the retry delay rule is evaluated with `progressing` true.
   */
  progressing: boolean;
}

export interface DependencyFacts {
  ready: boolean;
  /** CamelCase reason, e.g. "InstanceNotReady". */
  reason?: string;
  /** Which object is not Ready and why, e.g. "KeycloakInstance kc/main is Degraded: ...". */
  message?: string;
}

/** The facts a RECONCILE / RETRY_DUE event carries, gathered before the machine runs. */
export interface ReconcileFacts {
  generation: number;
  decision: Decision;
  policyRevision: string | undefined;
  dependency: DependencyFacts;
}

export type LifecycleEvent =
  | ({ type: "RECONCILE" } & ReconcileFacts)
  | ({ type: "RETRY_DUE" } & Partial<ReconcileFacts>)
  | { type: "DELETE" };

/** What a successful provision returns; `message` goes into the Ready condition. */
export interface ProvisionResult {
  message?: string;
}
