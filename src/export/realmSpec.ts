// A realm's representation (a partial export, or a realm of `kc.sh export`) → the KeycloakRealm spec
// that reproduces it: the inverse of src/resources/realmRepresentation.ts. Pure: no I/O, no logging.
//
// What the spec says is what differs from a new realm (src/export/defaults.ts): a value equal to
// Keycloak's default, and an object every new realm has, unchanged, is left out, so the spec of a
// realm nobody configured is empty. What differs and no CRD field carries is not dropped: it is
// reported with its JSON path (report.notExpressed), the honest list of what the CRDs lack. Secret
// values never enter the spec: they become Secret references, the Secret listed in the report.
// Clients and users are other converters' (their objects), but every reference to client roles a
// realm role, group or scope makes is the realm's.
import type { KeycloakRealmSpec } from "../api/index.js";
import { realmCoverage } from "../resources/coverage.js";
import { smtpPasswordReference } from "../resources/secretReferences.js";
import { keycloakDefaults, type KeycloakDefaults, type Representation } from "./defaults.js";
import {
  exportContext,
  exportedSecret,
  isOperatorAttribute,
  isRecord,
  recordOf,
  sameValue,
  secretName,
  str,
  type ExportContext,
} from "./exportContext.js";
import { authenticationSpec, authenticationFields } from "./realmAuthentication.js";
import { collectionFields, collectionsSpec } from "./realmCollections.js";
import { providerFields, providersSpec } from "./realmProviders.js";
import { childPath, type ExportReport } from "./report.js";

/** The spec an export produces: everything but the fields that say where it goes and how. */
export type RealmSpecBody = Omit<KeycloakRealmSpec, "instanceRef" | "realmName" | "adopt">;

export interface RealmExportOptions {
  /** The new realm's values to leave out; the pinned Keycloak's by default. */
  defaults?: KeycloakDefaults;
  /** Names the Secrets the spec references (`<prefix>-smtp`); the realm's name by default. */
  secretPrefix?: string;
}

/** RealmRepresentation fields → the spec path that carries them unchanged (same name, same unit). */
const webAuthnFields = {
  RpEntityName: "rpEntityName",
  SignatureAlgorithms: "signatureAlgorithms",
  RpId: "rpId",
  AttestationConveyancePreference: "attestationConveyancePreference",
  AuthenticatorAttachment: "authenticatorAttachment",
  RequireResidentKey: "requireResidentKey",
  UserVerificationRequirement: "userVerificationRequirement",
  CreateTimeout: "createTimeoutSeconds",
  AvoidSameAuthenticatorRegister: "avoidSameAuthenticatorRegister",
  ExtraOrigins: "extraOrigins",
} as const satisfies Record<string, keyof NonNullable<KeycloakRealmSpec["webAuthnPolicy"]>>;

const webAuthn = (prefix: string, group: string) =>
  Object.fromEntries(
    Object.entries(webAuthnFields).map(([field, key]) => [`${prefix}${field}`, [group, key]]),
  );

