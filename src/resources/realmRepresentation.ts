// KeycloakRealm spec → the realm Keycloak should have (the DesiredRealm the sync in src/keycloak
// consumes). Pure: no I/O, no logging. Only what the spec sets appears in the result; a field the
// spec leaves out is absent, so the sync leaves Keycloak's value (its default or a manual change)
// alone. Names change here (seconds suffixes, nested settings flattened) because the CRD is written
// for people and RealmRepresentation is Keycloak's wire format.
import type GroupRepresentation from "@keycloak/keycloak-admin-client/lib/defs/groupRepresentation.js";
import type RealmRepresentation from "@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js";
import type RoleRepresentation from "@keycloak/keycloak-admin-client/lib/defs/roleRepresentation.js";
import type {
  KeycloakRealmSpec,
  RealmGroup,
  RealmLeafGroup,
  RealmRole,
  RealmSubGroup,
  RoleComposites,
} from "../api/index.js";
import type { DesiredRealm, SmtpServer } from "../keycloak/realmSync.js";
import { desiredClientScopes } from "./clientScopeRepresentation.js";
import { desiredIdentityProviders } from "./identityProviderRepresentation.js";
import {
  eventsConfig,
  groupedRealmSettings,
  localizationTexts,
  organizations,
  userProfile,
  type RealmSettings,
} from "./realmSettingGroups.js";
import { desiredAuthentication } from "./authenticationFlowRepresentation.js";
import { noSecrets, secretValue, smtpPasswordReference, type ResolvedSecrets } from "./secretReferences.js";
import { desiredLdapProviders } from "./userFederationRepresentation.js";

/** Copies the entries whose value is not undefined, so absent spec fields stay absent. */
export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Realm settings: every top-level scalar of the spec plus the flattened tokens, brute force, themes
 * and the grouped settings of realmSettingGroups.ts; free-form attributes (merged by the sync).
 */
export function realmSettings(spec: KeycloakRealmSpec): RealmSettings & { realm: string } {
  const tokens = spec.tokens ?? {};
  const brute = spec.bruteForceProtection ?? {};
  const themes = spec.themes ?? {};
  return {
    realm: spec.realmName,
    ...definedOnly<RealmRepresentation>({
      displayName: spec.displayName,
      enabled: spec.enabled,
      sslRequired: spec.sslRequired,
      registrationAllowed: spec.registrationAllowed,
      loginWithEmailAllowed: spec.loginWithEmailAllowed,
      resetPasswordAllowed: spec.resetPasswordAllowed,
      rememberMe: spec.rememberMe,
      verifyEmail: spec.verifyEmail,
      duplicateEmailsAllowed: spec.duplicateEmailsAllowed,
      passwordPolicy: spec.passwordPolicy,

      bruteForceProtected: brute.enabled,
      permanentLockout: brute.permanentLockout,
      maxTemporaryLockouts: brute.maxTemporaryLockouts,
      failureFactor: brute.failureFactor,
      waitIncrementSeconds: brute.waitIncrementSeconds,
      maxFailureWaitSeconds: brute.maxFailureWaitSeconds,
      minimumQuickLoginWaitSeconds: brute.minimumQuickLoginWaitSeconds,
      quickLoginCheckMilliSeconds: brute.quickLoginCheckMilliSeconds,
      maxDeltaTimeSeconds: brute.maxDeltaTimeSeconds,

      accessTokenLifespan: tokens.accessTokenLifespanSeconds,
      accessTokenLifespanForImplicitFlow: tokens.accessTokenLifespanForImplicitFlowSeconds,
      accessCodeLifespan: tokens.accessCodeLifespanSeconds,
      ssoSessionIdleTimeout: tokens.ssoSessionIdleTimeoutSeconds,
      ssoSessionMaxLifespan: tokens.ssoSessionMaxLifespanSeconds,
      offlineSessionIdleTimeout: tokens.offlineSessionIdleTimeoutSeconds,
      offlineSessionMaxLifespanEnabled: tokens.offlineSessionMaxLifespanEnabled,
      offlineSessionMaxLifespan: tokens.offlineSessionMaxLifespanSeconds,
      revokeRefreshToken: tokens.revokeRefreshToken,
      refreshTokenMaxReuse: tokens.refreshTokenMaxReuse,

      loginTheme: themes.login,
      accountTheme: themes.account,
      adminTheme: themes.admin,
      emailTheme: themes.email,
      attributes: spec.attributes === undefined ? undefined : { ...spec.attributes },
    }),
    ...definedOnly(groupedRealmSettings(spec)),
  };
}

