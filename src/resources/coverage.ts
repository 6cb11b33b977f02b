// How much of Keycloak's realm and client representations the CRDs manage: one entry for every
// top-level field of RealmRepresentation and ClientRepresentation, saying either which spec path
// manages it or why it is not managed. test/unit/coverage.test.ts keeps it honest both ways: a
// field the admin client's .d.ts has and the table lacks (or the reverse) fails, and so does a spec
// path the CRD schema does not have. scripts/gen-coverage.ts renders docs/reference/coverage.md.

export type CoverageStatus =
  /** A spec path sets it. */
  | "managed"
  /** A spec path manages it, the value itself travels in a Kubernetes Secret. */
  | "secret by reference"
  /** Keycloak computes it; nothing to configure. */
  | "server-set"
  /** Kept by Keycloak for old exports only; replaced by another field. */
  | "deprecated"
  /** Configurable, deliberately not managed (the reason says why). */
  | "out of scope"
  /** Managed by another kind or collection (the reason says which). */
  | "in collection"
  /** Configurable, not managed yet, work under way. */
  | "planned";

export interface CoverageEntry {
  status: CoverageStatus;
  /** The spec paths that manage the field (managed, secret by reference). */
  spec?: string[];
  /** Why it is not managed, or how (for secrets). */
  reason?: string;
}

const managed = (...spec: string[]): CoverageEntry => ({ status: "managed", spec });
const serverSet = (reason: string): CoverageEntry => ({ status: "server-set", reason });
const deprecated = (reason: string): CoverageEntry => ({ status: "deprecated", reason });
const outOfScope = (reason: string): CoverageEntry => ({ status: "out of scope", reason });
const inCollection = (reason: string): CoverageEntry => ({ status: "in collection", reason });

/** Statuses counted as managed in the percentages. */
export const managedStatuses: ReadonlySet<CoverageStatus> = new Set(["managed", "secret by reference"]);
/** Statuses of fields nobody configures, left out of the percentages. */
export const unconfigurableStatuses: ReadonlySet<CoverageStatus> = new Set(["server-set", "deprecated"]);

const clientPolicies =
  "not managed in this version: client policies and profiles constrain every client of the realm, other teams' included, and need their own review of who may set them";
const deviceLifespans =
  "Keycloak 26.5 ignores it in a realm update, as a field and as a realm attribute (tried against the server), so a managed value could never converge";

