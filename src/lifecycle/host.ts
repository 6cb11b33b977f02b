// Runs a lifecycle machine for one reconcile of one resource, controller-runtime style: restore the
// machine from the CR status, feed it one event built from fresh facts, run the side effect the
// machine asks for (if any) and feed back its outcome, until the machine rests. Returns what to
// persist and when to come back; it never sleeps.
//
// Timers are durable: XState v5 does not persist `after` timers (statelyai/xstate#5331), so a state
// that waits arms a named delay (armTimer), the deadline is stored in status.nextAttemptAt, the work
// queue requeues the key, and when the deadline has passed the host sends RETRY_DUE. A process that
// restarts mid-backoff therefore retries at the original deadline, not earlier and not from zero.
// A teardown blocked by other objects (BlockedError) arms no timer: with no deadline it is due at
// once, so the reconcile that the blocking object's deletion queues tries the teardown again.
// A new generation while Deleting is not a retry: the spec the teardown reads changed (say,
// deletionPolicy set to Retain to release a resource whose Keycloak is gone), so the host sends
// DELETE again, which starts the teardown over now instead of at the old backoff deadline.
//
// The machine is driven with XState's pure transition() API: it returns the next snapshot and the
// actions to execute, so side effects run only when the machine's own transitions say so — after
// its policy guards have passed.
import { initialTransition, transition, type AnyMachineSnapshot } from "xstate";
import type { Decision, DecideFn, PolicyInput } from "../policy/decision.js";
import { loggerFor } from "../observability/logger.js";
import { errorMessage, TransientError } from "./errors.js";
import type { ActorName } from "./implementations.js";
import type { LoadedMachine } from "./loader.js";
import { countTransition } from "./metrics.js";
import {
  ERROR_REASONS,
  policyOutcome,
  restoreFromStatus,
  resumedPhase,
  sentence,
  toStatus,
} from "./status.js";
import type {
  DependencyFacts,
  LifecycleContext,
  LifecycleEvent,
  LifecyclePhase,
  LifecycleStatus,
  StoredStatus,
  ProvisionResult,
  ReconcileFacts,
} from "./types.js";

const log = loggerFor("lifecycle");

/** The policy facts: either a decision already computed, or an input plus the function to decide it. */
export type PolicyFacts =
  { decision: Decision; revision?: string } | { input: PolicyInput; decide: DecideFn; revision?: string };

export interface LifecycleFacts {
  policy: PolicyFacts;
  dependency: DependencyFacts;
}

/** The side effects for one resource; throw TransientError / PermanentError to classify failures. */
export interface LifecycleEffects {
  provision(): Promise<ProvisionResult | void>;
  teardown(): Promise<void>;
}

export interface ReconcileArgs {
  /** What is stored in the CR status (undefined for a new resource). */
  status: StoredStatus | undefined;
  generation: number;
  /** metadata.deletionTimestamp is set. */
  deleting: boolean;
  now: Date;
  /** Needed unless deleting. */
  facts?: LifecycleFacts;
  effects: LifecycleEffects;
  /** Source of jitter in [0, 1); Math.random by default. */
  random?: () => number;
}

