import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import type { KeycloakRealmSpec } from "../api/index.js";
import { crdDirectory } from "../api/crds.js";
import { ldapMapperProviderType, userStorageProviderType } from "../keycloak/userFederation.js";
import { userProfileOwnerAnnotation } from "../keycloak/userProfile.js";
import type { DesiredFlow } from "../resources/authenticationFlowRepresentation.js";
import { flowBindingFields } from "../resources/authenticationFlowRepresentation.js";
import { realmCoverage } from "../resources/coverage.js";
import { desiredRealm } from "../resources/realmRepresentation.js";
import { realmSecretReferences } from "../resources/secretReferences.js";
import { vendorDefaults } from "../resources/userFederationRepresentation.js";
import { forRealm, keycloakDefaults, type Representation } from "./defaults.js";
import { dnsLabel } from "./exportContext.js";
import { defaultUserProfile } from "./realmComponents.js";
import { realmSpecFromRepresentation, settingPaths, type RealmSpecBody } from "./realmSpec.js";
import { ExportReport, MASKED_SECRET } from "./report.js";

// ---- The realm Keycloak would hold after the operator applied a spec (the forward mapping) ----

const owner = { "kpo.dev/owner-uid": "uid-1", "kpo.dev/managed": "true" };
const asLists = (m: Record<string, string>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, [v]]));
const list = (v: unknown) => v as Record<string, unknown>[];

/** What a resolved Secret holds, by the spec path that references it. */
const fakeSecret = (field: string) => `value-of ${field}`;

interface StoreOptions {
  /** A partial export masks secrets; a full `kc.sh export` has them. */
  masked: boolean;
}

function flatten(flows: DesiredFlow[], topLevel: boolean, rep: Representation): void {
  for (const flow of flows) {
    list(rep.authenticationFlows).push({
      alias: flow.alias,
      description: flow.description ?? "",
      providerId: flow.providerId,
      topLevel,
      builtIn: false,
      authenticationExecutions: flow.executions.map((e, i) =>
        e.kind === "flow"
          ? {
              ...(e.flow.providerId === "form-flow" ? { authenticator: "registration-page-form" } : {}),
              authenticatorFlow: true,
              requirement: e.requirement,
              priority: (i + 1) * 10,
              autheticatorFlow: true,
              flowAlias: e.flow.alias,
              userSetupAllowed: false,
            }
          : {
              authenticator: e.authenticator,
              ...(e.config ? { authenticatorConfig: e.config.alias } : {}),
              authenticatorFlow: false,
              requirement: e.requirement,
              priority: (i + 1) * 10,
              autheticatorFlow: false,
              userSetupAllowed: false,
            },
      ),
    });
    for (const e of flow.executions) {
      if (e.kind === "authenticator" && e.config) list(rep.authenticatorConfig).push({ ...e.config });
      if (e.kind === "flow") flatten([e.flow], false, rep);
    }
  }
}

