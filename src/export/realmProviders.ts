// Identity providers, their mappers and organizations in an export → spec.identityProviders,
// spec.identityProviderMappers and spec.organizations: the inverse of
// src/resources/identityProviderRepresentation.ts and of the organizations mapping. Keycloak keeps
// an identity provider's settings in one string map; the CRD gives the common ones typed fields and
// the rest go to extraConfig, so every config entry has a place. The client secret becomes a
// reference to `<prefix>-idp-<alias>`.
import type { KeycloakRealmSpec } from "../api/index.js";
import type {
  IdentityProviderMapperSpec,
  IdentityProviderSpec,
} from "../resources/identityProviderRepresentation.js";
import { identityProviderSecretReference } from "../resources/secretReferences.js";
import {
  exportedSecret,
  records,
  recordOf,
  secretName,
  str,
  strings,
  withoutOperatorAttributes,
  type ExportContext,
} from "./exportContext.js";
import { componentsSpec } from "./realmComponents.js";
import { childPath, itemPath } from "./report.js";

export const providerFields = ["identityProviders", "identityProviderMappers", "organizations", "components"];

type TypedConfig = NonNullable<IdentityProviderSpec["config"]>;
type OrganizationSpec = NonNullable<KeycloakRealmSpec["organizations"]>[number];

/** The CRD's typed config entries: booleans, enumerations (their values) or free strings. */
const typedConfig = {
  authorizationUrl: "string",
  tokenUrl: "string",
  userInfoUrl: "string",
  jwksUrl: "string",
  issuer: "string",
  logoutUrl: "string",
  clientId: "string",
  clientAuthMethod: ["client_secret_post", "client_secret_basic", "client_secret_jwt", "private_key_jwt"],
  defaultScope: "string",
  validateSignature: "boolean",
  useJwksUrl: "boolean",
  pkceEnabled: "boolean",
  pkceMethod: ["S256", "plain"],
  backchannelSupported: "boolean",
  disableUserInfo: "boolean",
  prompt: ["none", "consent", "login", "select_account"],
  singleSignOnServiceUrl: "string",
  singleLogoutServiceUrl: "string",
  entityId: "string",
  idpEntityId: "string",
  nameIDPolicyFormat: [
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:WindowsDomainQualifiedName",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:entity",
  ],
  principalType: ["SUBJECT", "ATTRIBUTE", "FRIENDLY_ATTRIBUTE"],
  principalAttribute: "string",
  wantAssertionsSigned: "boolean",
  wantAssertionsEncrypted: "boolean",
  wantAuthnRequestsSigned: "boolean",
  signingCertificate: "string",
  signatureAlgorithm: [
    "RSA_SHA1",
    "RSA_SHA256",
    "RSA_SHA256_MGF1",
    "RSA_SHA512",
    "RSA_SHA512_MGF1",
    "DSA_SHA1",
  ],
  postBindingResponse: "boolean",
  postBindingAuthnRequest: "boolean",
  postBindingLogout: "boolean",
  forceAuthn: "boolean",
} as const satisfies Record<keyof TypedConfig, "string" | "boolean" | readonly string[]>;

const providerIds = [
  "oidc",
  "keycloak-oidc",
  "saml",
  "google",
  "github",
  "gitlab",
  "microsoft",
  "facebook",
  "linkedin-openid-connect",
  "bitbucket",
  "instagram",
  "openshift-v4",
  "paypal",
  "stackoverflow",
  "twitter",
] as const satisfies readonly IdentityProviderSpec["providerId"][];
type UnlistedProvider = Exclude<IdentityProviderSpec["providerId"], (typeof providerIds)[number]>;
export const everyProviderListed: [UnlistedProvider] extends [never] ? true : UnlistedProvider = true;

