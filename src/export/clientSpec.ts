// A Keycloak client (one entry of a realm export's `clients`, or the live representation) → the
// KeycloakClient spec that reproduces it: the inverse of desiredClient
// (src/resources/clientRepresentation.ts) with its SAML, authorization, protocol mapper, role,
// service-account and client-scope parts. Pure: no I/O, no logging.
//
// What a new client gets anyway is left out: Keycloak's values for a client created with only its
// clientId (keycloakDefaults, by protocol), the realm's default client scopes, the realm's default
// role and groups of the service account, the uma_protection role of a resource server. Where the
// CRD's own default differs from Keycloak's the spec says what is needed. Every other value
// reaches the spec or the report, with its path: a field the CRD has no place for (coverage.ts
// says why where it can), a value the CRD refuses, and the client secret, which Keycloak generates
// and no spec field sets (the operator delivers it in the client's credentials Secret; a
// KeycloakClient that adopts the client keeps it, a new client gets a new one).
import type { KeycloakClientSpec, ProtocolMapper } from "../api/index.js";
import { isBuiltinClient } from "../keycloak/clientSync.js";
import { serviceAccountUserPrefix } from "../keycloak/userSync.js";
import { clientAttributeKeys, multiValueSeparator } from "../resources/clientRepresentation.js";
import { clientCoverage } from "../resources/coverage.js";
import { authorizationSpecFromSettings } from "./authorizationSpec.js";
import {
  forRealm,
  keycloakDefaults,
  normalizeDefaults,
  type KeycloakDefaults,
  type Representation,
} from "./defaults.js";
import { isOperatorAttribute, sameMembers } from "./exportContext.js";
import { reportOwnerMarker } from "./operatorMarkers.js";
import { childPath, itemPath, type ExportReport } from "./report.js";
import { isSamlAttribute, samlSpecFromAttributes } from "./samlSpec.js";

export type ClientSpecBody = Omit<KeycloakClientSpec, "realmRef" | "adopt">;

export interface ClientExportOptions {
  defaults?: KeycloakDefaults;
  /**
   * Prefix of the Secrets the spec references. No KeycloakClient field takes a secret as input
   * (the client secret is the operator's output), so nothing uses it yet; kept so that every
   * converter takes the same options.
   */
  secretPrefix?: string;
  /**
   * The service account's direct role mappings, when the caller read them (a live realm); else
   * they come from the service-account user in `realm.users` (a full export).
   */
  serviceAccountRoles?: { realm: string[]; client: Record<string, string[]> };
}

/** Keycloak's role of a resource server's own service account, created with the resource server. */
const umaProtectionRole = "uma_protection";

/** What every converter step needs: the client, its realm, where to report. */
interface Context {
  client: Representation;
  realm: Representation;
  realmName: string;
  clientId: string;
  saml: boolean;
  /** A new client of this protocol, as Keycloak 26.5 makes it, for this realm. */
  fresh: Representation;
  path: string;
  report: ExportReport;
  /** Top-level fields dealt with; the rest are reported from the coverage table. */
  done: Set<string>;
}

export function clientSpecFromRepresentation(
  client: Representation,
  realm: Representation,
  report: ExportReport,
  options: ClientExportOptions = {},
): ClientSpecBody | undefined {
  const defaults = options.defaults ?? keycloakDefaults;
  const clientId = String(client.clientId);
  const realmName = text(realm.realm);
  const path = itemPath("$", "clients", "clientId", clientId);
  if (isBuiltinClient(clientId, realmName)) {
    reportChangedBuiltin(client, realmName, defaults, path, report);
    return undefined;
  }
  const saml = client.protocol === "saml";
  const ctx: Context = {
    client,
    realm,
    realmName,
    clientId,
    saml,
    fresh: forRealm(saml ? defaults.samlClient : defaults.oidcClient, realmName),
    path,
    report,
    done: new Set(["clientId", "protocol"]),
  };
  const spec: ClientSpecBody = { clientId, ...(saml ? { protocol: "saml" as const } : {}) };
  Object.assign(spec, settingsSpec(ctx));
  Object.assign(spec, attributesSpec(ctx, spec));
  Object.assign(spec, flowOverridesSpec(ctx));
  Object.assign(spec, scopesSpec(ctx, spec));
  Object.assign(spec, protocolMappersSpec(ctx));
  Object.assign(spec, rolesSpec(ctx));
  Object.assign(spec, authorizationSpec(ctx));
  Object.assign(spec, serviceAccountSpec(ctx, options));
  secretOf(ctx);
  reportTheRest(ctx);
  return spec;
}

