// KeycloakRealm spec.userFederation → the LDAP providers Keycloak should have (the
// DesiredLdapProvider list src/keycloak/userFederation.ts syncs). Pure: no I/O, no logging.
//
// Keycloak keeps an LDAP provider as a component whose config is a map of string lists named for its
// admin console (`usernameLDAPAttribute`, `searchScope: "1"`, `fullSyncPeriod: "-1"`); the CRD is
// written for people, so names and units change here, and the attribute settings Keycloak's console
// pre-fills per vendor are filled in the same way when the spec leaves them out (Keycloak itself
// refuses a provider without them).
import type { KeycloakRealmSpec, RealmLdapMapper, RealmLdapProvider } from "../api/index.js";
import type { DesiredLdapMapper, DesiredLdapProvider } from "../keycloak/userFederation.js";
import { ldapBindCredentialReference, secretValue, type ResolvedSecrets } from "./secretReferences.js";

interface VendorDefaults {
  usernameLDAPAttribute: string;
  rdnLDAPAttribute: string;
  uuidLDAPAttribute: string;
  userObjectClasses: string[];
}

/** What Keycloak's admin console fills in for each vendor. */
export const vendorDefaults: Readonly<Record<NonNullable<RealmLdapProvider["vendor"]>, VendorDefaults>> = {
  other: {
    usernameLDAPAttribute: "uid",
    rdnLDAPAttribute: "uid",
    uuidLDAPAttribute: "entryUUID",
    userObjectClasses: ["inetOrgPerson", "organizationalPerson"],
  },
  ad: {
    usernameLDAPAttribute: "cn",
    rdnLDAPAttribute: "cn",
    uuidLDAPAttribute: "objectGUID",
    userObjectClasses: ["person", "organizationalPerson", "user"],
  },
  rhds: {
    usernameLDAPAttribute: "uid",
    rdnLDAPAttribute: "uid",
    uuidLDAPAttribute: "nsuniqueid",
    userObjectClasses: ["inetOrgPerson", "organizationalPerson"],
  },
  tivoli: {
    usernameLDAPAttribute: "uid",
    rdnLDAPAttribute: "uid",
    uuidLDAPAttribute: "uniqueidentifier",
    userObjectClasses: ["inetOrgPerson", "organizationalPerson"],
  },
  edirectory: {
    usernameLDAPAttribute: "uid",
    rdnLDAPAttribute: "uid",
    uuidLDAPAttribute: "guid",
    userObjectClasses: ["inetOrgPerson", "organizationalPerson"],
  },
};

const bool = (value: boolean | undefined) => (value === undefined ? undefined : String(value));
const num = (value: number | undefined) => (value === undefined ? undefined : String(value));

function definedEntries(entries: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(entries).filter((e): e is [string, string] => e[1] !== undefined));
}

/** The component config of one provider, as Keycloak names it. */
export function ldapProviderConfig(provider: RealmLdapProvider): Record<string, string> {
  const vendor = provider.vendor ?? "other";
  const defaults = vendorDefaults[vendor];
  return definedEntries({
    vendor,
    enabled: String(provider.enabled ?? true),
    priority: num(provider.priority),
    connectionUrl: provider.connectionUrl,
    startTls: bool(provider.startTls),
    // Keycloak refuses StartTLS together with connection pooling.
    connectionPooling: provider.startTls === true ? "false" : undefined,
    connectionTimeout: num(provider.connectionTimeoutMs),
    readTimeout: num(provider.readTimeoutMs),
    authType: provider.bindDn === undefined ? "none" : "simple",
    bindDn: provider.bindDn,
    usersDn: provider.usersDn,
    usernameLDAPAttribute: provider.usernameLDAPAttribute ?? defaults.usernameLDAPAttribute,
    rdnLDAPAttribute: provider.rdnLDAPAttribute ?? defaults.rdnLDAPAttribute,
    uuidLDAPAttribute: provider.uuidLDAPAttribute ?? defaults.uuidLDAPAttribute,
    userObjectClasses: (provider.userObjectClasses ?? defaults.userObjectClasses).join(", "),
    customUserSearchFilter: provider.customUserSearchFilter,
    searchScope: (provider.searchScope ?? "one") === "one" ? "1" : "2",
    editMode: provider.editMode ?? "READ_ONLY",
    importEnabled: String(provider.importEnabled ?? true),
    syncRegistrations: bool(provider.syncRegistrations),
    pagination: bool(provider.pagination),
    trustEmail: bool(provider.trustEmail),
    // -1 is Keycloak's "no periodic sync".
    fullSyncPeriod: String(provider.periodicFullSyncSeconds ?? -1),
    changedSyncPeriod: String(provider.periodicChangedUsersSyncSeconds ?? -1),
  });
}

export function ldapMapper(mapper: RealmLdapMapper): DesiredLdapMapper {
  return { name: mapper.name, type: mapper.type, config: { ...(mapper.config ?? {}) } };
}

/** The desired providers, or undefined when the spec does not manage user federation. */
export function desiredLdapProviders(
  spec: KeycloakRealmSpec,
  secrets: ResolvedSecrets,
): DesiredLdapProvider[] | undefined {
  const providers = spec.userFederation?.ldap;
  if (spec.userFederation === undefined) return undefined;
  return (providers ?? []).map((provider) => {
    const [ref] = ldapBindCredentialReference(provider);
    return {
      name: provider.name,
      config: ldapProviderConfig(provider),
      ...(ref
        ? {
            bindCredential: secretValue(secrets, ref),
            bindCredentialSource: `Secret "${ref.name}" key "${ref.key}" (${ref.field})`,
          }
        : {}),
      mappers: (provider.mappers ?? []).map(ldapMapper),
    };
  });
}
