// LDAP user federation of a realm: providers are Keycloak components (providerType
// org.keycloak.storage.UserStorageProvider, parent the realm's id) and each has LDAP mapper
// components under it. Both are `syncCollection` descriptors.
//
// Ownership cannot be a config entry: Keycloak drops every config key its provider factory does not
// declare. So the operator chooses the component id itself, derived from the owning CR's uid and the
// item's name (`ownedComponentId`): a component with that id is this CR's, any other is not. Nothing
// else ever picks those ids, and no record has to be written between creating a component and
// knowing it is ours.
//
// Keycloak creates default mappers (username, email, first name, …) with every new provider. They
// are not this CR's and are never deleted by it; one the spec lists by name is managed (Keycloak
// made it on the operator's behalf, inside a provider the CR owns).
//
// The bind credential reads back masked; its keyed hash is kept in a realm attribute per provider
// (`kpo.dev/ldap-bind-credential-hash.<component id>`), written after the credential, so an
// interrupted sync writes the credential again rather than missing a change. Before any provider is
// written, Keycloak tests the connection and the bind with the desired values: a wrong password or an
// unreachable directory stops the federation sync with a message naming the provider and the Secret
// (never the value), and nothing of it is changed.
import type ComponentRepresentation from "@keycloak/keycloak-admin-client/lib/defs/componentRepresentation.js";
import { createHash } from "node:crypto";
import { TransientError } from "../lifecycle/errors.js";
import { indexByName, syncCollection, type Collection } from "./collection.js";
import { isSubsetEqual } from "./diff.js";
import { KeycloakApiError, MissingReferenceError, OwnershipError } from "./errors.js";
import { attributeValue, type Owner } from "./ownership.js";
import { writeOnlySecretHash } from "./secretHash.js";
import type { SyncSession } from "./session.js";

export interface DesiredLdapMapper {
  name: string;
  /** Keycloak's mapper provider id: `group-ldap-mapper`, `hardcoded-ldap-role-mapper`, … */
  type: string;
  config: Record<string, string>;
}

export interface DesiredLdapProvider {
  name: string;
  /** The managed config entries (single values), without the bind credential. */
  config: Record<string, string>;
  /** The bind password; absent for an anonymous bind. */
  bindCredential?: string;
  /** Where the credential comes from, for messages: `Secret "x" key "y" (spec.…)`. Never the value. */
  bindCredentialSource?: string;
  /** The mappers the spec lists; mappers this CR created and no longer lists are deleted. */
  mappers: DesiredLdapMapper[];
}

export const userStorageProviderType = "org.keycloak.storage.UserStorageProvider";
export const ldapMapperProviderType = "org.keycloak.storage.ldap.mappers.LDAPStorageMapper";
/** What Keycloak returns in place of a secret config value, and accepts back as "unchanged". */
const maskedSecret = "**********";

/** Realm attribute holding the keyed hash of a provider's bind credential. */
export const bindCredentialHashAttribute = (componentId: string) =>
  `kpo.dev/ldap-bind-credential-hash.${componentId}`;

