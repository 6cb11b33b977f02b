// PolicyInput builders shared by the policy engine, CLI and benchmark tests.
import type { PolicyInput } from "../../src/policy/decision.js";

/** A client in team-a joining realm platform/shop, which grants team-a: allowed by the shipped policies. */
export function clientInput(overrides: Partial<PolicyInput> = {}): PolicyInput {
  return {
    operation: "create",
    kind: "KeycloakClient",
    resource: {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakClient",
      metadata: { name: "web", namespace: "team-a" },
      spec: { clientId: "web", realmRef: { name: "shop", namespace: "platform" } },
    },
    namespace: { name: "team-a", labels: {}, annotations: {} },
    target: {
      realm: {
        metadata: { name: "shop", namespace: "platform" },
        spec: { clientGrants: { namespaces: ["team-a"] } },
      },
    },
    counts: { clientsInNamespace: 0, clientsInRealm: 0 },
    environment: {},
    ...overrides,
  };
}

/** A realm "shop" created in team-a with the given spec fields: what the privilege closure reads. */
export function realmWith(spec: Record<string, unknown>): PolicyInput {
  return {
    operation: "create",
    kind: "KeycloakRealm",
    resource: { metadata: { name: "shop", namespace: "team-a" }, spec: { realmName: "shop", ...spec } },
    namespace: { name: "team-a", labels: {} },
    target: {},
    counts: {},
    environment: {},
  };
}
