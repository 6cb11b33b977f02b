// Model-based tests of the lifecycle machines. xstate/graph explores each machine file's
// statechart over an alphabet of realistic events (reconcile facts, deletes, due timers, side
// effect outcomes); every state and every transition branch of every machine must be reached.
// Each explored path is then replayed against the real host (reconcileLifecycle) with a simulated
// clock and fake side effects, and the host must agree with the model step by step: same phase,
// same attempt count, exactly the side effects the model started (so none after a deny), timers
// that fire at their deadline.
import { describe, expect, it } from "vitest";
import { getAdjacencyMap, getShortestPaths, getStateNodes, type StatePath } from "xstate/graph";
import { transition, type AnyMachineSnapshot, type AnyStateNode, type AnyTransitionDefinition } from "xstate";
import type { Decision } from "../../src/policy/decision.js";
import { BlockedError, PermanentError, TransientError } from "../../src/lifecycle/errors.js";
import { reconcileLifecycle, type LifecycleEffects } from "../../src/lifecycle/host.js";
import { loadMachines, type LoadedMachine } from "../../src/lifecycle/loader.js";
import { initialContext } from "../../src/lifecycle/status.js";
import type { LifecycleContext, ReconcileFacts, StoredStatus } from "../../src/lifecycle/types.js";

type ModelEvent = { type: string } & Partial<ReconcileFacts> & { output?: unknown; error?: unknown };
type Path = StatePath<AnyMachineSnapshot, ModelEvent>;

const ALLOW: Decision = { allowed: true, violations: [], warnings: [] };
const DENY: Decision = {
  allowed: false,
  violations: [
    {
      policy: "authorization",
      code: "RealmNamespaceNotGranted",
      message: "namespace team-a is not granted on instance kc/main; add it to spec.realmGrants",
      enforcement: "enforce",
    },
  ],
  warnings: [],
};

const ctxOf = (s: AnyMachineSnapshot): LifecycleContext => s.context as LifecycleContext;
const childIds = (s: AnyMachineSnapshot): string[] =>
  Object.keys(s.children as Record<string, unknown>).sort();

/** The inputs the host can actually produce in a given state. */
function eventsFor(s: AnyMachineSnapshot, loaded: LoadedMachine): ModelEvent[] {
  const value = s.value as string;
  if (s.status !== "active") return [];
  const children = childIds(s);
  if (children.includes("provision")) {
    return [
      { type: "xstate.done.actor.provision", output: { message: "Realm applied." } },
      { type: "xstate.error.actor.provision", error: new TransientError("Keycloak answered 503") },
      {
        type: "xstate.error.actor.provision",
        error: new TransientError("StatefulSet kc/main: 0/1 pods ready", { progressing: true }),
      },
      {
        type: "xstate.error.actor.provision",
        error: new PermanentError("Keycloak answered 400: invalid realm name"),
      },
    ];
  }
  // Waiting in Deleting, after a failed (timer armed) or a blocked (no timer) teardown: the timer
  // fires, or the spec changes (the host sends DELETE again for a new generation).
  if (value === "Deleting" && (ctxOf(s).armedTimer !== undefined || ctxOf(s).reason === "DeletionBlocked"))
    return [{ type: "RETRY_DUE" }, { type: "DELETE" }];
  if (children.includes("teardown")) {
    return [
      { type: "xstate.done.actor.teardown" },
      // Teardown retries forever; two failures in a row are enough to exercise the loop. A blocked
      // teardown is a failure like any other in a machine without an isBlocked branch.
      ...(ctxOf(s).attempts < 2
        ? [
            { type: "xstate.error.actor.teardown", error: new TransientError("Keycloak unreachable") },
            {
              type: "xstate.error.actor.teardown",
              error: new BlockedError("2 KeycloakClient(s) still reference this realm"),
            },
          ]
        : []),
    ];
  }
  const ctx = ctxOf(s);
  const gen = ctx.observedGeneration ?? 1;
  const rev = ctx.policyRevision ?? "r1";
  const events: ModelEvent[] = [{ type: "DELETE" }];
  for (const generation of [...new Set([gen, Math.min(gen + 1, 2)])]) {
    for (const policyRevision of [...new Set([rev, "r2"])]) {
      for (const decision of [ALLOW, DENY]) {
        for (const ready of [true, false]) {
          events.push({ type: "RECONCILE", generation, policyRevision, decision, dependency: { ready } });
        }
      }
    }
  }
  if (loaded.timerStates.has(value)) {
    for (const decision of [ALLOW, DENY]) {
      for (const ready of [true, false]) {
        events.push({
          type: "RETRY_DUE",
          generation: gen,
          policyRevision: rev,
          decision,
          dependency: { ready },
        });
      }
    }
  }
  return events;
}

