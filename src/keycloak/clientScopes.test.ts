import type KeycloakAdminClient from "@keycloak/keycloak-admin-client";
import type ClientScopeRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientScopeRepresentation.js";
import { describe, expect, it } from "vitest";
import { scopeLinkAttributes, syncClientScopes, type DesiredClientScope } from "./clientScopes.js";
import type { KeycloakConnection } from "./connection.js";
import { MissingReferenceError, OwnershipError } from "./errors.js";
import type { Owner } from "./ownership.js";
import { SyncSession } from "./session.js";

const owner: Owner = { uid: "uid-1", namespace: "ns", name: "cr", kind: "KeycloakRealm" };
const ours = { "kpo.dev/managed": "true", "kpo.dev/owner-uid": "uid-1" };

/** The client-scope part of a realm, in memory, behind the admin client's method names. */
class FakeRealm {
  scopes = new Map<string, ClientScopeRepresentation>();
  links: Record<"default" | "optional", Set<string>> = { default: new Set(), optional: new Set() };
  attributes: Record<string, string> = {};
  #next = 0;

  add(scope: ClientScopeRepresentation): string {
    const id = `id-${++this.#next}`;
    this.scopes.set(id, { protocolMappers: [], attributes: {}, ...scope, id });
    return id;
  }
  idOf(name: string): string {
    return [...this.scopes.values()].find((s) => s.name === name)?.id ?? "";
  }
  linkedNames(kind: "default" | "optional"): string[] {
    return [...this.links[kind]].map((id) => this.scopes.get(id)?.name ?? "").sort();
  }
  #link(kind: "default" | "optional", id: string) {
    const other = kind === "default" ? "optional" : "default";
    // Keycloak keeps one link per scope: linking it the other way too is a conflict.
    if (this.links[other].has(id)) return Promise.reject(new Error(`409: scope ${id} is ${other}`));
    this.links[kind].add(id);
    return Promise.resolve();
  }
  admin(): KeycloakAdminClient {
    const list = (kind: "default" | "optional") => () =>
      Promise.resolve([...this.links[kind]].map((id) => ({ ...this.scopes.get(id) })));
    return {
      realms: {
        findOne: () => Promise.resolve({ realm: "r", attributes: { ...this.attributes } }),
        update: (_: unknown, rep: { attributes: Record<string, string> }) => {
          this.attributes = { ...rep.attributes };
          return Promise.resolve();
        },
      },
      roles: { find: () => Promise.resolve([]) },
      clientScopes: {
        find: () => Promise.resolve([...this.scopes.values()].map((s) => structuredClone(s))),
        create: (rep: ClientScopeRepresentation) => Promise.resolve({ id: this.add(rep) }),
        update: ({ id }: { id: string }, rep: ClientScopeRepresentation) => {
          this.scopes.set(id, { ...this.scopes.get(id), ...rep });
          return Promise.resolve();
        },
        del: ({ id }: { id: string }) => {
          this.scopes.delete(id);
          this.links.default.delete(id);
          this.links.optional.delete(id);
          return Promise.resolve();
        },
        addProtocolMapper: ({ id }: { id: string }, rep: object) => {
          this.scopes.get(id)?.protocolMappers?.push({ ...rep, id: `m-${++this.#next}` });
          return Promise.resolve();
        },
        listDefaultClientScopes: list("default"),
        listDefaultOptionalClientScopes: list("optional"),
        addDefaultClientScope: ({ id }: { id: string }) => this.#link("default", id),
        addDefaultOptionalClientScope: ({ id }: { id: string }) => this.#link("optional", id),
        delDefaultClientScope: ({ id }: { id: string }) =>
          Promise.resolve(void this.links.default.delete(id)),
        delDefaultOptionalClientScope: ({ id }: { id: string }) =>
          Promise.resolve(void this.links.optional.delete(id)),
      },
    } as unknown as KeycloakAdminClient;
  }
}

async function sync(
  realm: FakeRealm,
  desired: Parameters<typeof syncClientScopes>[1],
  adopt = false,
): Promise<{ writes: string[] }> {
  const writes: string[] = [];
  const conn = {
    instance: "test",
    call: (options: { method: string; what: string }, fn: (kc: KeycloakAdminClient) => Promise<unknown>) => {
      if (options.method !== "GET") writes.push(`${options.method} ${options.what}`);
      return fn(realm.admin());
    },
  } as unknown as KeycloakConnection;
  await syncClientScopes(new SyncSession(conn, "r", "ns"), desired, owner, adopt);
  return { writes };
}

const tier: DesiredClientScope = {
  name: "tier",
  protocol: "openid-connect",
  attributes: { "include.in.token.scope": "true" },
  protocolMappers: [
    {
      name: "tier",
      protocol: "openid-connect",
      protocolMapper: "oidc-hardcoded-claim-mapper",
      config: { "claim.name": "tier", "claim.value": "gold" },
    },
  ],
};

