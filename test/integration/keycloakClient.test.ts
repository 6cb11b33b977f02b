// Client sync against a real Keycloak: a confidential client with roles, a protocol mapper,
// client scopes and service-account roles; its secret works for a client-credentials grant;
// rotation invalidates the old secret; resync writes nothing; ownership; deletion.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  deleteClient,
  getClientSecret,
  rotateClientSecret,
  syncClient,
  type DesiredClient,
} from "../../src/keycloak/clientSync.js";
import type RoleRepresentation from "@keycloak/keycloak-admin-client/lib/defs/roleRepresentation.js";
import { KeycloakConnection } from "../../src/keycloak/connection.js";
import { realmEndpoints } from "../../src/keycloak/endpoints.js";
import { OwnershipError } from "../../src/keycloak/errors.js";
import type { Owner } from "../../src/keycloak/ownership.js";
import { deleteRealm, syncRealm } from "../../src/keycloak/realmSync.js";

// Keycloak started once for the integration run by test/integration/globalSetup.ts.
const env = inject("keycloak");

const suffix = randomUUID().slice(0, 8);
const realmName = `kpo-clients-${suffix}`;
const realmOwner: Owner = { uid: randomUUID(), namespace: "platform", name: "apps" };
const owner: Owner = { uid: randomUUID(), namespace: "team-a", name: "orders" };
const clientId = `orders-${suffix}`;

function desiredClient(): DesiredClient {
  return {
    client: {
      clientId,
      name: "Orders service",
      enabled: true,
      protocol: "openid-connect",
      publicClient: false,
      serviceAccountsEnabled: true,
      standardFlowEnabled: true,
      directAccessGrantsEnabled: false,
      redirectUris: ["https://orders.example.com/callback"],
      webOrigins: ["https://orders.example.com"],
      attributes: { "post.logout.redirect.uris": "https://orders.example.com/" },
    },
    roles: [{ name: "orders-read", description: "Read orders" }, { name: "orders-write" }],
    protocolMappers: [
      {
        name: "tenant",
        protocol: "openid-connect",
        protocolMapper: "oidc-hardcoded-claim-mapper",
        config: {
          "claim.name": "tenant",
          "claim.value": "team-a",
          "jsonType.label": "String",
          "access.token.claim": "true",
          "id.token.claim": "false",
          "userinfo.token.claim": "false",
        },
      },
    ],
    defaultClientScopes: ["profile", "roles", "basic"],
    optionalClientScopes: ["email"],
    serviceAccountRoles: { realm: ["reporter"], client: { "realm-management": ["view-users"] } },
  };
}