function serializeEvent(e: ModelEvent): string {
  return JSON.stringify({
    type: e.type,
    g: e.generation,
    r: e.policyRevision,
    d: e.decision?.allowed,
    ready: e.dependency?.ready,
    err: e.error instanceof Error ? e.error.name : undefined,
    progressing: e.error instanceof TransientError ? e.error.progressing : undefined,
  });
}

// The abstraction of a snapshot that every guard depends on (messages are not part of it).
function serializeState(s: AnyMachineSnapshot): string {
  const c = ctxOf(s);
  return JSON.stringify({
    v: s.value as string,
    a: c.attempts,
    g: c.observedGeneration,
    r: c.policyRevision,
    denied: c.reason === "PolicyDenied",
    blocked: c.reason === "DeletionBlocked",
    ch: childIds(s),
    t: c.armedTimer,
  });
}

const options = (loaded: LoadedMachine) => ({
  events: (s: AnyMachineSnapshot) => eventsFor(s, loaded),
  serializeState: (s: AnyMachineSnapshot) => serializeState(s),
  serializeEvent,
  fromState: loaded.machine.resolveState({ value: "Pending", context: initialContext() }),
});

function branchId(t: AnyTransitionDefinition): string {
  const list =
    (t.source.transitions as Map<string, AnyTransitionDefinition[]>).get(t.eventType as string) ?? [];
  return `${t.source.id} ${t.eventType} #${list.indexOf(t)}`;
}

function allBranches(loaded: LoadedMachine): Set<string> {
  const nodes: AnyStateNode[] = [loaded.machine.root, ...getStateNodes(loaded.machine.root)];
  const ids = new Set<string>();
  for (const node of nodes) {
    for (const list of (node.transitions as Map<string, AnyTransitionDefinition[]>).values()) {
      list.forEach((t) => ids.add(branchId(t)));
    }
  }
  return ids;
}

