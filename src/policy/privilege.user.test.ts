import { describe, expect, it } from "vitest";
import type { PolicyInput } from "./decision.js";
import { groupLineage, privilegeFacts, rolesToRead, userGroupPaths, type LiveGroup } from "./privilege.js";

function userWith(spec: Record<string, unknown>, realmSpec: Record<string, unknown> = {}): PolicyInput {
  return {
    operation: "create",
    kind: "KeycloakUser",
    resource: {
      metadata: { name: "bot", namespace: "team-a" },
      spec: { username: "bot", realmRef: { name: "shop", namespace: "platform" }, ...spec },
    },
    namespace: { name: "team-a", labels: {} },
    target: {
      realm: {
        metadata: { name: "shop", namespace: "platform" },
        spec: { realmName: "shop", userGrants: { namespaces: ["team-a"] }, ...realmSpec },
      },
    },
    counts: {},
    environment: {},
  };
}

const grants = (input: PolicyInput, groups: LiveGroup[] = []) =>
  privilegeFacts(input, [], groups).grants.map((g) => ({
    field: g.field,
    grantee: g.grantee,
    roles: g.reaches.map((r) => r.path.join(" → ")),
  }));

describe("privilegeFacts of a KeycloakUser", () => {
  it("Given a user with realm-admin mapped directly, then the grant names it", () => {
    expect(grants(userWith({ clientRoles: { "realm-management": ["realm-admin"] } }))).toEqual([
      { field: "spec.clientRoles", grantee: "user bot", roles: ["realm-management/realm-admin"] },
    ]);
  });

  it("Given a user with a realm role whose spec composites include manage-users, then the path is expanded", () => {
    const input = userWith(
      { realmRoles: ["ops"] },
      { roles: [{ name: "ops", composites: { client: { "realm-management": ["manage-users"] } } }] },
    );
    expect(grants(input)).toEqual([
      {
        field: "spec.realmRoles",
        grantee: "user bot",
        roles: ["ops", "ops → realm-management/manage-users"],
      },
    ]);
  });

  it("Given a user in a subgroup, then the roles the realm spec maps to the group and its parent are both grants", () => {
    const input = userWith(
      { groups: ["/staff/ops"] },
      {
        groups: [
          {
            name: "staff",
            clientRoles: { "realm-management": ["impersonation"] },
            subGroups: [{ name: "ops", realmRoles: ["reader"] }],
          },
        ],
      },
    );
    expect(grants(input)).toEqual([
      {
        field: "spec.groups[/staff/ops]",
        grantee: "user bot (member of group /staff/ops, which inherits the roles of /staff)",
        roles: ["realm-management/impersonation"],
      },
      {
        field: "spec.groups[/staff/ops]",
        grantee: "user bot (member of group /staff/ops)",
        roles: ["reader"],
      },
    ]);
  });

  it("Given a group whose roles exist only in Keycloak, then the live mappings are grants too", () => {
    const input = userWith({ groups: ["/admins"] });
    expect(grants(input)).toEqual([]);
    const live: LiveGroup[] = [
      { path: "/admins", roles: [{ client: "realm-management", name: "realm-admin" }] },
    ];
    expect(grants(input, live)).toEqual([
      {
        field: "spec.groups[/admins]",
        grantee: "user bot (member of group /admins)",
        roles: ["realm-management/realm-admin"],
      },
    ]);
  });

  it("Given a default group of the realm (which every new user joins), then its roles are grants of any user", () => {
    const live: LiveGroup[] = [
      { path: "/everyone", roles: [], isDefault: true },
      {
        path: "/everyone/ops",
        roles: [{ client: "realm-management", name: "manage-users" }],
        isDefault: true,
      },
    ];
    expect(grants(userWith({}), live)).toEqual([
      {
        field: "spec.username (a new user joins the realm's default groups)",
        grantee: "user bot (member of default group /everyone/ops)",
        roles: ["realm-management/manage-users"],
      },
    ]);
  });

  it("Given live group mappings in the input, then rolesToRead asks for the composites of the roles they reach", () => {
    const input = {
      ...userWith({ groups: ["/ops"] }),
      keycloakGroups: [{ path: "/ops", roles: [{ name: "ops" }] }],
    };
    expect(rolesToRead(input, [], new Set())).toEqual([{ name: "ops" }]);
  });

  it("Given nested group paths, then the lineage lists every parent and userGroupPaths dedupes them", () => {
    expect(groupLineage("/a/b/c")).toEqual(["/a", "/a/b", "/a/b/c"]);
    expect(userGroupPaths({ groups: ["/a/b", "/a/c", "/a"] })).toEqual(["/a", "/a/b", "/a/c"]);
    expect(userGroupPaths({})).toEqual([]);
  });
});