async function clientCredentialsToken(secret: string): Promise<Response> {
  return fetch(`${env.url}/realms/${realmName}/protocol/openid-connect/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: secret,
    }),
  });
}

describe("Given a real Keycloak with a realm managed by the operator", () => {
  let conn: KeycloakConnection;
  beforeAll(async () => {
    conn = new KeycloakConnection({
      instance: "kpo-test/keycloak",
      baseUrl: env.url,
      credentials: { kind: "password", username: env.adminUsername, password: env.adminPassword },
      // The suite shares two cores with a control plane and Keycloak: be patient, not flaky.
      timeoutMs: 60_000,
    });
    await syncRealm(
      conn,
      { realm: { realm: realmName, enabled: true }, roles: [{ name: "reporter" }] },
      realmOwner,
    );
  });
  afterAll(async () => {
    await deleteRealm(conn, realmName, realmOwner).catch(() => undefined);
    await conn.close();
  });

  it("When a client is synced the first time, Then it is created with roles, mapper, scopes and service-account roles", async () => {
    const result = await syncClient(conn, realmName, desiredClient(), owner);
    expect(result.created).toBe(true);

    const [client] = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.clients.find({ realm: realmName, clientId }),
    );
    const id = client?.id ?? "";
    expect(client?.attributes?.["kpo.dev/owner-uid"]).toBe(owner.uid);
    expect(client?.redirectUris).toEqual(["https://orders.example.com/callback"]);
    expect(client?.protocolMappers?.map((m) => m.name)).toEqual(["tenant"]);
    const roles = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.clients.listRoles({ realm: realmName, id }),
    );
    expect(roles.map((r) => r.name).sort()).toEqual(["orders-read", "orders-write"]);
    const defaults = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.clients.listDefaultClientScopes({ realm: realmName, id }),
    );
    expect(defaults.map((s) => s.name).sort()).toEqual(["basic", "profile", "roles"]);
    const optional = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.clients.listOptionalClientScopes({ realm: realmName, id }),
    );
    expect(optional.map((s) => s.name)).toEqual(["email"]);
    const user = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.clients.getServiceAccountUser({ realm: realmName, id }),
    );
    const mappings = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.users.listRoleMappings({ realm: realmName, id: user.id ?? "" }),
    );
    expect(mappings.realmMappings?.map((r) => r.name)).toContain("reporter");
    const rm = (mappings.clientMappings as Record<string, { mappings: { name: string }[] }>)[
      "realm-management"
    ];
    expect(rm?.mappings.map((r) => r.name)).toEqual(["view-users"]);
  });

  it("When the same client is synced again, Then it makes zero writes", async () => {
    const before = conn.stats.writes;
    const result = await syncClient(conn, realmName, desiredClient(), owner);
    expect(result).toMatchObject({ created: false, writes: 0, changedFields: [] });
    expect(conn.stats.writes - before).toBe(0);
    // The client as found, with the secret its representation carries (no second lookup, no
    // separate secret read); compared without printing it.
    expect(result.client.clientId).toBe(clientId);
    const secret = await getClientSecret(conn, realmName, clientId, owner.namespace);
    expect(result.secret === secret).toBe(true);
  });

  it("When client roles list composites, Then they are added, changed and removed exactly, and a resync writes nothing", async () => {
    const roleComposites = async (name: string) => {
      const [client] = await conn.call({ method: "GET", what: "test read" }, (kc) =>
        kc.clients.find({ realm: realmName, clientId }),
      );
      const role = await conn.call({ method: "GET", what: "test read" }, (kc) =>
        kc.clients.findRole({ realm: realmName, id: client?.id ?? "", roleName: name }),
      );
      const composites = await conn.call({ method: "GET", what: "test read" }, (kc) =>
        kc.roles.getCompositeRoles({ realm: realmName, id: role?.id ?? "" }),
      );
      return composites.map((r) => r.name).sort();
    };
    const withComposites = (
      write: RoleRepresentation["composites"],
      admin?: RoleRepresentation["composites"],
    ): DesiredClient => ({
      ...desiredClient(),
      roles: [
        { name: "orders-read", description: "Read orders" },
        { name: "orders-write", ...(write ? { composites: write } : {}) },
        ...(admin ? [{ name: "orders-admin", composites: admin }] : []),
      ],
    });

    // Added: to an existing role, and to a role created in the same sync.
    const added = withComposites(
      { realm: ["reporter"], client: { [clientId]: ["orders-read"] } },
      { client: { [clientId]: ["orders-read", "orders-write"] } },
    );
    const first = await syncClient(conn, realmName, added, owner);
    expect(first.changedFields).toEqual([
      "role:orders-admin",
      "role:orders-admin.composites",
      "role:orders-write.composites",
    ]);
    expect(first.writes).toBe(3);
    expect(await roleComposites("orders-write")).toEqual(["orders-read", "reporter"]);
    expect(await roleComposites("orders-admin")).toEqual(["orders-read", "orders-write"]);
    expect((await syncClient(conn, realmName, added, owner)).writes).toBe(0);

    // Changed: one added, one removed.
    const changed = withComposites(
      { client: { [clientId]: ["orders-read"], "realm-management": ["view-users"] } },
      { client: { [clientId]: ["orders-read", "orders-write"] } },
    );
    const second = await syncClient(conn, realmName, changed, owner);
    expect(second.changedFields).toEqual(["role:orders-write.composites"]);
    expect(second.writes).toBe(2);
    expect(await roleComposites("orders-write")).toEqual(["orders-read", "view-users"]);
    expect((await syncClient(conn, realmName, changed, owner)).writes).toBe(0);

    // Removed: an empty list leaves none; the role that listed them goes with its composites.
    const removed = withComposites({});
    const third = await syncClient(conn, realmName, removed, owner);
    expect(third.changedFields).toEqual(["role:orders-admin", "role:orders-write.composites"]);
    expect(third.writes).toBe(2);
    expect(await roleComposites("orders-write")).toEqual([]);
    expect((await syncClient(conn, realmName, removed, owner)).writes).toBe(0);
    // Without `composites` the role's composites are not managed: nothing to write.
    expect((await syncClient(conn, realmName, desiredClient(), owner)).writes).toBe(0);
  });

  it("When a client role carries another CR's marker, Then the owner of the client never prunes or changes it", async () => {
    const sharedId = `shared-${suffix}`;
    const first: Owner = { uid: randomUUID(), namespace: "team-first", name: "shared" };
    const second: Owner = { uid: randomUUID(), namespace: "team-second", name: "shared" };
    const desired = (roles: string[]): DesiredClient => ({
      client: { clientId: sharedId, publicClient: true },
      roles: roles.map((name) => ({ name })),
    });
    // A client nobody owns holding a role the first CR made (its marker names the first CR).
    await conn.call({ method: "POST", what: "test setup" }, (kc) =>
      kc.clients.create({ realm: realmName, clientId: sharedId, publicClient: true }),
    );
    const [client] = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.clients.find({ realm: realmName, clientId: sharedId }),
    );
    const id = client?.id ?? "";
    await conn.call({ method: "POST", what: "test setup" }, (kc) =>
      kc.clients.createRole({
        realm: realmName,
        id,
        name: "first-role",
        attributes: { "kpo.dev/managed": ["true"], "kpo.dev/owner-uid": [first.uid] },
      }),
    );
    const roleNames = async () =>
      (
        await conn.call({ method: "GET", what: "test read" }, (kc) =>
          kc.clients.listRoles({ realm: realmName, id }),
        )
      )
        .map((r) => r.name)
        .sort();
    try {
      const adopted = await syncClient(conn, realmName, desired(["second-role"]), second, { adopt: true });
      expect(adopted.changedFields).toContain("role:second-role");
      expect(adopted.changedFields).not.toContain("role:first-role");
      expect(await roleNames()).toEqual(["first-role", "second-role"]);

      const pruned = await syncClient(conn, realmName, desired([]), second, { adopt: true });
      expect(pruned.changedFields).toEqual(["role:second-role"]);
      expect(await roleNames()).toEqual(["first-role"]);
      expect((await syncClient(conn, realmName, desired([]), second, { adopt: true })).writes).toBe(0);

      const before = conn.stats.writes;
      const err = await syncClient(conn, realmName, desired(["first-role"]), second, { adopt: true }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(OwnershipError);
      expect((err as Error).message).toContain("managed by another resource");
      expect((err as Error).message).not.toContain("team-first");
      expect(conn.stats.writes - before).toBe(0);
      expect(await roleNames()).toEqual(["first-role"]);
    } finally {
      await deleteClient(conn, realmName, sharedId, second);
    }
  });

  it("When a redirect URI is changed by hand, Then the next sync repairs only that field", async () => {
    const [client] = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.clients.find({ realm: realmName, clientId }),
    );
    await conn.call({ method: "PUT", what: "test drift" }, (kc) =>
      kc.clients.update(
        { realm: realmName, id: client?.id ?? "" },
        { clientId, redirectUris: ["https://evil.example.com/*"] },
      ),
    );
    const result = await syncClient(conn, realmName, desiredClient(), owner);
    expect(result.changedFields).toEqual(["redirectUris"]);
    expect(result.writes).toBe(1);
  });

  it("When the secret is read, Then a client-credentials token request with it succeeds and the token carries the mapper's claim", async () => {
    const secret = await getClientSecret(conn, realmName, clientId, owner.namespace);
    const response = await clientCredentialsToken(secret);
    expect(response.status).toBe(200);
    const token = (await response.json()) as { access_token: string };
    const payload = JSON.parse(
      Buffer.from(token.access_token.split(".")[1] ?? "", "base64url").toString(),
    ) as Record<string, unknown>;
    expect(payload.tenant).toBe("team-a");
    const endpoints = await realmEndpoints(env.url, realmName, { conn });
    expect(endpoints.source).toBe("discovery");
    expect(payload.iss).toBe(endpoints.issuer);
    expect(endpoints.tokenEndpoint).toBe(`${endpoints.issuer}/protocol/openid-connect/token`);
  });

  it("When the secret is rotated, Then the new secret works and the old one is refused", async () => {
    const old = await getClientSecret(conn, realmName, clientId, owner.namespace);
    const rotated = await rotateClientSecret(conn, realmName, clientId, owner);
    expect(rotated).not.toBe(old);
    expect(await getClientSecret(conn, realmName, clientId)).toBe(rotated);
    expect((await clientCredentialsToken(rotated)).status).toBe(200);
    expect((await clientCredentialsToken(old)).status).toBe(401);
    // Rotation is not drift: the next sync leaves the client alone.
    expect((await syncClient(conn, realmName, desiredClient(), owner)).writes).toBe(0);
  });

  it("When the spec carries its own secret, Then the client gets exactly that secret, once", async () => {
    const chosen = randomUUID();
    const desired = desiredClient();
    desired.client.secret = chosen;
    const result = await syncClient(conn, realmName, desired, owner);
    expect(result.changedFields).toEqual(["secret"]);
    expect(await getClientSecret(conn, realmName, clientId)).toBe(chosen);
    expect((await clientCredentialsToken(chosen)).status).toBe(200);
    expect((await syncClient(conn, realmName, desired, owner)).writes).toBe(0);
  });

  it("When a service-account role is dropped from the spec, Then only that grant is revoked", async () => {
    const desired = { ...desiredClient(), serviceAccountRoles: { realm: ["reporter"] } };
    const result = await syncClient(conn, realmName, desired, owner);
    expect(result.changedFields).toEqual(["serviceAccountRoles"]);
    const [client] = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.clients.find({ realm: realmName, clientId }),
    );
    const user = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.clients.getServiceAccountUser({ realm: realmName, id: client?.id ?? "" }),
    );
    const mappings = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.users.listRoleMappings({ realm: realmName, id: user.id ?? "" }),
    );
    expect(Object.keys(mappings.clientMappings ?? {})).not.toContain("realm-management");
    // Keycloak's default role of the service account is not the operator's to revoke.
    expect(mappings.realmMappings?.map((r) => r.name)).toContain(`default-roles-${realmName}`);
    expect((await syncClient(conn, realmName, desired, owner)).writes).toBe(0);
  });

  it("When another CR syncs, rotates or deletes the client, Then it is refused even with adopt, and its deletion leaves the client alone", async () => {
    const intruder: Owner = { uid: randomUUID(), namespace: "team-b", name: "orders" };
    const before = conn.stats.writes;
    await expect(
      syncClient(conn, realmName, desiredClient(), intruder, { adopt: true }),
    ).rejects.toBeInstanceOf(OwnershipError);
    await expect(rotateClientSecret(conn, realmName, clientId, intruder)).rejects.toBeInstanceOf(
      OwnershipError,
    );
    // Not the intruder's to delete: nothing of its own is there, so its teardown is done.
    expect(await deleteClient(conn, realmName, clientId, intruder)).toBe(false);
    expect(conn.stats.writes - before).toBe(0);
    expect(await getClientSecret(conn, realmName, clientId)).toBeTruthy();
  });

  it("When a client exists that the operator did not create, Then it is refused without adopt and adopted with adopt", async () => {
    const foreignId = `legacy-${suffix}`;
    await conn.call({ method: "POST", what: "test setup" }, (kc) =>
      kc.clients.create({ realm: realmName, clientId: foreignId, publicClient: true }),
    );
    const adopter: Owner = { uid: randomUUID(), namespace: "team-c", name: "legacy" };
    const desired: DesiredClient = {
      client: { clientId: foreignId, publicClient: true, rootUrl: "https://legacy.example.com" },
    };
    const err = await syncClient(conn, realmName, desired, adopter).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OwnershipError);
    const adopted = await syncClient(conn, realmName, desired, adopter, { adopt: true });
    expect(adopted.created).toBe(false);
    expect(adopted.changedFields).toContain("rootUrl");
    expect((await syncClient(conn, realmName, desired, adopter)).writes).toBe(0);
    expect(await deleteClient(conn, realmName, foreignId, adopter)).toBe(true);
  });

  it("When the owner deletes the client, Then it is gone and its secret no longer works", async () => {
    const secret = await getClientSecret(conn, realmName, clientId);
    expect(await deleteClient(conn, realmName, clientId, owner)).toBe(true);
    expect(await deleteClient(conn, realmName, clientId, owner)).toBe(false);
    expect((await clientCredentialsToken(secret)).status).toBe(401);
  });
});
