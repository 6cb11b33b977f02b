import type KeycloakAdminClient from "@keycloak/keycloak-admin-client";
import { describe, expect, it } from "vitest";
import type { KeycloakConnection } from "./connection.js";
import { MissingReferenceError } from "./errors.js";
import { reconcileRoleRefs, roleKey, type HeldRole, type RoleReferences } from "./roleReferences.js";
import { SyncSession, type RoleRef } from "./session.js";

/**
 * A realm with realm roles `a`, `b`, `c` and client `app` (uuid `app-uuid`) with roles `x`, `y`;
 * reads answer from it, writes are recorded as `METHOD container: roles`.
 */
function fakeRealm(): { session: SyncSession; writes: string[] } {
  const writes: string[] = [];
  const admin = {
    roles: { find: () => Promise.resolve(["a", "b", "c"].map((name) => ({ id: `id-${name}`, name }))) },
    clients: {
      find: () => Promise.resolve([{ id: "app-uuid", clientId: "app" }]),
      listRoles: () => Promise.resolve(["x", "y"].map((name) => ({ id: `id-${name}`, name }))),
    },
  } as unknown as KeycloakAdminClient;
  const conn = {
    instance: "test",
    call: (_: unknown, fn: (kc: KeycloakAdminClient) => Promise<unknown>) => fn(admin),
  } as unknown as KeycloakConnection;
  return { session: new SyncSession(conn, "r", "ns"), writes };
}

const held = (key: string, clientUuid?: string): HeldRole => {
  const name = key.slice(key.lastIndexOf(":") + 1);
  return { key, ref: { id: `id-${name}`, name }, ...(clientUuid ? { clientUuid } : {}) };
};

function refs(
  writes: string[],
  wanted: string[],
  have: HeldRole[],
  extra: Partial<RoleReferences> = {},
): RoleReferences {
  const log = (method: string) => (container: string | undefined, roles: RoleRef[]) => (): Promise<void> => {
    writes.push(`${method} ${container ?? "-"}: ${roles.map((r) => r.name).join(",")}`);
    return Promise.resolve();
  };
  return {
    field: "f",
    describe: "roles of x",
    usedBy: "Thing x",
    wanted,
    held: () => Promise.resolve(have),
    add: log("POST"),
    remove: log("DELETE"),
    ...extra,
  };
}

describe("reconcileRoleRefs", () => {
  it("Given composites, Then missing realm and client roles are added in one request and extras removed in another", async () => {
    const { session, writes } = fakeRealm();
    const wanted = [roleKey({ name: "a" }), roleKey({ clientId: "app", name: "x" })];
    const changed = await reconcileRoleRefs(session, refs(writes, wanted, [held("realm:b")]));
    expect(changed).toBe(true);
    expect(writes).toEqual(["POST -: a,x", "DELETE -: b"]);
    expect(session.writes).toBe(2);
    expect(session.changed).toEqual(["f"]);
  });

  it("Given role mappings, Then writes go per container, the realm's first, then each client's", async () => {
    const { session, writes } = fakeRealm();
    const wanted = [roleKey({ clientId: "app", name: "y" }), roleKey({ name: "c" })];
    await reconcileRoleRefs(
      session,
      refs(writes, wanted, [held("realm:a"), held("client:app:x", "app-uuid")], { perContainer: true }),
    );
    expect(writes).toEqual(["POST -: c", "POST app-uuid: y", "DELETE -: a", "DELETE app-uuid: x"]);
  });

  it("Given nothing differs, Then nothing is written and beforeChange does not run", async () => {
    const { session, writes } = fakeRealm();
    let prepared = false;
    const changed = await reconcileRoleRefs(
      session,
      refs(writes, ["realm:a"], [held("realm:a")], {
        beforeChange: () => {
          prepared = true;
          return Promise.resolve();
        },
      }),
    );
    expect(changed).toBe(false);
    expect(prepared).toBe(false);
    expect(session.writes).toBe(0);
  });

  it("Given a set that removes only what it added, Then roles granted by others stay", async () => {
    const { session, writes } = fakeRealm();
    const recorded = ["realm:b"];
    await reconcileRoleRefs(
      session,
      refs(writes, [], [held("realm:a"), held("realm:b")], { removable: (key) => recorded.includes(key) }),
    );
    expect(writes).toEqual(["DELETE -: b"]);
  });

  it("Given a wanted role that does not exist, Then it fails with a missing reference before writing", async () => {
    const { session, writes } = fakeRealm();
    const err = await reconcileRoleRefs(session, refs(writes, ["realm:nope"], [])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingReferenceError);
    expect((err as Error).message).toContain('Thing x refers to realm role "nope"');
    expect(writes).toEqual([]);
  });
});
