import { describe, expect, it } from "vitest";
import { MissingReferenceError } from "../keycloak/errors.js";
import {
  desiredAuthorization,
  exportedFacts,
  sameFacts,
  type AuthorizationSpec,
} from "./authorizationRepresentation.js";

const spec: AuthorizationSpec = {
  policyEnforcementMode: "ENFORCING",
  scopes: [{ name: "view" }, { name: "edit" }],
  resources: [
    { name: "orders", uris: ["/b", "/a"], scopes: ["view", "edit"], attributes: { tier: ["gold"] } },
  ],
  policies: [
    { name: "viewers", type: "role", roles: [{ role: "viewer", required: true }, { role: "app/reader" }] },
    { name: "staff", type: "group", groups: [{ path: "/staff", extendChildren: true }] },
    { name: "apps", type: "client", clients: ["b", "a"] },
    { name: "people", type: "user", users: ["bob", "alice"] },
    { name: "hours", type: "time", time: { hour: 8, hourEnd: 18, notBefore: "2026-01-01 00:00:00" } },
    { name: "any", type: "aggregate", policies: ["viewers", "hours"], decisionStrategy: "AFFIRMATIVE" },
  ],
  permissions: [
    { name: "view-orders", type: "scope", resources: ["orders"], scopes: ["view"], policies: ["any"] },
    { name: "orders-all", type: "resource", resourceType: "urn:o", policies: ["staff"] },
  ],
};

/** What Keycloak's resource-server export reports for the spec above (as read from Keycloak 26.5). */
const exported = {
  viewers: {
    type: "role",
    logic: "POSITIVE",
    decisionStrategy: "UNANIMOUS",
    config: { roles: '[{"id":"app/reader","required":false},{"id":"viewer","required":true}]' },
  },
  hours: {
    type: "time",
    logic: "POSITIVE",
    decisionStrategy: "UNANIMOUS",
    config: { hour: "8", hourEnd: "18", nbf: "2026-01-01 00:00:00" },
  },
  any: {
    type: "aggregate",
    logic: "POSITIVE",
    decisionStrategy: "AFFIRMATIVE",
    config: { applyPolicies: '["hours","viewers"]' },
  },
  "view-orders": {
    type: "scope",
    logic: "POSITIVE",
    decisionStrategy: "UNANIMOUS",
    config: { resources: '["orders"]', scopes: '["view"]', applyPolicies: '["any"]' },
  },
  "orders-all": {
    type: "resource",
    logic: "POSITIVE",
    decisionStrategy: "UNANIMOUS",
    config: { defaultResourceType: "urn:o", applyPolicies: '["staff"]' },
  },
};

describe("desiredAuthorization", () => {
  it("Given checking policies and an aggregate, when mapped, then aggregates come apart, after what they combine", () => {
    const desired = desiredAuthorization(spec);
    expect(desired.policies.map((p) => p.name)).toEqual(["viewers", "staff", "apps", "people", "hours"]);
    expect(desired.aggregates.map((p) => p.name)).toEqual(["any"]);
    expect(desired.settings).toEqual({ policyEnforcementMode: "ENFORCING" });
  });

  it("Given each policy type, when mapped, then the typed endpoint's body names everything by name", () => {
    const byName = new Map(desiredAuthorization(spec).policies.map((p) => [p.name, p.body]));
    expect(byName.get("viewers")).toMatchObject({
      roles: [
        { id: "app/reader", required: false },
        { id: "viewer", required: true },
      ],
    });
    expect(byName.get("staff")).toMatchObject({ groups: [{ path: "/staff", extendChildren: true }] });
    expect(byName.get("apps")).toMatchObject({ clients: ["a", "b"] });
    expect(byName.get("people")).toMatchObject({ users: ["alice", "bob"] });
    expect(byName.get("hours")).toMatchObject({ hour: "8", hourEnd: "18", notBefore: "2026-01-01 00:00:00" });
  });

  it("Given Keycloak's export of the same policies and permissions, when compared, then the facts are equal", () => {
    const desired = desiredAuthorization(spec);
    for (const p of [...desired.policies, ...desired.aggregates, ...desired.permissions]) {
      const rep = exported[p.name as keyof typeof exported];
      if (!rep) continue;
      expect({
        name: p.name,
        same: sameFacts(p.facts, exportedFacts({ name: p.name, ...rep }, p.facts)),
      }).toEqual({
        name: p.name,
        same: true,
      });
    }
  });

  it("Given a role made optional by hand, or another policy applied, when compared, then the facts differ", () => {
    const desired = desiredAuthorization(spec);
    const viewers = desired.policies.find((p) => p.name === "viewers");
    const changed = { ...exported.viewers, config: { roles: '[{"id":"app/reader"},{"id":"viewer"}]' } };
    expect(sameFacts(viewers?.facts ?? {}, exportedFacts(changed, viewers?.facts ?? {}))).toBe(false);
    const permission = desired.permissions.find((p) => p.name === "view-orders");
    const widened = {
      ...exported["view-orders"],
      config: { ...exported["view-orders"].config, applyPolicies: '["any","apps"]' },
    };
    expect(sameFacts(permission?.facts ?? {}, exportedFacts(widened, permission?.facts ?? {}))).toBe(false);
  });

  it("Given a description only in Keycloak, when compared with a spec that sets none, then it is not managed", () => {
    const desired = desiredAuthorization({ policies: [{ name: "p", type: "user", users: ["a"] }] });
    const p = desired.policies[0];
    const rep = { type: "user", description: "by hand", config: { users: '["a"]' } };
    expect(sameFacts(p?.facts ?? {}, exportedFacts(rep, p?.facts ?? {}))).toBe(true);
  });

  it("Given names that spec.authorization does not define, when mapped, then every problem is named before anything is written", () => {
    const broken: AuthorizationSpec = {
      resources: [{ name: "r", scopes: ["missing-scope"] }],
      policies: [
        { name: "a", type: "user", users: ["x"] },
        { name: "agg", type: "aggregate", policies: ["a", "nope"] },
        { name: "agg2", type: "aggregate", policies: ["agg"] },
      ],
      permissions: [{ name: "a", type: "resource", resources: ["ghost"], policies: ["a"] }],
    };
    expect(() => desiredAuthorization(broken)).toThrow(MissingReferenceError);
    expect(() => desiredAuthorization(broken)).toThrow(
      /resources\[r\] names scope "missing-scope".*policies\[agg\] names policy "nope".*policies\[agg2\] combines aggregate policy "agg".*permissions\[a\] has the name of a policy.*permissions\[a\] names resource "ghost"/,
    );
  });

  it("Given resources, when mapped, then URIs and scopes are sorted sets and attributes copied", () => {
    expect(desiredAuthorization(spec).resources).toEqual([
      { name: "orders", uris: ["/a", "/b"], scopes: ["edit", "view"], attributes: { tier: ["gold"] } },
    ]);
  });
});
