import { describe, expect, it } from "vitest";
import { withoutOperatorMarks } from "./marks.js";

describe("withoutOperatorMarks", () => {
  it("drops the operator's keys from attributes and config maps at any depth, and nothing else", () => {
    const rep = {
      realm: "shop",
      attributes: { "kpo.dev/owner-uid": "u1", "kpo.dev/default-roles": "[]", "acme/cost": "4711" },
      roles: { realm: [{ name: "buyer", attributes: { "kpo.dev/managed": ["true"], tier: ["gold"] } }] },
      identityProviders: [{ alias: "up", config: { "kpo.dev/owner-uid": "u1", issuer: "https://up" } }],
      description: "kpo.dev/owner-uid stays in text",
    };
    expect(withoutOperatorMarks(rep)).toEqual({
      realm: "shop",
      attributes: { "acme/cost": "4711" },
      roles: { realm: [{ name: "buyer", attributes: { tier: ["gold"] } }] },
      identityProviders: [{ alias: "up", config: { issuer: "https://up" } }],
      description: "kpo.dev/owner-uid stays in text",
    });
    expect(rep.attributes["kpo.dev/owner-uid"]).toBe("u1");
  });
});
