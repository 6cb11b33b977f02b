import { describe, expect, it } from "vitest";
import { clientInput } from "../../test/unit/policyInputs.js";
import type { PolicyInput } from "./decision.js";
import {
  groupNode,
  hardcodedRoles,
  privilegeFacts,
  roleKeyOf,
  rolesToRead,
  type LiveRole,
} from "./privilege.js";
import { realmWith } from "../../test/unit/policyInputs.js";

function clientWith(spec: Record<string, unknown>, realmSpec: Record<string, unknown> = {}): PolicyInput {
  const input = clientInput();
  input.resource.spec = { ...input.resource.spec, ...spec };
  input.target.realm = {
    metadata: { name: "shop", namespace: "platform" },
    spec: { realmName: "shop", clientGrants: { namespaces: ["team-a"] }, ...realmSpec },
  };
  return input;
}

const paths = (input: PolicyInput, live: LiveRole[] = []) =>
  privilegeFacts(input, live).grants.map((g) => ({ field: g.field, paths: g.reaches.map((r) => r.path) }));

describe("privilegeFacts", () => {
  it("Given a service account granted a realm role whose desired composites include realm-admin, then the path is listed", () => {
    const input = clientWith(
      { serviceAccount: { realmRoles: ["ops"] } },
      { roles: [{ name: "ops", composites: { client: { "realm-management": ["realm-admin"] } } }] },
    );
    expect(paths(input)).toEqual([
      { field: "spec.serviceAccount", paths: [["ops"], ["ops", "realm-management/realm-admin"]] },
    ]);
    const reached = privilegeFacts(input).grants[0]?.reaches[1];
    expect(reached).toEqual({
      client: "realm-management",
      name: "realm-admin",
      role: "realm-management/realm-admin",
      path: ["ops", "realm-management/realm-admin"],
    });
  });

  it("Given live composites in Keycloak for a role the spec does not manage, then they are expanded transitively", () => {
    const input = clientWith({ serviceAccount: { clientRoles: { app: ["reader"] } } });
    const live: LiveRole[] = [
      { role: { client: "app", name: "reader" }, composites: [{ name: "ops" }] },
      { role: { name: "ops" }, composites: [{ client: "realm-management", name: "manage-users" }] },
    ];
    expect(paths(input, live)[0]?.paths).toEqual([
      ["app/reader"],
      ["app/reader", "ops"],
      ["app/reader", "ops", "realm-management/manage-users"],
    ]);
  });

  it("Given the spec manages a role's composites, then they replace the live ones (what the sync will leave)", () => {
    const input = clientWith(
      { serviceAccount: { realmRoles: ["ops"] } },
      { roles: [{ name: "ops", composites: { realm: ["viewer"] } }] },
    );
    const live: LiveRole[] = [
      { role: { name: "ops" }, composites: [{ client: "realm-management", name: "realm-admin" }] },
    ];
    expect(paths(input, live)[0]?.paths).toEqual([["ops"], ["ops", "viewer"]]);
  });

  it("Given a composite cycle, then every role is reached once", () => {
    const input = clientWith({ serviceAccount: { realmRoles: ["a"] } });
    const live: LiveRole[] = [
      { role: { name: "a" }, composites: [{ name: "b" }] },
      { role: { name: "b" }, composites: [{ name: "a" }, { name: "c" }] },
    ];
    expect(paths(input, live)[0]?.paths).toEqual([["a"], ["a", "b"], ["a", "b", "c"]]);
  });

  it("Given the client's own role definitions, then each confers its composites but not itself", () => {
    const input = clientWith({
      roles: [{ name: "svc", composites: { realm: ["ops"] } }, { name: "plain" }],
    });
    const live: LiveRole[] = [{ role: { name: "ops" }, composites: [{ name: "x" }] }];
    expect(paths(input, live)).toEqual([
      {
        field: "spec.roles[svc].composites",
        paths: [
          ["web/svc", "ops"],
          ["web/svc", "ops", "x"],
        ],
      },
    ]);
  });

  it("Given a hardcoded role mapper, then both of Keycloak's readings of its role setting are granted", () => {
    expect(hardcodedRoles("realm-management.realm-admin")).toEqual([
      { client: "realm-management", name: "realm-admin" },
      { name: "realm-management.realm-admin" },
    ]);
    expect(hardcodedRoles("ops")).toEqual([{ name: "ops" }]);
    const input = clientWith({
      protocolMappers: [
        {
          name: "r",
          protocolMapper: "oidc-hardcoded-role-mapper",
          config: { role: "realm-management.realm-admin" },
        },
      ],
    });
    expect(paths(input)[0]?.field).toBe("spec.protocolMappers[r]");
  });

  it("Given a SAML hardcoded role mapper, then its role setting is a grant read like the OIDC one", () => {
    const input = clientWith({
      protocol: "saml",
      protocolMappers: [
        {
          name: "admin",
          protocol: "saml",
          protocolMapper: "saml-hardcode-role-mapper",
          config: { role: "realm-management.realm-admin" },
        },
      ],
    });
    const [grant] = privilegeFacts(input).grants;
    expect(grant?.field).toBe("spec.protocolMappers[admin]");
    expect(grant?.grantee).toBe("every SAML assertion of the client (hardcoded role)");
    expect(grant?.reaches.map((r) => r.role)).toContain("realm-management/realm-admin");
  });

  it("Given service-account groups, then each reaches its roles and its parents' roles, from the realm spec and from Keycloak", () => {
    const input = clientWith(
      { serviceAccountsEnabled: true, serviceAccount: { groups: ["/staff/ops"] } },
      { groups: [{ name: "staff", realmRoles: ["reporter"], subGroups: [{ name: "ops" }] }] },
    );
    // Before Keycloak is read: the spec's roles of the parent group; the groups themselves are to be read.
    expect(paths(input)).toEqual([
      {
        field: "spec.serviceAccount.groups[/staff/ops]",
        paths: [["group /staff/ops", "group /staff", "reporter"]],
      },
    ]);
    expect(rolesToRead(input, [], new Set()).map((r) => roleKeyOf(r))).toEqual(
      expect.arrayContaining([roleKeyOf(groupNode("/staff/ops")), roleKeyOf(groupNode("/staff"))]),
    );
    // A mapping made by hand on the group, to a role with realm-admin inside: reached, with its path.
    const live: LiveRole[] = [
      { role: groupNode("/staff/ops"), composites: [{ name: "ops-by-hand" }] },
      { role: { name: "ops-by-hand" }, composites: [{ client: "realm-management", name: "realm-admin" }] },
    ];
    const [grant] = privilegeFacts(input, live).grants;
    expect(grant?.grantee).toBe("the client's service account (member of group /staff/ops)");
    expect(grant?.reaches.map((r) => r.path)).toEqual([
      ["group /staff/ops", "ops-by-hand"],
      ["group /staff/ops", "ops-by-hand", "realm-management/realm-admin"],
      ["group /staff/ops", "group /staff", "reporter"],
    ]);
    expect(grant?.reaches.every((r) => !("group" in r))).toBe(true);
  });

  it("Given a group and a client role with the same name, then their keys differ", () => {
    expect(roleKeyOf(groupNode("/x"))).not.toBe(roleKeyOf({ name: "/x" }));
    expect(roleKeyOf(groupNode("x"))).not.toBe(roleKeyOf({ client: "group", name: "x" }));
  });

  it("Given an authorization role policy naming realm-admin, then it is no grant: a policy only checks", () => {
    const input = clientWith({
      serviceAccountsEnabled: true,
      authorization: {
        policies: [{ name: "admins", type: "role", roles: [{ role: "realm-management/realm-admin" }] }],
      },
    });
    expect(privilegeFacts(input).grants).toEqual([]);
  });

  it("Given a realm's groups (nested), default roles and role definitions, then each is a grant of its own", () => {
    const input = realmWith({
      roles: [{ name: "ops", composites: { client: { "realm-management": ["realm-admin"] } } }],
      groups: [
        {
          name: "a",
          realmRoles: ["ops"],
          subGroups: [{ name: "b", clientRoles: { broker: ["read-token"] } }],
        },
      ],
      defaultRoles: { realm: ["ops"] },
    });
    expect(paths(input)).toEqual([
      { field: "spec.roles[ops].composites", paths: [["ops", "realm-management/realm-admin"]] },
      { field: "spec.groups[/a]", paths: [["ops"], ["ops", "realm-management/realm-admin"]] },
      { field: "spec.groups[/a/b]", paths: [["broker/read-token"]] },
      { field: "spec.defaultRoles", paths: [["ops"], ["ops", "realm-management/realm-admin"]] },
    ]);
    expect(privilegeFacts(input).realm).toBe("shop");
  });

  it("Given default groups, then each is a grant to every new user of the group's roles and its parents'", () => {
    const input = realmWith({
      roles: [{ name: "ops", composites: { client: { "realm-management": ["realm-admin"] } } }],
      groups: [
        {
          name: "a",
          realmRoles: ["ops"],
          subGroups: [{ name: "b", clientRoles: { broker: ["read-token"] } }],
        },
        { name: "plain" },
      ],
      defaultGroups: ["/a/b", "/plain", "/missing"],
    });
    const grant = privilegeFacts(input).grants.find((g) => g.field === "spec.defaultGroups[/a/b]");
    expect(grant?.grantee).toBe("every new user (default group /a/b)");
    expect(grant?.reaches.map((r) => r.path)).toEqual([
      ["ops"],
      ["broker/read-token"],
      ["ops", "realm-management/realm-admin"],
    ]);
    // A group without roles, and a path the spec does not define, confer nothing.
    expect(privilegeFacts(input).grants.filter((g) => g.field.startsWith("spec.defaultGroups"))).toHaveLength(
      1,
    );
  });

  it("Given client IDs with ':' and '/', then roles stay distinct", () => {
    const input = clientWith({
      serviceAccount: { clientRoles: { "https://a/b": ["x"], "https://a": ["b/x"] } },
    });
    expect(paths(input)[0]?.paths).toEqual([["https://a/b/x"], ["https://a/b/x"]]);
    expect(privilegeFacts(input).grants[0]?.reaches.map((r) => r.client)).toEqual([
      "https://a/b",
      "https://a",
    ]);
  });

  it("Given the grants so far, then rolesToRead lists each reached role once, skipping those the spec manages and those read", () => {
    const input = clientWith(
      { serviceAccount: { realmRoles: ["ops", "ops", "x"], clientRoles: { app: ["r"] } } },
      { roles: [{ name: "ops", composites: { realm: ["viewer"] } }] },
    );
    expect(rolesToRead(input, [], new Set())).toEqual([
      { name: "x" },
      { client: "app", name: "r" },
      { name: "viewer" },
    ]);
    const live: LiveRole[] = [{ role: { name: "x" }, composites: [{ name: "y" }] }];
    expect(
      rolesToRead(input, live, new Set([roleKeyOf({ name: "x" }), roleKeyOf({ name: "viewer" })])),
    ).toEqual([{ client: "app", name: "r" }, { name: "y" }]);
  });

  it("Given an instance, then it makes no grants", () => {
    const input = realmWith({});
    input.kind = "KeycloakInstance";
    expect(privilegeFacts(input).grants).toEqual([]);
  });
});
