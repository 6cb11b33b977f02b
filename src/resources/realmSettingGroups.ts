// The grouped realm settings of a KeycloakRealm spec (OTP, WebAuthn, security headers, the further
// lifespans, localization, events) → Keycloak's flat RealmRepresentation fields, and the settings
// with endpoints of their own (events, texts, user profile, organizations) → what their syncs take. Pure, like the rest
// of src/resources: a setting the spec leaves out is absent from the result, so Keycloak's value is
// left alone. The spec groups them for people (`spec.otpPolicy.digits`); Keycloak's wire format
// prefixes them (`otpPolicyDigits`), and speaks of some in seconds without saying so.
import type { RealmEventsConfigRepresentation } from "@keycloak/keycloak-admin-client/lib/defs/realmEventsConfigRepresentation.js";
import type RealmRepresentation from "@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js";
import type { UserProfileAttribute } from "@keycloak/keycloak-admin-client/lib/defs/userProfileMetadata.js";
import type { KeycloakRealmSpec } from "../api/index.js";
import type { DesiredOrganization } from "../keycloak/organizations.js";
import type { DesiredUserProfile } from "../keycloak/userProfile.js";

type WebAuthnSpec = NonNullable<KeycloakRealmSpec["webAuthnPolicy"]>;

/** The WebAuthn fields of Keycloak's RealmRepresentation, which the admin client's type lacks. */
export interface WebAuthnRealmFields {
  webAuthnPolicyRpEntityName?: string;
  webAuthnPolicySignatureAlgorithms?: string[];
  webAuthnPolicyRpId?: string;
  webAuthnPolicyAttestationConveyancePreference?: string;
  webAuthnPolicyAuthenticatorAttachment?: string;
  webAuthnPolicyRequireResidentKey?: string;
  webAuthnPolicyUserVerificationRequirement?: string;
  webAuthnPolicyCreateTimeout?: number;
  webAuthnPolicyAvoidSameAuthenticatorRegister?: boolean;
  webAuthnPolicyExtraOrigins?: string[];
  webAuthnPolicyPasswordlessRpEntityName?: string;
  webAuthnPolicyPasswordlessSignatureAlgorithms?: string[];
  webAuthnPolicyPasswordlessRpId?: string;
  webAuthnPolicyPasswordlessAttestationConveyancePreference?: string;
  webAuthnPolicyPasswordlessAuthenticatorAttachment?: string;
  webAuthnPolicyPasswordlessRequireResidentKey?: string;
  webAuthnPolicyPasswordlessUserVerificationRequirement?: string;
  webAuthnPolicyPasswordlessCreateTimeout?: number;
  webAuthnPolicyPasswordlessAvoidSameAuthenticatorRegister?: boolean;
  webAuthnPolicyPasswordlessExtraOrigins?: string[];
}

/** Realm settings as the sync writes them: Keycloak's representation, WebAuthn included. */
export type RealmSettings = RealmRepresentation & WebAuthnRealmFields;

function copy<T>(list: readonly T[] | undefined): T[] | undefined {
  return list === undefined ? undefined : [...list];
}

function webAuthn(policy: WebAuthnSpec | undefined, prefix: string): Record<string, unknown> {
  const p = policy ?? {};
  return {
    [`${prefix}RpEntityName`]: p.rpEntityName,
    [`${prefix}SignatureAlgorithms`]: copy(p.signatureAlgorithms),
    [`${prefix}RpId`]: p.rpId,
    [`${prefix}AttestationConveyancePreference`]: p.attestationConveyancePreference,
    [`${prefix}AuthenticatorAttachment`]: p.authenticatorAttachment,
    [`${prefix}RequireResidentKey`]: p.requireResidentKey,
    [`${prefix}UserVerificationRequirement`]: p.userVerificationRequirement,
    [`${prefix}CreateTimeout`]: p.createTimeoutSeconds,
    [`${prefix}AvoidSameAuthenticatorRegister`]: p.avoidSameAuthenticatorRegister,
    [`${prefix}ExtraOrigins`]: copy(p.extraOrigins),
  };
}

/** Keycloak's browserSecurityHeaders map, or undefined when the spec manages no header. */
export function browserSecurityHeaders(spec: KeycloakRealmSpec): Record<string, string> | undefined {
  const headers = spec.securityHeaders;
  if (headers === undefined) return undefined;
  const defined = Object.entries(headers).filter(([, v]) => v !== undefined);
  return defined.length === 0 ? undefined : Object.fromEntries(defined);
}

/**
 * The flat fields of the grouped settings, possibly undefined (the caller drops those). Keys are
 * RealmRepresentation's own names.
 */