export const realmCoverage: Record<string, CoverageEntry> = {
  accessCodeLifespan: managed("spec.tokens.accessCodeLifespanSeconds"),
  accessCodeLifespanLogin: managed("spec.tokens.accessCodeLifespanLoginSeconds"),
  accessCodeLifespanUserAction: managed("spec.tokens.accessCodeLifespanUserActionSeconds"),
  accessTokenLifespan: managed("spec.tokens.accessTokenLifespanSeconds"),
  accessTokenLifespanForImplicitFlow: managed("spec.tokens.accessTokenLifespanForImplicitFlowSeconds"),
  accountTheme: managed("spec.themes.account"),
  actionTokenGeneratedByAdminLifespan: managed("spec.tokens.actionTokenGeneratedByAdminLifespanSeconds"),
  actionTokenGeneratedByUserLifespan: managed("spec.tokens.actionTokenGeneratedByUserLifespanSeconds"),
  adminEventsDetailsEnabled: managed("spec.events.adminEventsDetailsEnabled"),
  adminEventsEnabled: managed("spec.events.adminEventsEnabled"),
  adminPermissionsClient: serverSet("the client Keycloak creates for fine-grained admin permissions"),
  adminPermissionsEnabled: managed("spec.adminPermissionsEnabled"),
  adminTheme: managed("spec.themes.admin"),
  attributes: managed("spec.attributes"),
  authenticationFlows: managed("spec.authenticationFlows"),
  authenticatorConfig: managed("spec.authenticationFlows"),
  browserFlow: managed("spec.flowBindings.browser"),
  browserSecurityHeaders: managed("spec.securityHeaders"),
  bruteForceProtected: managed("spec.bruteForceProtection.enabled"),
  bruteForceStrategy: managed("spec.bruteForceProtection.strategy"),
  clientAuthenticationFlow: managed("spec.flowBindings.clientAuthentication"),
  clientScopeMappings: outOfScope(
    "role scope mappings of clients in the export format; a client's token contents are governed by its scopes",
  ),
  clientScopes: managed("spec.clientScopes"),
  clients: inCollection("KeycloakClient resources"),
  clientPolicies: outOfScope(clientPolicies),
  clientProfiles: outOfScope(clientPolicies),
  components: managed("spec.userFederation.ldap"),
  defaultDefaultClientScopes: managed("spec.defaultClientScopes"),
  defaultGroups: managed("spec.defaultGroups"),
  defaultLocale: managed("spec.localization.defaultLocale"),
  defaultOptionalClientScopes: managed("spec.optionalClientScopes"),
  defaultRole: managed("spec.defaultRoles"),
  defaultRoles: deprecated("replaced by defaultRole (the default-roles-<realm> composite)"),
  defaultSignatureAlgorithm: managed("spec.defaultSignatureAlgorithm"),
  directGrantFlow: managed("spec.flowBindings.directGrant"),
  displayName: managed("spec.displayName"),
  displayNameHtml: managed("spec.displayNameHtml"),
  dockerAuthenticationFlow: managed("spec.flowBindings.dockerAuthentication"),
  duplicateEmailsAllowed: managed("spec.duplicateEmailsAllowed"),
  editUsernameAllowed: managed("spec.editUsernameAllowed"),
  emailTheme: managed("spec.themes.email"),
  enabled: managed("spec.enabled"),
  enabledEventTypes: managed("spec.events.enabledTypes"),
  eventsEnabled: managed("spec.events.enabled"),
  eventsExpiration: managed("spec.events.expirationSeconds"),
  eventsListeners: managed("spec.events.listeners"),
  failureFactor: managed("spec.bruteForceProtection.failureFactor"),
  federatedUsers: inCollection("KeycloakUser resources (spec.federatedIdentities), a kind of their own"),
  groups: managed("spec.groups"),
  id: serverSet("Keycloak's internal id of the realm"),
  identityProviderMappers: managed("spec.identityProviderMappers"),
  identityProviders: managed("spec.identityProviders"),
  internationalizationEnabled: managed("spec.localization.internationalizationEnabled"),
  keycloakVersion: serverSet("the version of the server that exported the realm"),
  loginTheme: managed("spec.themes.login"),
  loginWithEmailAllowed: managed("spec.loginWithEmailAllowed"),
  maxDeltaTimeSeconds: managed("spec.bruteForceProtection.maxDeltaTimeSeconds"),
  maxFailureWaitSeconds: managed("spec.bruteForceProtection.maxFailureWaitSeconds"),
  maxTemporaryLockouts: managed("spec.bruteForceProtection.maxTemporaryLockouts"),
  minimumQuickLoginWaitSeconds: managed("spec.bruteForceProtection.minimumQuickLoginWaitSeconds"),
  notBefore: outOfScope(
    "a revocation action, not a setting: pushing a not-before time rejects every token issued earlier; declaring it would revoke all sessions again whenever an older value is applied",
  ),
  oauth2DeviceCodeLifespan: outOfScope(deviceLifespans),
  oauth2DevicePollingInterval: outOfScope(deviceLifespans),
  offlineSessionIdleTimeout: managed("spec.tokens.offlineSessionIdleTimeoutSeconds"),
  offlineSessionMaxLifespan: managed("spec.tokens.offlineSessionMaxLifespanSeconds"),
  offlineSessionMaxLifespanEnabled: managed("spec.tokens.offlineSessionMaxLifespanEnabled"),
  organizationsEnabled: managed("spec.organizationsEnabled"),
  otpPolicyAlgorithm: managed("spec.otpPolicy.algorithm"),
  otpPolicyCodeReusable: managed("spec.otpPolicy.codeReusable"),
  otpPolicyDigits: managed("spec.otpPolicy.digits"),
  otpPolicyInitialCounter: managed("spec.otpPolicy.initialCounter"),
  otpPolicyLookAheadWindow: managed("spec.otpPolicy.lookAheadWindow"),
  otpPolicyPeriod: managed("spec.otpPolicy.periodSeconds"),
  otpPolicyType: managed("spec.otpPolicy.type"),
  otpSupportedApplications: serverSet("the authenticator apps Keycloak lists for the OTP policy"),
  passwordPolicy: managed("spec.passwordPolicy"),
  permanentLockout: managed("spec.bruteForceProtection.permanentLockout"),
  protocolMappers: deprecated(
    "realm-level protocol mappers of old exports; mappers live in clients and client scopes",
  ),
  quickLoginCheckMilliSeconds: managed("spec.bruteForceProtection.quickLoginCheckMilliSeconds"),
  realm: managed("spec.realmName"),
  refreshTokenMaxReuse: managed("spec.tokens.refreshTokenMaxReuse"),
  registrationAllowed: managed("spec.registrationAllowed"),
  registrationEmailAsUsername: managed("spec.registrationEmailAsUsername"),
  registrationFlow: managed("spec.flowBindings.registration"),
  rememberMe: managed("spec.rememberMe"),
  requiredActions: managed("spec.requiredActions"),
  resetCredentialsFlow: managed("spec.flowBindings.resetCredentials"),
  resetPasswordAllowed: managed("spec.resetPasswordAllowed"),
  revokeRefreshToken: managed("spec.tokens.revokeRefreshToken"),
  roles: managed("spec.roles"),
  // The export's realm-role scope mappings of client scopes: spec.clientScopes[].scopeMappings.
  scopeMappings: managed("spec.clientScopes"),
  smtpServer: managed("spec.smtp"),
  sslRequired: managed("spec.sslRequired"),
  ssoSessionIdleTimeout: managed("spec.tokens.ssoSessionIdleTimeoutSeconds"),
  ssoSessionIdleTimeoutRememberMe: managed("spec.tokens.ssoSessionIdleTimeoutRememberMeSeconds"),
  ssoSessionMaxLifespan: managed("spec.tokens.ssoSessionMaxLifespanSeconds"),
  ssoSessionMaxLifespanRememberMe: managed("spec.tokens.ssoSessionMaxLifespanRememberMeSeconds"),
  clientSessionIdleTimeout: managed("spec.tokens.clientSessionIdleTimeoutSeconds"),
  clientSessionMaxLifespan: managed("spec.tokens.clientSessionMaxLifespanSeconds"),
  clientOfflineSessionIdleTimeout: managed("spec.tokens.clientOfflineSessionIdleTimeoutSeconds"),
  clientOfflineSessionMaxLifespan: managed("spec.tokens.clientOfflineSessionMaxLifespanSeconds"),
  supportedLocales: managed("spec.localization.supportedLocales"),
  userFederationMappers: deprecated("replaced by components"),
  userFederationProviders: deprecated("replaced by components"),
  userManagedAccessAllowed: managed("spec.userManagedAccessAllowed"),
  users: inCollection("KeycloakUser resources, a kind of their own (users are not part of a realm's spec)"),
  verifiableCredentialsEnabled: outOfScope(
    "verifiable credential issuance (OID4VCI) is an experimental Keycloak feature, off by default",
  ),
  verifyEmail: managed("spec.verifyEmail"),
  waitIncrementSeconds: managed("spec.bruteForceProtection.waitIncrementSeconds"),
};

