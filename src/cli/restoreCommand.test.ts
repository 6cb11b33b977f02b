import { describe, expect, it } from "vitest";
import { withoutOwnership } from "./restoreCommand.js";

describe("kpo restore", () => {
  it("given an export of a realm the operator managed, when prepared for the restore, then every ownership mark is gone and nothing else", () => {
    const exported = {
      realm: "shop",
      attributes: { "kpo.dev/owner-uid": "u", "kpo.dev/owner-name": "shop", frontendUrl: "https://x" },
      roles: {
        realm: [
          {
            name: "buyer",
            attributes: { "kpo.dev/managed": ["true"], "kpo.dev/owner-uid": ["u"], tier: ["1"] },
          },
        ],
      },
      clients: [
        {
          clientId: "web",
          attributes: { "kpo.dev/owner-namespace": "team", "pkce.code.challenge.method": "S256" },
        },
      ],
    };
    expect(withoutOwnership(exported)).toEqual({
      realm: "shop",
      attributes: { frontendUrl: "https://x" },
      roles: { realm: [{ name: "buyer", attributes: { tier: ["1"] } }] },
      clients: [{ clientId: "web", attributes: { "pkce.code.challenge.method": "S256" } }],
    });
    expect(exported.attributes["kpo.dev/owner-uid"]).toBe("u");
  });
});
