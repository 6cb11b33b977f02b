// The named guards, actions and actors a machine file may reference. Machine files hold the shape;
// these are the small implementations behind each name (XState `setup`). Guards are pure: they
// read the facts carried by the event (the policy decision computed before the machine ran, the
// dependency's readiness, the generation) and the context. Actions only update the context;
// Kubernetes Events and status are derived from the resulting state by the host, in one place.
import { assign, fromPromise, setup } from "xstate";
import type { CompiledRule } from "../policy/rules.js";
import { PolicyDeniedError, TransientError, classifyError, errorMessage } from "./errors.js";
import { isDenied, policyOutcome } from "./status.js";
import type { LifecycleContext, LifecycleEvent, ProvisionResult, ReconcileFacts } from "./types.js";

export const EVENT_TYPES = ["RECONCILE", "RETRY_DUE", "DELETE"] as const;

export const GUARD_NAMES = [
  "dependencyNotReady",
  "policyDenied",
  "generationChanged",
  "failureUnchanged",
  "isPermanentError",
  "isBlocked",
  "isProgressing",
  "retriesExhausted",
] as const;

export const ACTION_NAMES = [
  "recordWaitingForDependency",
  "recordPolicyDenied",
  "recordPolicyAdmitted",
  "recordProvisioned",
  "recordTransientError",
  "recordProgressing",
  "recordPermanentError",
  "recordRetriesExhausted",
  "resetAttempts",
  "recordDeleting",
  "recordTeardownError",
  "recordTeardownBlocked",
  "recordDeleted",
  "armTimer",
  "disarmTimer",
] as const;

/** Actors are the side effects; the host runs the caller's function of the same name. */
export const ACTOR_NAMES = ["provision", "teardown"] as const;
export type ActorName = (typeof ACTOR_NAMES)[number];

/** Actions that take params, and the params they need. */
export const ACTION_PARAMS: Readonly<Partial<Record<(typeof ACTION_NAMES)[number], readonly string[]>>> = {
  armTimer: ["delay"],
};

/** Rules the implementations need, by name, with the variables they receive. */
export const REQUIRED_RULES = {
  retryDelayMs: "number",
  retriesExhausted: "boolean",
  failedRecheckDelayMs: "number",
} as const;

interface ActorDoneEvent {
  type: string;
  output?: unknown;
  error?: unknown;
}

type AnyLifecycleEvent = LifecycleEvent | ActorDoneEvent;

function facts(event: AnyLifecycleEvent, guard: string): ReconcileFacts {
  const e = event as Partial<ReconcileFacts> & { type: string };
  if (!e.decision || !e.dependency || e.generation === undefined) {
    // A machine file wired a fact-reading guard/action to an event that carries no facts.
    throw new Error(
      `lifecycle: "${guard}" needs reconcile facts (generation, decision, dependency) but event ${e.type} has none; attach it to RECONCILE or RETRY_DUE only.`,
    );
  }
  return e as ReconcileFacts;
}