/** The id this CR gives the component at `path` (`corp`, `corp/email`): a UUID-shaped hash. */
export function ownedComponentId(owner: Pick<Owner, "uid">, path: string): string {
  const hex = createHash("sha256").update(`kpo.dev/component/${owner.uid}/${path}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const asLists = (config: Record<string, string>): Record<string, string[]> =>
  Object.fromEntries(Object.entries(config).map(([k, v]) => [k, [v]]));

/**
 * Do the managed entries match? Keycloak drops an entry set to "", so an empty desired value
 * matches an absent one.
 */
export function configMatches(
  desired: Record<string, string>,
  actual: Record<string, unknown> | undefined,
): boolean {
  return Object.entries(desired).every(([key, value]) => {
    const held = actual?.[key];
    if (value === "") return held === undefined || isSubsetEqual([""], held) || isSubsetEqual([], held);
    return isSubsetEqual([value], held);
  });
}

/** Keycloak's short error codes for a failed LDAP test (`AuthenticationFailure`), in words. */
function ldapTestFailure(err: unknown): string | undefined {
  if (!(err instanceof KeycloakApiError) || err.status !== 400) return undefined;
  const code = /\): ([A-Za-z]+)/.exec(err.message)?.[1] ?? "";
  if (code === "AuthenticationFailure")
    return "the directory refused the bind DN and password (AuthenticationFailure)";
  return `the directory could not be reached or refused the connection (${code || "LDAP test error"})`;
}

export async function syncUserFederation(
  session: SyncSession,
  desired: DesiredLdapProvider[],
  owner: Owner,
  adopt: boolean,
): Promise<void> {
  const realm = session.realm;
  const readRealm = () => session.read(`read realm "${realm}"`, (kc) => kc.realms.findOne({ realm }));
  const realmRep = await readRealm();
  const realmId = realmRep?.id ?? "";
  const ours = (c: ComponentRepresentation) => c.id === ownedComponentId(owner, c.name ?? "");
  const hashOf = (p: DesiredLdapProvider, id: string) =>
    p.bindCredential === undefined
      ? undefined
      : writeOnlySecretHash(`ldap-bind/${id}`, p.bindCredential, owner);
  const storedHash = (id: string) => attributeValue(realmRep?.attributes, bindCredentialHashAttribute(id));
  const describe = (name: string) => `LDAP provider "${name}" in realm "${realm}"`;

  const existing = indexByName(
    (
      await session.read(`list user federation providers of realm "${realm}"`, (kc) =>
        kc.components.find({ realm, type: userStorageProviderType }),
      )
    ).filter((c) => c.providerId === "ldap" && c.parentId === realmId && c.id),
  );

  const checkExisting = (name: string, actual: ComponentRepresentation) => {
    if (ours(actual) || adopt) return;
    throw new OwnershipError(
      `${describe(name)} already exists and was not created by this resource; it is left alone. ` +
        "Rename the provider in spec.userFederation.ldap, or remove it from the spec",
    );
  };
  const providerNeedsWrite = (p: DesiredLdapProvider, actual: ComponentRepresentation | undefined) =>
    actual === undefined ||
    !configMatches(p.config, actual.config) ||
    hashOf(p, actual.id ?? "") !== storedHash(actual.id ?? "");

  // Everything that can be refused is refused before the first write.
  for (const provider of desired) {
    const actual = existing.get(provider.name);
    if (actual) checkExisting(provider.name, actual);
    for (const mapper of provider.mappers) await checkMapperReferences(session, provider.name, mapper);
    if (providerNeedsWrite(provider, actual)) await testConnection(session, provider);
  }

  const providers: Collection<DesiredLdapProvider, ComponentRepresentation, { id: string }> = {
    describe,
    field: (name) => `userFederation:${name}`,
    nameOf: (p) => p.name,
    list: () => Promise.resolve(existing),
    checkExisting,
    create: (p) => {
      const id = ownedComponentId(owner, p.name);
      const config = asLists({
        ...p.config,
        ...(p.bindCredential ? { bindCredential: p.bindCredential } : {}),
      });
      return (kc) =>
        kc.components.create({
          realm,
          id,
          name: p.name,
          providerId: "ldap",
          providerType: userStorageProviderType,
          parentId: realmId,
          config,
        });
    },
    update: (p, actual) => {
      if (!providerNeedsWrite(p, actual)) return undefined;
      const id = actual.id ?? "";
      const credentialChanged = hashOf(p, id) !== storedHash(id);
      const config = {
        ...(actual.config as Record<string, string[]> | undefined),
        ...asLists(p.config),
        ...(p.bindCredential !== undefined
          ? { bindCredential: [credentialChanged ? p.bindCredential : maskedSecret] }
          : {}),
      };
      return (kc) => kc.components.update({ realm, id }, { ...actual, config });
    },
    changes: (p, actual) => {
      const held = actual.config as Record<string, unknown> | undefined;
      return [
        ...Object.entries(p.config)
          .filter(([key, value]) => !configMatches({ [key]: value }, held))
          .map(([key, value]) => ({ field: `config.${key}`, old: held?.[key], new: value })),
        ...(hashOf(p, actual.id ?? "") !== storedHash(actual.id ?? "") && p.bindCredential !== undefined
          ? [{ field: "config.bindCredential", secret: true }]
          : []),
      ];
    },
    remove: (_, actual) => {
      const id = actual.id ?? "";
      return ours(actual) ? (kc) => kc.components.del({ realm, id }) : undefined;
    },
    placed: async (p, actual, created) => {
      const id = created?.id ?? actual?.id ?? ownedComponentId(owner, p.name);
      await syncMappers(session, { id, name: p.name }, p.mappers, owner);
      const hash = hashOf(p, id);
      if (hash !== undefined && hash !== storedHash(id)) {
        const fresh = await readRealm();
        await session.write(
          "PUT",
          `userFederation:${p.name}`,
          `record the bind credential hash of ${describe(p.name)}`,
          (kc) =>
            kc.realms.update(
              { realm },
              { attributes: { ...fresh?.attributes, [bindCredentialHashAttribute(id)]: hash } },
            ),
        );
      }
    },
  };
  await syncCollection(session, providers, desired);
  await forgetRemovedHashes(session, existing, desired);
}

/** Drops the hash attributes of providers this sync deleted (their ids are gone from Keycloak). */
async function forgetRemovedHashes(
  session: SyncSession,
  before: Map<string, ComponentRepresentation>,
  desired: DesiredLdapProvider[],
): Promise<void> {
  const realm = session.realm;
  const kept = new Set(desired.map((p) => p.name));
  const removed = [...before].filter(([name]) => !kept.has(name)).map(([, c]) => c.id ?? "");
  if (removed.length === 0) return;
  const rep = await session.read(`read realm "${realm}"`, (kc) => kc.realms.findOne({ realm }));
  const attributes = { ...(rep?.attributes as Record<string, unknown> | undefined) };
  const stale = removed.map(bindCredentialHashAttribute).filter((key) => key in attributes);
  if (stale.length === 0) return;
  for (const key of stale) delete attributes[key];
  await session.write(
    "PUT",
    "userFederation",
    `forget the bind credential hashes of deleted LDAP providers in realm "${realm}"`,
    (kc) => kc.realms.update({ realm }, { attributes }),
  );
}

/**
 * A hardcoded role mapper's role must exist, read as Keycloak reads it: `clientId.role` when the part
 * before the last dot names a client, else a realm role.
 */
async function checkMapperReferences(
  session: SyncSession,
  providerName: string,
  mapper: DesiredLdapMapper,
): Promise<void> {
  if (mapper.type !== "hardcoded-ldap-role-mapper") return;
  const usedBy = `Mapper "${mapper.name}" of LDAP provider "${providerName}" (config.role)`;
  const setting = mapper.config.role ?? "";
  if (setting === "") {
    throw new MissingReferenceError(
      `${usedBy} names no role; set config.role to a realm role or clientId.role`,
    );
  }
  const dot = setting.lastIndexOf(".");
  const client = dot > 0 ? await session.client(setting.slice(0, dot)) : null;
  if (client) await session.clientRoleRef(setting.slice(0, dot), setting.slice(dot + 1), usedBy);
  else await session.realmRoleRef(setting, usedBy);
}

/**
 * Keycloak connects and binds with the desired settings (the real password, never stored by this
 * test). A failure names the provider, the bind DN and where the password comes from; it is
 * transient because the fix (a corrected Secret, a directory back online) arrives without a spec
 * change and is found by the retry.
 */
async function testConnection(session: SyncSession, provider: DesiredLdapProvider): Promise<void> {
  const realm = session.realm;
  const c = provider.config;
  const body = {
    action: provider.bindCredential === undefined ? "testConnection" : "testAuthentication",
    connectionUrl: c.connectionUrl,
    authType: c.authType,
    ...(c.bindDn !== undefined ? { bindDn: c.bindDn } : {}),
    ...(provider.bindCredential !== undefined ? { bindCredential: provider.bindCredential } : {}),
    ...(c.startTls !== undefined ? { startTls: c.startTls } : {}),
    ...(c.connectionTimeout !== undefined ? { connectionTimeout: c.connectionTimeout } : {}),
  };
  try {
    // A POST that changes nothing: sent through the connection, not counted as a sync write.
    await session.conn.call(
      {
        method: "POST",
        what: `test the connection of LDAP provider "${provider.name}"`,
        namespace: session.namespace,
        changesNothing: true,
      },
      (kc) => kc.realms.testLDAPConnection({ realm }, body),
    );
  } catch (err) {
    const failure = ldapTestFailure(err);
    if (failure === undefined) throw err;
    const as =
      c.bindDn === undefined
        ? "anonymously"
        : `as "${c.bindDn}" with the password in ${provider.bindCredentialSource ?? "its Secret"}`;
    const message =
      `LDAP provider "${provider.name}" in realm "${realm}": Keycloak tested the connection to ${c.connectionUrl ?? "?"} ${as} and ${failure}. ` +
      "Fix connectionUrl, bindDn or the Secret; the realm's user federation was left unchanged";
    throw new TransientError(
      provider.bindCredential ? message.split(provider.bindCredential).join("***") : message,
    );
  }
}

async function syncMappers(
  session: SyncSession,
  provider: { id: string; name: string },
  desired: DesiredLdapMapper[],
  owner: Owner,
): Promise<void> {
  const realm = session.realm;
  const idOf = (name: string) => ownedComponentId(owner, `${provider.name}/${name}`);
  const ours = (c: ComponentRepresentation) => c.id === idOf(c.name ?? "");
  const describe = (name: string) =>
    `mapper "${name}" of LDAP provider "${provider.name}" in realm "${realm}"`;
  const create = (m: DesiredLdapMapper) => ({
    realm,
    id: idOf(m.name),
    name: m.name,
    providerId: m.type,
    providerType: ldapMapperProviderType,
    parentId: provider.id,
    config: asLists(m.config),
  });
  const mappers: Collection<DesiredLdapMapper, ComponentRepresentation> = {
    describe,
    field: (name) => `userFederation:${provider.name}/${name}`,
    nameOf: (m) => m.name,
    list: async () =>
      indexByName(
        await session.read(`list the mappers of LDAP provider "${provider.name}" in realm "${realm}"`, (kc) =>
          kc.components.find({ realm, parent: provider.id, type: ldapMapperProviderType }),
        ),
      ),
    create: (m) => (kc) => kc.components.create(create(m)),
    update: (m, actual) => {
      const id = actual.id ?? "";
      if (actual.providerId !== m.type) {
        // Keycloak cannot change a mapper's type in place; only one of ours is replaced.
        if (!ours(actual)) {
          throw new OwnershipError(
            `${describe(m.name)} exists with type "${actual.providerId ?? "?"}", not "${m.type}", and was not created by this resource; ` +
              "give the mapper another name in the spec",
          );
        }
        return async (kc) => {
          await kc.components.del({ realm, id });
          await kc.components.create(create(m));
        };
      }
      if (configMatches(m.config, actual.config)) return undefined;
      const config = { ...(actual.config as Record<string, string[]> | undefined), ...asLists(m.config) };
      return (kc) => kc.components.update({ realm, id }, { ...actual, config });
    },
    remove: (_, actual) => {
      const id = actual.id ?? "";
      return ours(actual) ? (kc) => kc.components.del({ realm, id }) : undefined;
    },
  };
  await syncCollection(session, mappers, desired);
}