export function groupedRealmSettings(spec: KeycloakRealmSpec): Record<string, unknown> {
  const otp = spec.otpPolicy ?? {};
  const tokens = spec.tokens ?? {};
  const l10n = spec.localization ?? {};
  return {
    displayNameHtml: spec.displayNameHtml,
    editUsernameAllowed: spec.editUsernameAllowed,
    registrationEmailAsUsername: spec.registrationEmailAsUsername,
    userManagedAccessAllowed: spec.userManagedAccessAllowed,
    organizationsEnabled: spec.organizationsEnabled,
    adminPermissionsEnabled: spec.adminPermissionsEnabled,
    defaultSignatureAlgorithm: spec.defaultSignatureAlgorithm,
    bruteForceStrategy: spec.bruteForceProtection?.strategy,

    ssoSessionIdleTimeoutRememberMe: tokens.ssoSessionIdleTimeoutRememberMeSeconds,
    ssoSessionMaxLifespanRememberMe: tokens.ssoSessionMaxLifespanRememberMeSeconds,
    clientSessionIdleTimeout: tokens.clientSessionIdleTimeoutSeconds,
    clientSessionMaxLifespan: tokens.clientSessionMaxLifespanSeconds,
    clientOfflineSessionIdleTimeout: tokens.clientOfflineSessionIdleTimeoutSeconds,
    clientOfflineSessionMaxLifespan: tokens.clientOfflineSessionMaxLifespanSeconds,
    accessCodeLifespanLogin: tokens.accessCodeLifespanLoginSeconds,
    accessCodeLifespanUserAction: tokens.accessCodeLifespanUserActionSeconds,
    actionTokenGeneratedByAdminLifespan: tokens.actionTokenGeneratedByAdminLifespanSeconds,
    actionTokenGeneratedByUserLifespan: tokens.actionTokenGeneratedByUserLifespanSeconds,

    otpPolicyType: otp.type,
    otpPolicyAlgorithm: otp.algorithm,
    otpPolicyDigits: otp.digits,
    otpPolicyPeriod: otp.periodSeconds,
    otpPolicyInitialCounter: otp.initialCounter,
    otpPolicyLookAheadWindow: otp.lookAheadWindow,
    otpPolicyCodeReusable: otp.codeReusable,

    ...webAuthn(spec.webAuthnPolicy, "webAuthnPolicy"),
    ...webAuthn(spec.webAuthnPasswordlessPolicy, "webAuthnPolicyPasswordless"),

    browserSecurityHeaders: browserSecurityHeaders(spec),

    internationalizationEnabled: l10n.internationalizationEnabled,
    supportedLocales: copy(l10n.supportedLocales),
    defaultLocale: l10n.defaultLocale,
  };
}

/** The OTP policy of a new Keycloak realm. */
const newRealmOtpPolicy: Record<string, unknown> = {
  otpPolicyType: "totp",
  otpPolicyAlgorithm: "HmacSHA1",
  otpPolicyDigits: 6,
  otpPolicyPeriod: 30,
  otpPolicyInitialCounter: 0,
  otpPolicyLookAheadWindow: 1,
  otpPolicyCodeReusable: false,
};

/**
 * `rep` with its OTP policy made whole. Keycloak takes an OTP policy only as a whole: it ignores the
 * fields of a representation without otpPolicyType, and resets every field one with it leaves out
 * (digits to 0). So when `rep` sets any OTP field, the others are filled in from `current` (the
 * realm as it is), or from a new realm's policy.
 */
export function withWholeOtpPolicy<T extends object>(rep: T, current: object = newRealmOtpPolicy): T {
  const fields = rep as Record<string, unknown>;
  const keys = Object.keys(newRealmOtpPolicy);
  if (!keys.some((k) => fields[k] !== undefined)) return rep;
  const base = current as Record<string, unknown>;
  const whole = Object.fromEntries(
    keys.map((k) => [k, fields[k] ?? base[k] ?? newRealmOtpPolicy[k]] as const),
  );
  return { ...rep, ...whole };
}

/** The events configuration the spec manages, or undefined when it manages none of it. */
export function eventsConfig(spec: KeycloakRealmSpec): RealmEventsConfigRepresentation | undefined {
  const events = spec.events;
  if (events === undefined) return undefined;
  const config: RealmEventsConfigRepresentation = Object.fromEntries(
    Object.entries({
      eventsEnabled: events.enabled,
      eventsExpiration: events.expirationSeconds,
      eventsListeners: copy(events.listeners),
      enabledEventTypes: copy(events.enabledTypes),
      adminEventsEnabled: events.adminEventsEnabled,
      adminEventsDetailsEnabled: events.adminEventsDetailsEnabled,
    }).filter(([, v]) => v !== undefined),
  );
  return Object.keys(config).length === 0 ? undefined : config;
}

/** The realm's own texts by locale and key, copied; undefined when the spec lists none. */
export function localizationTexts(
  spec: KeycloakRealmSpec,
): Record<string, Record<string, string>> | undefined {
  const texts = spec.localization?.texts;
  if (texts === undefined) return undefined;
  return Object.fromEntries(
    Object.entries(texts).map(([locale, byKey]) => [locale, { ...(byKey as Record<string, string>) }]),
  );
}

/** The user profile definitions the spec manages (copied), or undefined. */
export function userProfile(spec: KeycloakRealmSpec): DesiredUserProfile | undefined {
  const profile = spec.userProfile;
  if (profile === undefined) return undefined;
  return Object.fromEntries(
    Object.entries({
      unmanagedAttributePolicy: profile.unmanagedAttributePolicy,
      attributes: profile.attributes?.map((a) => structuredClone(a) as UserProfileAttribute),
      groups: profile.groups?.map((g) => ({ ...g })),
    }).filter(([, v]) => v !== undefined),
  );
}

/** The organizations the spec lists (copied), or undefined when it manages none. */
export function organizations(spec: KeycloakRealmSpec): DesiredOrganization[] | undefined {
  return spec.organizations?.map(
    (o) =>
      Object.fromEntries(
        Object.entries({
          ...o,
          domains: o.domains?.map((d) => ({ ...d })),
          attributes:
            o.attributes === undefined
              ? undefined
              : Object.fromEntries(Object.entries(o.attributes).map(([k, v]) => [k, [...v]])),
          identityProviders: o.identityProviders === undefined ? undefined : [...o.identityProviders],
        }).filter(([, v]) => v !== undefined),
      ) as unknown as DesiredOrganization,
  );
}
