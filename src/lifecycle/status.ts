// The single mapping between the machine (state + context) and the CR status: phase,
// kstatus-compatible conditions (Ready, Reconciling, Stalled) so Flux and Argo CD read health,
// PolicyCompliant with the policy's own messages, and the retry bookkeeping. The reverse mapping
// (status -> context) lives here too so both directions stay in step.
import type { Decision } from "../policy/decision.js";
import { phaseFacts, phaseHasTag } from "./phases.js";
import {
  PHASES,
  type Condition,
  type ConditionStatus,
  type LifecycleContext,
  type LifecyclePhase,
  type LifecycleStatus,
  type StoredStatus,
  type PolicyOutcome,
} from "./types.js";

export { CONDITION, CONDITION_TYPES, type ConditionType } from "./types.js";

/**
 * Reasons that describe a failure or a blocked deletion (Warning events); their message is also
 * status.lastError. The list is the chart's `errorReasons`.
 */
export const ERROR_REASONS: ReadonlySet<string> = phaseFacts().errorReasons;

/** Optional lifecycle fields: absent in a new status means "clear it". */
const CLEARABLE_FIELDS = ["nextAttemptAt", "lastError", "policyRevision"] as const;

/**
 * A JSON merge patch body for the status subresource. A merge patch keeps keys it does not
 * mention, so a field the lifecycle dropped (a retry deadline after success, a cleared error) is
 * sent as null to delete it.
 */
export function statusMergePatch(
  stored: Record<string, unknown> | undefined,
  next: StoredStatus,
): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...next };
  for (const field of CLEARABLE_FIELDS) {
    if (next[field] === undefined && stored?.[field] !== undefined && stored[field] !== null)
      patch[field] = null;
  }
  return patch;
}

export function initialContext(): LifecycleContext {
  return {
    attempts: 0,
    observedGeneration: undefined,
    policyRevision: undefined,
    reason: "Created",
    message: "The resource has not been reconciled yet.",
    policy: undefined,
    armedTimer: undefined,
    progressing: false,
  };
}

function isPhase(value: unknown): value is LifecyclePhase {
  return typeof value === "string" && (PHASES as readonly string[]).includes(value);
}

/**
 * The phase a stored phase resumes in (the chart's `meta.resumesAs`). A crash while Provisioning
 * leaves no running actor to resume: it starts over from Pending, which re-evaluates the guards
 * before running the side effect again.
 */
export function resumedPhase(phase: LifecyclePhase): LifecyclePhase {
  return phaseFacts().resumedPhase(phase);
}

/** Rebuilds the machine state and context from a stored status (undefined: a new resource). */

export function restoreFromStatus(status: StoredStatus | undefined): {
  phase: LifecyclePhase;
  context: LifecycleContext;
} {
  const context = initialContext();
  if (!status || !isPhase(status.phase)) return { phase: "Pending", context };
  const ready = status.conditions?.find((c) => c.type === "Ready");
  const policy = status.conditions?.find((c) => c.type === "PolicyCompliant");
  const attempts = status.attempts ?? 0;
  context.attempts = Number.isInteger(attempts) && attempts > 0 ? attempts : 0;
  context.observedGeneration = status.observedGeneration;
  context.policyRevision = status.policyRevision;
  if (ready) {
    context.reason = ready.reason;
    context.message = ready.message;
  }
  if (policy && policy.status !== "Unknown") {
    context.policy = { compliant: policy.status === "True", reason: policy.reason, message: policy.message };
  }
  return { phase: status.phase, context };
}

