import { describe, expect, it } from "vitest";
import { changedFields, isSubsetEqual, setDifference } from "./diff.js";
import { checkOwnership, isOwnedBy } from "./ownership.js";
import { OwnershipError } from "./errors.js";
import { smtpPasswordHash } from "./realmSync.js";

describe("isSubsetEqual", () => {
  it("Given fields Keycloak adds that the spec does not manage, Then they are ignored", () => {
    expect(isSubsetEqual({ displayName: "A" }, { displayName: "A", id: "x", sslRequired: "external" })).toBe(
      true,
    );
  });

  it("Given a number in the spec and its string form in Keycloak attributes, Then they are equal", () => {
    expect(isSubsetEqual({ port: 587 }, { port: "587" })).toBe(true);
    expect(isSubsetEqual({ port: 587 }, { port: "25" })).toBe(false);
  });

  it("Given lists of scalars, Then they compare as sets (Keycloak reorders them) but length matters", () => {
    expect(isSubsetEqual(["en", "de"], ["de", "en"])).toBe(true);
    expect(isSubsetEqual(["a", "a"], ["a", "b"])).toBe(false);
    expect(isSubsetEqual(["a"], ["a", "b"])).toBe(false);
  });

  it("Given lists of objects, Then order matters", () => {
    expect(isSubsetEqual([{ n: 1 }, { n: 2 }], [{ n: 1 }, { n: 2 }])).toBe(true);
    expect(isSubsetEqual([{ n: 1 }, { n: 2 }], [{ n: 2 }, { n: 1 }])).toBe(false);
  });

  it("Given an object where Keycloak has a scalar (or the reverse), Then they differ", () => {
    expect(isSubsetEqual({ a: 1 }, "x")).toBe(false);
    expect(isSubsetEqual("x", { a: 1 })).toBe(false);
  });
});

describe("changedFields", () => {
  it("Given one changed setting and one changed attribute, Then exactly those are reported", () => {
    const desired = { displayName: "A", enabled: true, attributes: { x: "1", y: "2" } };
    const actual = { displayName: "B", enabled: true, attributes: { x: "1", y: "3", other: "kept" } };
    expect(changedFields(desired, actual)).toEqual(["displayName", "attributes.y"]);
  });

  it("Given skipped keys, Then they are not compared", () => {
    expect(
      changedFields({ realm: "a", displayName: "A" }, { realm: "b", displayName: "A" }, new Set(["realm"])),
    ).toEqual([]);
  });
});

describe("setDifference", () => {
  it("Given desired and actual names, Then it returns sorted additions and removals", () => {
    expect(setDifference(["c", "a", "b"], ["b", "d"])).toEqual({ toAdd: ["a", "c"], toRemove: ["d"] });
  });
});

describe("checkOwnership", () => {
  const owner = { uid: "u1", namespace: "team-a", name: "sso", kind: "KeycloakRealm" };

  it("Given the object carries the CR's uid, Then it is owned", () => {
    expect(checkOwnership("Realm r", { "kpo.dev/owner-uid": "u1" }, owner, false)).toBe("owned");
    // Client/group attributes come as lists.
    expect(checkOwnership("Client c", { "kpo.dev/owner-uid": ["u1"] }, owner, false)).toBe("owned");
  });

  it("Given an unowned object, Then it is refused without adopt and adopted with adopt", () => {
    expect(() => checkOwnership("Realm r", {}, owner, false)).toThrow(/spec\.adopt/);
    expect(checkOwnership("Realm r", undefined, owner, true)).toBe("adopt");
  });

  it("Given an object owned by another CR, Then it is refused even with adopt, without naming the other owner", () => {
    const attrs = {
      "kpo.dev/owner-uid": "u2",
      "kpo.dev/owner-namespace": "team-b",
      "kpo.dev/owner-name": "other",
    };
    expect(() => checkOwnership("Realm r", attrs, owner, true)).toThrow(OwnershipError);
    expect(() => checkOwnership("Realm r", attrs, owner, true)).toThrow(/managed by another resource/);
    let message = "";
    try {
      checkOwnership("Realm r", attrs, owner, true);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toMatch(/team-b|\bother\b|u2/);
  });

  it("Given an owner with an empty uid, Then nothing counts as owned by it", () => {
    expect(() => checkOwnership("Realm r", {}, { uid: "", namespace: "n", name: "x" }, false)).toThrow(
      OwnershipError,
    );
    expect(isOwnedBy({ "kpo.dev/owner-uid": "" }, { uid: "", namespace: "n", name: "x" })).toBe(false);
    expect(isOwnedBy({ "kpo.dev/owner-uid": ["u1"] }, { uid: "u1", namespace: "n", name: "x" })).toBe(true);
  });
});

describe("smtpPasswordHash", () => {
  it("Given the same password for two owners, Then the hashes differ and never contain the password", () => {
    const a = smtpPasswordHash("s3cret-value", { uid: "a", namespace: "n", name: "x" });
    const b = smtpPasswordHash("s3cret-value", { uid: "b", namespace: "n", name: "x" });
    expect(a).not.toBe(b);
    expect(a).not.toContain("s3cret-value");
    expect(smtpPasswordHash("s3cret-value", { uid: "a", namespace: "n", name: "x" })).toBe(a);
  });
});