/** A string field's value; anything else reads as empty. */
const text = (v: unknown): string => (typeof v === "string" ? v : "");

const isEmpty = (v: unknown) =>
  v === undefined ||
  v === null ||
  v === "" ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

/** JSON with sorted keys and sorted lists: equal for representations that say the same. */
function canonical(value: unknown): string {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v))
      return v
        .map(walk)
        .map((x) => JSON.stringify(x))
        .sort();
    if (typeof v !== "object" || v === null) return v;
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, walk((v as Record<string, unknown>)[k])]),
    );
  };
  return JSON.stringify(walk(value));
}

/** Keycloak's own clients are never managed by a KeycloakClient: what differs from a new realm's is reported. */
function reportChangedBuiltin(
  client: Representation,
  realmName: string,
  defaults: KeycloakDefaults,
  path: string,
  report: ExportReport,
): void {
  const clients = (defaults.realm.clients ?? []) as Representation[];
  const fresh = clients.find((c) => c.clientId === client.clientId);
  if (fresh === undefined) return; // `<realm>-realm` of the master realm: one per realm, nothing to compare.
  const actual = normalizeDefaults(client, realmName);
  for (const key of new Set([...Object.keys(actual), ...Object.keys(fresh)])) {
    const status = clientCoverage[key]?.status;
    if (status === "server-set" || key === "attributes") continue;
    if (canonical(actual[key] ?? null) !== canonical(fresh[key] ?? null))
      report.notExpressed(
        childPath(path, key),
        "changed on one of Keycloak's own clients, which a KeycloakClient never creates, adopts or changes",
      );
  }
  const attributes = (actual.attributes ?? {}) as Record<string, unknown>;
  const freshAttributes = (fresh.attributes ?? {}) as Record<string, unknown>;
  for (const key of new Set([...Object.keys(attributes), ...Object.keys(freshAttributes)]))
    if (key !== "client.secret.creation.time" && attributes[key] !== freshAttributes[key])
      report.notExpressed(
        childPath(childPath(path, "attributes"), key),
        "changed on one of Keycloak's own clients, which a KeycloakClient never creates, adopts or changes",
      );
}

/**
 * The web origins Keycloak gives a client created without any: the origin of each http(s) redirect
 * URI.
 */
function originsOf(redirectUris: unknown): string[] {
  const origins = new Set<string>();
  for (const uri of Array.isArray(redirectUris) ? redirectUris.map(String) : []) {
    if (!uri.startsWith("http")) continue;
    try {
      origins.add(new URL(uri).origin);
    } catch {
      // Not a URL Node parses (a wildcard host): no origin to compare.
    }
  }
  return [...origins];
}

/** Settings Keycloak has no OIDC use for on a SAML client, and the CRD refuses there. */
const oidcOnly = new Set([
  "publicClient",
  "bearerOnly",
  "standardFlowEnabled",
  "implicitFlowEnabled",
  "directAccessGrantsEnabled",
  "serviceAccountsEnabled",
  "webOrigins",
  "clientAuthenticatorType",
]);

const booleanSettings = [
  "enabled",
  "publicClient",
  "bearerOnly",
  "standardFlowEnabled",
  "implicitFlowEnabled",
  "directAccessGrantsEnabled",
  "serviceAccountsEnabled",
  "consentRequired",
  "fullScopeAllowed",
  "frontchannelLogout",
  "alwaysDisplayInConsole",
  "surrogateAuthRequired",
] as const;

/** Keycloak reads an empty one as unset. */
const stringSettings = ["name", "description", "rootUrl", "baseUrl", "adminUrl"] as const;

const authenticatorTypes = ["client-secret", "client-jwt", "client-secret-jwt", "client-x509"];

