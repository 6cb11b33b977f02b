// Realm sync against a real Keycloak: creation with settings, roles, composites, nested groups and
// role mappings; zero-write resync; drift repair; SMTP password change detection; ownership and
// adoption; deletion.
import { randomUUID } from "node:crypto";
import { adminConnection } from "./support.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeycloakConnection } from "../../src/keycloak/connection.js";
import { OwnershipError } from "../../src/keycloak/errors.js";
import { isTransient } from "../../src/lifecycle/errors.js";
import { deleteRealm, syncRealm, type DesiredRealm } from "../../src/keycloak/realmSync.js";
import type { Owner } from "../../src/keycloak/ownership.js";

// Keycloak started once for the integration run by test/integration/globalSetup.ts.

const connect = () => adminConnection();

const suffix = randomUUID().slice(0, 8);
const realmName = `kpo-realm-${suffix}`;
const owner: Owner = { uid: randomUUID(), namespace: "team-a", name: "sso" };

function desiredRealm(overrides: Partial<DesiredRealm> = {}): DesiredRealm {
  return {
    realm: {
      realm: realmName,
      enabled: true,
      displayName: "Team A",
      loginWithEmailAllowed: true,
      accessTokenLifespan: 600,
      attributes: { "team.example/cost-center": "1234" },
    },
    roles: [
      { name: "viewer", description: "Read-only access" },
      { name: "editor", description: "Can edit", composites: { realm: ["viewer"] } },
      {
        name: "admin",
        description: "Everything",
        composites: { realm: ["editor"], client: { "realm-management": ["view-users"] } },
      },
    ],
    groups: [
      {
        name: "engineering",
        attributes: { unit: ["eng"] },
        realmRoles: ["viewer"],
        subGroups: [
          { name: "backend", realmRoles: ["editor"], clientRoles: { "realm-management": ["view-clients"] } },
          { name: "frontend", realmRoles: ["viewer"] },
        ],
      },
      { name: "operations", realmRoles: ["admin"] },
    ],
    smtpServer: {
      host: "smtp.example.com",
      port: "587",
      from: "sso@example.com",
      auth: "true",
      user: "mailer",
      password: "first-password",
    },
    ...overrides,
  };
}

