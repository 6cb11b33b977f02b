import { describe, expect, it } from "vitest";
import type { KeycloakClient, KeycloakRealm } from "../api/index.js";
import type { Caches } from "./facts.js";
import { clientsReferencing, referrerList } from "./referrers.js";

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

describe("clientsReferencing", () => {
  const realm = {
    apiVersion: "keycloak.kpo.dev/v1alpha1",
    kind: "KeycloakRealm",
    metadata: { namespace: "platform", name: "apps" },
    spec: { instanceRef: { name: "main" }, realmName: "apps" },
  } as KeycloakRealm;
  const withStatus = (c: KeycloakClient, status: Record<string, unknown>): KeycloakClient => ({
    ...c,
    status,
  });
  const caches = (clients: KeycloakClient[]) => ({ clients: { list: () => clients } }) as unknown as Caches;

  it("Given clients that were never admitted, Then they do not hold the realm's deletion; admitted or provisioned ones do", () => {
    const denied = withStatus(client("evil", "squatter"), {
      conditions: [{ type: "PolicyCompliant", status: "False" }],
    });
    const fresh = client("team-a", "new");
    const admitted = withStatus(client("team-a", "web"), {
      conditions: [{ type: "PolicyCompliant", status: "True" }],
    });
    const provisionedThenDenied = withStatus(client("team-b", "old"), {
      secretName: "old-credentials",
      conditions: [{ type: "PolicyCompliant", status: "False" }],
    });
    const elsewhere = {
      ...admitted,
      spec: { ...admitted.spec, realmRef: { name: "other", namespace: "platform" } },
    };
    expect(
      clientsReferencing(caches([denied, fresh, admitted, provisionedThenDenied, elsewhere]), realm).map(
        (c) => c.metadata.name,
      ),
    ).toEqual(["web", "old"]);
  });
});
