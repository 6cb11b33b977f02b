// The operator watches objects it writes itself (a client's credentials Secret), so that an edit or
// a deletion by someone else is repaired. Its own write comes back as a watch event too, and would
// queue the writer again for nothing: every client was reconciled twice on create (three more
// Keycloak reads each). OwnWrites sits between the informer and the watch table and drops the events
// that are exactly the operator's own last write of an object: same object, same resourceVersion.
//
// The watch event of a write may arrive before the write's own response (two connections), when the
// resourceVersion is not known yet. Events for an object with a write in flight are therefore held,
// and judged when the write returns: dropped if they are that write, delivered (in order) otherwise,
// also when the write failed. The writer is busy with that object meanwhile, so holding costs nothing.
// A deletion is never the operator's write here and always passes, as does anything with another
// resourceVersion (someone else's edit, or a write of ours that this one replaced).
import type { KubernetesObject } from "@kubernetes/client-node";
import type { InformerEvent } from "./informers.js";
import type { EventSource } from "./watches.js";

export class OwnWrites<T extends KubernetesObject> implements EventSource<InformerEvent<T>> {
  readonly #source: EventSource<InformerEvent<T>>;
  /** Object key → resourceVersion of the operator's last completed write of it. */
  readonly #written = new Map<string, string>();
  /** Object key → writes of it in flight. */
  readonly #inFlight = new Map<string, number>();
  /** Object key → events that arrived while a write of it was in flight, with their subscriber. */
  readonly #held = new Map<
    string,
    Array<{ event: InformerEvent<T>; deliver: (e: InformerEvent<T>) => void }>
  >();

  constructor(source: EventSource<InformerEvent<T>>) {
    this.#source = source;
  }

  /**
   * Run one write of the object `key` ("namespace/name"); `write` resolves to the object as stored
   * (its resourceVersion is what the watch will report).
   */
  async write<R extends KubernetesObject>(key: string, write: () => Promise<R>): Promise<R> {
    this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
    try {
      const stored = await write();
      const resourceVersion = stored.metadata?.resourceVersion;
      if (resourceVersion) this.#written.set(key, resourceVersion);
      return stored;
    } finally {
      const left = (this.#inFlight.get(key) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(key, left);
      else {
        this.#inFlight.delete(key);
        const held = this.#held.get(key) ?? [];
        this.#held.delete(key);
        for (const { event, deliver } of held) if (!this.#isOwn(event)) deliver(event);
      }
    }
  }

  /** Objects whose last own write is remembered (for tests and memory bounds). */
  get remembered(): number {
    return this.#written.size;
  }

  onChange(handler: (event: InformerEvent<T>) => void): () => void {
    return this.#source.onChange((event) => {
      if (event.type === "delete") {
        this.#written.delete(event.key);
        handler(event);
        return;
      }
      if (this.#inFlight.has(event.key)) {
        const held = this.#held.get(event.key) ?? [];
        held.push({ event, deliver: handler });
        this.#held.set(event.key, held);
        return;
      }
      if (!this.#isOwn(event)) handler(event);
    });
  }

  #isOwn(event: InformerEvent<T>): boolean {
    if (event.type === "delete") return false;
    const resourceVersion = event.object.metadata?.resourceVersion;
    return resourceVersion !== undefined && this.#written.get(event.key) === resourceVersion;
  }
}
