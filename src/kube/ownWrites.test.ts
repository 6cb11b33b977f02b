import type { V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { InformerEvent } from "./informers.js";
import { OwnWrites } from "./ownWrites.js";
import type { EventSource } from "./watches.js";

class FakeSource implements EventSource<InformerEvent<V1Secret>> {
  readonly #handlers = new Set<(e: InformerEvent<V1Secret>) => void>();
  onChange(handler: (e: InformerEvent<V1Secret>) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }
  emit(type: InformerEvent<V1Secret>["type"], resourceVersion: string, name = "web"): void {
    const object: V1Secret = { metadata: { namespace: "ns", name, resourceVersion } };
    for (const h of this.#handlers) h({ type, key: `ns/${name}`, object });
  }
}

function setup() {
  const source = new FakeSource();
  const own = new OwnWrites<V1Secret>(source);
  const seen: string[] = [];
  own.onChange((e) => seen.push(`${e.type} ${e.key}@${e.object.metadata?.resourceVersion ?? ""}`));
  const stored = (resourceVersion: string): V1Secret => ({ metadata: { resourceVersion } });
  return { source, own, seen, stored };
}

/** A write whose completion the test controls. */
function pending<T>() {
  let resolve: (v: T) => void = () => undefined;
  let reject: (e: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("OwnWrites", () => {
  it("Given the operator's write of a Secret, When its event arrives after the write returned, Then it is not delivered", async () => {
    const { source, own, seen, stored } = setup();
    await own.write("ns/web", () => Promise.resolve(stored("5")));
    source.emit("add", "5");
    expect(seen).toEqual([]);
  });

  it("Given the operator's write in flight, When its event arrives before the write returns, Then it is held and then dropped", async () => {
    const { source, own, seen, stored } = setup();
    const write = pending<V1Secret>();
    const done = own.write("ns/web", () => write.promise);
    source.emit("add", "7");
    expect(seen).toEqual([]);
    write.resolve(stored("7"));
    await done;
    expect(seen).toEqual([]);
  });

  it("Given a write in flight, When someone else's change arrives meanwhile, Then it is delivered once the write returns", async () => {
    const { source, own, seen, stored } = setup();
    const write = pending<V1Secret>();
    const done = own.write("ns/web", () => write.promise);
    source.emit("update", "8");
    source.emit("update", "9");
    expect(seen).toEqual([]);
    write.resolve(stored("9"));
    await done;
    expect(seen).toEqual(["update ns/web@8"]);
  });

  it("Given a write in flight, When it fails, Then the events held meanwhile are delivered", async () => {
    const { source, own, seen } = setup();
    const write = pending<V1Secret>();
    const done = own.write("ns/web", () => write.promise);
    source.emit("update", "3");
    write.reject(new Error("apply failed"));
    await expect(done).rejects.toThrow("apply failed");
    expect(seen).toEqual(["update ns/web@3"]);
  });

  it("Given the operator's write, When someone else edits or deletes the Secret, Then those events are delivered", async () => {
    const { source, own, seen, stored } = setup();
    await own.write("ns/web", () => Promise.resolve(stored("5")));
    source.emit("update", "6");
    source.emit("delete", "6");
    expect(seen).toEqual(["update ns/web@6", "delete ns/web@6"]);
    expect(own.remembered).toBe(0);
  });

  it("Given the operator wrote one Secret, When another Secret changes with the same resourceVersion text, Then it is delivered", async () => {
    const { source, own, seen, stored } = setup();
    await own.write("ns/web", () => Promise.resolve(stored("5")));
    source.emit("add", "5", "api");
    expect(seen).toEqual(["add ns/api@5"]);
  });

  it("Given two own writes in a row, When both events arrive late, Then only the last write is recognised (the other costs one reconcile, never a missed change)", async () => {
    const { source, own, seen, stored } = setup();
    await own.write("ns/web", () => Promise.resolve(stored("5")));
    await own.write("ns/web", () => Promise.resolve(stored("11")));
    source.emit("update", "5");
    source.emit("update", "11");
    expect(seen).toEqual(["update ns/web@5"]);
  });
});