/**
 * Keycloak's smtpServer map: every value is a string. The password is included only when the spec
 * references one; the caller must have resolved it.
 */
export function smtpServer(
  spec: KeycloakRealmSpec,
  secrets: ResolvedSecrets = noSecrets,
): SmtpServer | undefined {
  const smtp = spec.smtp;
  if (smtp === undefined) return undefined;
  const str = (v: string | number | boolean | undefined) => (v === undefined ? undefined : String(v));
  const server = definedOnly<Record<string, string | undefined>>({
    host: smtp.host,
    port: str(smtp.port),
    from: smtp.from,
    fromDisplayName: smtp.fromDisplayName,
    replyTo: smtp.replyTo,
    ssl: str(smtp.ssl),
    starttls: str(smtp.starttls),
    auth: str(smtp.auth),
    user: smtp.user,
  }) as SmtpServer;
  for (const ref of smtpPasswordReference(spec)) server.password = secretValue(secrets, ref);
  return server;
}

/** Role composites as Keycloak writes them: realm role names, and client role names by client ID. */
export function roleComposites(composites: RoleComposites | undefined): RoleRepresentation["composites"] {
  if (composites === undefined) return undefined;
  return definedOnly({
    realm: composites.realm === undefined ? undefined : [...composites.realm],
    client: composites.client === undefined ? undefined : copyRoleMap(composites.client),
  });
}

/** A role of the realm or of a client; composites are managed only when the spec lists them. */
export function roleRepresentation(role: RealmRole): RoleRepresentation {
  return definedOnly<RoleRepresentation>({
    name: role.name,
    description: role.description,
    composites: roleComposites(role.composites),
  });
}

function copyRoleMap(map: Record<string, string[] | undefined>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(map).map(([clientId, roles]) => [clientId, [...(roles ?? [])]]));
}

type AnyGroup = RealmGroup | RealmSubGroup | RealmLeafGroup;

/** A group and its subgroups; realmRoles and clientRoles are managed only when the spec lists them. */
export function groupRepresentation(group: AnyGroup): GroupRepresentation {
  const subGroups = "subGroups" in group ? group.subGroups : undefined;
  return definedOnly<GroupRepresentation>({
    name: group.name,
    realmRoles: group.realmRoles === undefined ? undefined : [...group.realmRoles],
    clientRoles: group.clientRoles === undefined ? undefined : copyRoleMap(group.clientRoles),
    subGroups: subGroups?.map(groupRepresentation),
  });
}

/** The whole desired realm. Throws only when a Secret the spec references was not resolved. */
export function desiredRealm(spec: KeycloakRealmSpec, secrets: ResolvedSecrets = noSecrets): DesiredRealm {
  return definedOnly<DesiredRealm>({
    realm: realmSettings(spec),
    roles: spec.roles?.map(roleRepresentation),
    groups: spec.groups?.map(groupRepresentation),
    smtpServer: smtpServer(spec, secrets),
    defaultRoles: roleComposites(spec.defaultRoles),
    clientScopes: desiredClientScopes(spec),
    ldapProviders: desiredLdapProviders(spec, secrets),
    identityProviders: desiredIdentityProviders(spec, secrets),
    events: eventsConfig(spec),
    localizationTexts: localizationTexts(spec),
    defaultGroups: spec.defaultGroups === undefined ? undefined : [...spec.defaultGroups],
    userProfile: userProfile(spec),
    organizations: organizations(spec),
    authentication: desiredAuthentication(spec),
  }) as DesiredRealm;
}
