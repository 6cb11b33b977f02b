// A realm's identity providers and their mappers, as two kinds of Collection for syncCollection.
//
// Identity providers and mappers have no attributes, so the owner's marker (`kpo.dev/owner-uid`)
// lives in their config map; only the ones carrying this CR's uid are changed or pruned, one made by
// hand is changed only in an adopted realm and never deleted. Keycloak masks an identity provider's
// client secret on read, so a keyed hash of it (`kpo.dev/client-secret-hash`) sits beside it in the
// config: the secret is sent only when the hash differs, and an update that does not change it sends
// the masked value back, which Keycloak reads as "keep the stored one".
//
// Everything a mapper refers to is checked before the realm sync's first write (`prepare`): a
// mapper naming an identity provider that is neither in the spec nor in Keycloak, or a group the
// spec does not declare, is an error and nothing in the realm is written.
import type IdentityProviderMapperRepresentation from "@keycloak/keycloak-admin-client/lib/defs/identityProviderMapperRepresentation.js";
import type IdentityProviderRepresentation from "@keycloak/keycloak-admin-client/lib/defs/identityProviderRepresentation.js";
import { groupMapperTypes } from "./identityProviderMapperTypes.js";
import { indexByName, syncCollection, type Collection } from "./collection.js";
import { isSubsetEqual } from "./diff.js";
import { KeycloakApiError, MissingReferenceError, OwnershipError } from "./errors.js";
import { checkItemOwnership, itemOwnership, ownerUidAttribute, type Owner } from "./ownership.js";
import { writeOnlySecretHash } from "./secretHash.js";
import type { SyncSession } from "./session.js";

export type { IdentityProviderMapperRepresentation, IdentityProviderRepresentation };

export interface DesiredIdentityProvider {
  /** The managed fields; `config` holds strings only and never the client secret. */
  rep: IdentityProviderRepresentation & { alias: string; providerId: string; config: Record<string, string> };
  /** The real client secret, resolved from its Secret; compared through a keyed hash. */
  clientSecret?: string;
}

export type DesiredIdentityProviderMapper = Omit<IdentityProviderMapperRepresentation, "config"> & {
  name: string;
  identityProviderAlias: string;
  config: Record<string, string>;
};

export interface DesiredIdentityProviders {
  /** Undefined: identity providers are not managed (none created, none pruned). */
  providers?: DesiredIdentityProvider[];
  /** Undefined: mappers are not managed. */
  mappers?: DesiredIdentityProviderMapper[];
}

/** Config key holding the keyed hash of the client secret the operator last wrote. */
export const clientSecretHashKey = "kpo.dev/client-secret-hash";

/** What Keycloak returns instead of a secret, and accepts back as "unchanged". */
const maskedSecret = "**********";

export function clientSecretHash(alias: string, secret: string, owner: Pick<Owner, "uid">): string {
  return writeOnlySecretHash(`idp/${alias}`, secret, owner);
}

const marker = (owner: Owner): Record<string, string> => ({ [ownerUidAttribute]: owner.uid });

/** The config the identity provider must hold (marker and hash included, the secret not). */
function managedConfig(desired: DesiredIdentityProvider, owner: Owner): Record<string, string> {
  const config = { ...desired.rep.config, ...marker(owner) };
  if (desired.clientSecret !== undefined)
    config[clientSecretHashKey] = clientSecretHash(desired.rep.alias, desired.clientSecret, owner);
  return config;
}

type Listing = Map<string, IdentityProviderRepresentation>;

async function listProviders(session: SyncSession): Promise<Listing> {
  const realm = session.realm;
  try {
    const providers = await session.read(`list identity providers of realm "${realm}"`, (kc) =>
      kc.identityProviders.find({ realm, first: 0, max: 10_000 }),
    );
    return new Map(providers.filter((p) => p.alias).map((p) => [p.alias ?? "", p]));
  } catch (err) {
    // A realm about to be created has none.
    if (err instanceof KeycloakApiError && err.status === 404) return new Map();
    throw err;
  }
}

/** Keycloak cannot change an identity provider's type: the spec must remove it and add it back. */
function checkProviderType(
  realm: string,
  desired: DesiredIdentityProvider,
  actual: IdentityProviderRepresentation,
): void {
  if (actual.providerId === desired.rep.providerId) return;
  throw new OwnershipError(
    `Identity provider "${desired.rep.alias}" in realm "${realm}" is of type "${actual.providerId ?? "?"}", and Keycloak cannot change it to "${desired.rep.providerId}"; ` +
      "remove it from spec.identityProviders, apply, then add it back with the new providerId (users' links to it are lost)",
  );
}

