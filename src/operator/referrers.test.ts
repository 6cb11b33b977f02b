import { describe, expect, it } from "vitest";
import type { KeycloakClient } from "../api/index.js";
import { referrerList } from "./referrers.js";

const client = (namespace: string, name: string): KeycloakClient => ({
  apiVersion: "keycloak.kpo.dev/v1alpha1",
  kind: "KeycloakClient",
  metadata: { namespace, name },
  spec: { realmRef: { name: "apps", namespace: "platform" }, clientId: name },
});

describe("referrerList", () => {
  it("Given referrers in the object's own namespace only, Then it names them, sorted", () => {
    expect(referrerList("platform", [client("platform", "web")])).toBe("web");
    expect(referrerList("platform", [client("platform", "web"), client("platform", "api")])).toBe(
      "api and web",
    );
  });

  it("Given referrers in other namespaces, Then it counts them and names neither them nor their namespaces", () => {
    const list = referrerList("platform", [
      client("team-a", "billing"),
      client("platform", "web"),
      client("team-b", "shop"),
    ]);
    expect(list).toBe("web and 2 in other namespaces");
    expect(list).not.toMatch(/team-a|team-b|billing|shop/);
    expect(referrerList("platform", [client("team-a", "billing")])).toBe("1 in another namespace");
  });

  it("Given many referrers in the own namespace, Then it names five and counts the rest", () => {
    const many = ["a", "b", "c", "d", "e", "f", "g"].map((n) => client("platform", n));
    expect(referrerList("platform", [...many, client("team-a", "x")])).toBe(
      "a, b, c, d, e, 2 more and 1 in another namespace",
    );
  });
});
