import { describe, expect, it } from "vitest";
import { configMatches, ownedComponentId } from "./userFederation.js";

describe("ownedComponentId", () => {
  it("Given the same owner and path, then the id is the same UUID-shaped value; another owner or path gives another", () => {
    const id = ownedComponentId({ uid: "u-1" }, "corp");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(ownedComponentId({ uid: "u-1" }, "corp")).toBe(id);
    expect(ownedComponentId({ uid: "u-2" }, "corp")).not.toBe(id);
    expect(ownedComponentId({ uid: "u-1" }, "corp/email")).not.toBe(id);
  });
});

describe("configMatches", () => {
  it("Given managed entries equal to Keycloak's lists, then it matches whatever else Keycloak holds", () => {
    expect(configMatches({ a: "1" }, { a: ["1"], krbPrincipalAttribute: ["x"] })).toBe(true);
    expect(configMatches({ a: "1" }, { a: ["2"] })).toBe(false);
    expect(configMatches({ a: "1" }, {})).toBe(false);
  });

  it("Given an empty desired value, then an absent entry matches (Keycloak drops empty entries)", () => {
    expect(configMatches({ "mapped.group.attributes": "" }, {})).toBe(true);
    expect(configMatches({ "mapped.group.attributes": "" }, { "mapped.group.attributes": ["x"] })).toBe(
      false,
    );
  });
});