const mapperTypes = [
  "oidc-hardcoded-role-idp-mapper",
  "oidc-role-idp-mapper",
  "oidc-advanced-role-idp-mapper",
  "keycloak-oidc-role-to-role-idp-mapper",
  "saml-role-idp-mapper",
  "saml-advanced-role-idp-mapper",
  "oidc-hardcoded-group-idp-mapper",
  "oidc-advanced-group-idp-mapper",
  "saml-advanced-group-idp-mapper",
  "hardcoded-attribute-idp-mapper",
  "hardcoded-user-session-attribute-idp-mapper",
  "oidc-user-attribute-idp-mapper",
  "oidc-username-idp-mapper",
  "saml-user-attribute-idp-mapper",
  "saml-username-idp-mapper",
  "saml-xpath-attribute-idp-mapper",
  "oidc-user-session-note-idp-mapper",
  "facebook-user-attribute-mapper",
  "github-user-attribute-mapper",
  "google-user-attribute-mapper",
  "instagram-user-attribute-mapper",
  "linkedin-user-attribute-mapper",
  "microsoft-user-attribute-mapper",
  "openshift-v4-user-attribute-mapper",
  "paypal-user-attribute-mapper",
  "stackoverflow-user-attribute-mapper",
] as const satisfies readonly IdentityProviderMapperSpec["identityProviderMapper"][];
type UnlistedMapper = Exclude<
  IdentityProviderMapperSpec["identityProviderMapper"],
  (typeof mapperTypes)[number]
>;
export const everyMapperListed: [UnlistedMapper] extends [never] ? true : UnlistedMapper = true;

const syncModes = ["IMPORT", "LEGACY", "FORCE"];

/**
 * What Keycloak gives an identity provider the spec says nothing about (IdentityProviderRepresentation's
 * initial values; the first broker login flow is the realm's). The captured defaults have no identity
 * provider to read them from.
 */
const identityProviderDefaults: Record<string, unknown> = {
  enabled: true,
  trustEmail: false,
  storeToken: false,
  linkOnly: false,
  hideOnLogin: false,
  addReadTokenRoleOnCreate: false,
  authenticateByDefault: false,
  updateProfileFirstLoginMode: "on",
  firstBrokerLoginFlowAlias: "first broker login",
  postBrokerLoginFlowAlias: "",
  displayName: "",
};

const typedFields = [
  "displayName",
  "enabled",
  "trustEmail",
  "storeToken",
  "linkOnly",
  "hideOnLogin",
  "firstBrokerLoginFlowAlias",
  "postBrokerLoginFlowAlias",
] as const satisfies readonly (keyof IdentityProviderSpec)[];

/**
 * Identity provider fields Keycloak sets or that another spec field expresses (`types`: what the
 * provider's kind can do, e.g. USER_AUTHENTICATION, derived from providerId).
 */
const identityProviderServerFields = new Set([
  "alias",
  "providerId",
  "config",
  "internalId",
  "organizationId",
  "types",
]);
/** Config entries that are not settings: the organization link (spec.organizations[].identityProviders). */
const identityProviderServerConfig = new Set(["kc.org"]);

function identityProviderSpec(
  ctx: ExportContext,
  idp: Record<string, unknown>,
): IdentityProviderSpec | undefined {
  const alias = str(idp.alias) ?? "";
  const path = itemPath("$", "identityProviders", "alias", alias);
  const providerId = str(idp.providerId) ?? "";
  if (!(providerIds as readonly string[]).includes(providerId)) {
    ctx.report.notExpressed(path, `spec.identityProviders[].providerId has no "${providerId}"`);
    return undefined;
  }
  const spec: Record<string, unknown> = { alias, providerId };
  for (const [key, value] of Object.entries(idp)) {
    if (identityProviderServerFields.has(key) || value === undefined) continue;
    if (value === identityProviderDefaults[key]) continue;
    if ((typedFields as readonly string[]).includes(key)) spec[key] = value;
    else ctx.report.notExpressed(childPath(path, key), "spec.identityProviders[] has no field for it");
  }
  const config: Record<string, unknown> = {};
  const extraConfig: Record<string, string> = {};
  for (const [key, raw] of Object.entries(recordOf(idp.config))) {
    const at = childPath(childPath(path, "config"), key);
    if (identityProviderServerConfig.has(key)) continue;
    const value = String(raw);
    if (key === "clientSecret") {
      const clientSecretRef = { name: secretName(ctx, "idp", alias), key: "client-secret" };
      const references = identityProviderSecretReference({
        alias,
        providerId: providerId as IdentityProviderSpec["providerId"],
        clientSecretRef,
      });
      spec.clientSecretRef = exportedSecret(ctx, references, value);
      continue;
    }
    if (key === "syncMode") {
      if (syncModes.includes(value)) spec.syncMode = value;
      else ctx.report.notExpressed(at, "spec.identityProviders[].syncMode is IMPORT, LEGACY or FORCE");
      continue;
    }
    const kind = (typedConfig as Record<string, "string" | "boolean" | readonly string[]>)[key];
    if (kind === undefined) extraConfig[key] = value;
    else if (kind === "string") config[key] = value;
    else if (kind === "boolean" && (value === "true" || value === "false")) config[key] = value === "true";
    else if (Array.isArray(kind) && kind.includes(value)) config[key] = value;
    else ctx.report.notExpressed(at, `spec.identityProviders[].config.${key} cannot hold "${value}"`);
  }
  if (Object.keys(config).length > 0) spec.config = config;
  if (Object.keys(extraConfig).length > 0) spec.extraConfig = extraConfig;
  return spec as unknown as IdentityProviderSpec;
}