export interface LifecycleEventRecord {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export interface ReconcileOutcome {
  /** The status to store: the machine's new one, or the stored one when nothing ran. */
  status: LifecycleStatus | StoredStatus;
  /** Come back after this long (retry / re-check deadline); undefined: only on change. */
  requeueAfterMs?: number;
  /** Kubernetes Events to record on the resource. */
  events: LifecycleEventRecord[];
  /** Teardown finished: remove the finalizer. */
  finalizerReleased: boolean;
  /** The resource rests in a state tagged "resyncs": come back after the resync period. */
  resyncs: boolean;
  transitions: Array<{ from: LifecyclePhase; to: LifecyclePhase }>;
  /** What provision() returned, when it ran and succeeded in this call. */
  provisioned?: ProvisionResult;
  /** Which side effects ran in this call, in order (for logs and tests). */
  effectsRun: ActorName[];
}

/** Guard against a machine that never rests (it cannot with validated files; this is a backstop). */
const MAX_STEPS = 16;

function resolveDecision(policy: PolicyFacts): Decision {
  return "decision" in policy ? policy.decision : policy.decide(policy.input);
}

function phaseOf(snapshot: AnyMachineSnapshot): LifecyclePhase {
  return snapshot.value as LifecyclePhase;
}

function parseDeadline(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** One reconcile of one resource. */
export async function reconcileLifecycle(
  loaded: LoadedMachine,
  args: ReconcileArgs,
): Promise<ReconcileOutcome> {
  const { machine, kind } = loaded;
  const random = args.random ?? Math.random;
  const now = args.now;
  const restored = restoreFromStatus(args.status);
  const deadline = parseDeadline(args.status?.nextAttemptAt);
  const startPhase = restored.phase;
  const context: LifecycleContext = { ...restored.context, armedTimer: undefined };

  const restoredPhase = resumedPhase(startPhase);
  // A new resource starts with the machine's initial transition; a stored one is restored as is.
  let snapshot: AnyMachineSnapshot =
    args.status === undefined
      ? (initialTransition(machine, context)[0] as AnyMachineSnapshot)
      : machine.resolveState({ value: restoredPhase, context });

  const unchanged = (requeueAfterMs?: number): ReconcileOutcome => ({
    status:
      args.status ??
      toStatus({
        phase: restoredPhase,
        context,
        generation: args.generation,
        now,
        nextAttemptAt: undefined,
        previous: undefined,
      }),
    ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
    events: [],
    finalizerReleased: snapshot.status === "done",
    resyncs: snapshot.hasTag("resyncs"),
    transitions: [],
    effectsRun: [],
  });

  let facts: ReconcileFacts | undefined;
  if (args.facts) {
    facts = {
      generation: args.generation,
      decision: resolveDecision(args.facts.policy),
      policyRevision: args.facts.policy.revision,
      dependency: args.facts.dependency,
    };
  }

  const timerState = loaded.timerStates.has(restoredPhase);
  // A missing deadline in a waiting state is treated as due, so a lost field never strands it.
  const due = timerState && (deadline === undefined || deadline.getTime() <= now.getTime());

  let event: LifecycleEvent;
  if (args.deleting) {
    if (snapshot.status === "done") return unchanged();
    const respecified = args.status?.observedGeneration !== args.generation;
    if (!snapshot.hasTag("deleting") || respecified) event = { type: "DELETE" };
    else if (!due) return unchanged(Math.max(0, (deadline as Date).getTime() - now.getTime()));
    else event = { type: "RETRY_DUE", ...(facts ?? {}) };
  } else {
    if (!facts) {
      throw new Error(
        `lifecycle ${kind}: reconcile needs facts (policy decision and dependency readiness) unless the resource is being deleted.`,
      );
    }
    if (snapshot.status === "done" || snapshot.hasTag("deleting")) {
      // Deletion cannot be undone; keep waiting for the deletion path.
      return unchanged();
    }
    event = due ? { type: "RETRY_DUE", ...facts } : { type: "RECONCILE", ...facts };
  }

  const transitions: Array<{ from: LifecyclePhase; to: LifecyclePhase }> = [];
  const effectsRun: ActorName[] = [];
  let provisioned: ProvisionResult | undefined;
  if (startPhase !== restoredPhase) transitions.push({ from: startPhase, to: restoredPhase });

  let current: LifecycleEvent | { type: string; output?: unknown; error?: unknown } = event;
  for (let step = 0; step < MAX_STEPS; step++) {
    const before = phaseOf(snapshot);
    const [next, actions] = transition(machine, snapshot as never, current as never);
    snapshot = next as AnyMachineSnapshot;
    const after = phaseOf(snapshot);
    if (after !== before) transitions.push({ from: before, to: after });

    const spawn = actions.find((a) => a.type === "xstate.spawnChild");
    if (!spawn) break;
    const params = spawn.params as { src: unknown; id: string };
    const src = params.src as ActorName;
    effectsRun.push(src);
    try {
      const output = src === "provision" ? await args.effects.provision() : await args.effects.teardown();
      if (src === "provision") provisioned = output ?? {};
      current = { type: `xstate.done.actor.${params.id}`, output };
    } catch (error) {
      // A rollout under way is waited for, not a failure: it would otherwise warn every few seconds.
      const progressing = error instanceof TransientError && error.progressing;
      log[progressing ? "debug" : "warn"](
        { kind, effect: src, error: errorMessage(error) },
        progressing ? "side effect waits for progress" : "side effect failed",
      );
      current = { type: `xstate.error.actor.${params.id}`, error };
    }
  }

  const endPhase = phaseOf(snapshot);
  const endContext = { ...(snapshot.context as LifecycleContext) };
  let nextAttemptAt: Date | undefined;
  if (endContext.armedTimer !== undefined) {
    const delay = loaded.delays[endContext.armedTimer];
    if (!delay)
      throw new Error(`lifecycle ${kind}: delay "${endContext.armedTimer}" is not defined in ${loaded.file}`);
    nextAttemptAt = new Date(now.getTime() + delay(endContext, random()));
  } else if (
    endPhase === restoredPhase &&
    effectsRun.length === 0 &&
    loaded.timerStates.has(endPhase) &&
    deadline &&
    !due
  ) {
    nextAttemptAt = deadline; // still waiting for the same timer
  }
  endContext.armedTimer = undefined;

  const status = toStatus({
    phase: endPhase,
    context: endContext,
    generation: args.generation,
    now,
    nextAttemptAt,
    previous: args.status,
  });

  for (const t of transitions) countTransition(kind, t.from, t.to);

  const events = eventsFor(args.status, status, endContext, startPhase, facts?.decision);
  const outcome: ReconcileOutcome = {
    status,
    events,
    finalizerReleased: snapshot.status === "done",
    resyncs: snapshot.hasTag("resyncs"),
    transitions,
    effectsRun,
  };
  if (nextAttemptAt) outcome.requeueAfterMs = Math.max(0, nextAttemptAt.getTime() - now.getTime());
  if (provisioned) outcome.provisioned = provisioned;
  return outcome;
}

/**
 * Kubernetes Events for what changed in this reconcile: one when the phase or its reason changed
 * or a retry failed again, plus one when the policies' warnings changed. A steady state records
 * nothing, so a resync does not spam Events.
 */
function eventsFor(
  previous: StoredStatus | undefined,
  status: LifecycleStatus,
  context: LifecycleContext,
  startPhase: LifecyclePhase,
  decision: Decision | undefined,
): LifecycleEventRecord[] {
  const events: LifecycleEventRecord[] = [];
  const prevReady = (previous?.conditions ?? []).find((c) => c.type === "Ready");
  const changed =
    status.phase !== startPhase ||
    prevReady?.reason !== context.reason ||
    (status.attempts > (previous?.attempts ?? 0) && context.reason !== "Provisioned");
  if (changed) {
    let message = context.message;
    if (status.nextAttemptAt) message = `${sentence(message)} Next attempt at ${status.nextAttemptAt}.`;
    events.push({
      type: ERROR_REASONS.has(context.reason) ? "Warning" : "Normal",
      reason: context.reason,
      message,
    });
  }
  if (decision && context.policy?.reason === "CompliantWithWarnings") {
    const prevPolicy = (previous?.conditions ?? []).find((c) => c.type === "PolicyCompliant");
    const outcome = policyOutcome(decision);
    if (prevPolicy?.message !== outcome.message && outcome.reason === "CompliantWithWarnings") {
      events.push({ type: "Warning", reason: "PolicyWarning", message: outcome.message });
    }
  }
  return events;
}
