// Declarative triggers: which change of which source queues which keys of a controller, and why
// (controller-runtime `Watches(source, EnqueueRequestsFromMapFunc(fn), WithPredicates(p))`, kube-rs
// `Controller::watches`). A watch never decides anything: it names keys, and the reconcile of each
// key reads the caches (level-based). Each watch carries the reason it queues a key, which the
// target logs at debug level, so "why did this reconcile run?" has an answer in the log.
import type { ObjectKey } from "./objectKey.js";

/** Something that reports changes: an Informer, the policy engine, a fake in tests. */
export interface EventSource<E> {
  onChange(handler: (event: E) => void): () => void;
}

/** Where a watch puts keys: a Controller (which logs the reason), or a recorder in tests. */
export interface Enqueuer {
  enqueue(key: ObjectKey, reason: string): void;
}

export interface Watch<E> {
  source: EventSource<E>;
  /** Which events matter; default all. */
  predicate?: (event: E) => boolean;
  /** The keys an event queues (EnqueueRequestsFromMapFunc). */
  map: (event: E) => Iterable<ObjectKey>;
  /** Why those keys are queued, completing "queued <kind> <key>: ...". */
  reason: string | ((event: E) => string);
}

/** A watch with its event type hidden, so that one table holds watches of different sources. */
export interface BoundWatch {
  /** Subscribe to the source; returns the unsubscribe function. */
  start(target: Enqueuer): () => void;
}

/** The keys and reason one event yields under a watch (pure; what start() enqueues). */
export function requestsFor<E>(w: Watch<E>, event: E): { keys: ObjectKey[]; reason: string } {
  if (w.predicate && !w.predicate(event)) return { keys: [], reason: "" };
  const keys = [...w.map(event)];
  const reason = keys.length === 0 ? "" : typeof w.reason === "string" ? w.reason : w.reason(event);
  return { keys, reason };
}

export function watch<E>(w: Watch<E>): BoundWatch {
  return {
    start: (target) =>
      w.source.onChange((event) => {
        const { keys, reason } = requestsFor(w, event);
        for (const key of keys) target.enqueue(key, reason);
      }),
  };
}

/** Start every watch of a controller's table; returns one function that stops them all. */
export function startWatches(target: Enqueuer, table: readonly BoundWatch[]): () => void {
  const stops = table.map((w) => w.start(target));
  return () => {
    for (const stop of stops) stop();
  };
}
