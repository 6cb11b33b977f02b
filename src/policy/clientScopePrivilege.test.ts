// Client scopes as paths to a role: a hardcoded role mapper in a realm's scope reaches every client
// that uses the scope, and a KeycloakClient linking that scope receives it.
import { describe, expect, it } from "vitest";
import { clientInput } from "../../test/unit/policyInputs.js";
import type { PolicyInput } from "./decision.js";
import { privilegeFacts } from "./privilege.js";
import { realmWith } from "../../test/unit/policyInputs.js";

const hardcodedAdmin = {
  name: "admin",
  protocolMapper: "oidc-hardcoded-role-mapper",
  config: { role: "realm-management.realm-admin" },
};
const adminScope = { name: "ops", protocolMappers: [hardcodedAdmin] };

const grants = (input: PolicyInput) =>
  privilegeFacts(input).grants.map((g) => ({
    field: g.field,
    grantee: g.grantee,
    roles: g.reaches.map((r) => r.role),
  }));

describe("privilegeFacts of client scopes", () => {
  it("Given a realm scope with a hardcoded role mapper, Then the grant names the scope's mapper and both readings of the role", () => {
    expect(grants(realmWith({ clientScopes: [adminScope] }))).toEqual([
      {
        field: "spec.clientScopes[ops].protocolMappers[admin]",
        grantee: "every token of a client using client scope ops (hardcoded role)",
        roles: ["realm-management/realm-admin", "realm-management.realm-admin"],
      },
    ]);
  });

  it("Given a SAML hardcoded role mapper naming a realm role composed of an admin role, Then the composite is reached", () => {
    const input = realmWith({
      roles: [{ name: "ops", composites: { client: { "realm-management": ["manage-users"] } } }],
      clientScopes: [
        {
          name: "saml-ops",
          protocol: "saml",
          protocolMappers: [
            { name: "r", protocolMapper: "saml-hardcode-role-mapper", config: { role: "ops" } },
          ],
        },
      ],
    });
    const scopeGrant = privilegeFacts(input).grants.find((g) => g.field.startsWith("spec.clientScopes"));
    expect(scopeGrant?.reaches.map((r) => r.path)).toEqual([
      ["ops"],
      ["ops", "realm-management/manage-users"],
    ]);
  });

  it("Given scope mappings and claim mappers only, Then the scope makes no grant", () => {
    const input = realmWith({
      clientScopes: [
        {
          name: "api",
          scopeMappings: { clientRoles: { "realm-management": ["realm-admin"] } },
          protocolMappers: [
            { name: "c", protocolMapper: "oidc-hardcoded-claim-mapper", config: { role: "x" } },
          ],
        },
      ],
    });
    expect(grants(input)).toEqual([]);
  });

  it("Given a KeycloakClient linking the realm's hardcoding scope, Then the client's grants include what the scope hardcodes", () => {
    const input = clientInput();
    input.resource.spec = {
      ...input.resource.spec,
      optionalClientScopes: ["ops"],
      defaultClientScopes: ["email"],
    };
    input.target.realm = {
      metadata: { name: "shop", namespace: "platform" },
      spec: { realmName: "shop", clientScopes: [adminScope, { name: "email" }] },
    };
    expect(grants(input)).toEqual([
      {
        field: "spec.optionalClientScopes[ops].protocolMappers[admin]",
        grantee: "every token of the client (client scope ops)",
        roles: ["realm-management/realm-admin", "realm-management.realm-admin"],
      },
    ]);
  });
});
