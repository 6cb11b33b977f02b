import { describe, expect, it } from "vitest";
import { FINALIZER, addFinalizerPatch, removeFinalizerPatch } from "./finalizer.js";

describe("finalizer patches", () => {
  it("Given an object without a finalizer list, When ours is added, Then the patch tests the resourceVersion", () => {
    expect(addFinalizerPatch({ metadata: { resourceVersion: "7" } })).toEqual([
      { op: "test", path: "/metadata/resourceVersion", value: "7" },
      { op: "add", path: "/metadata/finalizers", value: [FINALIZER] },
    ]);
  });

  it("Given someone else's finalizers, When ours is added, Then the patch tests the list and appends", () => {
    expect(addFinalizerPatch({ metadata: { finalizers: ["a"] } })).toEqual([
      { op: "test", path: "/metadata/finalizers", value: ["a"] },
      { op: "add", path: "/metadata/finalizers/-", value: FINALIZER },
    ]);
  });

  it("Given ours already there or a deleting object, When ours is added, Then there is no patch", () => {
    expect(addFinalizerPatch({ metadata: { finalizers: [FINALIZER] } })).toBeUndefined();
    expect(addFinalizerPatch({ metadata: { deletionTimestamp: "2026-01-01T00:00:00Z" } })).toBeUndefined();
  });

  it("Given ours among others, When removed, Then the patch tests and removes only its index", () => {
    expect(removeFinalizerPatch({ metadata: { finalizers: ["a", FINALIZER, "b"] } })).toEqual([
      { op: "test", path: "/metadata/finalizers/1", value: FINALIZER },
      { op: "remove", path: "/metadata/finalizers/1" },
    ]);
    expect(removeFinalizerPatch({ metadata: { finalizers: ["a"] } })).toBeUndefined();
  });
});