function takenBranches(loaded: LoadedMachine, s: AnyMachineSnapshot, e: ModelEvent): string[] {
  return loaded.machine.getTransitionData(s as never, e as never).map((t) => branchId(t));
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** A clock the test moves by hand: delays never wait on real time. */
class SimulatedClock {
  #now = Date.parse("2026-03-01T08:00:00.000Z");
  now(): Date {
    return new Date(this.#now);
  }
  advance(ms: number): void {
    this.#now += ms;
  }
  set(to: Date): void {
    expect(to.getTime()).toBeGreaterThanOrEqual(this.#now);
    this.#now = to.getTime();
  }
}

/**
 * Replays a model path through the host: each external event is one reconcile call, and the
 * side-effect outcome that follows it in the path decides what the fake effect does.
 */
async function replay(loaded: LoadedMachine, path: Path): Promise<void> {
  const steps = [...path.steps];
  // Paths that end inside a side effect are completed with its success, so both sides rest.
  const last = steps[steps.length - 1];
  if (last && eventsFor(last.state, loaded)[0]?.type.startsWith("xstate.")) {
    const [done] = eventsFor(last.state, loaded);
    const [next] = transition(loaded.machine, last.state as never, done as never);
    steps.push({ event: done as ModelEvent, state: next as AnyMachineSnapshot });
  }
  const clock = new SimulatedClock();
  let status: StoredStatus | undefined;
  let deleting = false;
  let facts: ReconcileFacts = {
    generation: 1,
    policyRevision: "r1",
    decision: ALLOW,
    dependency: { ready: true },
  };

  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const event = step.event;
    if (event.type.startsWith("xstate.")) continue; // consumed with the external event before it
    if (event.type === "xstate.init") continue;
    // Side-effect outcomes that follow this event in the path (one per side effect started).
    const outcomes: ModelEvent[] = [];
    let j = i + 1;
    while (j < steps.length && steps[j]!.event.type.startsWith("xstate.")) outcomes.push(steps[j++]!.event);
    const expected = steps[j - 1]!.state;
    const expectedEffects = outcomes.map((o) => (o.type.includes("provision") ? "provision" : "teardown"));

    // A DELETE while already deleting is the host's answer to a new generation.
    if (event.type === "DELETE" && deleting) facts = { ...facts, generation: facts.generation + 1 };
    if (event.type === "DELETE") deleting = true;
    if (event.type === "RECONCILE" || (event.type === "RETRY_DUE" && event.decision)) {
      facts = {
        generation: event.generation!,
        policyRevision: event.policyRevision,
        decision: event.decision!,
        dependency: event.dependency!,
      };
    }
    const blocked = (status?.conditions ?? []).some(
      (c) => c.type === "Ready" && c.reason === "DeletionBlocked",
    );
    if (event.type === "RETRY_DUE" && blocked) {
      // A blocked teardown has no deadline: the next reconcile tries it again.
      expect(status?.nextAttemptAt, "a blocked teardown arms no timer").toBeUndefined();
      clock.advance(1);
    } else if (event.type === "RETRY_DUE") {
      // The retry fires exactly at the stored deadline.
      expect(status?.nextAttemptAt, "a waiting state stores its deadline").toBeDefined();
      clock.set(new Date(status!.nextAttemptAt!));
    } else {
      clock.advance(1); // well before any deadline: delays are at least a second
    }

    const queue = [...outcomes];
    const effects: LifecycleEffects = {
      provision: () => {
        const o = queue.shift();
        if (!o?.type.includes("provision")) throw new Error("model did not start provision here");
        return o.type.startsWith("xstate.error")
          ? Promise.reject(asError(o.error))
          : Promise.resolve({ message: "ok" });
      },
      teardown: () => {
        const o = queue.shift();
        if (!o?.type.includes("teardown")) throw new Error("model did not start teardown here");
        return o.type.startsWith("xstate.error") ? Promise.reject(asError(o.error)) : Promise.resolve();
      },
    };
    const result = await reconcileLifecycle(loaded, {
      status,
      generation: facts.generation,
      deleting,
      now: clock.now(),
      facts: {
        policy: { decision: facts.decision, revision: facts.policyRevision },
        dependency: facts.dependency,
      },
      effects,
      random: () => 0,
    });
    const where = `${loaded.kind} step ${i} ${serializeEvent(event)}`;
    expect(result.effectsRun, where).toEqual(expectedEffects);
    expect(result.status.phase, where).toBe(expected.value);
    expect(result.status.attempts, where).toBe(ctxOf(expected).attempts);
    expect(result.finalizerReleased, where).toBe(expected.value === "Deleted");
    if (ctxOf(expected).armedTimer !== undefined) {
      expect(result.status.nextAttemptAt, where).toBeDefined();
      expect(result.requeueAfterMs, where).toBeGreaterThan(0);
    } else {
      expect(result.status.nextAttemptAt, where).toBeUndefined();
    }
    status = result.status;
  }
}

const machines = loadMachines();

describe.each([...machines.values()].map((m) => [m.kind, m] as const))(
  "lifecycle model: %s",
  (_kind, loaded) => {
    const adjacency = getAdjacencyMap(loaded.machine as never, options(loaded) as never) as Record<
      string,
      {
        state: AnyMachineSnapshot;
        transitions: Record<string, { event: ModelEvent; state: AnyMachineSnapshot }>;
      }
    >;
    const shortest = getShortestPaths(loaded.machine as never, options(loaded) as never) as unknown as Path[];
    const pathTo = new Map(shortest.map((p) => [serializeState(p.state), p]));

    // One replay per transition branch: the shortest path to a state where it fires, plus that event.
    const branchPaths = new Map<string, Path>();
    for (const { state, transitions } of Object.values(adjacency)) {
      for (const { event, state: next } of Object.values(transitions)) {
        for (const id of takenBranches(loaded, state, event)) {
          if (branchPaths.has(id)) continue;
          const head = pathTo.get(serializeState(state));
          if (!head) continue;
          branchPaths.set(id, {
            state: next,
            steps: [...head.steps, { event, state: next }],
            weight: head.weight + 1,
          });
        }
      }
    }

    // And one replay per (state, event type) that the state ignores: the host must ignore it too
    // (e.g. a resync of a Degraded resource before its deadline must not retry early).
    const ignoredPaths = new Map<string, Path>();
    for (const { state, transitions } of Object.values(adjacency)) {
      for (const { event } of Object.values(transitions)) {
        if (takenBranches(loaded, state, event).length > 0) continue;
        const key = `${String(state.value)} ${event.type} ${serializeEvent(event)}`;
        const head = pathTo.get(serializeState(state));
        if (ignoredPaths.has(key) || !head) continue;
        ignoredPaths.set(key, { state, steps: [...head.steps, { event, state }], weight: head.weight + 1 });
      }
    }

    it("Given the event alphabet, When the model is explored, Then every state is reached", () => {
      const reached = new Set(shortest.map((p) => p.state.value as string));
      const declared = Object.keys(loaded.definition.machine.states);
      expect([...reached].sort()).toEqual([...declared].sort());
    });

    it("Given the event alphabet, When the model is explored, Then every transition branch fires", () => {
      expect([...branchPaths.keys()].sort()).toEqual([...allBranches(loaded)].sort());
    });

    it("Given a shortest path to every reachable state, When the host replays it, Then it agrees with the model", async () => {
      for (const path of shortest) await replay(loaded, path);
      expect(shortest.length).toBeGreaterThan(10);
    });

    it("Given a path through every transition branch, When the host replays it, Then it agrees with the model", async () => {
      for (const path of branchPaths.values()) await replay(loaded, path);
      expect(branchPaths.size).toBe(allBranches(loaded).size);
    });

    it("Given an event a state ignores, When the host replays it, Then nothing runs and nothing moves", async () => {
      for (const path of ignoredPaths.values()) await replay(loaded, path);
      expect([...ignoredPaths.keys()].some((k) => k.startsWith("Degraded RECONCILE"))).toBe(true);
    });
  },
);
