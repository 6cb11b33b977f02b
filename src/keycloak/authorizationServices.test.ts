import type KeycloakAdminClient from "@keycloak/keycloak-admin-client";
import { describe, expect, it } from "vitest";
import { desiredAuthorization, type AuthorizationSpec } from "../resources/authorizationRepresentation.js";
import { syncAuthorization } from "./authorizationServices.js";
import type { KeycloakConnection } from "./connection.js";
import { MissingReferenceError } from "./errors.js";
import type { Owner } from "./ownership.js";
import { SyncSession } from "./session.js";

const owner: Owner = { uid: "uid-1", namespace: "ns", name: "cr", kind: "KeycloakClient" };
const client = { id: "c-1", clientId: "orders-api" };
const marker = { "kpo.dev/managed": ["true"], "kpo.dev/owner-uid": ["uid-1"] };

/** A Keycloak holding one resource server, answering the calls the sync makes; writes are recorded. */
function fakeKeycloak(state: {
  roles?: string[];
  groups?: string[];
  exported: Record<string, unknown>;
  scopes?: { id: string; name: string }[];
  resources?: Record<string, unknown>[];
  policies?: { id: string; name: string; type: string }[];
}) {
  const writes: string[] = [];
  const write = (what: string) => () => {
    writes.push(what);
    return Promise.resolve({ id: "new" });
  };
  const admin = {
    roles: { find: () => Promise.resolve((state.roles ?? []).map((name) => ({ id: name, name }))) },
    groups: {
      find: ({ search }: { search: string }) =>
        Promise.resolve(
          (state.groups ?? []).filter((p) => p.endsWith(`/${search}`)).map((path) => ({ id: path, path })),
        ),
    },
    users: { find: () => Promise.resolve([]) },
    clients: {
      find: () => Promise.resolve([]),
      exportResource: () => Promise.resolve(state.exported),
      listAllScopes: () => Promise.resolve(state.scopes ?? []),
      listResources: () => Promise.resolve(state.resources ?? []),
      listPolicies: () => Promise.resolve(state.policies ?? []),
      updateResourceServer: write("PUT resource server"),
      createAuthorizationScope: (_: unknown, rep: { name: string }) => write(`POST scope ${rep.name}`)(),
      delAuthorizationScope: ({ scopeId }: { scopeId: string }) => write(`DELETE scope ${scopeId}`)(),
      createResource: (_: unknown, rep: { name: string }) => write(`POST resource ${rep.name}`)(),
      updateResource: ({ resourceId }: { resourceId: string }) => write(`PUT resource ${resourceId}`)(),
      delResource: ({ resourceId }: { resourceId: string }) => write(`DELETE resource ${resourceId}`)(),
      createPolicy: ({ type }: { type: string }, rep: { name: string }) =>
        write(`POST policy/${type} ${rep.name}`)(),
      updatePolicy: ({ policyId }: { policyId: string }) => write(`PUT policy ${policyId}`)(),
      createPermission: ({ type }: { type: string }, rep: { name: string }) =>
        write(`POST permission/${type} ${rep.name}`)(),
      updatePermission: ({ permissionId }: { permissionId: string }) =>
        write(`PUT permission ${permissionId}`)(),
      delPolicy: ({ policyId }: { policyId: string }) => write(`DELETE policy ${policyId}`)(),
    },
  };
  const conn = {
    instance: "test",
    call: (_: unknown, fn: (kc: KeycloakAdminClient) => Promise<unknown>) =>
      fn(admin as unknown as KeycloakAdminClient),
  } as unknown as KeycloakConnection;
  return { session: new SyncSession(conn, "shop", "ns"), writes };
}

const spec: AuthorizationSpec = {
  policyEnforcementMode: "ENFORCING",
  scopes: [{ name: "view" }],
  resources: [{ name: "orders", scopes: ["view"] }],
  policies: [{ name: "viewers", type: "role", roles: [{ role: "viewer" }] }],
  permissions: [
    { name: "view-orders", type: "scope", resources: ["orders"], scopes: ["view"], policies: ["viewers"] },
  ],
};

