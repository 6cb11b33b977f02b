import { describe, expect, it } from "vitest";
import type { PolicyInput } from "./decision.js";
import { privilegeFacts } from "./privilege.js";
import { realmWith } from "../../test/unit/policyInputs.js";

const withMappers = (mappers: unknown[], extra: Record<string, unknown> = {}) =>
  realmWith({
    ...extra,
    userFederation: {
      ldap: [{ name: "corp", connectionUrl: "ldaps://ldap.example", usersDn: "ou=people", mappers }],
    },
  });

const grants = (input: PolicyInput) =>
  privilegeFacts(input).grants.map((g) => ({
    field: g.field,
    grantee: g.grantee,
    roles: g.reaches.map((r) => r.role),
  }));

describe("privilegeFacts for LDAP mappers", () => {
  it("Given a hardcoded LDAP role mapper naming realm-admin, then every user of the provider is granted it (both readings)", () => {
    const input = withMappers([
      {
        name: "admins",
        type: "hardcoded-ldap-role-mapper",
        config: { role: "realm-management.realm-admin" },
      },
    ]);
    expect(grants(input)).toEqual([
      {
        field: "spec.userFederation.ldap[corp].mappers[admins]",
        grantee: 'users of LDAP provider "corp" (hardcoded-ldap-role-mapper)',
        roles: ["realm-management/realm-admin", "realm-management.realm-admin"],
      },
    ]);
  });

  it("Given a hardcoded LDAP role mapper naming a spec role with admin composites, then the composite path is listed", () => {
    const input = withMappers(
      [{ name: "ops", type: "hardcoded-ldap-role-mapper", config: { role: "ops" } }],
      {
        roles: [{ name: "ops", composites: { client: { "realm-management": ["manage-users"] } } }],
      },
    );
    const reaches = privilegeFacts(input).grants.find((g) => g.field.endsWith("mappers[ops]"))?.reaches;
    expect(reaches?.map((r) => r.path)).toEqual([["ops"], ["ops", "realm-management/manage-users"]]);
  });

  it("Given a role LDAP mapper into realm-management's client roles, then it reaches any role of that client", () => {
    const input = withMappers([
      {
        name: "from-ldap",
        type: "role-ldap-mapper",
        config: { "use.realm.roles.mapping": "false", "client.id": "realm-management", "roles.dn": "ou=g" },
      },
    ]);
    expect(grants(input)).toEqual([
      {
        field: "spec.userFederation.ldap[corp].mappers[from-ldap]",
        grantee: 'users of LDAP provider "corp" (role-ldap-mapper)',
        roles: ["realm-management/*"],
      },
    ]);
  });

  it("Given a role LDAP mapper into realm roles, then it reaches every realm role the spec defines, composites expanded", () => {
    const input = withMappers([{ name: "roles", type: "role-ldap-mapper", config: { "roles.dn": "ou=g" } }], {
      roles: [
        { name: "viewer" },
        { name: "ops", composites: { client: { "realm-management": ["realm-admin"] } } },
      ],
    });
    expect(grants(input).find((g) => g.field.endsWith("mappers[roles]"))?.roles).toEqual([
      "viewer",
      "ops",
      "*",
      "realm-management/realm-admin",
    ]);
  });

  it("Given group mappers, then they reach the roles of the spec groups they can put users in", () => {
    const input = withMappers(
      [
        { name: "devs", type: "hardcoded-ldap-group-mapper", config: { group: "/staff/devs" } },
        {
          name: "groups",
          type: "group-ldap-mapper",
          config: { "groups.dn": "ou=g", "groups.path": "/staff" },
        },
        { name: "mail", type: "user-attribute-ldap-mapper", config: { "ldap.attribute": "mail" } },
      ],
      {
        groups: [
          { name: "staff", realmRoles: ["viewer"], subGroups: [{ name: "devs", realmRoles: ["developer"] }] },
          { name: "ops", clientRoles: { "realm-management": ["realm-admin"] } },
        ],
      },
    );
    expect(grants(input).filter((g) => g.field.includes("mappers"))).toEqual([
      {
        field: "spec.userFederation.ldap[corp].mappers[devs]",
        grantee: 'users of LDAP provider "corp" (hardcoded-ldap-group-mapper)',
        roles: ["developer"],
      },
      {
        field: "spec.userFederation.ldap[corp].mappers[groups]",
        grantee: 'users of LDAP provider "corp" (group-ldap-mapper)',
        roles: ["developer"],
      },
    ]);
  });

  it("Given a group LDAP mapper under the root path, then every spec group's roles are reached", () => {
    const input = withMappers(
      [{ name: "groups", type: "group-ldap-mapper", config: { "groups.dn": "ou=g" } }],
      {
        groups: [{ name: "ops", clientRoles: { "realm-management": ["realm-admin"] } }],
      },
    );
    expect(grants(input).find((g) => g.field.endsWith("mappers[groups]"))?.roles).toEqual([
      "realm-management/realm-admin",
    ]);
  });
});