describe("syncClientScopes", () => {
  it("Given a new scope listed as a realm default, When synced twice, Then it is created with its mapper, marked, linked and recorded, and the resync writes nothing", async () => {
    const realm = new FakeRealm();
    const desired = { scopes: [tier], defaultScopes: ["tier"] };
    const first = await sync(realm, desired);
    expect(first.writes).toEqual([
      'POST create client scope "tier" in realm "r"',
      'POST create protocol mapper "tier" of client scope "tier" in realm "r"',
      'PUT record the default client scopes of realm "r"',
      'PUT add default client scope "tier" of realm "r"',
    ]);
    const created = realm.scopes.get(realm.idOf("tier"));
    expect(created?.attributes).toMatchObject({ ...ours, "include.in.token.scope": "true" });
    expect(created?.protocolMappers?.map((m) => m.name)).toEqual(["tier"]);
    expect(realm.linkedNames("default")).toEqual(["tier"]);
    expect(realm.attributes[scopeLinkAttributes.default]).toBe('["tier"]');

    expect((await sync(realm, desired)).writes).toEqual([]);
  });

  it("Given a realm default someone else linked, When the spec lists it and later drops it, Then the operator neither records nor removes that link", async () => {
    const realm = new FakeRealm();
    realm.links.default.add(realm.add({ name: "profile" }));
    expect((await sync(realm, { defaultScopes: ["profile"] })).writes).toEqual([]);
    expect((await sync(realm, { defaultScopes: [] })).writes).toEqual([]);
    expect(realm.linkedNames("default")).toEqual(["profile"]);
  });

  it("Given a link the operator added, When the spec drops it, Then it is removed and the record narrowed", async () => {
    const realm = new FakeRealm();
    realm.add({ name: "tier" });
    await sync(realm, { optionalScopes: ["tier"] });
    const { writes } = await sync(realm, { optionalScopes: [] });
    expect(writes).toEqual([
      'DELETE remove optional client scope "tier" of realm "r"',
      'PUT record the optional client scopes of realm "r"',
    ]);
    expect(realm.linkedNames("optional")).toEqual([]);
    expect(realm.attributes[scopeLinkAttributes.optional]).toBe("[]");
  });

  it("Given a scope linked as optional by the operator, When the spec makes it a default, Then it is unlinked before it is linked again", async () => {
    const realm = new FakeRealm();
    realm.add({ name: "tier" });
    await sync(realm, { defaultScopes: [], optionalScopes: ["tier"] });
    await sync(realm, { defaultScopes: ["tier"], optionalScopes: [] });
    expect(realm.linkedNames("default")).toEqual(["tier"]);
    expect(realm.linkedNames("optional")).toEqual([]);
  });

  it("Given a scope of the operator's and one made by hand, When both leave the spec, Then only the operator's is deleted", async () => {
    const realm = new FakeRealm();
    realm.add({ name: "by-hand", attributes: {} });
    await sync(realm, { scopes: [tier, { name: "other", protocol: "openid-connect", attributes: {} }] });
    const { writes } = await sync(realm, { scopes: [{ ...tier, protocolMappers: undefined }] });
    expect(writes).toEqual(['DELETE delete client scope "other" in realm "r" (no longer in the spec)']);
    expect([...realm.scopes.values()].map((s) => s.name).sort()).toEqual(["by-hand", "tier"]);
  });

  it("Given a built-in scope or one made by hand in the spec, When synced, Then it is refused and left unchanged", async () => {
    const realm = new FakeRealm();
    realm.add({ name: "profile", attributes: {} });
    realm.add({ name: "by-hand", attributes: {} });
    const builtin = { name: "profile", protocol: "openid-connect" as const, attributes: { x: "1" } };
    await expect(sync(realm, { scopes: [builtin] }, true)).rejects.toThrow(/Keycloak's own client scopes/);
    await expect(sync(realm, { scopes: [{ ...builtin, name: "by-hand" }] })).rejects.toThrow(OwnershipError);
    expect(realm.scopes.get(realm.idOf("profile"))?.attributes).toEqual({});
    expect(realm.scopes.get(realm.idOf("by-hand"))?.attributes).toEqual({});
  });

  it("Given a scope of the operator's that leaves spec.clientScopes but stays a realm default, When synced, Then it fails before any write and the scope stays", async () => {
    const realm = new FakeRealm();
    await sync(realm, { scopes: [tier], defaultScopes: ["tier"] });
    const result = sync(realm, { scopes: [], defaultScopes: ["tier"] });
    await expect(result).rejects.toThrow(/removed from spec.clientScopes and is deleted/);
    expect(realm.linkedNames("default")).toEqual(["tier"]);
  });

  it("Given a realm default naming a scope that exists nowhere, When synced, Then it fails before any write", async () => {
    const realm = new FakeRealm();
    const result = sync(realm, { scopes: [tier], defaultScopes: ["tier", "missing"] });
    await expect(result).rejects.toThrow(MissingReferenceError);
    await expect(result).rejects.toThrow(/spec.defaultClientScopes names client scope "missing"/);
    expect(realm.scopes.size).toBe(0);
  });
});
