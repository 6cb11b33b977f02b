import type KeycloakAdminClient from "@keycloak/keycloak-admin-client";
import { describe, expect, it } from "vitest";
import { markedItems, syncCollection, type Collection, type MarkedItem } from "./collection.js";
import type { KeycloakConnection } from "./connection.js";
import { OwnershipError } from "./errors.js";
import type { Owner } from "./ownership.js";
import { SyncSession } from "./session.js";

/** A session whose connection records each request (method and description) and answers `{}`. */
function recordingSession(): { session: SyncSession; calls: string[] } {
  const calls: string[] = [];
  const conn = {
    instance: "test",
    call: (options: { method: string; what: string }, fn: (kc: KeycloakAdminClient) => Promise<unknown>) => {
      calls.push(`${options.method} ${options.what}`);
      return fn({} as KeycloakAdminClient);
    },
  } as unknown as KeycloakConnection;
  return { session: new SyncSession(conn, "r", "ns"), calls };
}

const owner: Owner = { uid: "uid-1", namespace: "ns", name: "cr" };
const ours = { "kpo.dev/managed": ["true"], "kpo.dev/owner-uid": ["uid-1"] };
const done = () => Promise.resolve({ id: "new" });

/** Roles held in a map, with the marked-item rules: enough to see the mechanism's choices. */
function roles(existing: Record<string, MarkedItem>, adopt = false): Collection<MarkedItem, MarkedItem> {
  const items = markedItems(owner, adopt);
  return {
    describe: (name) => `role "${name}"`,
    field: (name) => `role:${name}`,
    nameOf: (role) => role.name ?? "",
    list: () => Promise.resolve(new Map(Object.entries(existing))),
    checkExisting: (name, actual) => items.check(`Role "${name}"`, actual),
    create: () => done,
    update: (role, actual) => (items.update(role, actual) ? done : undefined),
    remove: (_, actual) => (items.ours(actual) ? done : undefined),
  };
}

describe("syncCollection", () => {
  it("Given missing, differing and extra items, Then it creates and updates in name order, then deletes its own extras in name order", async () => {
    const { session, calls } = recordingSession();
    const existing = {
      b: { name: "b", description: "old", attributes: ours },
      y: { name: "y", attributes: ours },
      x: { name: "x", attributes: ours },
      z: { name: "z", attributes: { "kpo.dev/owner-uid": ["uid-2"] } },
      w: { name: "w" },
    };
    await syncCollection(session, roles(existing), [
      { name: "c" },
      { name: "b", description: "new" },
      { name: "a" },
    ]);
    expect(calls).toEqual([
      'POST create role "a"',
      'PUT update role "b"',
      'POST create role "c"',
      'DELETE delete role "x" (no longer in the spec)',
      'DELETE delete role "y" (no longer in the spec)',
    ]);
    expect(session.changed).toEqual(["role:a", "role:b", "role:c", "role:x", "role:y"]);
    expect(session.writes).toBe(5);
  });

  it("Given items that already match, Then it writes nothing", async () => {
    const { session, calls } = recordingSession();
    const existing = { a: { name: "a", description: "d", attributes: { ...ours, extra: ["kept"] } } };
    const result = await syncCollection(session, roles(existing), [{ name: "a", description: "d" }]);
    expect(calls).toEqual([]);
    expect(session.writes).toBe(0);
    expect(result.membershipChanged).toBe(false);
  });

  it("Given an item nobody marked, Then it is refused unless the container was adopted, and taken over then", async () => {
    const existing = { a: { name: "a" } };
    const refused = recordingSession();
    await expect(syncCollection(refused.session, roles(existing), [{ name: "a" }])).rejects.toThrow(
      /was not created by this operator/,
    );
    expect(refused.session.writes).toBe(0);
    const adopted = recordingSession();
    await syncCollection(adopted.session, roles(existing, true), [{ name: "a" }]);
    expect(adopted.calls).toEqual(['PUT update role "a"']);
  });

  it("Given an item another CR's marker names, Then it is refused even with adopt, without naming the other CR", async () => {
    const { session } = recordingSession();
    const existing = { a: { name: "a", attributes: { "kpo.dev/owner-uid": ["uid-2"] } } };
    const err = await syncCollection(session, roles(existing, true), [{ name: "a" }]).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OwnershipError);
    expect((err as Error).message).toContain("managed by another resource");
    expect((err as Error).message).not.toContain("uid-2");
    expect(session.writes).toBe(0);
  });

  it("Given a legacy item (kpo.dev/managed only), Then it counts as ours: pruned when unlisted, given the owner's uid when listed", async () => {
    const legacy = { "kpo.dev/managed": ["true"] };
    const { session, calls } = recordingSession();
    await syncCollection(
      session,
      roles({ a: { name: "a", attributes: legacy }, b: { name: "b", attributes: legacy } }),
      [{ name: "a" }],
    );
    expect(calls).toEqual(['PUT update role "a"', 'DELETE delete role "b" (no longer in the spec)']);
  });

  it("Given a linked collection, Then it unlinks what goes before it links what comes, with PUT and DELETE", async () => {
    const { session, calls } = recordingSession();
    const scopes: Collection<string, { name: string }> = {
      kind: "linked",
      describe: (name) => `scope "${name}"`,
      field: () => "defaultClientScopes",
      nameOf: (name) => name,
      list: () => Promise.resolve(new Map([["old", { name: "old" }]])),
      create: () => Promise.resolve(done),
      remove: () => done,
    };
    await syncCollection(session, scopes, ["new"]);
    expect(calls).toEqual(['DELETE remove scope "old"', 'PUT add scope "new"']);
    expect(session.changed).toEqual(["defaultClientScopes"]);
  });
});

describe("markedItems", () => {
  it("Given a role to create, Then its attributes are string lists with the marker naming the owner", () => {
    const rep = markedItems(owner, false).rep({ name: "a", attributes: { n: 1, l: ["x", "y"] } });
    expect(rep).toEqual({
      name: "a",
      attributes: { n: ["1"], l: ["x", "y"], "kpo.dev/managed": ["true"], "kpo.dev/owner-uid": ["uid-1"] },
    });
  });

  it("Given a differing description, Then the update sends the full representation with Keycloak's other attributes kept", () => {
    const update = markedItems(owner, false).update(
      { name: "a", description: "new" },
      { name: "a", description: "old", attributes: { ...ours, theirs: ["kept"] } },
    );
    expect(update).toEqual({ name: "a", description: "new", attributes: { ...ours, theirs: ["kept"] } });
  });
});