/** The export of a new realm the operator applied `spec` to, the way Keycloak stores each part. */
function storedRealm(spec: KeycloakRealmSpec, { masked }: StoreOptions): Representation {
  const secrets = new Map(realmSecretReferences(spec).map((r) => [r.field, fakeSecret(r.field)]));
  const secret = (value: string) => (masked ? MASKED_SECRET : value);
  const desired = desiredRealm(spec, secrets);
  const rep = structuredClone(forRealm(keycloakDefaults.realm, spec.realmName));
  const { attributes, browserSecurityHeaders, ...settings } = desired.realm as unknown as Record<
    string,
    unknown
  >;
  Object.assign(rep, settings);
  rep.attributes = { ...(rep.attributes as object), ...(attributes as object), ...owner };
  rep.browserSecurityHeaders = {
    ...(rep.browserSecurityHeaders as object),
    ...(browserSecurityHeaders as object),
  };
  if (desired.smtpServer)
    rep.smtpServer = {
      ...desired.smtpServer,
      ...(desired.smtpServer.password !== undefined ? { password: secret(desired.smtpServer.password) } : {}),
    };
  Object.assign(rep, desired.events ?? {});
  if (desired.localizationTexts) rep.localizationTexts = desired.localizationTexts;

  const roles = rep.roles as { realm: Record<string, unknown>[] };
  for (const role of desired.roles ?? [])
    roles.realm.push({
      ...role,
      composite: role.composites !== undefined,
      clientRole: false,
      attributes: asLists(owner),
    });
  const defaultRole = roles.realm.find((r) => r.name === `default-roles-${spec.realmName}`) as {
    composites: { realm: string[]; client: Record<string, string[]> };
  };
  defaultRole.composites.realm.push(...(desired.defaultRoles?.realm ?? []));
  for (const [clientId, names] of Object.entries(desired.defaultRoles?.client ?? {}))
    defaultRole.composites.client[clientId] = [...(defaultRole.composites.client[clientId] ?? []), ...names];

  const group = (g: NonNullable<typeof desired.groups>[number], parent: string): Representation => ({
    name: g.name,
    path: `${parent}/${g.name}`,
    subGroups: (g.subGroups ?? []).map((s) => group(s, `${parent}/${g.name}`)),
    attributes: asLists(owner),
    realmRoles: g.realmRoles ?? [],
    clientRoles: g.clientRoles ?? {},
  });
  rep.groups = (desired.groups ?? []).map((g) => group(g, ""));
  if (desired.defaultGroups) rep.defaultGroups = desired.defaultGroups;

  const scopes = desired.clientScopes;
  for (const scope of scopes?.scopes ?? []) {
    list(rep.clientScopes).push({
      name: scope.name,
      ...(scope.description !== undefined ? { description: scope.description } : {}),
      protocol: scope.protocol,
      attributes: { ...scope.attributes, ...owner },
      protocolMappers: (scope.protocolMappers ?? []).map((m) => ({ ...m, consentRequired: false })),
    });
    if (scope.scopeMappings?.realm)
      list(rep.scopeMappings).push({ clientScope: scope.name, roles: scope.scopeMappings.realm });
    for (const [clientId, names] of Object.entries(scope.scopeMappings?.client ?? {})) {
      const byClient = rep.clientScopeMappings as Record<string, unknown[]>;
      byClient[clientId] = [...(byClient[clientId] ?? []), { clientScope: scope.name, roles: names }];
    }
  }
  for (const [field, names] of [
    ["defaultDefaultClientScopes", scopes?.defaultScopes],
    ["defaultOptionalClientScopes", scopes?.optionalScopes],
  ] as const)
    for (const name of names ?? [])
      if (!(rep[field] as string[]).includes(name)) (rep[field] as string[]).push(name);

  const components = rep.components as Record<string, unknown[]>;
  if (desired.ldapProviders)
    components[userStorageProviderType] = desired.ldapProviders.map((p) => ({
      name: p.name,
      providerId: "ldap",
      subComponents: {
        [ldapMapperProviderType]: p.mappers.map((m) => ({
          name: m.name,
          providerId: m.type,
          subComponents: {},
          config: asLists(m.config),
        })),
      },
      config: {
        ...asLists(p.config),
        ...(p.bindCredential !== undefined ? { bindCredential: [secret(p.bindCredential)] } : {}),
      },
    }));

  for (const { rep: idp, clientSecret } of desired.identityProviders?.providers ?? [])
    list(rep.identityProviders).push({
      enabled: true,
      updateProfileFirstLoginMode: "on",
      trustEmail: false,
      storeToken: false,
      addReadTokenRoleOnCreate: false,
      authenticateByDefault: false,
      linkOnly: false,
      hideOnLogin: false,
      firstBrokerLoginFlowAlias: "first broker login",
      ...idp,
      internalId: `id-${idp.alias}`,
      config: {
        ...idp.config,
        ...(clientSecret !== undefined ? { clientSecret: secret(clientSecret) } : {}),
      },
    });
  rep.identityProviderMappers = [...(desired.identityProviders?.mappers ?? [])];

  if (desired.userProfile) {
    const mark = <T extends { annotations?: Record<string, unknown> }>(item: T) => ({
      ...item,
      annotations: { ...item.annotations, [userProfileOwnerAnnotation]: "uid-1" },
    });
    const merge = <T extends { name?: string }>(have: T[], wanted: T[] | undefined) => [
      ...have.filter((h) => !(wanted ?? []).some((w) => w.name === h.name)),
      ...(wanted ?? []).map((w) => mark(w as T & { annotations?: Record<string, unknown> })),
    ];
    const document = {
      ...(desired.userProfile.unmanagedAttributePolicy !== undefined
        ? { unmanagedAttributePolicy: desired.userProfile.unmanagedAttributePolicy }
        : {}),
      attributes: merge(defaultUserProfile.attributes as { name?: string }[], desired.userProfile.attributes),
      groups: merge(
        defaultUserProfile.groups,
        desired.userProfile.groups as typeof defaultUserProfile.groups,
      ),
    };
    components["org.keycloak.userprofile.UserProfileProvider"] = [
      {
        providerId: "declarative-user-profile",
        subComponents: {},
        config: { "kc.user.profile.config": [JSON.stringify(document)] },
      },
    ];
  }

  if (desired.organizations)
    rep.organizations = desired.organizations.map((o) => ({
      id: `org-${o.name}`,
      ...o,
      alias: o.alias ?? o.name,
      enabled: o.enabled ?? true,
      attributes: { ...o.attributes, ...asLists(owner) },
      domains: (o.domains ?? []).map((d) => ({ verified: false, ...d })),
      identityProviders: (o.identityProviders ?? []).map((alias) => ({ alias, providerId: "oidc" })),
      members: [],
    }));

  const auth = desired.authentication;
  if (auth?.flows) flatten(auth.flows, true, rep);
  Object.assign(rep, auth?.bindings ?? {});
  for (const action of auth?.requiredActions ?? []) {
    const actions = list(rep.requiredActions);
    const existing = actions.find((a) => a.alias === action.alias);
    if (existing) Object.assign(existing, action);
    else
      actions.push({
        name: action.alias,
        providerId: action.alias,
        enabled: true,
        defaultAction: false,
        priority: 200,
        config: {},
        ...action,
      });
  }
  return rep;
}