/** What Keycloak exports once the spec above is in place. */
const inPlace = {
  exported: {
    policyEnforcementMode: "ENFORCING",
    decisionStrategy: "UNANIMOUS",
    policies: [
      {
        name: "viewers",
        type: "role",
        logic: "POSITIVE",
        decisionStrategy: "UNANIMOUS",
        config: { roles: '[{"id":"viewer","required":false}]' },
      },
      {
        name: "view-orders",
        type: "scope",
        logic: "POSITIVE",
        decisionStrategy: "UNANIMOUS",
        config: { resources: '["orders"]', scopes: '["view"]', applyPolicies: '["viewers"]' },
      },
    ],
  },
  roles: ["viewer"],
  scopes: [{ id: "s-view", name: "view" }],
  resources: [{ _id: "r-orders", name: "orders", scopes: [{ name: "view" }], attributes: marker }],
  policies: [
    { id: "p-viewers", name: "viewers", type: "role" },
    { id: "p-view-orders", name: "view-orders", type: "scope" },
  ],
};

describe("syncAuthorization", () => {
  it("Given a resource server that matches the spec, When synced, Then nothing is written", async () => {
    const { session, writes } = fakeKeycloak(inPlace);
    await syncAuthorization(session, client, desiredAuthorization(spec), owner);
    expect(writes).toEqual([]);
    expect(session.writes).toBe(0);
  });

  it("Given Keycloak's default resource, policy and permission, When synced, Then they go and the spec's items are made in order", async () => {
    const { session, writes } = fakeKeycloak({
      roles: ["viewer"],
      exported: { policyEnforcementMode: "ENFORCING", decisionStrategy: "UNANIMOUS", policies: [] },
      resources: [{ _id: "r-default", name: "Default Resource", attributes: {} }],
      policies: [
        { id: "p-default", name: "Default Policy", type: "js" },
        { id: "p-default-perm", name: "Default Permission", type: "resource" },
      ],
    });
    await syncAuthorization(session, client, desiredAuthorization(spec), owner);
    expect(writes).toEqual([
      "POST scope view",
      "POST resource orders",
      "DELETE resource r-default",
      "POST policy/role viewers",
      "DELETE policy p-default",
      "POST permission/scope view-orders",
      "DELETE policy p-default-perm",
    ]);
  });

  it("Given a permission changed by hand and a policy whose type changed, When synced, Then the permission is updated and the policy replaced", async () => {
    const exported = structuredClone(inPlace.exported);
    exported.policies[1] = {
      ...exported.policies[1],
      config: { resources: '["orders"]', scopes: '["view"]', applyPolicies: "[]" },
    } as (typeof exported.policies)[1];
    const { session, writes } = fakeKeycloak({
      ...inPlace,
      exported,
      policies: [
        { id: "p-viewers", name: "viewers", type: "user" },
        { id: "p-view-orders", name: "view-orders", type: "scope" },
      ],
    });
    await syncAuthorization(session, client, desiredAuthorization(spec), owner);
    expect(writes).toEqual([
      "DELETE policy p-viewers",
      "POST policy/role viewers",
      "PUT permission p-view-orders",
    ]);
  });

  it("Given policies naming a role and a group the realm lacks, When synced, Then the error names both and nothing is written", async () => {
    const { session, writes } = fakeKeycloak({ ...inPlace, roles: [], groups: ["/staff"] });
    const broken = desiredAuthorization({
      ...spec,
      policies: [
        { name: "viewers", type: "role", roles: [{ role: "viewer" }] },
        { name: "ops", type: "group", groups: [{ path: "/staff/ops" }, { path: "/staff" }] },
      ],
    });
    const sync = syncAuthorization(session, client, broken, owner);
    await expect(sync).rejects.toThrow(MissingReferenceError);
    await expect(sync).rejects.toThrow(
      'spec.authorization.policies[viewers] names role "viewer"; spec.authorization.policies[ops] names group "/staff/ops", which does not exist',
    );
    expect(writes).toEqual([]);
  });
});