/** Summarises a decision for the PolicyCompliant condition; denied means an enforce violation. */
export function policyOutcome(decision: Decision): PolicyOutcome {
  const enforced = decision.violations.filter((v) => v.enforcement === "enforce");
  if (!decision.allowed || enforced.length > 0) {
    const messages = enforced.length > 0 ? enforced.map((v) => v.message) : ["denied by policy"];
    return { compliant: false, reason: "PolicyDenied", message: messages.join("; ") };
  }
  const warned = decision.violations.filter((v) => v.enforcement === "warn").map((v) => v.message);
  const warnings = [...new Set([...warned, ...decision.warnings])];
  const dryrun = decision.violations.filter((v) => v.enforcement === "dryrun").map((v) => v.message);
  if (warnings.length > 0) {
    const extra = dryrun.length > 0 ? `; dry-run (not enforced): ${dryrun.join("; ")}` : "";
    return {
      compliant: true,
      reason: "CompliantWithWarnings",
      message: `Allowed with warnings: ${warnings.join("; ")}${extra}`,
    };
  }
  if (dryrun.length > 0) {
    return {
      compliant: true,
      reason: "CompliantWithDryRunViolations",
      message: `Allowed; dry-run policies would deny: ${dryrun.join("; ")}`,
    };
  }
  return { compliant: true, reason: "Compliant", message: "All policies allow this resource." };
}

export function isDenied(decision: Decision): boolean {
  return !policyOutcome(decision).compliant;
}

function condition(
  type: string,
  status: ConditionStatus,
  reason: string,
  message: string,
  previous: readonly Condition[],
  now: Date,
  generation: number | undefined,
): Condition {
  const before = previous.find((c) => c.type === type);
  // kstatus and metav1.Condition: the transition time moves only when the status flips.
  const lastTransitionTime =
    before && before.status === status ? before.lastTransitionTime : now.toISOString();
  const result: Condition = { type, status, reason, message, lastTransitionTime };
  if (generation !== undefined) result.observedGeneration = generation;
  return result;
}

/** Ends a message with a full stop so that another sentence can follow it. */
export function sentence(message: string): string {
  return /[.!?…]$/.test(message) ? message : `${message}.`;
}

export interface StatusInputs {
  phase: LifecyclePhase;
  context: LifecycleContext;
  generation: number;
  now: Date;
  nextAttemptAt: Date | undefined;
  previous: StoredStatus | undefined;
}

/** Builds the status to persist. */
export function toStatus({
  phase,
  context,
  generation,
  now,
  nextAttemptAt,
  previous,
}: StatusInputs): LifecycleStatus {
  const prev = previous?.conditions ?? [];
  const when = nextAttemptAt ? nextAttemptAt.toISOString() : undefined;
  const conditions: Condition[] = [];

  const readyTrue = phaseHasTag(phase, "ready");
  conditions.push(
    condition("Ready", readyTrue ? "True" : "False", context.reason, context.message, prev, now, generation),
  );

  const reconciling = phaseHasTag(phase, "reconciling");
  let reconcilingMessage = reconciling ? context.message : `Not reconciling: the resource is ${phase}.`;
  if (reconciling && when)
    reconcilingMessage += ` Next attempt at ${when} (attempt ${context.attempts + 1}).`;
  conditions.push(
    condition(
      "Reconciling",
      reconciling ? "True" : "False",
      reconciling ? context.reason : phase,
      reconcilingMessage,
      prev,
      now,
      generation,
    ),
  );

  const stalled = phaseHasTag(phase, "stalled");
  let stalledMessage = stalled ? context.message : "The resource is not stalled.";
  if (stalled && when) {
    stalledMessage = `${sentence(stalledMessage)} Re-checked at ${when}, or sooner on a spec or policy change.`;
  }
  conditions.push(
    condition(
      "Stalled",
      stalled ? "True" : "False",
      stalled ? context.reason : "NotStalled",
      stalledMessage,
      prev,
      now,
      generation,
    ),
  );

  const policy = context.policy;
  conditions.push(
    policy
      ? condition(
          "PolicyCompliant",
          policy.compliant ? "True" : "False",
          policy.reason,
          policy.message,
          prev,
          now,
          generation,
        )
      : condition(
          "PolicyCompliant",
          "Unknown",
          "NotEvaluated",
          "The policies have not been evaluated yet.",
          prev,
          now,
          generation,
        ),
  );

  const status: LifecycleStatus = {
    phase,
    observedGeneration: generation,
    attempts: context.attempts,
    conditions,
  };
  if (when) status.nextAttemptAt = when;
  if (ERROR_REASONS.has(context.reason)) status.lastError = context.message;
  if (context.policyRevision !== undefined) status.policyRevision = context.policyRevision;
  return status;
}