export const settingPaths: Readonly<Record<string, readonly [string] | readonly [string, string]>> = {
  displayName: ["displayName"],
  enabled: ["enabled"],
  sslRequired: ["sslRequired"],
  registrationAllowed: ["registrationAllowed"],
  loginWithEmailAllowed: ["loginWithEmailAllowed"],
  resetPasswordAllowed: ["resetPasswordAllowed"],
  rememberMe: ["rememberMe"],
  verifyEmail: ["verifyEmail"],
  duplicateEmailsAllowed: ["duplicateEmailsAllowed"],
  passwordPolicy: ["passwordPolicy"],
  displayNameHtml: ["displayNameHtml"],
  editUsernameAllowed: ["editUsernameAllowed"],
  registrationEmailAsUsername: ["registrationEmailAsUsername"],
  userManagedAccessAllowed: ["userManagedAccessAllowed"],
  organizationsEnabled: ["organizationsEnabled"],
  adminPermissionsEnabled: ["adminPermissionsEnabled"],
  defaultSignatureAlgorithm: ["defaultSignatureAlgorithm"],

  bruteForceProtected: ["bruteForceProtection", "enabled"],
  permanentLockout: ["bruteForceProtection", "permanentLockout"],
  bruteForceStrategy: ["bruteForceProtection", "strategy"],
  maxTemporaryLockouts: ["bruteForceProtection", "maxTemporaryLockouts"],
  failureFactor: ["bruteForceProtection", "failureFactor"],
  waitIncrementSeconds: ["bruteForceProtection", "waitIncrementSeconds"],
  maxFailureWaitSeconds: ["bruteForceProtection", "maxFailureWaitSeconds"],
  minimumQuickLoginWaitSeconds: ["bruteForceProtection", "minimumQuickLoginWaitSeconds"],
  quickLoginCheckMilliSeconds: ["bruteForceProtection", "quickLoginCheckMilliSeconds"],
  maxDeltaTimeSeconds: ["bruteForceProtection", "maxDeltaTimeSeconds"],

  accessTokenLifespan: ["tokens", "accessTokenLifespanSeconds"],
  accessTokenLifespanForImplicitFlow: ["tokens", "accessTokenLifespanForImplicitFlowSeconds"],
  accessCodeLifespan: ["tokens", "accessCodeLifespanSeconds"],
  ssoSessionIdleTimeout: ["tokens", "ssoSessionIdleTimeoutSeconds"],
  ssoSessionMaxLifespan: ["tokens", "ssoSessionMaxLifespanSeconds"],
  offlineSessionIdleTimeout: ["tokens", "offlineSessionIdleTimeoutSeconds"],
  offlineSessionMaxLifespanEnabled: ["tokens", "offlineSessionMaxLifespanEnabled"],
  offlineSessionMaxLifespan: ["tokens", "offlineSessionMaxLifespanSeconds"],
  revokeRefreshToken: ["tokens", "revokeRefreshToken"],
  refreshTokenMaxReuse: ["tokens", "refreshTokenMaxReuse"],
  ssoSessionIdleTimeoutRememberMe: ["tokens", "ssoSessionIdleTimeoutRememberMeSeconds"],
  ssoSessionMaxLifespanRememberMe: ["tokens", "ssoSessionMaxLifespanRememberMeSeconds"],
  clientSessionIdleTimeout: ["tokens", "clientSessionIdleTimeoutSeconds"],
  clientSessionMaxLifespan: ["tokens", "clientSessionMaxLifespanSeconds"],
  clientOfflineSessionIdleTimeout: ["tokens", "clientOfflineSessionIdleTimeoutSeconds"],
  clientOfflineSessionMaxLifespan: ["tokens", "clientOfflineSessionMaxLifespanSeconds"],
  accessCodeLifespanLogin: ["tokens", "accessCodeLifespanLoginSeconds"],
  accessCodeLifespanUserAction: ["tokens", "accessCodeLifespanUserActionSeconds"],
  actionTokenGeneratedByAdminLifespan: ["tokens", "actionTokenGeneratedByAdminLifespanSeconds"],
  actionTokenGeneratedByUserLifespan: ["tokens", "actionTokenGeneratedByUserLifespanSeconds"],

  loginTheme: ["themes", "login"],
  accountTheme: ["themes", "account"],
  adminTheme: ["themes", "admin"],
  emailTheme: ["themes", "email"],

  otpPolicyType: ["otpPolicy", "type"],
  otpPolicyAlgorithm: ["otpPolicy", "algorithm"],
  otpPolicyDigits: ["otpPolicy", "digits"],
  otpPolicyPeriod: ["otpPolicy", "periodSeconds"],
  otpPolicyInitialCounter: ["otpPolicy", "initialCounter"],
  otpPolicyLookAheadWindow: ["otpPolicy", "lookAheadWindow"],
  otpPolicyCodeReusable: ["otpPolicy", "codeReusable"],

  ...webAuthn("webAuthnPolicy", "webAuthnPolicy"),
  ...webAuthn("webAuthnPolicyPasswordless", "webAuthnPasswordlessPolicy"),

  internationalizationEnabled: ["localization", "internationalizationEnabled"],
  supportedLocales: ["localization", "supportedLocales"],
  defaultLocale: ["localization", "defaultLocale"],

  eventsEnabled: ["events", "enabled"],
  eventsExpiration: ["events", "expirationSeconds"],
  eventsListeners: ["events", "listeners"],
  enabledEventTypes: ["events", "enabledTypes"],
  adminEventsEnabled: ["events", "adminEventsEnabled"],
  adminEventsDetailsEnabled: ["events", "adminEventsDetailsEnabled"],
};

const securityHeaderKeys = {
  contentSecurityPolicy: true,
  contentSecurityPolicyReportOnly: true,
  xFrameOptions: true,
  xContentTypeOptions: true,
  xRobotsTag: true,
  strictTransportSecurity: true,
  referrerPolicy: true,
} as const satisfies Record<keyof NonNullable<KeycloakRealmSpec["securityHeaders"]>, true>;

const smtpStrings = ["host", "from", "fromDisplayName", "replyTo", "user"] as const;
const smtpBooleans = ["ssl", "starttls", "auth"] as const;

/**
 * Realm attributes that mirror a top-level field of the representation (Keycloak keeps both, and
 * keeps otpPolicyCodeReusable as realmReusableOtpCode): the field is what the export maps or reports.
 */
const mirroredAttributes = new Set([
  "oauth2DeviceCodeLifespan",
  "oauth2DevicePollingInterval",
  "realmReusableOtpCode",
]);

/** SMTP entries whose value means what their absence means: `auth` with a password is basic auth. */
const smtpImplicit: Record<string, string> = { authType: "basic" };

function setPath(body: Record<string, unknown>, path: readonly string[], value: unknown): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (rest.length === 0) {
    body[head] = value;
    return;
  }
  const child = isRecord(body[head]) ? body[head] : {};
  body[head] = child;
  setPath(child, rest, value);
}

