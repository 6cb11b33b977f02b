import type KeycloakAdminClient from "@keycloak/keycloak-admin-client";
import { describe, expect, it } from "vitest";
import type { KeycloakConnection } from "./connection.js";
import { MissingReferenceError, OwnershipError } from "./errors.js";
import {
  clientSecretHash,
  clientSecretHashKey,
  prepareIdentityProviders,
  type DesiredIdentityProvider,
  type DesiredIdentityProviders,
  type IdentityProviderRepresentation,
} from "./identityProviders.js";
import type { Owner } from "./ownership.js";
import { SyncSession } from "./session.js";

const owner: Owner = { uid: "uid-1", namespace: "ns", name: "cr", kind: "KeycloakRealm" };

/**
 * Keycloak's identity provider endpoints over an in-memory realm: secrets are kept but read back
 * masked, and a masked secret sent back keeps the stored one, as Keycloak does.
 */
function fakeKeycloak(initial: IdentityProviderRepresentation[] = []) {
  const providers = new Map(initial.map((p) => [p.alias ?? "", structuredClone(p)]));
  const sent: IdentityProviderRepresentation[] = [];
  const masked = (p: IdentityProviderRepresentation) => {
    const config = { ...(p.config as Record<string, string>) };
    if (config.clientSecret !== undefined) config.clientSecret = "**********";
    return { ...p, config };
  };
  const admin = {
    identityProviders: {
      find: () => Promise.resolve([...providers.values()].map(masked)),
      findMappers: () => Promise.resolve([]),
      create: (rep: IdentityProviderRepresentation) => {
        sent.push(rep);
        providers.set(rep.alias ?? "", structuredClone(rep));
        return Promise.resolve({ id: "new" });
      },
      update: ({ alias }: { alias: string }, rep: IdentityProviderRepresentation) => {
        sent.push(rep);
        const stored = providers.get(alias)?.config as Record<string, string> | undefined;
        const config = { ...(rep.config as Record<string, string>) };
        if (config.clientSecret === "**********") config.clientSecret = stored?.clientSecret ?? "";
        providers.set(alias, { ...rep, config });
        return Promise.resolve();
      },
      del: ({ alias }: { alias: string }) => {
        providers.delete(alias);
        return Promise.resolve();
      },
    },
  } as unknown as KeycloakAdminClient;
  const calls: string[] = [];
  const conn = {
    instance: "test",
    call: (options: { method: string; what: string }, fn: (kc: KeycloakAdminClient) => Promise<unknown>) => {
      calls.push(`${options.method} ${options.what}`);
      return fn(admin);
    },
  } as unknown as KeycloakConnection;
  const session = () => new SyncSession(conn, "apps", "ns");
  return { providers, sent, calls, session };
}

const corp = (secret?: string, displayName = "Corp"): DesiredIdentityProvider => ({
  rep: {
    alias: "corp",
    providerId: "oidc",
    displayName,
    config: { authorizationUrl: "https://id/auth", tokenUrl: "https://id/token", clientId: "apps" },
  },
  ...(secret !== undefined ? { clientSecret: secret } : {}),
});

async function sync(
  kc: ReturnType<typeof fakeKeycloak>,
  desired: DesiredIdentityProviders,
  groups = new Set<string>(),
) {
  const session = kc.session();
  const idps = await prepareIdentityProviders(session, desired, groups, owner, false);
  await idps.sync();
  return session;
}

describe("identity provider sync", () => {
  it("Given a client secret, when synced, then it is sent once with its hash; an unchanged one is never resent, a changed one is", async () => {
    const kc = fakeKeycloak();
    const first = await sync(kc, { providers: [corp("one")] });
    expect(first.writes).toBe(1);
    const created = kc.providers.get("corp")?.config as Record<string, string>;
    expect(created.clientSecret).toBe("one");
    expect(created[clientSecretHashKey]).toBe(clientSecretHash("corp", "one", owner));
    expect(created["kpo.dev/owner-uid"]).toBe("uid-1");

    expect((await sync(kc, { providers: [corp("one")] })).writes).toBe(0);

    const renamed = await sync(kc, { providers: [corp("one", "Corporate")] });
    expect(renamed.changed).toEqual(["identityProvider:corp"]);
    expect((kc.sent.at(-1)?.config as Record<string, string>).clientSecret).toBe("**********");
    expect((kc.providers.get("corp")?.config as Record<string, string>).clientSecret).toBe("one");

    const rotated = await sync(kc, { providers: [corp("two", "Corporate")] });
    expect(rotated.writes).toBe(1);
    expect((kc.providers.get("corp")?.config as Record<string, string>).clientSecret).toBe("two");
  });

  it("Given an identity provider made by hand under a listed alias, when prepared, then it is refused before any write", async () => {
    const kc = fakeKeycloak([{ alias: "corp", providerId: "oidc", config: {} }]);
    await expect(sync(kc, { providers: [corp()] })).rejects.toThrow(OwnershipError);
    expect(kc.calls.every((c) => c.startsWith("GET"))).toBe(true);
  });

  it("Given a provider of another type under the alias, when prepared, then the message says to remove and re-add it", async () => {
    const kc = fakeKeycloak([
      { alias: "corp", providerId: "saml", config: { "kpo.dev/owner-uid": "uid-1" } },
    ]);
    await expect(sync(kc, { providers: [corp()] })).rejects.toThrow(
      /is of type "saml", and Keycloak cannot change it to "oidc"; remove it from spec.identityProviders/,
    );
  });

  it("Given the spec drops an identity provider, then only the operator's own is deleted", async () => {
    const kc = fakeKeycloak([
      { alias: "ours", providerId: "oidc", config: { "kpo.dev/owner-uid": "uid-1" } },
      { alias: "theirs", providerId: "oidc", config: { "kpo.dev/owner-uid": "uid-2" } },
      { alias: "by-hand", providerId: "oidc", config: {} },
    ]);
    await sync(kc, { providers: [] });
    expect([...kc.providers.keys()].sort()).toEqual(["by-hand", "theirs"]);
  });

  it("Given a mapper whose identity provider the same sync removes, or that names an undeclared group, then nothing is written", async () => {
    const kc = fakeKeycloak([{ alias: "old", providerId: "oidc", config: { "kpo.dev/owner-uid": "uid-1" } }]);
    const mapper = (alias: string, type: string, config: Record<string, string>) => ({
      identityProviderAlias: alias,
      name: "m",
      identityProviderMapper: type,
      config,
    });
    await expect(
      sync(kc, { providers: [], mappers: [mapper("old", "oidc-hardcoded-role-idp-mapper", { role: "x" })] }),
    ).rejects.toThrow(
      /spec.identityProviderMappers\[old\/m\] names identity provider "old", which is no longer in spec.identityProviders/,
    );
    await expect(
      sync(kc, { mappers: [mapper("old", "oidc-hardcoded-group-idp-mapper", { group: "/admins" })] }),
    ).rejects.toThrow(MissingReferenceError);
    await expect(
      sync(kc, { mappers: [mapper("old", "oidc-hardcoded-group-idp-mapper", { group: "/admins" })] }),
    ).rejects.toThrow(/puts brokered users in group "\/admins", which spec.groups does not declare/);
    expect(kc.calls.every((c) => c.startsWith("GET"))).toBe(true);
    expect(kc.providers.has("old")).toBe(true);
  });
});
