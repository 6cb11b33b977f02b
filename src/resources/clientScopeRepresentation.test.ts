import { describe, expect, it } from "vitest";
import type { KeycloakRealmSpec } from "../api/index.js";
import { clientScopeRepresentation, desiredClientScopes } from "./clientScopeRepresentation.js";
import { desiredRealm } from "./realmRepresentation.js";

const minimal: KeycloakRealmSpec = { instanceRef: { name: "main" }, realmName: "apps" };

describe("clientScopeRepresentation", () => {
  it("Given a scope with only a name, when mapped, then it is an OIDC scope with no managed attribute, mapper or mapping", () => {
    expect(clientScopeRepresentation({ name: "tier" })).toEqual({
      name: "tier",
      protocol: "openid-connect",
      attributes: {},
    });
  });

  it("Given the typed settings and free-form attributes, when mapped, then each becomes its Keycloak string attribute", () => {
    const scope = clientScopeRepresentation({
      name: "tier",
      description: "The customer's tier",
      includeInTokenScope: false,
      displayOnConsentScreen: true,
      consentScreenText: "Your tier",
      guiOrder: 7,
      attributes: { "is.dynamic.scope": "false" },
    });
    expect(scope.description).toBe("The customer's tier");
    expect(scope.attributes).toEqual({
      "is.dynamic.scope": "false",
      "include.in.token.scope": "false",
      "display.on.consent.screen": "true",
      "consent.screen.text": "Your tier",
      "gui.order": "7",
    });
  });

  it("Given a SAML scope with a mapper, when mapped, then the mapper takes the scope's protocol and its config is copied", () => {
    const config = { "attribute.name": "tier" };
    const scope = clientScopeRepresentation({
      name: "saml-tier",
      protocol: "saml",
      protocolMappers: [{ name: "tier", protocolMapper: "saml-user-attribute-mapper", config }],
    });
    expect(scope.protocolMappers).toEqual([
      { name: "tier", protocol: "saml", protocolMapper: "saml-user-attribute-mapper", config },
    ]);
    expect(scope.protocolMappers?.[0]?.config).not.toBe(config);
  });

  it("Given scope mappings, when mapped, then realm and client roles become the sync's role set", () => {
    const scope = clientScopeRepresentation({
      name: "tier",
      scopeMappings: { realmRoles: ["reader"], clientRoles: { api: ["read", "write"] } },
    });
    expect(scope.scopeMappings).toEqual({ realm: ["reader"], client: { api: ["read", "write"] } });
    expect(clientScopeRepresentation({ name: "tier", scopeMappings: {} }).scopeMappings).toEqual({});
  });
});

describe("desiredClientScopes", () => {
  it("Given a spec without scopes or scope defaults, when mapped, then client scopes are not managed at all", () => {
    expect(desiredClientScopes(minimal)).toBeUndefined();
    expect(desiredRealm(minimal)).not.toHaveProperty("clientScopes");
  });

  it("Given only realm defaults, when mapped, then only the two link lists are managed", () => {
    const desired = desiredRealm({
      ...minimal,
      defaultClientScopes: ["tier"],
      optionalClientScopes: [],
    });
    expect(desired.clientScopes).toEqual({ defaultScopes: ["tier"], optionalScopes: [] });
  });

  it("Given scopes, when mapped, then every listed scope is desired in order", () => {
    const desired = desiredClientScopes({ ...minimal, clientScopes: [{ name: "b" }, { name: "a" }] });
    expect(desired?.scopes?.map((s) => s.name)).toEqual(["b", "a"]);
    expect(desired).not.toHaveProperty("defaultScopes");
  });
});
