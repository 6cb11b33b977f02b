// Types shared by the lifecycle loader, the machine implementations, the host and the status
// mapping. The status shape here is what the CRDs' `status` holds for every kind (kind-specific
// facts such as a realm's issuer URL are added by the resource reconcilers).
import type { Decision } from "../policy/decision.js";

/** The machine's states; `phase` in the CR status. */
export const PHASES = [
  "Pending",
  "Provisioning",
  "Ready",
  "Degraded",
  "Failed",
  "Deleting",
  "Deleted",
] as const;
export type LifecyclePhase = (typeof PHASES)[number];

export const CONDITION_TYPES = ["Ready", "Reconciling", "Stalled", "PolicyCompliant"] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];
/** The condition types by name, for code that reads a status (`CONDITION.Ready`). */
export const CONDITION: Readonly<{ [T in ConditionType]: T }> = {
  Ready: "Ready",
  Reconciling: "Reconciling",
  Stalled: "Stalled",
  PolicyCompliant: "PolicyCompliant",
};

export type ConditionStatus = "True" | "False" | "Unknown";

/** A Kubernetes condition (metav1.Condition). */
export interface Condition {
  type: string;
  status: ConditionStatus;
  /** CamelCase, machine-readable. */
  reason: string;
  message: string;
  /** RFC 3339; changes only when `status` changes. */
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** The lifecycle part of a CR status. */
export interface LifecycleStatus {
  phase: LifecyclePhase;
  observedGeneration?: number;
  /** Consecutive failed attempts (provisioning or teardown) since the last success or new generation. */
  attempts: number;
  /** RFC 3339 deadline of the next retry / re-check; the durable replacement for an in-memory timer. */
  nextAttemptAt?: string;
  /** Revision of the policy bundle that made the last decision. */
  policyRevision?: string;
  /** The last error (no secrets): what failed and what to do next; absent once it succeeds. */
  lastError?: string;
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