// ---- The spec an export should give back: the spec, without what a new realm already has ----

type Spec = Record<string, unknown>;

const getPath = (o: Spec, path: readonly string[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Spec | undefined)?.[k], o);

function deletePath(o: Spec, path: readonly string[]): void {
  const parent = getPath(o, path.slice(0, -1)) as Spec | undefined;
  if (parent === undefined) return;
  delete parent[path[path.length - 1] ?? ""];
  if (path.length > 1 && Object.keys(parent).length === 0) deletePath(o, path.slice(0, -1));
}

const dropEmpty = <T extends Spec>(o: T): T =>
  Object.fromEntries(
    Object.entries(o).filter(
      ([, v]) =>
        v !== undefined &&
        !(Array.isArray(v) && v.length === 0) &&
        !(typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0),
    ),
  ) as T;

const byName = (key: string) => (a: Spec, b: Spec) => String(a[key]).localeCompare(String(b[key]));

/**
 * The spec normalised the ways an export cannot tell apart: values equal to a new realm's (or to the
 * CRD's defaults, which the API server fills in) are absent, Secrets are named by the export's
 * convention, empty role lists are no lists (Keycloak exports both as empty), and name-keyed lists are
 * in name order (their order means nothing to the operator or to Keycloak).
 */
function expectedSpec(input: KeycloakRealmSpec): Spec {
  const {
    instanceRef: _i,
    realmName,
    adopt: _a,
    deletionPolicy: _d,
    backup: _b,
    clientGrants: _c,
    userGrants: _u,
    adoptionGrants: _g,
    ...rest
  } = structuredClone(input);
  const spec = rest as Spec;
  const defaults = forRealm(keycloakDefaults.realm, realmName);
  const forward = desiredRealm(input, new Map(realmSecretReferences(input).map((r) => [r.field, "x"])));
  const settings = { ...(forward.realm as unknown as Spec), ...(forward.events as Spec) };
  for (const [field, path] of Object.entries(settingPaths))
    if (JSON.stringify(settings[field]) === JSON.stringify(defaults[field])) deletePath(spec, path);
  const headers = spec.securityHeaders as Record<string, string> | undefined;
  for (const [k, v] of Object.entries(headers ?? {}))
    if ((defaults.browserSecurityHeaders as Record<string, string>)[k] === v)
      deletePath(spec, ["securityHeaders", k]);

  if (spec.smtp) (spec.smtp as Spec).passwordSecretRef &&= { name: `${realmName}-smtp`, key: "password" };
  const groups = (gs: Spec[] | undefined): Spec[] | undefined =>
    gs?.map((g) => dropEmpty({ ...g, subGroups: groups(g.subGroups as Spec[] | undefined) }));
  if (spec.groups) spec.groups = groups(spec.groups as Spec[]);
  spec.roles &&= (spec.roles as Spec[]).sort(byName("name"));
  spec.groups &&= (spec.groups as Spec[]).sort(byName("name"));
  spec.clientScopes &&= (spec.clientScopes as Spec[])
    .map((s) => (s.protocol === "openid-connect" ? (({ protocol: _p, ...r }) => r)(s) : s))
    .sort(byName("name"));
  for (const [field, specField] of [
    ["defaultDefaultClientScopes", "defaultClientScopes"],
    ["defaultOptionalClientScopes", "optionalClientScopes"],
  ] as const) {
    const added = ((spec[specField] as string[] | undefined) ?? []).filter(
      (n) => !(defaults[field] as string[]).includes(n),
    );
    if (added.length > 0) spec[specField] = added;
    else delete spec[specField];
  }
  if (spec.authenticationFlows)
    spec.authenticationFlows = (spec.authenticationFlows as Spec[])
      .map((f) => (f.providerId === "basic-flow" ? (({ providerId: _p, ...r }) => r)(f) : f))
      .sort(byName("alias"));
  if (spec.flowBindings) {
    for (const [key, field] of Object.entries(flowBindingFields))
      if ((spec.flowBindings as Spec)[key] === defaults[field]) deletePath(spec, ["flowBindings", key]);
  }
  if (spec.requiredActions) {
    const builtins = new Map(list(defaults.requiredActions).map((a) => [a.alias, a]));
    const actions = (spec.requiredActions as Spec[])
      .map((a) => {
        const base = builtins.get(a.alias);
        return Object.fromEntries(
          Object.entries(a).filter(([k, v]) => k === "alias" || base === undefined || base[k] !== v),
        );
      })
      .filter((a) => Object.keys(a).length > 1 || !builtins.has(a.alias))
      .sort(byName("alias"));
    if (actions.length > 0) spec.requiredActions = actions;
    else delete spec.requiredActions;
  }
  const federation = spec.userFederation as { ldap?: Spec[] } | undefined;
  for (const ldap of federation?.ldap ?? []) {
    const vendor = (ldap.vendor as keyof typeof vendorDefaults | undefined) ?? "other";
    const crdDefaults: Spec = {
      vendor: "other",
      enabled: true,
      searchScope: "one",
      editMode: "READ_ONLY",
      importEnabled: true,
      ...vendorDefaults[vendor],
    };
    for (const [k, v] of Object.entries(crdDefaults))
      if (JSON.stringify(ldap[k]) === JSON.stringify(v)) delete ldap[k];
    ldap.bindCredentialRef &&= { name: `${realmName}-ldap-${dnsLabel(String(ldap.name))}`, key: "password" };
  }
  const idpDefaults: Spec = {
    enabled: true,
    trustEmail: false,
    storeToken: false,
    linkOnly: false,
    hideOnLogin: false,
    firstBrokerLoginFlowAlias: "first broker login",
  };
  for (const idp of (spec.identityProviders as Spec[] | undefined) ?? []) {
    for (const [k, v] of Object.entries(idpDefaults)) if (idp[k] === v) delete idp[k];
    idp.clientSecretRef &&= { name: `${realmName}-idp-${dnsLabel(String(idp.alias))}`, key: "client-secret" };
  }
  for (const org of (spec.organizations as Spec[] | undefined) ?? []) {
    if (org.alias === org.name) delete org.alias;
    if (org.enabled === true) delete org.enabled;
    org.domains &&= (org.domains as Spec[]).map((d) => (d.verified === false ? { name: d.name } : d));
  }
  return dropEmpty(spec);
}