function identityProviderMapperSpec(
  ctx: ExportContext,
  mapper: Record<string, unknown>,
): IdentityProviderMapperSpec | undefined {
  const name = str(mapper.name) ?? "";
  const alias = str(mapper.identityProviderAlias) ?? "";
  const type = str(mapper.identityProviderMapper) ?? "";
  const path = `$.identityProviderMappers[?(@.identityProviderAlias=='${alias}' && @.name=='${name}')]`;
  if (!(mapperTypes as readonly string[]).includes(type)) {
    ctx.report.notExpressed(path, `spec.identityProviderMappers[].identityProviderMapper has no "${type}"`);
    return undefined;
  }
  const { syncMode, ...rest } = Object.fromEntries(
    Object.entries(recordOf(mapper.config)).map(([k, v]) => [k, String(v)]),
  );
  return {
    identityProviderAlias: alias,
    name,
    identityProviderMapper: type as IdentityProviderMapperSpec["identityProviderMapper"],
    ...(syncMode !== undefined ? { syncMode: syncMode as IdentityProviderMapperSpec["syncMode"] } : {}),
    ...(Object.keys(rest).length > 0 ? { config: rest } : {}),
  };
}

/** Organization fields the server keeps: its id, and its members (users, not configuration of it). */
const organizationServerFields = new Set(["id"]);

function organizationSpec(ctx: ExportContext, org: Record<string, unknown>): OrganizationSpec {
  const name = str(org.name) ?? "";
  const path = itemPath("$", "organizations", "name", name);
  const spec: Record<string, unknown> = { name };
  for (const [key, value] of Object.entries(org)) {
    const at = childPath(path, key);
    if (key === "name" || organizationServerFields.has(key) || value === undefined) continue;
    if (key === "alias") {
      // Keycloak names an organization's alias after it when none is given.
      if (value !== name) spec.alias = value;
    } else if (key === "enabled") {
      if (value !== true) spec.enabled = value;
    } else if (key === "description" || key === "redirectUrl") {
      if (value !== "") spec[key] = value;
    } else if (key === "domains") {
      const domains = records(value).map((d) => ({
        name: str(d.name) ?? "",
        ...(d.verified === true ? { verified: true } : {}),
      }));
      if (domains.length > 0) spec.domains = domains;
    } else if (key === "attributes") {
      const attributes = Object.fromEntries(
        Object.entries(withoutOperatorAttributes(recordOf(value))).map(([k, v]) => [k, strings(v)]),
      );
      if (Object.keys(attributes).length > 0) spec.attributes = attributes;
    } else if (key === "identityProviders") {
      const aliases = records(value)
        .map((idp) => str(idp.alias))
        .filter((a): a is string => a !== undefined);
      if (aliases.length > 0) spec.identityProviders = aliases;
    } else if (key === "members") {
      if (records(value).length > 0)
        ctx.report.notExpressed(
          at,
          "an organization's members are users; the operator does not manage membership",
        );
    } else ctx.report.notExpressed(at, "spec.organizations[] has no field for it");
  }
  return spec as unknown as OrganizationSpec;
}

export function providersSpec(ctx: ExportContext, body: Record<string, unknown>): void {
  const providers = records(ctx.rep.identityProviders)
    .map((idp) => identityProviderSpec(ctx, idp))
    .filter((p) => p !== undefined);
  if (providers.length > 0) body.identityProviders = providers;
  const mappers = records(ctx.rep.identityProviderMappers)
    .map((m) => identityProviderMapperSpec(ctx, m))
    .filter((m) => m !== undefined);
  if (mappers.length > 0) body.identityProviderMappers = mappers;
  const organizations = records(ctx.rep.organizations).map((o) => organizationSpec(ctx, o));
  if (organizations.length > 0) body.organizations = organizations;
  componentsSpec(ctx, body);
}