const providerWhat = (realm: string, alias: string) => `Identity provider "${alias}" in realm "${realm}"`;
const mapperWhat = (realm: string, alias: string, name: string) =>
  `Mapper "${name}" of identity provider "${alias}" in realm "${realm}"`;

function providers(
  session: SyncSession,
  owner: Owner,
  adopt: boolean,
  listed: Listing,
): Collection<DesiredIdentityProvider, IdentityProviderRepresentation> {
  const realm = session.realm;
  return {
    describe: (alias) => `identity provider "${alias}" in realm "${realm}"`,
    field: (alias) => `identityProvider:${alias}`,
    nameOf: (desired) => desired.rep.alias,
    list: () => Promise.resolve(listed),
    checkExisting: (alias, actual) =>
      checkItemOwnership(providerWhat(realm, alias), actual.config, owner, adopt),
    create: (desired) => {
      const secret = desired.clientSecret === undefined ? {} : { clientSecret: desired.clientSecret };
      const config = { ...managedConfig(desired, owner), ...secret };
      return (kc) => kc.identityProviders.create({ realm, ...desired.rep, config });
    },
    update: (desired, actual) => {
      checkProviderType(realm, desired, actual);
      const { config: _config, ...fields } = desired.rep;
      const config = managedConfig(desired, owner);
      const actualConfig = (actual.config ?? {}) as Record<string, unknown>;
      if (isSubsetEqual(fields, actual) && isSubsetEqual(config, actualConfig)) return undefined;
      const secretChanged =
        desired.clientSecret !== undefined &&
        actualConfig[clientSecretHashKey] !== config[clientSecretHashKey];
      const secret = secretChanged
        ? { clientSecret: desired.clientSecret }
        : actualConfig.clientSecret !== undefined
          ? { clientSecret: maskedSecret }
          : {};
      const rep = { ...actual, ...fields, config: { ...actualConfig, ...config, ...secret } };
      return (kc) => kc.identityProviders.update({ realm, alias: desired.rep.alias }, rep);
    },
    changes: (desired, actual) => {
      const { config: _config, ...fields } = desired.rep;
      const config = managedConfig(desired, owner);
      const actualConfig = (actual.config ?? {}) as Record<string, unknown>;
      const have = actual as Record<string, unknown>;
      return [
        ...Object.entries(fields)
          .filter(([key, value]) => !isSubsetEqual(value, have[key]))
          .map(([key, value]) => ({ field: key, old: have[key], new: value })),
        ...Object.entries(config)
          .filter(([key, value]) => key !== clientSecretHashKey && !isSubsetEqual(value, actualConfig[key]))
          .map(([key, value]) => ({ field: `config.${key}`, old: actualConfig[key], new: value })),
        ...(actualConfig[clientSecretHashKey] !== config[clientSecretHashKey] &&
        desired.clientSecret !== undefined
          ? [{ field: "config.clientSecret", secret: true }]
          : []),
      ];
    },
    remove: (alias, actual) =>
      itemOwnership(actual.config, owner) === "ours"
        ? (kc) => kc.identityProviders.del({ realm, alias })
        : undefined,
  };
}

type MapperListing = Map<string, IdentityProviderMapperRepresentation>;

async function listMappers(session: SyncSession, alias: string): Promise<MapperListing> {
  const realm = session.realm;
  return indexByName(
    await session.read(`list mappers of identity provider "${alias}" in realm "${realm}"`, (kc) =>
      kc.identityProviders.findMappers({ realm, alias }),
    ),
  );
}

function mappers(
  session: SyncSession,
  alias: string,
  owner: Owner,
  adopt: boolean,
  listed: () => Promise<MapperListing>,
): Collection<DesiredIdentityProviderMapper, IdentityProviderMapperRepresentation> {
  const realm = session.realm;
  const rep = (m: DesiredIdentityProviderMapper) => ({ ...m, config: { ...m.config, ...marker(owner) } });
  return {
    describe: (name) => `mapper "${name}" of identity provider "${alias}" in realm "${realm}"`,
    field: (name) => `identityProviderMapper:${alias}/${name}`,
    nameOf: (m) => m.name,
    list: listed,
    checkExisting: (name, actual) =>
      checkItemOwnership(mapperWhat(realm, alias, name), actual.config, owner, adopt),
    create: (m) => (kc) =>
      kc.identityProviders.createMapper({ realm, alias, identityProviderMapper: rep(m) }),
    update: (m, actual) => {
      const want = rep(m);
      if (isSubsetEqual(want, actual)) return undefined;
      const id = actual.id ?? "";
      const config = { ...(actual.config as Record<string, string> | undefined), ...want.config };
      return (kc) =>
        kc.identityProviders.updateMapper({ realm, alias, id }, { ...actual, ...want, config, id });
    },
    remove: (_, actual) => {
      const id = actual.id ?? "";
      return itemOwnership(actual.config, owner) === "ours"
        ? (kc) => kc.identityProviders.delMapper({ realm, alias, id })
        : undefined;
    },
  };
}

