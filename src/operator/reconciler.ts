// The one reconcile function all kinds share: read the object from the cache, make sure the
// finalizer is there before any side effect, run the lifecycle machine (whose policy guards decide
// whether the side effect may run at all), persist the status it returns, record its events, release
// the finalizer after teardown, and tell the queue when to come back. The status is written only
// over the resourceVersion this reconcile read: a conflict means the object changed underneath, so
// the reconcile runs again at once from the newer object instead of overwriting it.
import { sameJson } from "../canonicalJson.js";
import type { CustomObjectsApi } from "@kubernetes/client-node";
import { API_VERSION, GROUP, VERSION, type KeycloakResource } from "../api/index.js";
import type { ReconcileContext, ReconcileResult } from "../kube/controller.js";
import type { EventRecorder } from "../kube/events.js";
import { withFinalizer, type ObjectWithMeta } from "../kube/finalizer.js";
import type { Informer } from "../kube/informers.js";
import { formatKey, parseKey } from "../kube/objectKey.js";
import { ConflictError, patchStatus, type CustomObjectRef } from "../kube/status.js";
import { reconcileLifecycle } from "../lifecycle/host.js";
import { statusMergePatch } from "../lifecycle/status.js";
import type { LoadedMachine } from "../lifecycle/loader.js";
import type { PolicyEngine } from "../policy/engine.js";
import type { KindHandler, TeardownOutcome } from "./handler.js";

export interface KindReconcilerOptions<T extends KeycloakResource> {
  kind: T["kind"];
  plural: string;
  /** The machine, or where to read the current one each reconcile (the hot-reloaded MachineSet). */
  machine: LoadedMachine | (() => LoadedMachine);
  informer: Informer<T>;
  handler: KindHandler<T>;
  api: CustomObjectsApi;
  events: EventRecorder;
  policy: PolicyEngine;
  resyncPeriodMs: number;
  random?: () => number;
}

function jittered(ms: number, random: () => number): number {
  return Math.round(ms * (0.9 + 0.2 * random()));
}

/**
 * The status fields whose value `next` changes (all of them when nothing is stored yet). Compared by
 * value, not by text: the API server returns a condition's keys in its own order, so a text compare
 * found every condition changed and patched every status on every restart and resync.
 */
function changedStatusFields(
  stored: Record<string, unknown> | undefined,
  next: Record<string, unknown>,
): string[] {
  return Object.entries(next)
    .filter(([k, v]) => !stored || !sameJson(stored[k] ?? null, v ?? null))
    .map(([k]) => k);
}

export function kindReconciler<T extends KeycloakResource>(options: KindReconcilerOptions<T>) {
  const { kind, plural, informer, handler, api, events, policy } = options;
  const { machine } = options;
  // Read once per reconcile, so a reload applies from the next reconcile and never mid-way through one.
  const currentMachine: () => LoadedMachine = typeof machine === "function" ? machine : () => machine;
  const random = options.random ?? Math.random;

  return async function reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const { namespace, name } = parseKey(key);
    const obj = informer.get(namespace, name);
    if (!obj) return {};
    const ref: CustomObjectRef = { group: GROUP, version: VERSION, plural, namespace, name };
    try {
      // Before anything can exist in Keycloak, the finalizer makes deletion wait for our teardown.
      return await withFinalizer<ReconcileResult>(
        api,
        ref,
        obj,
        {
          apply: async (stored) => (await run(obj, stored, ref, false, ctx)).result,
          cleanup: async (stored) => {
            const { released, result } = await run(obj, stored, ref, true, ctx);
            return { release: released, result };
          },
        },
        {},
      );
    } catch (err) {
      // The status is the machine's durable memory: never overwrite a newer one. Someone changed
      // the object since it was read; reconcile again from what is stored now.
      if (err instanceof ConflictError) {
        ctx.log.debug({ err }, `${kind} ${key}: the object changed while reconciling; reconciling again`);
        return { requeue: true };
      }
      throw err;
    }
  };

  async function run(
    obj: T,
    stored: ObjectWithMeta,
    ref: CustomObjectRef,
    deleting: boolean,
    ctx: ReconcileContext,
  ): Promise<{ released: boolean; result: ReconcileResult }> {
    const { namespace, name } = ref;
    const key = formatKey(ref);
    const log = ctx.log;
    let extraStatus: Record<string, unknown> = {};
    let teardownOutcome: TeardownOutcome | undefined;
    const outcome = await reconcileLifecycle(currentMachine(), {
      status: obj.status,
      generation: obj.metadata.generation ?? 1,
      deleting,
      now: new Date(),
      random,
      facts: deleting
        ? undefined
        : {
            policy: { input: handler.policyInput(obj), decide: policy.decide, revision: policy.revision },
            dependency: handler.dependency(obj),
          },
      effects: {
        provision: async () => {
          const result = await handler.provision(obj, log);
          extraStatus = result.status ?? {};
          return result.message ? { message: result.message } : undefined;
        },
        teardown: async () => {
          teardownOutcome =
            (await handler.teardown(obj, log, (status) => {
              extraStatus = { ...extraStatus, ...status };
            })) ?? undefined;
        },
      },
    });

    // A resync that goes Ready → Provisioning → Ready is routine: keep it out of the info log.
    const roundTrip = outcome.transitions.length > 0 && outcome.transitions[0]?.from === outcome.status.phase;
    for (const t of outcome.transitions) {
      const line = `${kind} ${key}: ${t.from} → ${t.to}`;
      if (roundTrip) log.debug({ from: t.from, to: t.to }, line);
      else log.info({ from: t.from, to: t.to }, line);
    }
    const involved = {
      apiVersion: API_VERSION,
      kind,
      namespace,
      name,
      ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
    };
    const recorded = [
      ...outcome.events,
      ...(teardownOutcome?.notice ? [{ type: "Normal" as const, ...teardownOutcome.notice }] : []),
      ...(teardownOutcome?.warning ? [{ type: "Warning" as const, ...teardownOutcome.warning }] : []),
    ];
    const recording = Promise.all(recorded.map((e) => events.record(involved, e.type, e.reason, e.message)));
    if (outcome.finalizerReleased) {
      await recording;
      return { released: true, result: {} };
    }
    const current = obj.status as Record<string, unknown> | undefined;
    // null clears fields the lifecycle no longer sets (nextAttemptAt, lastError) under merge-patch rules.
    const nextStatus = { ...statusMergePatch(current, outcome.status), ...extraStatus };
    // The Events and the status patch do not depend on each other: sent together, a new object's
    // reconcile waits for one API-server round trip instead of two.
    const changedFields = changedStatusFields(current, nextStatus);
    if (changedFields.length > 0) log.debug({ fields: changedFields }, `${kind} ${key}: status changed`);
    const patching =
      changedFields.length > 0
        ? // Only over the object this reconcile read (a 409 becomes ConflictError: reconcile again).
          patchStatus(
            api,
            ref,
            nextStatus,
            stored.metadata?.resourceVersion ? { resourceVersion: stored.metadata.resourceVersion } : {},
          )
        : undefined;
    await Promise.all([recording, patching]);
    if (outcome.requeueAfterMs !== undefined)
      return { released: false, result: { requeueAfterMs: outcome.requeueAfterMs } };
    // Resources resting in a state tagged "resyncs" (Ready) come back periodically so drift made in
    // Keycloak directly is repaired.
    if (outcome.resyncs)
      return { released: false, result: { requeueAfterMs: jittered(options.resyncPeriodMs, random) } };
    return { released: false, result: {} };
  }
}
