import { describe, expect, it } from "vitest";
import type { KeycloakClientSpec } from "../api/index.js";
import { changedFields } from "../keycloak/diff.js";
import { clientAttributeKeys, clientSettings, desiredClient } from "./clientRepresentation.js";

const minimal: KeycloakClientSpec = { realmRef: { name: "apps" }, clientId: "web" };

describe("desiredClient", () => {
  it("Given only the required fields, when mapped, then only the client ID is managed", () => {
    expect(desiredClient(minimal)).toEqual({ client: { clientId: "web" } });
  });

  it("Given every client setting, when mapped, then fields and attributes match Keycloak's names", () => {
    const spec: KeycloakClientSpec = {
      ...minimal,
      name: "Web app",
      description: "The storefront",
      enabled: true,
      publicClient: false,
      bearerOnly: false,
      standardFlowEnabled: true,
      implicitFlowEnabled: false,
      directAccessGrantsEnabled: false,
      serviceAccountsEnabled: true,
      consentRequired: false,
      redirectUris: ["https://shop.example.com/*"],
      webOrigins: ["+"],
      postLogoutRedirectUris: ["https://shop.example.com/", "https://shop.example.com/bye"],
      rootUrl: "https://shop.example.com",
      baseUrl: "/",
      adminUrl: "https://shop.example.com/admin",
      pkceMethod: "S256",
      tokens: {
        accessTokenLifespanSeconds: 300,
        clientSessionIdleTimeoutSeconds: 600,
        clientSessionMaxLifespanSeconds: 3600,
        clientOfflineSessionIdleTimeoutSeconds: 7200,
        clientOfflineSessionMaxLifespanSeconds: 86400,
      },
    };
    expect(clientSettings(spec)).toEqual({
      clientId: "web",
      name: "Web app",
      description: "The storefront",
      enabled: true,
      publicClient: false,
      bearerOnly: false,
      standardFlowEnabled: true,
      implicitFlowEnabled: false,
      directAccessGrantsEnabled: false,
      serviceAccountsEnabled: true,
      consentRequired: false,
      redirectUris: ["https://shop.example.com/*"],
      webOrigins: ["+"],
      rootUrl: "https://shop.example.com",
      baseUrl: "/",
      adminUrl: "https://shop.example.com/admin",
      attributes: {
        "pkce.code.challenge.method": "S256",
        "post.logout.redirect.uris": "https://shop.example.com/##https://shop.example.com/bye",
        "access.token.lifespan": "300",
        "client.session.idle.timeout": "600",
        "client.session.max.lifespan": "3600",
        "client.offline.session.idle.timeout": "7200",
        "client.offline.session.max.lifespan": "86400",
      },
    });
  });

  it("Given only PKCE, when mapped, then the attributes hold PKCE alone and nothing else is managed", () => {
    expect(clientSettings({ ...minimal, pkceMethod: "plain" })).toEqual({
      clientId: "web",
      attributes: { [clientAttributeKeys.pkceMethod]: "plain" },
    });
  });

  it("Given the client Keycloak returns, when compared, then only a differing managed field is reported", () => {
    const desired = clientSettings({
      ...minimal,
      publicClient: true,
      pkceMethod: "S256",
      redirectUris: ["https://a/*"],
    });
    const actual = {
      id: "uuid",
      clientId: "web",
      publicClient: true,
      redirectUris: ["https://a/*"],
      attributes: { "pkce.code.challenge.method": "S256", "backchannel.logout.session.required": "true" },
    };
    expect(changedFields({ ...desired }, actual)).toEqual([]);
    expect(changedFields({ ...desired }, { ...actual, attributes: {} })).toEqual([
      "attributes.pkce.code.challenge.method",
    ]);
  });

  it("Given roles, mappers, scopes and service-account roles, when mapped, then each goes to its own list", () => {
    const desired = desiredClient({
      ...minimal,
      serviceAccountsEnabled: true,
      roles: [
        { name: "reader" },
        { name: "writer", description: "Writes", composites: { client: { web: ["reader"] } } },
      ],
      protocolMappers: [
        {
          name: "department",
          protocolMapper: "oidc-usermodel-attribute-mapper",
          config: {
            "user.attribute": "department",
            "claim.name": "department",
            "access.token.claim": "true",
          },
        },
        { name: "audience", protocol: "openid-connect", protocolMapper: "oidc-audience-mapper" },
      ],
      defaultClientScopes: ["profile", "email"],
      optionalClientScopes: ["offline_access"],
      serviceAccount: { realmRoles: ["viewer"], clientRoles: { "realm-management": ["view-users"] } },
    });
    expect(desired).toEqual({
      client: { clientId: "web", serviceAccountsEnabled: true },
      roles: [
        { name: "reader" },
        { name: "writer", description: "Writes", composites: { client: { web: ["reader"] } } },
      ],
      protocolMappers: [
        {
          name: "department",
          protocol: "openid-connect",
          protocolMapper: "oidc-usermodel-attribute-mapper",
          config: {
            "user.attribute": "department",
            "claim.name": "department",
            "access.token.claim": "true",
          },
        },
        { name: "audience", protocol: "openid-connect", protocolMapper: "oidc-audience-mapper", config: {} },
      ],
      defaultClientScopes: ["profile", "email"],
      optionalClientScopes: ["offline_access"],
      serviceAccountRoles: { realm: ["viewer"], client: { "realm-management": ["view-users"] } },
    });
  });

  it("Given empty lists, when mapped, then they are managed as empty (remove all), unlike absent lists", () => {
    const desired = desiredClient({ ...minimal, roles: [], defaultClientScopes: [], redirectUris: [] });
    expect(desired.roles).toEqual([]);
    expect(desired.defaultClientScopes).toEqual([]);
    expect(desired.client.redirectUris).toEqual([]);
    expect(desired.protocolMappers).toBeUndefined();
    expect(desired.serviceAccountRoles).toBeUndefined();
  });

  it("Given OIDC authentication and logout settings and free-form attributes, when mapped, then fields and attributes use Keycloak's names and typed values win", () => {
    const { client } = desiredClient({
      ...minimal,
      clientAuthenticatorType: "client-jwt",
      jwksUrl: "https://app/jwks",
      useJwksUrl: true,
      fullScopeAllowed: false,
      frontchannelLogout: true,
      frontchannelLogoutUrl: "https://app/fc",
      backchannelLogout: { url: "https://app/bc", sessionRequired: false, revokeOfflineTokens: true },
      alwaysDisplayInConsole: true,
      surrogateAuthRequired: false,
      nodeReRegistrationTimeout: -1,
      attributes: { "display.on.consent.screen": "true", "jwks.url": "https://ignored" },
      authorization: {},
    });
    expect(client).toEqual({
      clientId: "web",
      clientAuthenticatorType: "client-jwt",
      fullScopeAllowed: false,
      frontchannelLogout: true,
      alwaysDisplayInConsole: true,
      surrogateAuthRequired: false,
      nodeReRegistrationTimeout: -1,
      authorizationServicesEnabled: true,
      attributes: {
        "display.on.consent.screen": "true",
        "jwks.url": "https://app/jwks",
        "use.jwks.url": "true",
        "frontchannel.logout.url": "https://app/fc",
        "backchannel.logout.url": "https://app/bc",
        "backchannel.logout.session.required": "false",
        "backchannel.logout.revoke.offline.tokens": "true",
      },
    });
  });

  it("Given protocol openid-connect (the CRD's default), when mapped, then no protocol is sent, so Keycloak keeps its confidential default", () => {
    expect(desiredClient({ ...minimal, protocol: "openid-connect" })).toEqual({
      client: { clientId: "web" },
    });
  });
});
