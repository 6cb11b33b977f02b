import { describe, expect, it } from "vitest";
import { formatKey, isKeyOf, keyOf, objectKey, objectKeyOf, parseKey, sameKey } from "./objectKey.js";

describe("ObjectKey", () => {
  it("Given a namespaced object, When keyed and formatted, Then it reads namespace/name", () => {
    const key = keyOf({ metadata: { namespace: "team-a", name: "web" } });
    expect(key).toEqual({ namespace: "team-a", name: "web" });
    expect(formatKey(key)).toBe("team-a/web");
    expect(objectKey({ metadata: { namespace: "team-a", name: "web" } })).toBe("team-a/web");
  });

  it("Given a cluster-scoped object, When formatted, Then it is its name alone", () => {
    expect(formatKey(keyOf({ metadata: { name: "kube-system" } }))).toBe("kube-system");
  });

  it("Given any key, When formatted and parsed, Then it round-trips", () => {
    for (const key of [objectKeyOf("ns", "a"), objectKeyOf("", "cluster"), objectKeyOf("ns", "a.b-c")])
      expect(parseKey(formatKey(key))).toEqual(key);
  });

  it("Given a string key, When parsed, Then the first slash splits namespace from name", () => {
    expect(parseKey("ns/a")).toEqual({ namespace: "ns", name: "a" });
    expect(parseKey("name-only")).toEqual({ namespace: "", name: "name-only" });
  });

  it("Given two keys, When compared, Then only namespace and name count", () => {
    expect(sameKey(objectKeyOf("a", "b"), { namespace: "a", name: "b" })).toBe(true);
    expect(sameKey(objectKeyOf("a", "b"), objectKeyOf("b", "a"))).toBe(false);
    expect(isKeyOf(objectKeyOf("n", "x"), { metadata: { namespace: "n", name: "x" } })).toBe(true);
  });
});