describe("Given a real Keycloak and a KeycloakConnection with admin credentials", () => {
  let conn: KeycloakConnection;
  beforeAll(() => {
    conn = connect();
  });
  afterAll(async () => {
    await deleteRealm(conn, realmName, owner).catch(() => undefined);
    await conn.close();
  });

  it("When a realm is synced the first time, Then it is created with its settings, roles, composites, groups and mappings", async () => {
    const result = await syncRealm(conn, desiredRealm(), owner);
    expect(result.created).toBe(true);
    expect(result.writes).toBeGreaterThan(0);

    const realm = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.realms.findOne({ realm: realmName }),
    );
    expect(realm?.displayName).toBe("Team A");
    expect(realm?.accessTokenLifespan).toBe(600);
    expect(realm?.attributes?.["kpo.dev/owner-uid"]).toBe(owner.uid);
    expect(realm?.attributes?.["team.example/cost-center"]).toBe("1234");
    expect(realm?.smtpServer?.host).toBe("smtp.example.com");

    const admin = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.roles.findOneByName({ realm: realmName, name: "admin" }),
    );
    const composites = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.roles.getCompositeRoles({ realm: realmName, id: admin?.id ?? "" }),
    );
    expect(composites.map((r) => r.name).sort()).toEqual(["editor", "view-users"]);
    // The marker names the CR that created the role.
    expect(admin?.attributes?.["kpo.dev/managed"]).toEqual(["true"]);
    expect(admin?.attributes?.["kpo.dev/owner-uid"]).toEqual([owner.uid]);

    const top = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.groups.find({ realm: realmName, briefRepresentation: false }),
    );
    expect(top.map((g) => g.name).sort()).toEqual(["engineering", "operations"]);
    const engineering = top.find((g) => g.name === "engineering");
    const children = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.groups.listSubGroups({ realm: realmName, parentId: engineering?.id ?? "", max: 100 }),
    );
    expect(children.map((g) => g.name).sort()).toEqual(["backend", "frontend"]);
    const backend = children.find((g) => g.name === "backend");
    const mappings = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.groups.listRoleMappings({ realm: realmName, id: backend?.id ?? "" }),
    );
    expect(mappings.realmMappings?.map((r) => r.name)).toEqual(["editor"]);
    const rm = (mappings.clientMappings as Record<string, { mappings: { name: string }[] }>)[
      "realm-management"
    ];
    expect(rm?.mappings.map((r) => r.name)).toEqual(["view-clients"]);
  });

  it("When the same realm is synced again, Then it makes zero writes", async () => {
    const before = conn.stats.writes;
    const result = await syncRealm(conn, desiredRealm(), owner);
    expect(result).toEqual({ created: false, writes: 0, changedFields: [] });
    expect(conn.stats.writes - before).toBe(0);
  });

  it("When a managed setting is changed directly in Keycloak, Then the next sync repairs only that field with one write", async () => {
    await conn.call({ method: "PUT", what: "test drift" }, (kc) =>
      kc.realms.update({ realm: realmName }, { displayName: "Changed by hand" }),
    );
    const before = conn.stats.writes;
    const result = await syncRealm(conn, desiredRealm(), owner);
    expect(result.changedFields).toEqual(["displayName"]);
    expect(result.writes).toBe(1);
    expect(conn.stats.writes - before).toBe(1);
    const realm = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.realms.findOne({ realm: realmName }),
    );
    expect(realm?.displayName).toBe("Team A");
    // Attributes not in the spec (Keycloak's own) survived the repair.
    expect(realm?.attributes?.["kpo.dev/owner-uid"]).toBe(owner.uid);
  });

  it("When a group mapping is removed by hand, Then the next sync restores it and nothing else", async () => {
    const top = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.groups.find({ realm: realmName }),
    );
    const operations = top.find((g) => g.name === "operations");
    const admin = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.roles.findOneByName({ realm: realmName, name: "admin" }),
    );
    await conn.call({ method: "DELETE", what: "test drift" }, (kc) =>
      kc.groups.delRealmRoleMappings({
        realm: realmName,
        id: operations?.id ?? "",
        roles: [{ id: admin?.id ?? "", name: "admin" }],
      }),
    );
    const result = await syncRealm(conn, desiredRealm(), owner);
    expect(result.writes).toBe(1);
    expect(result.changedFields).toEqual(["group:/operations.realmRoles"]);
  });

  it("When someone adds their own subgroup and role by hand, Then the sync leaves them alone (nothing written)", async () => {
    const top = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.groups.find({ realm: realmName }),
    );
    const engineering = top.find((g) => g.name === "engineering");
    await conn.call({ method: "POST", what: "test setup" }, (kc) =>
      kc.groups.createChildGroup({ realm: realmName, id: engineering?.id ?? "" }, { name: "contractors" }),
    );
    await conn.call({ method: "POST", what: "test setup" }, (kc) =>
      kc.roles.create({ realm: realmName, name: "hand-made" }),
    );
    const result = await syncRealm(conn, desiredRealm(), owner);
    expect(result.writes).toBe(0);
    const children = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.groups.listSubGroups({ realm: realmName, parentId: engineering?.id ?? "", max: 100 }),
    );
    expect(children.map((g) => g.name).sort()).toEqual(["backend", "contractors", "frontend"]);
    const handMade = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.roles.findOneByName({ realm: realmName, name: "hand-made" }),
    );
    expect(handMade?.name).toBe("hand-made");
  });

  it("When only the SMTP password changes in the spec, Then the sync detects it through the stored hash and writes once", async () => {
    const desired = desiredRealm();
    const smtp = { ...desired.smtpServer, password: "second-password" };
    const result = await syncRealm(conn, { ...desired, smtpServer: smtp }, owner);
    expect(result.changedFields).toEqual(["smtpServer"]);
    expect(result.writes).toBe(1);
    const again = await syncRealm(conn, { ...desired, smtpServer: smtp }, owner);
    expect(again.writes).toBe(0);
    const realm = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.realms.findOne({ realm: realmName }),
    );
    // Keycloak masks the password; the hash attribute never contains it.
    expect(JSON.stringify(realm)).not.toContain("second-password");
  });

  it("When a role is removed from the spec, Then the role the operator created is deleted and Keycloak's own roles stay", async () => {
    const desired = desiredRealm();
    const roles = desired.roles
      ?.filter((r) => r.name !== "viewer")
      .map((r) => (r.name === "editor" ? { ...r, composites: { realm: [] } } : r));
    const groups = [{ name: "operations", realmRoles: ["admin"] }];
    const result = await syncRealm(conn, { ...desired, roles: roles ?? [], groups }, owner);
    expect(result.changedFields).toContain("role:viewer");
    expect(result.changedFields).toContain("group:/engineering");
    const names = (
      await conn.call({ method: "GET", what: "test read" }, (kc) => kc.roles.find({ realm: realmName }))
    ).map((r) => r.name);
    expect(names).not.toContain("viewer");
    expect(names).toContain("offline_access");
    // And back: everything recreated, then stable.
    await syncRealm(conn, desiredRealm(), owner);
    expect((await syncRealm(conn, desiredRealm(), owner)).writes).toBe(0);
  });

  it("When roles carry only the legacy marker (kpo.dev/managed without an owner), Then the realm's owner treats them as its own: a listed one gets the owner's uid once, an unlisted one is pruned", async () => {
    for (const name of ["legacy-listed", "legacy-extra"]) {
      await conn.call({ method: "POST", what: "test setup" }, (kc) =>
        kc.roles.create({ realm: realmName, name, attributes: { "kpo.dev/managed": ["true"] } }),
      );
    }
    const desired = desiredRealm();
    const withLegacy = { ...desired, roles: [...(desired.roles ?? []), { name: "legacy-listed" }] };
    const migrated = await syncRealm(conn, withLegacy, owner);
    expect(migrated.changedFields).toEqual(["role:legacy-listed", "role:legacy-extra"]);
    expect(migrated.writes).toBe(2);
    const listed = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.roles.findOneByName({ realm: realmName, name: "legacy-listed" }),
    );
    expect(listed?.attributes?.["kpo.dev/owner-uid"]).toEqual([owner.uid]);
    const extra = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.roles.findOneByName({ realm: realmName, name: "legacy-extra" }),
    );
    expect(extra).toBeFalsy();
    expect((await syncRealm(conn, withLegacy, owner)).writes).toBe(0);
    // Now it names its owner, so dropping it from the spec deletes it as any other role of ours.
    expect((await syncRealm(conn, desired, owner)).changedFields).toEqual(["role:legacy-listed"]);
    expect((await syncRealm(conn, desired, owner)).writes).toBe(0);
  });

  it("When a second CR takes over a realm the first CR left, Then it never prunes the first's roles and groups and refuses to change them", async () => {
    const shared = `kpo-shared-${suffix}`;
    const first: Owner = { uid: randomUUID(), namespace: "team-first", name: "sso" };
    const second: Owner = { uid: randomUUID(), namespace: "team-second", name: "sso" };
    await syncRealm(
      conn,
      {
        realm: { realm: shared, enabled: true },
        roles: [{ name: "first-role" }],
        groups: [{ name: "first-group", subGroups: [{ name: "first-child" }] }],
      },
      first,
    );
    // The first CR lets go of the realm (its owner attributes removed by hand).
    const realm = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.realms.findOne({ realm: shared }),
    );
    const released = Object.fromEntries(
      Object.entries(realm?.attributes ?? {}).filter(([k]) => !k.startsWith("kpo.dev/owner-")),
    );
    await conn.call({ method: "PUT", what: "test setup" }, (kc) =>
      kc.realms.update({ realm: shared }, { attributes: released }),
    );
    const releasedRealm = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.realms.findOne({ realm: shared }),
    );
    expect(releasedRealm?.attributes?.["kpo.dev/owner-uid"]).toBeUndefined();
    const names = async () => ({
      roles: (await conn.call({ method: "GET", what: "test read" }, (kc) => kc.roles.find({ realm: shared })))
        .map((r) => r.name ?? "")
        .filter((n) => n.endsWith("-role"))
        .sort(),
      groups: (
        await conn.call({ method: "GET", what: "test read" }, (kc) => kc.groups.find({ realm: shared }))
      )
        .map((g) => g.name ?? "")
        .sort(),
    });
    try {
      const desired = (roles: string[], groups: string[]): DesiredRealm => ({
        realm: { realm: shared, enabled: true },
        roles: roles.map((name) => ({ name })),
        groups: groups.map((name) => ({ name })),
      });
      const adopted = await syncRealm(conn, desired(["second-role"], ["second-group"]), second, {
        adopt: true,
      });
      expect(adopted.changedFields).not.toContain("role:first-role");
      expect(adopted.changedFields).not.toContain("group:/first-group");
      expect(await names()).toEqual({
        roles: ["first-role", "second-role"],
        groups: ["first-group", "second-group"],
      });
      const secondRole = await conn.call({ method: "GET", what: "test read" }, (kc) =>
        kc.roles.findOneByName({ realm: shared, name: "second-role" }),
      );
      expect(secondRole?.attributes?.["kpo.dev/owner-uid"]).toEqual([second.uid]);

      // Its own go when it drops them; the first CR's stay.
      const pruned = await syncRealm(conn, desired([], []), second, { adopt: true });
      expect(pruned.changedFields).toEqual(["role:second-role", "group:/second-group"]);
      expect(await names()).toEqual({ roles: ["first-role"], groups: ["first-group"] });
      expect((await syncRealm(conn, desired([], []), second, { adopt: true })).writes).toBe(0);

      // Listing the first CR's role or group does not make them the second's, even with adopt.
      for (const attempt of [desired(["first-role"], []), desired([], ["first-group"])]) {
        const before = conn.stats.writes;
        const err = await syncRealm(conn, attempt, second, { adopt: true }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OwnershipError);
        expect((err as Error).message).toContain("managed by another resource");
        expect((err as Error).message).not.toContain("team-first");
        expect(conn.stats.writes - before).toBe(0);
      }
      expect(await names()).toEqual({ roles: ["first-role"], groups: ["first-group"] });
    } finally {
      await deleteRealm(conn, shared, second);
      await deleteRealm(conn, shared, first);
    }
  });

  it("When another CR (different uid) syncs or deletes the same realm, Then it is refused even with adopt", async () => {
    const intruder: Owner = { uid: randomUUID(), namespace: "team-b", name: "sso" };
    const before = conn.stats.writes;
    const err = await syncRealm(conn, desiredRealm(), intruder, { adopt: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OwnershipError);
    expect(isTransient(err)).toBe(false);
    // The message says another resource manages it, never which one (another tenant's business).
    expect((err as Error).message).toContain("managed by another resource");
    expect((err as Error).message).not.toContain("team-a");
    expect(await deleteRealm(conn, realmName, intruder)).toBe(false);
    expect(conn.stats.writes - before).toBe(0);
    expect(
      await conn.call({ method: "GET", what: "test check" }, (kc) => kc.realms.findOne({ realm: realmName })),
    ).toBeTruthy();
  });

  it("When a realm exists that the operator did not create, Then it is refused without adopt and taken over with adopt", async () => {
    const foreign = `kpo-foreign-${suffix}`;
    await conn.call({ method: "POST", what: "test setup" }, (kc) =>
      kc.realms.create({ realm: foreign, enabled: true }),
    );
    const adopter: Owner = { uid: randomUUID(), namespace: "team-c", name: "legacy" };
    const desired: DesiredRealm = { realm: { realm: foreign, displayName: "Legacy" } };
    try {
      const err = await syncRealm(conn, desired, adopter).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OwnershipError);
      expect((err as Error).message).toContain("adopt");

      const adopted = await syncRealm(conn, desired, adopter, { adopt: true });
      expect(adopted.created).toBe(false);
      expect(adopted.writes).toBe(1);
      expect(adopted.changedFields).toContain("attributes.kpo.dev/owner-uid");
      expect((await syncRealm(conn, desired, adopter)).writes).toBe(0);
    } finally {
      expect(await deleteRealm(conn, foreign, adopter)).toBe(true);
    }
  });

  it("When the owner deletes its realm, Then it is gone, and deleting again reports it already gone", async () => {
    const disposable = `kpo-delete-${suffix}`;
    await syncRealm(conn, { realm: { realm: disposable, enabled: true } }, owner);
    expect(await deleteRealm(conn, disposable, owner)).toBe(true);
    const gone = await conn.call({ method: "GET", what: "test read" }, (kc) =>
      kc.realms.findOne({ realm: disposable }),
    );
    expect(gone).toBeNull();
    expect(await deleteRealm(conn, disposable, owner)).toBe(false);
  });
});
