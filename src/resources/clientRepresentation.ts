// KeycloakClient spec → the client Keycloak should have (the DesiredClient the sync in src/keycloak
// consumes), OIDC or SAML (spec.saml: samlClientRepresentation.ts). Pure: no I/O, no logging. Only
// what the spec sets appears in the result; a field the spec leaves out is absent, so the sync
// leaves Keycloak's value alone. Settings Keycloak keeps as client attributes (PKCE, post-logout
// URIs, token lifespans, SAML settings) become string attributes.
import type ClientRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js";
import type ProtocolMapperRepresentation from "@keycloak/keycloak-admin-client/lib/defs/protocolMapperRepresentation.js";
import type { KeycloakClientSpec, ProtocolMapper, ServiceAccountRoles } from "../api/index.js";
import type { DesiredClient, RoleSet } from "../keycloak/clientSync.js";
import { clientFlowOverrides } from "./authenticationFlowRepresentation.js";
import { desiredAuthorization } from "./authorizationRepresentation.js";
import { definedOnly, roleRepresentation } from "./realmRepresentation.js";
import { samlAttributes } from "./samlClientRepresentation.js";

/** Client attributes Keycloak uses for settings that have no field of their own. */
export const clientAttributeKeys = {
  pkceMethod: "pkce.code.challenge.method",
  postLogoutRedirectUris: "post.logout.redirect.uris",
  accessTokenLifespan: "access.token.lifespan",
  clientSessionIdleTimeout: "client.session.idle.timeout",
  clientSessionMaxLifespan: "client.session.max.lifespan",
  clientOfflineSessionIdleTimeout: "client.offline.session.idle.timeout",
  clientOfflineSessionMaxLifespan: "client.offline.session.max.lifespan",
  jwksUrl: "jwks.url",
  useJwksUrl: "use.jwks.url",
  x509SubjectDn: "x509.subjectdn",
  frontchannelLogoutUrl: "frontchannel.logout.url",
  backchannelLogoutUrl: "backchannel.logout.url",
  backchannelLogoutSessionRequired: "backchannel.logout.session.required",
  backchannelLogoutRevokeOfflineTokens: "backchannel.logout.revoke.offline.tokens",
} as const;

/** Keycloak joins a multi-valued client attribute such as post.logout.redirect.uris with "##". */
export const multiValueSeparator = "##";

function clientAttributes(spec: KeycloakClientSpec): Record<string, string> | undefined {
  const tokens = spec.tokens ?? {};
  const backchannel = spec.backchannelLogout ?? {};
  const str = (v: number | boolean | undefined) => (v === undefined ? undefined : String(v));
  // Free-form attributes first: the CRD refuses keys a typed field owns, and typed fields win anyway.
  const attributes = definedOnly<Record<string, string | undefined>>({
    ...spec.attributes,
    [clientAttributeKeys.pkceMethod]: spec.pkceMethod,
    [clientAttributeKeys.postLogoutRedirectUris]: spec.postLogoutRedirectUris?.join(multiValueSeparator),
    [clientAttributeKeys.accessTokenLifespan]: str(tokens.accessTokenLifespanSeconds),
    [clientAttributeKeys.clientSessionIdleTimeout]: str(tokens.clientSessionIdleTimeoutSeconds),
    [clientAttributeKeys.clientSessionMaxLifespan]: str(tokens.clientSessionMaxLifespanSeconds),
    [clientAttributeKeys.clientOfflineSessionIdleTimeout]: str(tokens.clientOfflineSessionIdleTimeoutSeconds),
    [clientAttributeKeys.clientOfflineSessionMaxLifespan]: str(tokens.clientOfflineSessionMaxLifespanSeconds),
    [clientAttributeKeys.jwksUrl]: spec.jwksUrl,
    [clientAttributeKeys.useJwksUrl]: str(spec.useJwksUrl),
    [clientAttributeKeys.x509SubjectDn]: spec.x509SubjectDn,
    [clientAttributeKeys.frontchannelLogoutUrl]: spec.frontchannelLogoutUrl,
    [clientAttributeKeys.backchannelLogoutUrl]: backchannel.url,
    [clientAttributeKeys.backchannelLogoutSessionRequired]: str(backchannel.sessionRequired),
    [clientAttributeKeys.backchannelLogoutRevokeOfflineTokens]: str(backchannel.revokeOfflineTokens),
    ...(spec.saml === undefined ? {} : samlAttributes(spec.saml)),
  }) as Record<string, string>;
  return Object.keys(attributes).length === 0 ? undefined : attributes;
}