/** The export's spec, with name-keyed lists in name order (see expectedSpec). */
function sortedSpec(spec: RealmSpecBody): Spec {
  const s = structuredClone(spec) as Spec;
  s.roles &&= (s.roles as Spec[]).sort(byName("name"));
  s.groups &&= (s.groups as Spec[]).sort(byName("name"));
  s.clientScopes &&= (s.clientScopes as Spec[]).sort(byName("name"));
  s.authenticationFlows &&= (s.authenticationFlows as Spec[]).sort(byName("alias"));
  s.requiredActions &&= (s.requiredActions as Spec[]).sort(byName("alias"));
  return s;
}

function exampleRealms(): { file: string; spec: KeycloakRealmSpec }[] {
  const dir = join(crdDirectory(), "..", "examples");
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), "utf8"))
        .map((d) => d.toJS() as { kind?: string; spec?: KeycloakRealmSpec } | null)
        .filter((m) => m?.kind === "KeycloakRealm" && m.spec !== undefined)
        .map((m) => ({ file, spec: m?.spec as KeycloakRealmSpec })),
    );
}

/** Every realm spec field group, set to values a new realm does not have. */
const rich: KeycloakRealmSpec = {
  instanceRef: { name: "main" },
  realmName: "rich",
  displayName: "Rich",
  displayNameHtml: "<b>Rich</b>",
  enabled: false,
  sslRequired: "all",
  registrationAllowed: true,
  loginWithEmailAllowed: false,
  resetPasswordAllowed: true,
  rememberMe: true,
  verifyEmail: true,
  duplicateEmailsAllowed: true,
  editUsernameAllowed: true,
  registrationEmailAsUsername: true,
  userManagedAccessAllowed: true,
  organizationsEnabled: true,
  adminPermissionsEnabled: true,
  defaultSignatureAlgorithm: "ES256",
  passwordPolicy: "length(12)",
  attributes: { frontendUrl: "https://id.example.com", "acme/team": "iam" },
  bruteForceProtection: {
    enabled: true,
    permanentLockout: true,
    strategy: "LINEAR",
    maxTemporaryLockouts: 3,
    failureFactor: 5,
    waitIncrementSeconds: 30,
    maxFailureWaitSeconds: 600,
    minimumQuickLoginWaitSeconds: 30,
    quickLoginCheckMilliSeconds: 500,
    maxDeltaTimeSeconds: 3600,
  },
  tokens: {
    accessTokenLifespanSeconds: 120,
    accessTokenLifespanForImplicitFlowSeconds: 600,
    accessCodeLifespanSeconds: 30,
    ssoSessionIdleTimeoutSeconds: 900,
    ssoSessionMaxLifespanSeconds: 7200,
    offlineSessionIdleTimeoutSeconds: 86400,
    offlineSessionMaxLifespanEnabled: true,
    offlineSessionMaxLifespanSeconds: 172800,
    revokeRefreshToken: true,
    refreshTokenMaxReuse: 1,
    ssoSessionIdleTimeoutRememberMeSeconds: 3600,
    ssoSessionMaxLifespanRememberMeSeconds: 14400,
    clientSessionIdleTimeoutSeconds: 600,
    clientSessionMaxLifespanSeconds: 3600,
    clientOfflineSessionIdleTimeoutSeconds: 7200,
    clientOfflineSessionMaxLifespanSeconds: 14400,
    accessCodeLifespanLoginSeconds: 900,
    accessCodeLifespanUserActionSeconds: 600,
    actionTokenGeneratedByAdminLifespanSeconds: 3600,
    actionTokenGeneratedByUserLifespanSeconds: 600,
  },
  themes: { login: "acme", account: "acme", admin: "acme", email: "acme" },
  otpPolicy: {
    type: "hotp",
    algorithm: "HmacSHA512",
    digits: 8,
    periodSeconds: 60,
    initialCounter: 2,
    lookAheadWindow: 3,
    codeReusable: true,
  },
  webAuthnPolicy: {
    rpEntityName: "Rich",
    signatureAlgorithms: ["ES512"],
    rpId: "example.com",
    attestationConveyancePreference: "direct",
    authenticatorAttachment: "platform",
    requireResidentKey: "Yes",
    userVerificationRequirement: "required",
    createTimeoutSeconds: 60,
    avoidSameAuthenticatorRegister: true,
    extraOrigins: ["https://app.example.com"],
  },
  webAuthnPasswordlessPolicy: {
    rpEntityName: "Rich passkeys",
    requireResidentKey: "No",
    createTimeoutSeconds: 30,
  },
  securityHeaders: { xFrameOptions: "DENY", contentSecurityPolicyReportOnly: "default-src 'self'" },
  smtp: {
    host: "smtp.example.com",
    port: 587,
    from: "id@example.com",
    fromDisplayName: "Identity",
    replyTo: "help@example.com",
    ssl: false,
    starttls: true,
    auth: true,
    user: "mailer",
    passwordSecretRef: { name: "rich-smtp", key: "password" },
  },
  events: {
    enabled: true,
    expirationSeconds: 3600,
    listeners: ["jboss-logging", "email"],
    enabledTypes: ["LOGIN"],
    adminEventsEnabled: true,
    adminEventsDetailsEnabled: true,
  },
  localization: {
    internationalizationEnabled: true,
    supportedLocales: ["en", "fr"],
    defaultLocale: "fr",
    texts: { fr: { hello: "Bonjour" } },
  },
  roles: [
    { name: "viewer", description: "Can view" },
    { name: "editor", composites: { realm: ["viewer"], client: { "realm-management": ["view-users"] } } },
  ],
  defaultRoles: { realm: ["viewer"], client: { account: ["view-groups"] } },
  groups: [
    {
      name: "staff",
      realmRoles: ["viewer"],
      clientRoles: { "realm-management": ["view-realm"] },
      subGroups: [{ name: "ops", subGroups: [{ name: "oncall", realmRoles: ["editor"] }] }],
    },
  ],
  defaultGroups: ["/staff/ops"],
  clientScopes: [
    {
      name: "tenant",
      description: "The tenant",
      includeInTokenScope: false,
      displayOnConsentScreen: true,
      consentScreenText: "Your tenant",
      guiOrder: 3,
      attributes: { "acme/x": "y" },
      protocolMappers: [
        { name: "tenant", protocolMapper: "oidc-hardcoded-claim-mapper", config: { "claim.name": "tenant" } },
      ],
      scopeMappings: { realmRoles: ["viewer"], clientRoles: { "realm-management": ["view-realm"] } },
    },
    { name: "saml-tenant", protocol: "saml" },
  ],
  defaultClientScopes: ["tenant"],
  optionalClientScopes: ["saml-tenant"],
  userFederation: {
    ldap: [
      {
        name: "corp",
        vendor: "ad",
        enabled: false,
        priority: 1,
        connectionUrl: "ldaps://ad.example.com",
        connectionTimeoutMs: 5000,
        readTimeoutMs: 10000,
        bindDn: "cn=kc,dc=example,dc=com",
        bindCredentialRef: { name: "rich-ldap-corp", key: "password" },
        usersDn: "ou=people,dc=example,dc=com",
        usernameLDAPAttribute: "sAMAccountName",
        userObjectClasses: ["person", "user"],
        customUserSearchFilter: "(memberOf=cn=kc)",
        searchScope: "subtree",
        editMode: "WRITABLE",
        importEnabled: false,
        syncRegistrations: true,
        pagination: true,
        trustEmail: true,
        periodicFullSyncSeconds: 86400,
        periodicChangedUsersSyncSeconds: 600,
        mappers: [
          {
            name: "groups",
            type: "group-ldap-mapper",
            config: { "groups.dn": "ou=groups,dc=example,dc=com" },
          },
        ],
      },
      { name: "anon", connectionUrl: "ldap://ldap.example.com", startTls: true, usersDn: "ou=people" },
    ],
  },
  identityProviders: [
    {
      alias: "corp_SSO",
      providerId: "oidc",
      displayName: "Corp",
      enabled: false,
      trustEmail: true,
      storeToken: true,
      linkOnly: true,
      hideOnLogin: true,
      firstBrokerLoginFlowAlias: "rich first login",
      postBrokerLoginFlowAlias: "rich first login",
      syncMode: "FORCE",
      clientSecretRef: { name: "corp", key: "secret" },
      config: { clientId: "kc", tokenUrl: "https://corp/token", validateSignature: true, pkceMethod: "S256" },
      extraConfig: { "acme.flag": "on" },
    },
    { alias: "partner", providerId: "saml", config: { entityId: "kc", wantAssertionsSigned: false } },
  ],
  identityProviderMappers: [
    {
      identityProviderAlias: "corp_SSO",
      name: "role",
      identityProviderMapper: "oidc-hardcoded-role-idp-mapper",
      syncMode: "INHERIT",
      config: { role: "viewer" },
    },
  ],
  authenticationFlows: [
    {
      alias: "rich first login",
      description: "First login",
      executions: [
        {
          authenticator: "idp-review-profile",
          requirement: "REQUIRED",
          config: { alias: "rich review", config: { "update.profile.on.first.login": "on" } },
        },
        { subFlow: "rich form", requirement: "REQUIRED" },
      ],
    },
    {
      alias: "rich form",
      providerId: "form-flow",
      executions: [{ authenticator: "registration-user-creation", requirement: "REQUIRED" }],
    },
    {
      alias: "rich clients",
      providerId: "client-flow",
      executions: [{ authenticator: "client-secret", requirement: "ALTERNATIVE" }],
    },
  ],
  flowBindings: { firstBrokerLogin: "rich first login", clientAuthentication: "rich clients" },
  requiredActions: [
    { alias: "TERMS_AND_CONDITIONS", enabled: true, defaultAction: true, priority: 5 },
    { alias: "VERIFY_EMAIL", config: { "acme.x": "1" } },
    { alias: "acme-action", enabled: true, defaultAction: false, priority: 300 },
  ],
  userProfile: {
    unmanagedAttributePolicy: "ADMIN_VIEW",
    attributes: [
      {
        name: "employeeId",
        displayName: "Employee",
        group: "work",
        multivalued: true,
        annotations: { inputType: "text" },
        validations: { length: { max: "8" } },
        permissions: { view: ["admin"], edit: ["admin"] },
      },
    ],
    groups: [{ name: "work", displayHeader: "Work", displayDescription: "About work" }],
  },
  organizations: [
    {
      name: "Acme",
      alias: "acme",
      enabled: false,
      description: "A customer",
      redirectUrl: "https://acme.example.com",
      domains: [{ name: "acme.example.com", verified: true }, { name: "acme.test" }],
      attributes: { tier: ["gold"] },
      identityProviders: ["partner"],
    },
  ],
};