export const clientCoverage: Record<string, CoverageEntry> = {
  access: serverSet("what the reading administrator may do with the client"),
  adminUrl: managed("spec.adminUrl"),
  attributes: managed("spec.attributes", "spec.saml", "spec.backchannelLogout"),
  authenticationFlowBindingOverrides: managed("spec.authenticationFlowBindingOverrides"),
  authorizationServicesEnabled: managed("spec.authorization"),
  authorizationSettings: managed("spec.authorization"),
  baseUrl: managed("spec.baseUrl"),
  bearerOnly: managed("spec.bearerOnly"),
  clientAuthenticatorType: managed("spec.clientAuthenticatorType"),
  clientId: managed("spec.clientId"),
  consentRequired: managed("spec.consentRequired"),
  defaultClientScopes: managed("spec.defaultClientScopes"),
  defaultRoles: deprecated("replaced by the realm's default role"),
  description: managed("spec.description"),
  directAccessGrantsEnabled: managed("spec.directAccessGrantsEnabled"),
  enabled: managed("spec.enabled"),
  alwaysDisplayInConsole: managed("spec.alwaysDisplayInConsole"),
  frontchannelLogout: managed("spec.frontchannelLogout"),
  fullScopeAllowed: managed("spec.fullScopeAllowed"),
  id: serverSet("Keycloak's internal id of the client (status.clientUUID)"),
  implicitFlowEnabled: managed("spec.implicitFlowEnabled"),
  name: managed("spec.name"),
  nodeReRegistrationTimeout: managed("spec.nodeReRegistrationTimeout"),
  notBefore: outOfScope("a revocation action, not a setting (as for realms)"),
  optionalClientScopes: managed("spec.optionalClientScopes"),
  origin: serverSet("where Keycloak got the client from (e.g. a federation)"),
  protocol: managed("spec.protocol"),
  protocolMappers: managed("spec.protocolMappers"),
  publicClient: managed("spec.publicClient"),
  redirectUris: managed("spec.redirectUris"),
  registeredNodes: serverSet("cluster nodes registered by old Keycloak adapters"),
  registrationAccessToken: serverSet("the token of dynamic client registration"),
  rootUrl: managed("spec.rootUrl"),
  secret: {
    status: "secret by reference",
    spec: ["spec.secret"],
    reason:
      "Keycloak generates it; the operator writes it to the Secret spec.secret names and rotates it on spec.secret.rotate",
  },
  serviceAccountsEnabled: managed("spec.serviceAccountsEnabled"),
  standardFlowEnabled: managed("spec.standardFlowEnabled"),
  surrogateAuthRequired: managed("spec.surrogateAuthRequired"),
  webOrigins: managed("spec.webOrigins"),
};

/** The kinds the coverage document covers: the CRD kind, Keycloak's representation and its table. */
export const coverageKinds = [
  {
    kind: "KeycloakRealm",
    representation: "RealmRepresentation",
    file: "realmRepresentation.d.ts",
    table: realmCoverage,
  },
  {
    kind: "KeycloakClient",
    representation: "ClientRepresentation",
    file: "clientRepresentation.d.ts",
    table: clientCoverage,
  },
] as const;

export interface CoverageCounts {
  fields: number;
  configurable: number;
  managed: number;
  planned: number;
  /** managed / configurable, in percent, one decimal. */
  percent: number;
}

export function coverageCounts(table: Record<string, CoverageEntry>): CoverageCounts {
  const entries = Object.values(table);
  const configurable = entries.filter((e) => !unconfigurableStatuses.has(e.status)).length;
  const managedCount = entries.filter((e) => managedStatuses.has(e.status)).length;
  return {
    fields: entries.length,
    configurable,
    managed: managedCount,
    planned: entries.filter((e) => e.status === "planned").length,
    percent: configurable === 0 ? 0 : Math.round((managedCount / configurable) * 1000) / 10,
  };
}