/** Client settings, without roles, mappers, scopes and service-account roles (synced separately). */
export function clientSettings(spec: KeycloakClientSpec): ClientRepresentation & { clientId: string } {
  return {
    clientId: spec.clientId,
    ...definedOnly<ClientRepresentation>({
      name: spec.name,
      description: spec.description,
      // Only SAML is sent: openid-connect is Keycloak's default, and a create that names it
      // explicitly makes Keycloak default the client to public (no secret) — observed on 26.5.
      protocol: spec.protocol === "saml" ? "saml" : undefined,
      enabled: spec.enabled,
      publicClient: spec.publicClient,
      bearerOnly: spec.bearerOnly,
      standardFlowEnabled: spec.standardFlowEnabled,
      implicitFlowEnabled: spec.implicitFlowEnabled,
      directAccessGrantsEnabled: spec.directAccessGrantsEnabled,
      serviceAccountsEnabled: spec.serviceAccountsEnabled,
      consentRequired: spec.consentRequired,
      clientAuthenticatorType: spec.clientAuthenticatorType,
      fullScopeAllowed: spec.fullScopeAllowed,
      frontchannelLogout: spec.frontchannelLogout,
      alwaysDisplayInConsole: spec.alwaysDisplayInConsole,
      surrogateAuthRequired: spec.surrogateAuthRequired,
      nodeReRegistrationTimeout: spec.nodeReRegistrationTimeout,
      // Keycloak's resource server exists exactly while this is on (spec.authorization).
      authorizationServicesEnabled: spec.authorization === undefined ? undefined : true,
      redirectUris: spec.redirectUris === undefined ? undefined : [...spec.redirectUris],
      webOrigins: spec.webOrigins === undefined ? undefined : [...spec.webOrigins],
      rootUrl: spec.rootUrl,
      baseUrl: spec.baseUrl,
      adminUrl: spec.adminUrl,
      attributes: clientAttributes(spec),
    }),
  };
}

/** A protocol mapper of a client or (with the scope's protocol) of a client scope. */
export type ProtocolMapperSpec = Omit<ProtocolMapper, "protocol"> & { protocol?: string };

/** A protocol mapper; config values are strings in Keycloak. */
export function protocolMapperRepresentation(mapper: ProtocolMapperSpec): ProtocolMapperRepresentation {
  return {
    name: mapper.name,
    protocol: mapper.protocol ?? "openid-connect",
    protocolMapper: mapper.protocolMapper,
    config: { ...(mapper.config ?? {}) },
  };
}

/** Service-account roles as the sync's RoleSet: realm role names, and client role names by client ID. */
export function serviceAccountRoleSet(roles: ServiceAccountRoles): RoleSet {
  return definedOnly<RoleSet>({
    realm: roles.realmRoles === undefined ? undefined : [...roles.realmRoles],
    client:
      roles.clientRoles === undefined
        ? undefined
        : Object.fromEntries(
            Object.entries(roles.clientRoles).map(([id, names]) => [id, [...(names ?? [])]]),
          ),
  });
}

/** The whole desired client. Lists the spec leaves out are undefined, which the sync reads as "not managed". */
export function desiredClient(spec: KeycloakClientSpec): DesiredClient {
  return definedOnly<DesiredClient>({
    client: clientSettings(spec),
    roles: spec.roles?.map(roleRepresentation),
    protocolMappers: spec.protocolMappers?.map(protocolMapperRepresentation),
    serviceAccountRoles:
      spec.serviceAccount === undefined ? undefined : serviceAccountRoleSet(spec.serviceAccount),
    serviceAccountGroups:
      spec.serviceAccount?.groups === undefined ? undefined : [...spec.serviceAccount.groups],
    defaultClientScopes: spec.defaultClientScopes === undefined ? undefined : [...spec.defaultClientScopes],
    optionalClientScopes:
      spec.optionalClientScopes === undefined ? undefined : [...spec.optionalClientScopes],
    authenticationFlowBindingOverrides:
      spec.authenticationFlowBindingOverrides && clientFlowOverrides(spec.authenticationFlowBindingOverrides),
    authorization: spec.authorization === undefined ? undefined : desiredAuthorization(spec.authorization),
  }) as DesiredClient;
}