function settingsSpec(ctx: Context): Partial<ClientSpecBody> {
  const { client, fresh, path, report } = ctx;
  const spec: Record<string, unknown> = {};
  const refuse = (key: string, reason: string) => report.notExpressed(childPath(path, key), reason);
  const samlRefuses = (key: string) =>
    refuse(key, "an OIDC setting; the CRD gives a SAML client (spec.protocol: saml) no OIDC settings");
  for (const key of booleanSettings) {
    ctx.done.add(key);
    const value = client[key];
    if (value === undefined || value === fresh[key]) continue;
    if (typeof value !== "boolean") refuse(key, "not a boolean");
    else if (ctx.saml && oidcOnly.has(key)) samlRefuses(key);
    else spec[key] = value;
  }
  for (const key of stringSettings) {
    ctx.done.add(key);
    const value = client[key];
    if (typeof value === "string" && value !== "" && value !== fresh[key]) spec[key] = value;
  }
  for (const key of ["redirectUris", "webOrigins"] as const) {
    ctx.done.add(key);
    const value = client[key];
    if (!Array.isArray(value) || value.length === 0) continue;
    // On a SAML client, where the CRD has no web origins, the ones Keycloak derived are no setting.
    const derived = key === "webOrigins" && sameMembers(value.map(String), originsOf(client.redirectUris));
    if (ctx.saml && derived) continue;
    if (ctx.saml && oidcOnly.has(key)) samlRefuses(key);
    else spec[key] = value.map(String);
  }
  ctx.done.add("nodeReRegistrationTimeout");
  const timeout = client.nodeReRegistrationTimeout;
  if (timeout !== undefined && timeout !== fresh.nodeReRegistrationTimeout) {
    if (Number.isInteger(timeout) && (timeout as number) >= -1) spec.nodeReRegistrationTimeout = timeout;
    else refuse("nodeReRegistrationTimeout", "not a number of seconds (or -1) the CRD accepts");
  }
  ctx.done.add("clientAuthenticatorType");
  const authenticator = client.clientAuthenticatorType;
  if (authenticator !== undefined && authenticator !== fresh.clientAuthenticatorType) {
    if (ctx.saml) samlRefuses("clientAuthenticatorType");
    else if (!authenticatorTypes.includes(text(authenticator)))
      refuse("clientAuthenticatorType", `"${text(authenticator)}" is not an authenticator the CRD accepts`);
    else if (client.publicClient === true)
      refuse("clientAuthenticatorType", "the CRD sets an authenticator only on a confidential client");
    else spec.clientAuthenticatorType = authenticator;
  }
  return spec;
}

/** The typed client attributes (src/resources/clientRepresentation.ts clientAttributeKeys), by key. */
const typedAttributes = new Set<string>(Object.values(clientAttributeKeys));

/** Attributes Keycloak writes itself, never a setting. */
const serverSetAttributes = new Set(["client.secret.creation.time", "realm_client"]);

/** Attributes holding secrets: never copied, reported without their value. */
const secretAttributes: Record<string, string> = {
  "client.secret.rotated":
    "the previous client secret, kept by Keycloak while a secret rotation policy allows it; a secret is never put in a spec",
  "client.secret.rotated.creation.time":
    "when the previous client secret was rotated; Keycloak keeps it with that secret",
  "client.secret.rotated.expiration.time":
    "when the previous client secret stops working; Keycloak keeps it with that secret",
  "client.secret.expiration.time":
    "set by a realm's client secret rotation policy; the CRD does not manage client policies",
};

function attributesSpec(ctx: Context, settings: Partial<ClientSpecBody>): Partial<ClientSpecBody> {
  ctx.done.add("attributes");
  const attributes = Object.fromEntries(
    Object.entries((ctx.client.attributes ?? {}) as Record<string, unknown>).map(([k, v]) => [
      k,
      Array.isArray(v) ? String(v[0] ?? "") : String(v),
    ]),
  );
  const path = childPath(ctx.path, "attributes");
  const freshAttributes = (ctx.fresh.attributes ?? {}) as Record<string, unknown>;
  const spec: Partial<ClientSpecBody> = {};
  const at = (key: string) => childPath(path, key);
  reportOwnerMarker(attributes, path, "KeycloakClient", ctx.report);

  let consumed = new Set<string>();
  if (ctx.saml) {
    const result = samlSpecFromAttributes(attributes, freshAttributes, ctx.clientId, path, ctx.report);
    consumed = result.consumed;
    if (result.saml) spec.saml = result.saml;
  }
  Object.assign(spec, typedAttributeSpec(ctx, attributes, settings, path));

  const free: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (consumed.has(key) || typedAttributes.has(key) || isOperatorAttribute(key)) continue;
    if (serverSetAttributes.has(key)) continue;
    const secretReason = secretAttributes[key];
    if (secretReason !== undefined) ctx.report.notExpressed(at(key), secretReason);
    else if (value === freshAttributes[key]) continue;
    // Older admin consoles wrote every SAML switch, off, on OIDC clients too: Keycloak reads none
    // of them there, and off says what absent says.
    else if (isSamlAttribute(key) && value === "false") continue;
    else if (isSamlAttribute(key))
      ctx.report.notExpressed(
        at(key),
        "a SAML attribute on an OIDC client; spec.attributes refuses saml* keys",
      );
    else free[key] = value;
  }
  if (Object.keys(free).length > 0) spec.attributes = free;
  return spec;
}