/** What the realm sync runs after its other steps, once `prepare` found everything in order. */
export interface IdentityProviderSync {
  sync(): Promise<void>;
}

const nothingToSync: IdentityProviderSync = { sync: () => Promise.resolve() };

/**
 * Reads the realm's identity providers and checks, before anything is written, that every existing
 * one the spec lists may be changed by this CR and that every mapper's identity provider and group
 * exist. Throws (OwnershipError, MissingReferenceError) otherwise.
 */
export async function prepareIdentityProviders(
  session: SyncSession,
  desired: DesiredIdentityProviders | undefined,
  declaredGroups: ReadonlySet<string>,
  owner: Owner,
  adopt: boolean,
): Promise<IdentityProviderSync> {
  if (desired === undefined) return nothingToSync;
  const realm = session.realm;
  const listed = await listProviders(session);
  const specAliases = new Set((desired.providers ?? []).map((p) => p.rep.alias));
  for (const provider of desired.providers ?? []) {
    const actual = listed.get(provider.rep.alias);
    if (!actual) continue;
    checkItemOwnership(providerWhat(realm, provider.rep.alias), actual.config, owner, adopt);
    checkProviderType(realm, provider, actual);
  }

  // Identity providers still there once this sync has pruned the ones no longer in the spec.
  const remaining = (alias: string): boolean => {
    if (specAliases.has(alias)) return true;
    const actual = listed.get(alias);
    if (!actual) return false;
    return desired.providers === undefined || itemOwnership(actual.config, owner) !== "ours";
  };
  const mapperListings = new Map<string, MapperListing>();
  for (const mapper of desired.mappers ?? []) {
    const alias = mapper.identityProviderAlias;
    const field = `spec.identityProviderMappers[${alias}/${mapper.name}]`;
    if (!remaining(alias)) {
      throw new MissingReferenceError(
        `${field} names identity provider "${alias}", which is ${listed.has(alias) ? "no longer in spec.identityProviders (it is being removed)" : `neither in spec.identityProviders nor in realm "${realm}"`}; ` +
          "add the identity provider to spec.identityProviders, or fix the mapper's identityProviderAlias",
      );
    }
    const group = mapper.config?.group;
    if (groupMapperTypes.has(mapper.identityProviderMapper ?? "") && !declaredGroups.has(group ?? "")) {
      throw new MissingReferenceError(
        `${field} puts brokered users in group "${group ?? ""}", which spec.groups does not declare; ` +
          "declare the group (with its roles) in spec.groups, as a path such as /partners, so the roles it grants are checked, or remove the mapper",
      );
    }
    if (listed.has(alias) && !mapperListings.has(alias))
      mapperListings.set(alias, await listMappers(session, alias));
    const existing = mapperListings.get(alias)?.get(mapper.name);
    if (existing) checkItemOwnership(mapperWhat(realm, alias, mapper.name), existing.config, owner, adopt);
  }

  return {
    async sync() {
      let aliases = [...listed.keys()];
      if (desired.providers) {
        const collection = providers(session, owner, adopt, listed);
        const { membershipChanged } = await syncCollection(session, collection, desired.providers);
        if (membershipChanged) aliases = [...(await listProviders(session)).keys()];
      }
      if (!desired.mappers) return;
      const byAlias = new Map<string, DesiredIdentityProviderMapper[]>();
      for (const m of desired.mappers)
        byAlias.set(m.identityProviderAlias, [...(byAlias.get(m.identityProviderAlias) ?? []), m]);
      for (const alias of [...new Set([...aliases, ...byAlias.keys()])].sort()) {
        const cached = mapperListings.get(alias);
        const listing = () => (cached ? Promise.resolve(cached) : listMappers(session, alias));
        await syncCollection(
          session,
          mappers(session, alias, owner, adopt, listing),
          byAlias.get(alias) ?? [],
        );
      }
    },
  };
}