describe("realmSpecFromRepresentation", () => {
  const specs = [...exampleRealms(), { file: "the rich spec of this test", spec: rich }];

  it.each(specs)(
    "Given the realm the operator makes of $file ($spec.realmName), when exported, then the spec comes back and nothing is unexpressed",
    ({ spec }) => {
      const report = new ExportReport();
      const exported = realmSpecFromRepresentation(storedRealm(spec, { masked: true }), report);
      expect(sortedSpec(exported)).toEqual(expectedSpec(spec));
      expect(report.unexpressed).toEqual([]);
      expect(report.secrets.map((s) => s.field).sort()).toEqual(
        realmSecretReferences(spec)
          .map((r) => r.field)
          .sort(),
      );
      expect(report.secrets.every((s) => s.value === undefined)).toBe(true);
    },
  );

  it.each(specs)(
    "Given a full export (secrets in clear) of the realm made of $file, when exported, then the same spec comes back and each Secret has its value",
    ({ spec }) => {
      const report = new ExportReport();
      const exported = realmSpecFromRepresentation(storedRealm(spec, { masked: false }), report);
      expect(sortedSpec(exported)).toEqual(expectedSpec(spec));
      expect(report.secrets.map((s) => [s.field, s.value]).sort()).toEqual(
        realmSecretReferences(spec)
          .map((r) => [r.field, fakeSecret(r.field)])
          .sort(),
      );
    },
  );

  it("Given the examples, when listed, then they include realms to export (the test is not vacuous)", () => {
    expect(exampleRealms().length).toBeGreaterThanOrEqual(5);
  });

  it("Given a new realm nobody configured, when exported, then the spec is empty and nothing is unexpressed", () => {
    const report = new ExportReport();
    const rep = forRealm(keycloakDefaults.realm, "x");
    expect(realmSpecFromRepresentation(rep, report)).toEqual({});
    expect(report.unexpressed).toEqual([]);
    expect(report.secrets).toEqual([]);
  });

  it("Given a new realm with ids, a version and Keycloak's realm name, when exported, then server-set fields say nothing", () => {
    const report = new ExportReport();
    const rep = { ...forRealm(keycloakDefaults.realm, "x"), id: "abc", keycloakVersion: "26.0.0" };
    expect(realmSpecFromRepresentation(rep, report)).toEqual({});
    expect(report.unexpressed).toEqual([]);
  });

  describe("what the CRDs cannot express", () => {
    const exportOf = (change: (rep: Representation) => void) => {
      const rep = structuredClone<Representation>(forRealm(keycloakDefaults.realm, "x"));
      change(rep);
      const report = new ExportReport();
      const spec = realmSpecFromRepresentation(rep, report);
      return { spec, paths: report.unexpressed.map((u) => u.path), report };
    };

    it("Given client policies, when exported, then they are reported with coverage's reason", () => {
      const { spec, report } = exportOf((rep) => {
        rep.clientPolicies = { policies: [{ name: "p", enabled: true }] };
      });
      expect(spec).toEqual({});
      expect(report.unexpressed.map((u) => u.path)).toEqual(["$.clientPolicies"]);
      expect(report.unexpressed[0]?.reason).toBe(realmCoverage.clientPolicies?.reason);
    });

    it("Given an edited built-in flow, when exported, then the flow is reported and not exported", () => {
      const { spec, paths } = exportOf((rep) => {
        const browser = list(rep.authenticationFlows).find((f) => f.alias === "browser");
        list(browser?.authenticationExecutions)[0]!.requirement = "DISABLED";
      });
      expect(spec).toEqual({});
      expect(paths).toEqual(["$.authenticationFlows[?(@.alias=='browser')]"]);
    });

    it("Given fields without a CRD field at every depth, when exported, then each is reported once by its path", () => {
      const { spec, paths } = exportOf((rep) => {
        rep.somethingNew = { a: 1 };
        rep.oauth2DeviceCodeLifespan = 900;
        rep.attributes = { ...(rep.attributes as object), oauth2DeviceCodeLifespan: "900" };
        rep.webAuthnPolicyAcceptableAaguids = ["aaguid"];
        rep.smtpServer = { host: "h", from: "f@x", envelopeFrom: "e@x" };
        rep.browserSecurityHeaders = { ...(rep.browserSecurityHeaders as object), xXSSProtection: "1" };
        rep.identityProviders = [
          {
            alias: "x",
            providerId: "oidc",
            updateProfileFirstLoginMode: "off",
            config: { prompt: "sometimes" },
          },
        ];
        rep.identityProviderMappers = [
          { name: "m", identityProviderAlias: "x", identityProviderMapper: "custom-mapper", config: {} },
        ];
        rep.roles = {
          ...(rep.roles as object),
          realm: [
            ...list((rep.roles as Representation).realm),
            { name: "r", attributes: { color: ["blue"] } },
          ],
        };
        rep.groups = [
          { name: "a", subGroups: [{ name: "b", subGroups: [{ name: "c", subGroups: [{ name: "d" }] }] }] },
        ];
        rep.defaultGroups = ["/a/b/c/d", "/a/b"];
        list(rep.clientScopes).find((s) => s.name === "email")!.description = "changed";
        rep.defaultDefaultClientScopes = (rep.defaultDefaultClientScopes as string[]).filter(
          (s) => s !== "acr",
        );
        list(rep.requiredActions).find((a) => a.alias === "VERIFY_EMAIL")!.enabled = false;
        list((rep.components as Record<string, unknown>)["org.keycloak.keys.KeyProvider"]).push({
          name: "imported",
          providerId: "rsa",
          config: {},
        });
        rep.scopeMappings = [...list(rep.scopeMappings), { client: "web", roles: ["r"] }];
      });
      expect(paths.sort()).toEqual(
        [
          "$.somethingNew",
          "$.oauth2DeviceCodeLifespan",
          "$.webAuthnPolicyAcceptableAaguids",
          "$.smtpServer.envelopeFrom",
          "$.browserSecurityHeaders.xXSSProtection",
          "$.identityProviders[?(@.alias=='x')].updateProfileFirstLoginMode",
          "$.identityProviders[?(@.alias=='x')].config.prompt",
          "$.identityProviderMappers[?(@.identityProviderAlias=='x' && @.name=='m')]",
          "$.roles.realm[?(@.name=='r')].attributes.color",
          "$.groups[?(@.name=='a')].subGroups[?(@.name=='b')].subGroups[?(@.name=='c')].subGroups[?(@.name=='d')]",
          "$.defaultGroups[?(@=='/a/b/c/d')]",
          "$.clientScopes[?(@.name=='email')]",
          "$.defaultDefaultClientScopes",
          "$.components['org.keycloak.keys.KeyProvider'][?(@.name=='imported')]",
          "$.scopeMappings[?(@.client=='web')]",
        ].sort(),
      );
      // What can be expressed is, next to what cannot.
      expect(spec.smtp).toEqual({ host: "h", from: "f@x" });
      expect(spec.requiredActions).toEqual([{ alias: "VERIFY_EMAIL", enabled: false }]);
      expect(spec.identityProviders).toEqual([{ alias: "x", providerId: "oidc" }]);
      expect(spec.defaultGroups).toEqual(["/a/b"]);
      expect(spec.groups).toEqual([{ name: "a", subGroups: [{ name: "b", subGroups: [{ name: "c" }] }] }]);
    });

    it("Given a setting Keycloak mirrors in a realm attribute, when exported, then only its spec field carries it", () => {
      const { spec, paths } = exportOf((rep) => {
        rep.otpPolicyCodeReusable = true;
        rep.attributes = { ...(rep.attributes as object), realmReusableOtpCode: "true", cibaInterval: "10" };
      });
      expect(spec).toEqual({ otpPolicy: { codeReusable: true }, attributes: { cibaInterval: "10" } });
      expect(paths).toEqual([]);
    });

    it("Given Keycloak's own default role composites removed, when exported, then the removal is reported", () => {
      const { paths } = exportOf((rep) => {
        const role = list((rep.roles as Representation).realm).find((r) => r.name === "default-roles-x")!;
        (role.composites as { realm: string[] }).realm = ["offline_access"];
      });
      expect(paths).toEqual(["$.roles.realm[?(@.name=='default-roles-x')].composites"]);
    });
  });

  describe("secrets", () => {
    const withSecrets = (value: string) => {
      const rep = structuredClone<Representation>(forRealm(keycloakDefaults.realm, "shop"));
      rep.smtpServer = { host: "smtp", from: "a@b", auth: "true", user: "u", password: value };
      rep.identityProviders = [
        { alias: "Corp_SSO", providerId: "oidc", config: { clientId: "kc", clientSecret: value } },
      ];
      (rep.components as Record<string, unknown>)[userStorageProviderType] = [
        {
          name: "corp",
          providerId: "ldap",
          subComponents: {},
          config: {
            connectionUrl: ["ldap://x"],
            usersDn: ["ou=p"],
            authType: ["simple"],
            bindDn: ["cn=kc"],
            bindCredential: [value],
          },
        },
      ];
      const report = new ExportReport();
      return { spec: realmSpecFromRepresentation(rep, report, { secretPrefix: "shop-export" }), report };
    };

    it("Given a partial export, when exported, then each secret is a reference and a Secret without a value", () => {
      const { spec, report } = withSecrets(MASKED_SECRET);
      expect(spec.smtp?.passwordSecretRef).toEqual({ name: "shop-export-smtp", key: "password" });
      expect(spec.identityProviders?.[0]?.clientSecretRef).toEqual({
        name: "shop-export-idp-corp-sso",
        key: "client-secret",
      });
      expect(spec.userFederation?.ldap?.[0]?.bindCredentialRef).toEqual({
        name: "shop-export-ldap-corp",
        key: "password",
      });
      expect(report.secrets).toEqual([
        { name: "shop-export-smtp", key: "password", field: "spec.smtp.passwordSecretRef" },
        {
          name: "shop-export-idp-corp-sso",
          key: "client-secret",
          field: "spec.identityProviders[Corp_SSO].clientSecretRef",
        },
        {
          name: "shop-export-ldap-corp",
          key: "password",
          field: "spec.userFederation.ldap[corp].bindCredentialRef",
        },
      ]);
      expect(report.unexpressed).toEqual([]);
    });

    it("Given a full export with the secrets in clear, when exported, then the Secrets carry them and the spec never does", () => {
      const { spec, report } = withSecrets("s3cr3t-value");
      expect(report.secrets.map((s) => s.value)).toEqual(["s3cr3t-value", "s3cr3t-value", "s3cr3t-value"]);
      expect(JSON.stringify(spec)).not.toContain("s3cr3t-value");
    });

    it("Given an empty secret, when exported, then the Secret has no value", () => {
      const { report } = withSecrets("");
      expect(report.secrets.every((s) => s.value === undefined)).toBe(true);
    });
  });
});