const booleanOf = (v: string) => (v === "true" ? true : v === "false" ? false : undefined);
const secondsOf = (v: string) =>
  /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 2147483647 ? Number(v) : undefined;
const urlOf = (v: string) => (/^https?:\/\//.test(v) ? v : undefined);

/** The attributes that typed spec fields own, read back into those fields. */
function typedAttributeSpec(
  ctx: Context,
  attributes: Record<string, string>,
  settings: Partial<ClientSpecBody>,
  path: string,
): Partial<ClientSpecBody> {
  const k = clientAttributeKeys;
  const spec: Record<string, unknown> = {};
  const tokens: Record<string, number> = {};
  const backchannel: Record<string, string | boolean> = {};
  const authenticator = settings.clientAuthenticatorType ?? ctx.fresh.clientAuthenticatorType;
  const report = (key: string, reason: string) => ctx.report.notExpressed(childPath(path, key), reason);
  const put = <T>(key: string, parse: (v: string) => T | undefined, set: (v: T) => void, what: string) => {
    const value = attributes[key];
    // Keycloak reads an empty attribute as unset.
    if (value === undefined || value === "") return;
    if (ctx.saml) {
      report(key, "an OIDC setting; the CRD gives a SAML client (spec.protocol: saml) no OIDC settings");
      return;
    }
    const parsed = parse(value);
    if (parsed === undefined) report(key, `"${value}" is not ${what}`);
    else set(parsed);
  };
  put(
    k.pkceMethod,
    (v) => (v === "S256" || v === "plain" ? v : undefined),
    (v) => (spec.pkceMethod = v),
    "a PKCE method the CRD accepts (S256, plain)",
  );
  put(
    k.postLogoutRedirectUris,
    (v) => v.split(multiValueSeparator),
    (v) => (spec.postLogoutRedirectUris = v),
    "a URI list",
  );
  const lifespans = [
    [k.accessTokenLifespan, "accessTokenLifespanSeconds"],
    [k.clientSessionIdleTimeout, "clientSessionIdleTimeoutSeconds"],
    [k.clientSessionMaxLifespan, "clientSessionMaxLifespanSeconds"],
    [k.clientOfflineSessionIdleTimeout, "clientOfflineSessionIdleTimeoutSeconds"],
    [k.clientOfflineSessionMaxLifespan, "clientOfflineSessionMaxLifespanSeconds"],
  ] as const;
  for (const [key, field] of lifespans)
    put(key, secondsOf, (v) => (tokens[field] = v), "a number of seconds the CRD accepts (1 or more)");
  put(k.frontchannelLogoutUrl, urlOf, (v) => (spec.frontchannelLogoutUrl = v), "an http(s) URL");
  put(k.backchannelLogoutUrl, urlOf, (v) => (backchannel.url = v), "an http(s) URL");
  put(k.backchannelLogoutSessionRequired, booleanOf, (v) => (backchannel.sessionRequired = v), "a boolean");
  put(
    k.backchannelLogoutRevokeOfflineTokens,
    booleanOf,
    (v) => (backchannel.revokeOfflineTokens = v),
    "a boolean",
  );

  // The CRD accepts the JWT and X.509 settings only with their authenticator.
  const jwt = authenticator === "client-jwt";
  const jwtOnly = "the CRD accepts it only on a client-jwt client (clientAuthenticatorType)";
  if (!jwt && attributes[k.useJwksUrl] === "false") {
    // What Keycloak reads when the attribute is absent.
  } else if (!jwt && attributes[k.useJwksUrl]) report(k.useJwksUrl, jwtOnly);
  else put(k.useJwksUrl, booleanOf, (v) => (spec.useJwksUrl = v), "a boolean");
  if (!jwt && attributes[k.jwksUrl]) report(k.jwksUrl, jwtOnly);
  else put(k.jwksUrl, urlOf, (v) => (spec.jwksUrl = v), "an http(s) URL");
  if (authenticator !== "client-x509" && attributes[k.x509SubjectDn])
    report(k.x509SubjectDn, "the CRD accepts it only on a client-x509 client (clientAuthenticatorType)");
  else
    put(
      k.x509SubjectDn,
      (v) => v,
      (v) => (spec.x509SubjectDn = v),
      "a subject DN",
    );

  if (Object.keys(tokens).length > 0) spec.tokens = tokens;
  if (Object.keys(backchannel).length > 0) spec.backchannelLogout = backchannel;
  return spec;
}

/** Keycloak's keys of the flow overrides → the spec's. */
const overrideFields: Record<string, "browser" | "directGrant"> = {
  browser: "browser",
  direct_grant: "directGrant",
};

/** Keycloak stores a flow override as the flow's id; the spec names the flow by alias. */
function flowOverridesSpec(ctx: Context): Partial<ClientSpecBody> {
  ctx.done.add("authenticationFlowBindingOverrides");
  const overrides = (ctx.client.authenticationFlowBindingOverrides ?? {}) as Record<string, unknown>;
  const path = childPath(ctx.path, "authenticationFlowBindingOverrides");
  const flows = (ctx.realm.authenticationFlows ?? []) as Representation[];
  const spec: Record<string, string> = {};
  for (const [key, value] of Object.entries(overrides)) {
    if (typeof value !== "string" || value === "") continue;
    const field = overrideFields[key];
    if (field === undefined) {
      ctx.report.notExpressed(
        childPath(path, key),
        "spec.authenticationFlowBindingOverrides has browser and directGrant only",
      );
      continue;
    }
    const flow = flows.find((f) => f.id === value) ?? flows.find((f) => f.alias === value);
    if (flow?.alias === undefined)
      ctx.report.notExpressed(
        childPath(path, key),
        `names flow "${value}", which is not among the realm's authenticationFlows`,
      );
    else spec[field] = text(flow.alias);
  }
  return Object.keys(spec).length > 0 ? { authenticationFlowBindingOverrides: spec } : {};
}

/**
 * The scopes a new client of this protocol gets: the realm's default (or optional) client scopes
 * of that protocol, and service_account for a client with a service account (Keycloak 25+ links
 * it when the service account is switched on).
 */
function freshScopes(
  ctx: Context,
  kind: "default" | "optional",
  settings: Partial<ClientSpecBody>,
): string[] {
  const realmList =
    ctx.realm[kind === "default" ? "defaultDefaultClientScopes" : "defaultOptionalClientScopes"];
  const scopes = (ctx.realm.clientScopes ?? []) as Representation[];
  const protocol = ctx.saml ? "saml" : "openid-connect";
  const base = Array.isArray(realmList)
    ? realmList
        .map(String)
        .filter((name) => (scopes.find((s) => s.name === name)?.protocol ?? "openid-connect") === protocol)
    : ((ctx.fresh[`${kind}ClientScopes`] ?? []) as string[]);
  const serviceAccount =
    kind === "default" &&
    settings.serviceAccountsEnabled === true &&
    scopes.some((s) => s.name === "service_account");
  return serviceAccount ? [...base, "service_account"] : base;
}

function scopesSpec(ctx: Context, settings: Partial<ClientSpecBody>): Partial<ClientSpecBody> {
  const spec: Partial<ClientSpecBody> = {};
  for (const kind of ["default", "optional"] as const) {
    const key = `${kind}ClientScopes` as const;
    ctx.done.add(key);
    const value = ctx.client[key];
    if (!Array.isArray(value)) continue;
    const have = value.map(String);
    const fresh = freshScopes(ctx, kind, settings);
    const same = have.length === fresh.length && fresh.every((s) => have.includes(s));
    // The list is exact when present: written whole whenever it differs from a new client's.
    if (!same) spec[key] = have;
  }
  return spec;
}

function protocolMappersSpec(ctx: Context): Partial<ClientSpecBody> {
  ctx.done.add("protocolMappers");
  const mappers = (ctx.client.protocolMappers ?? []) as Representation[];
  const protocol = ctx.saml ? "saml" : "openid-connect";
  const spec: ProtocolMapper[] = [];
  for (const mapper of mappers) {
    const at = itemPath(ctx.path, "protocolMappers", "name", String(mapper.name));
    const mapperProtocol = text(mapper.protocol) || protocol;
    if (mapperProtocol !== protocol) {
      ctx.report.notExpressed(
        at,
        `a ${mapperProtocol} mapper on a ${protocol} client; the CRD requires the client's protocol`,
      );
      continue;
    }
    const config = Object.fromEntries(
      Object.entries((mapper.config ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
    );
    spec.push({
      name: String(mapper.name),
      // openid-connect is the CRD's default; a SAML mapper says saml, as the CRD requires.
      ...(mapperProtocol === "saml" ? { protocol: "saml" as const } : {}),
      protocolMapper: String(mapper.protocolMapper),
      ...(Object.keys(config).length > 0 ? { config } : {}),
    });
    for (const [key, value] of Object.entries(mapper))
      if (
        !["id", "name", "protocol", "protocolMapper", "config"].includes(key) &&
        value !== false &&
        !isEmpty(value)
      )
        ctx.report.notExpressed(childPath(at, key), "spec.protocolMappers has no field for it");
  }
  return spec.length > 0 ? { protocolMappers: spec } : {};
}

/** The client's roles, from `realm.roles.client[clientId]` (where a realm export keeps them). */
function rolesSpec(ctx: Context): Partial<ClientSpecBody> {
  const roles = (((ctx.realm.roles ?? {}) as Representation).client ?? {}) as Record<
    string,
    Representation[]
  >;
  const path = childPath(childPath("$", "roles"), "client");
  const authz = ctx.client.authorizationServicesEnabled === true;
  const spec: NonNullable<ClientSpecBody["roles"]> = [];
  for (const role of roles[ctx.clientId] ?? []) {
    const name = String(role.name);
    if (authz && name === umaProtectionRole) continue; // Made by Keycloak with the resource server.
    const at = itemPath(path, ctx.clientId, "name", name);
    const composites = (role.composites ?? {}) as { realm?: unknown; client?: unknown };
    const realmComposites = Array.isArray(composites.realm) ? composites.realm.map(String) : [];
    const clientComposites = Object.fromEntries(
      Object.entries((composites.client ?? {}) as Record<string, unknown>)
        .filter(([, v]) => Array.isArray(v) && v.length > 0)
        .map(([k, v]) => [k, (v as unknown[]).map(String)]),
    );
    spec.push({
      name,
      ...(typeof role.description === "string" && role.description !== ""
        ? { description: role.description }
        : {}),
      ...(role.composite === true && (realmComposites.length > 0 || Object.keys(clientComposites).length > 0)
        ? {
            composites: {
              ...(realmComposites.length > 0 ? { realm: realmComposites } : {}),
              ...(Object.keys(clientComposites).length > 0 ? { client: clientComposites } : {}),
            },
          }
        : {}),
    });
    for (const [key, value] of Object.entries((role.attributes ?? {}) as Record<string, unknown>))
      if (!isOperatorAttribute(key) && !isEmpty(value))
        ctx.report.notExpressed(
          childPath(childPath(at, "attributes"), key),
          "spec.roles has no role attributes",
        );
  }
  return spec.length > 0 ? { roles: spec } : {};
}

function authorizationSpec(ctx: Context): Partial<ClientSpecBody> {
  ctx.done.add("authorizationServicesEnabled").add("authorizationSettings");
  if (ctx.client.authorizationServicesEnabled !== true) return {};
  const settings = ctx.client.authorizationSettings;
  const path = childPath(ctx.path, "authorizationSettings");
  if (typeof settings !== "object" || settings === null) {
    ctx.report.notExpressed(
      path,
      "authorization services are on but the input has no resource-server settings (read them with GET …/authz/resource-server/settings); spec.authorization lists none, so applying it leaves an empty resource server",
    );
    return { authorization: {} };
  }
  return {
    authorization: authorizationSpecFromSettings(settings as Representation, ctx.clientId, path, ctx.report),
  };
}

/** The service-account user a full export lists for the client. */
function serviceAccountUser(ctx: Context): Representation | undefined {
  const users = (ctx.realm.users ?? []) as Representation[];
  return (
    users.find((u) => u.serviceAccountClientId === ctx.clientId) ??
    users.find((u) => u.username === `${serviceAccountUserPrefix}${ctx.clientId}`.toLowerCase())
  );
}

/**
 * Roles and groups of the service account, without what Keycloak gives every new user (the realm's
 * default role and default groups) and a resource server's uma_protection: the spec's lists add to
 * what the account has, they never take away.
 */
function serviceAccountSpec(ctx: Context, options: ClientExportOptions): Partial<ClientSpecBody> {
  if (ctx.client.serviceAccountsEnabled !== true || ctx.saml) return {};
  const user = serviceAccountUser(ctx);
  const path = user ? itemPath("$", "users", "username", String(user.username)) : ctx.path;
  const roles = options.serviceAccountRoles ?? {
    realm: Array.isArray(user?.realmRoles) ? user.realmRoles.map(String) : [],
    client: Object.fromEntries(
      Object.entries((user?.clientRoles ?? {}) as Record<string, unknown>).map(([k, v]) => [
        k,
        Array.isArray(v) ? v.map(String) : [],
      ]),
    ),
  };
  const defaultRole = defaultRoleName(ctx.realm, ctx.realmName);
  const authz = ctx.client.authorizationServicesEnabled === true;
  const sawRoles = options.serviceAccountRoles !== undefined || Array.isArray(user?.realmRoles);
  if (sawRoles && !roles.realm.includes(defaultRole))
    ctx.report.notExpressed(
      childPath(path, "realmRoles"),
      `the service account lacks the realm's default role ${defaultRole}; a new one gets it, and spec.serviceAccount only grants`,
    );
  const realmRoles = roles.realm.filter((r) => r !== defaultRole);
  const clientRoles = Object.fromEntries(
    Object.entries(roles.client)
      .map(
        ([id, names]) =>
          [id, names.filter((n) => !(authz && id === ctx.clientId && n === umaProtectionRole))] as const,
      )
      .filter(([, names]) => names.length > 0),
  );
  const defaultGroups = Array.isArray(ctx.realm.defaultGroups) ? ctx.realm.defaultGroups.map(String) : [];
  const groups = Array.isArray(user?.groups) ? user.groups.map(String) : [];
  if (user && Array.isArray(user.groups))
    for (const group of defaultGroups.filter((g) => !groups.includes(g)))
      ctx.report.notExpressed(
        childPath(path, "groups"),
        `the service account is not in the realm's default group ${group}; a new one is, and spec.serviceAccount only adds memberships`,
      );
  const extraGroups = groups.filter((g) => !defaultGroups.includes(g));
  const account = {
    ...(extraGroups.length > 0 ? { groups: extraGroups } : {}),
    ...(realmRoles.length > 0 ? { realmRoles } : {}),
    ...(Object.keys(clientRoles).length > 0 ? { clientRoles } : {}),
  };
  return Object.keys(account).length > 0 ? { serviceAccount: account } : {};
}

export function defaultRoleName(realm: Representation, realmName: string): string {
  const role = realm.defaultRole as { name?: unknown } | undefined;
  return typeof role?.name === "string" ? role.name : `default-roles-${realmName.toLowerCase()}`;
}

/**
 * The client secret is Keycloak's: no spec field sets it. The operator reads it into the
 * credentials Secret it writes (and owns: a Secret made beforehand is refused), so an export
 * never writes that Secret; adopting the client keeps the secret, creating it makes a new one.
 */
function secretOf(ctx: Context): void {
  ctx.done.add("secret");
  const secret = ctx.client.secret;
  const confidential = !ctx.saml && ctx.client.publicClient !== true && ctx.client.bearerOnly !== true;
  if (!confidential || typeof secret !== "string" || secret === "") return;
  ctx.report.notExpressed(
    childPath(ctx.path, "secret"),
    "Keycloak generates the client secret and no spec field sets it: a KeycloakClient that adopts this client (spec.adopt: true) keeps it and writes it to its credentials Secret (spec.secret.name, <resource name>-credentials by default); a newly created client gets a new secret",
  );
}

/** Everything else the representation has, by the coverage table's verdict. */
function reportTheRest(ctx: Context): void {
  for (const [key, value] of Object.entries(ctx.client)) {
    if (ctx.done.has(key)) continue;
    const entry = clientCoverage[key];
    if (entry?.status === "server-set") continue;
    if (isEmpty(value) || canonical(value) === canonical(ctx.fresh[key])) continue;
    if (key === "notBefore" && value === 0) continue;
    ctx.report.notExpressed(
      childPath(ctx.path, key),
      entry?.reason ?? "the KeycloakClient CRD has no field for it",
    );
  }
}
