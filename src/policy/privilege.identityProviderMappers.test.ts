import { describe, expect, it } from "vitest";
import type { PolicyInput } from "./decision.js";
import { privilegeFacts } from "./privilege.js";
import { realmWith } from "../../test/unit/policyInputs.js";

const mapper = (name: string, type: string, config: Record<string, string>) => ({
  identityProviderAlias: "upstream",
  name,
  identityProviderMapper: type,
  config,
});

const grants = (input: PolicyInput) =>
  privilegeFacts(input).grants.map((g) => ({
    field: g.field,
    grantee: g.grantee,
    roles: g.reaches.map((r) => r.path.join(" → ")),
  }));

describe("privilegeFacts of identity provider mappers", () => {
  it("Given a hardcoded role mapper naming realm-admin, then every brokered user is granted it, under both readings of the setting", () => {
    const input = realmWith({
      identityProviderMappers: [
        mapper("admin", "oidc-hardcoded-role-idp-mapper", { role: "realm-management.realm-admin" }),
      ],
    });
    expect(grants(input)).toEqual([
      {
        field: "spec.identityProviderMappers[upstream/admin]",
        grantee: 'users brokered by identity provider "upstream"',
        roles: ["realm-management/realm-admin", "realm-management.realm-admin"],
      },
    ]);
  });

  it("Given claim-conditioned role mappers, then they grant their role too (the provider writes the claims)", () => {
    const input = realmWith({
      roles: [{ name: "ops", composites: { client: { "realm-management": ["manage-users"] } } }],
      identityProviderMappers: [
        mapper("a", "oidc-role-idp-mapper", { claim: "groups", "claim.value": "x", role: "ops" }),
        mapper("b", "oidc-advanced-role-idp-mapper", { claims: "[]", role: "ops" }),
        mapper("c", "saml-role-idp-mapper", { attribute: "role", role: "ops" }),
        mapper("d", "keycloak-oidc-role-to-role-idp-mapper", { "external.role": "x", role: "ops" }),
      ],
    });
    const mapperGrants = grants(input).filter((g) => g.field.startsWith("spec.identityProviderMappers"));
    expect(mapperGrants.map((g) => g.field)).toEqual([
      "spec.identityProviderMappers[upstream/a]",
      "spec.identityProviderMappers[upstream/b]",
      "spec.identityProviderMappers[upstream/c]",
      "spec.identityProviderMappers[upstream/d]",
    ]);
    for (const g of mapperGrants) expect(g.roles).toEqual(["ops", "ops → realm-management/manage-users"]);
  });

  it("Given a group mapper, then brokered users get the roles of the group and of its parents as spec.groups declares them", () => {
    const input = realmWith({
      groups: [
        {
          name: "partners",
          realmRoles: ["reader"],
          subGroups: [{ name: "admins", clientRoles: { "realm-management": ["realm-admin"] } }],
        },
      ],
      identityProviderMappers: [
        mapper("g", "oidc-hardcoded-group-idp-mapper", { group: "/partners/admins" }),
      ],
    });
    expect(grants(input).find((g) => g.field === "spec.identityProviderMappers[upstream/g]")).toEqual({
      field: "spec.identityProviderMappers[upstream/g]",
      grantee: 'users brokered by identity provider "upstream"',
      roles: ["reader", "realm-management/realm-admin"],
    });
  });

  it("Given attribute and username mappers, or a role mapper without a role, then no grant is listed", () => {
    const input = realmWith({
      identityProviderMappers: [
        mapper("a", "hardcoded-attribute-idp-mapper", {
          attribute: "role",
          "attribute.value": "realm-admin",
        }),
        mapper("u", "oidc-username-idp-mapper", { template: "${CLAIM.sub}" }),
        mapper("r", "oidc-hardcoded-role-idp-mapper", {}),
      ],
    });
    expect(grants(input)).toEqual([]);
  });
});