function settingsSpec(ctx: ExportContext, body: Record<string, unknown>): void {
  const { rep, defaults } = ctx;
  for (const [field, path] of Object.entries(settingPaths)) {
    const value = rep[field];
    if (value === undefined || value === null || sameValue(value, defaults[field])) continue;
    // An empty list where a new realm has none (older exports write `supportedLocales: []`) says
    // the same as the absent field; the CRD's lists hold at least one item.
    if (Array.isArray(value) && value.length === 0 && defaults[field] === undefined) continue;
    setPath(body, path, Array.isArray(value) ? [...(value as unknown[])] : value);
  }

  const defaultAttributes = recordOf(defaults.attributes);
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(recordOf(rep.attributes))) {
    if (isOperatorAttribute(key) || mirroredAttributes.has(key)) continue;
    if (sameValue(value, defaultAttributes[key])) continue;
    if (typeof value === "string") attributes[key] = value;
    else ctx.report.notExpressed(childPath("$.attributes", key), "spec.attributes holds strings only");
  }
  if (Object.keys(attributes).length > 0) body.attributes = attributes;

  const defaultHeaders = recordOf(defaults.browserSecurityHeaders);
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(recordOf(rep.browserSecurityHeaders))) {
    if (sameValue(value, defaultHeaders[key])) continue;
    if (key in securityHeaderKeys && typeof value === "string") headers[key] = value;
    else
      ctx.report.notExpressed(
        childPath("$.browserSecurityHeaders", key),
        "spec.securityHeaders has no field for this header",
      );
  }
  if (Object.keys(headers).length > 0) body.securityHeaders = headers;

  const texts = recordOf(rep.localizationTexts);
  if (Object.keys(texts).length > 0 && !sameValue(texts, defaults.localizationTexts))
    setPath(body, ["localization", "texts"], structuredClone(texts));
}

/** spec.smtp; the password becomes a reference to `<prefix>-smtp`. */
function smtpSpec(ctx: ExportContext, body: Record<string, unknown>): void {
  const server = recordOf(ctx.rep.smtpServer);
  if (Object.keys(server).length === 0 || sameValue(server, ctx.defaults.smtpServer)) return;
  const host = str(server.host);
  const from = str(server.from);
  if (host === undefined || from === undefined) {
    ctx.report.notExpressed(
      "$.smtpServer",
      "spec.smtp requires a host and a from address, and this SMTP configuration lacks one",
    );
    return;
  }
  const smtp: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(server)) {
    const path = childPath("$.smtpServer", key);
    if (key === "password" || smtpImplicit[key] === value) continue;
    if ((smtpStrings as readonly string[]).includes(key) && typeof value === "string") smtp[key] = value;
    else if ((smtpBooleans as readonly string[]).includes(key) && (value === "true" || value === "false"))
      smtp[key] = value === "true";
    else if (key === "port" && typeof value === "string" && /^\d+$/.test(value)) smtp.port = Number(value);
    else ctx.report.notExpressed(path, "spec.smtp has no field for this SMTP setting");
  }
  if (server.password !== undefined) {
    const passwordSecretRef = { name: secretName(ctx, "smtp"), key: "password" };
    const references = smtpPasswordReference({
      smtp: { host, from, passwordSecretRef },
    } as KeycloakRealmSpec);
    smtp.passwordSecretRef = exportedSecret(ctx, references, server.password);
  }
  body.smtp = smtp;
}

/** Top-level fields this file and the others map, or leave to other converters. */
const handledFields = new Set([
  ...Object.keys(settingPaths),
  "realm",
  "attributes",
  "browserSecurityHeaders",
  "localizationTexts",
  "smtpServer",
  ...collectionFields,
  ...authenticationFields,
  ...providerFields,
  // Other converters' objects: KeycloakClient and KeycloakUser resources.
  "clients",
  "users",
  "federatedUsers",
]);

/** Fields of the representation no part maps: reported unless default or set by the server. */
function unmappedFields(ctx: ExportContext): void {
  for (const [field, value] of Object.entries(ctx.rep)) {
    if (handledFields.has(field) || value === undefined || sameValue(value, ctx.defaults[field])) continue;
    const coverage = realmCoverage[field];
    if (coverage?.status === "server-set") continue;
    ctx.report.notExpressed(
      childPath("$", field),
      coverage?.reason ?? "no field of the KeycloakRealm CRD carries it",
    );
  }
}

export function realmSpecFromRepresentation(
  rep: Representation,
  report: ExportReport,
  options: RealmExportOptions = {},
): RealmSpecBody {
  const ctx = exportContext(rep, report, options.defaults ?? keycloakDefaults, options.secretPrefix);
  const body: Record<string, unknown> = {};
  settingsSpec(ctx, body);
  smtpSpec(ctx, body);
  collectionsSpec(ctx, body);
  authenticationSpec(ctx, body);
  providersSpec(ctx, body);
  unmappedFields(ctx);
  return body;
}