/** Builds the XState setup for one machine file: its rules and the kind it depends on. */
export function lifecycleSetup(rules: Readonly<Record<string, CompiledRule>>, dependencyKind: string) {
  const rule = (name: string): CompiledRule => {
    const r = rules[name];
    if (!r) throw new Error(`lifecycle: rule "${name}" was not loaded`);
    return r;
  };
  return setup({
    types: {
      context: {} as LifecycleContext,
      events: {} as AnyLifecycleEvent,
      input: {} as LifecycleContext,
    },
    guards: {
      dependencyNotReady: ({ event }) => !facts(event, "dependencyNotReady").dependency.ready,
      policyDenied: ({ event }) => isDenied(facts(event, "policyDenied").decision),
      generationChanged: ({ context, event }) =>
        facts(event, "generationChanged").generation !== context.observedGeneration,
      // A Failed resource is looked at again before its re-check timer only when something that
      // could change the outcome changed: the spec, the policy bundle, or the decision itself.
      failureUnchanged: ({ context, event }) => {
        const f = facts(event, "failureUnchanged");
        if (f.generation !== context.observedGeneration) return false;
        if (f.policyRevision !== context.policyRevision) return false;
        if (context.reason === "PolicyDenied" && !isDenied(f.decision)) return false;
        return true;
      },
      isPermanentError: ({ event }) => classifyError((event as ActorDoneEvent).error) === "permanent",
      isBlocked: ({ event }) => classifyError((event as ActorDoneEvent).error) === "blocked",
      isProgressing: ({ event }) => {
        const error = (event as ActorDoneEvent).error;
        return error instanceof TransientError && error.progressing;
      },
      retriesExhausted: ({ context }) =>
        rule("retriesExhausted").evaluate({ attempts: context.attempts + 1 }) === true,
    },
    actions: {
      recordWaitingForDependency: assign(({ event }) => {
        const f = facts(event, "recordWaitingForDependency");
        return {
          observedGeneration: f.generation,
          reason: f.dependency.reason ?? "DependencyNotReady",
          message: f.dependency.message ?? `Waiting for the ${dependencyKind} to be Ready.`,
        };
      }),
      recordPolicyDenied: assign(({ event }) => {
        const f = facts(event, "recordPolicyDenied");
        const policy = policyOutcome(f.decision);
        return {
          observedGeneration: f.generation,
          policyRevision: f.policyRevision,
          policy,
          reason: "PolicyDenied",
          message: `Denied by policy: ${policy.message}`,
        };
      }),
      recordPolicyAdmitted: assign(({ event }) => {
        const f = facts(event, "recordPolicyAdmitted");
        return {
          observedGeneration: f.generation,
          policyRevision: f.policyRevision,
          policy: policyOutcome(f.decision),
          reason: "Provisioning",
          message: "Applying the spec.",
        };
      }),
      recordProvisioned: assign(({ event }) => {
        const output = (event as ActorDoneEvent).output as ProvisionResult | undefined;
        return {
          attempts: 0,
          reason: "Provisioned",
          message: output?.message ?? "The resource matches its spec.",
        };
      }),
      recordTransientError: assign(({ context, event }) => {
        const error = (event as ActorDoneEvent).error;
        return {
          attempts: context.attempts + 1,
          reason: (error instanceof TransientError ? error.reason : undefined) ?? "TransientError",
          message: errorMessage(error),
          progressing: false,
        };
      }),
      // Waiting for progress is not a failed attempt: the count stays, and the delay rule is told.
      recordProgressing: assign(({ event }) => {
        const error = (event as ActorDoneEvent).error;
        return {
          reason: (error instanceof TransientError ? error.reason : undefined) ?? "TransientError",
          message: errorMessage(error),
          progressing: true,
        };
      }),
      recordPermanentError: assign(({ context, event }) => {
        const error = (event as ActorDoneEvent).error;
        if (error instanceof PolicyDeniedError) {
          // A denial at the last check before writing reads like one from the guard; no attempt is
          // counted, so a re-check that is denied again records nothing new.
          const policy = policyOutcome(error.decision);
          return { policy, reason: "PolicyDenied", message: `Denied by policy: ${policy.message}` };
        }
        return {
          attempts: context.attempts + 1,
          reason: "PermanentError",
          message: `${errorMessage(error)} (not retried: fix the spec or the referenced objects)`,
        };
      }),
      recordRetriesExhausted: assign(({ context, event }) => ({
        attempts: context.attempts + 1,
        reason: "RetriesExhausted",
        message: `Gave up after ${context.attempts + 1} attempts; last error: ${errorMessage((event as ActorDoneEvent).error)}`,
      })),
      resetAttempts: assign({ attempts: 0 }),
      // Attempts are reset by the DELETE transition, not by a retry of the teardown.
      recordDeleting: assign({ reason: "Deleting", message: "Tearing down." }),
      recordTeardownError: assign(({ context, event }) => ({
        attempts: context.attempts + 1,
        reason: "TeardownFailed",
        message: `Teardown failed, will retry: ${errorMessage((event as ActorDoneEvent).error)}`,
      })),
      // Waiting for other objects is not a failed attempt: no attempt is counted, no timer armed.
      recordTeardownBlocked: assign(({ event }) => ({
        reason: "DeletionBlocked",
        message: errorMessage((event as ActorDoneEvent).error),
      })),
      recordDeleted: assign({
        attempts: 0,
        reason: "Deleted",
        message: "Teardown finished; finalizer released.",
      }),
      armTimer: assign((_, params: { delay: string }) => ({ armedTimer: params.delay })),
      // Leaving a waiting state cancels its timer, as XState does for `after`, and ends the wait
      // for progress that may have armed it.
      disarmTimer: assign({ armedTimer: undefined, progressing: false }),
    },
    actors: {
      // Placeholders: the host never starts actors itself; it runs the caller's effect named by
      // `src` and feeds back done/error events. Starting these directly is a wiring mistake.
      provision: fromPromise<ProvisionResult>(() =>
        Promise.reject(
          new Error("lifecycle: run machines through reconcileLifecycle, which supplies provision()"),
        ),
      ),
      teardown: fromPromise<void>(() =>
        Promise.reject(
          new Error("lifecycle: run machines through reconcileLifecycle, which supplies teardown()"),
        ),
      ),
    },
  });
}

export type LifecycleSetup = ReturnType<typeof lifecycleSetup>;
export type LifecycleMachine = ReturnType<LifecycleSetup["createMachine"]>;
