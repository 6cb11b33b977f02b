import { describe, expect, it } from "vitest";
import type { KeycloakRealmSpec } from "../api/index.js";
import { desiredRealm } from "./realmRepresentation.js";
import {
  desiredIdentityProviders,
  identityProviderMapperRepresentation,
  identityProviderRepresentation,
} from "./identityProviderRepresentation.js";
import { realmSecretReferences } from "./secretReferences.js";

const minimal: KeycloakRealmSpec = { instanceRef: { name: "main" }, realmName: "apps" };

const upstream = {
  alias: "upstream",
  providerId: "oidc" as const,
  displayName: "Upstream",
  enabled: true,
  trustEmail: true,
  hideOnLogin: false,
  firstBrokerLoginFlowAlias: "first broker login",
  syncMode: "FORCE" as const,
  clientSecretRef: { name: "upstream-idp", key: "secret" },
  config: {
    authorizationUrl: "https://id.example/auth",
    tokenUrl: "https://id.example/token",
    clientId: "apps",
    validateSignature: true,
    pkceEnabled: false,
    clientAuthMethod: "client_secret_post" as const,
  },
  extraConfig: { acceptsPromptNoneForwardFromClient: "true" },
};

describe("identityProviderRepresentation", () => {
  it("Given typed settings, extraConfig and syncMode, when mapped, then they form one string config map beside the top-level fields", () => {
    expect(identityProviderRepresentation(upstream, "s3cret")).toEqual({
      rep: {
        alias: "upstream",
        providerId: "oidc",
        displayName: "Upstream",
        enabled: true,
        trustEmail: true,
        hideOnLogin: false,
        firstBrokerLoginFlowAlias: "first broker login",
        config: {
          acceptsPromptNoneForwardFromClient: "true",
          authorizationUrl: "https://id.example/auth",
          tokenUrl: "https://id.example/token",
          clientId: "apps",
          validateSignature: "true",
          pkceEnabled: "false",
          clientAuthMethod: "client_secret_post",
          syncMode: "FORCE",
        },
      },
      clientSecret: "s3cret",
    });
  });

  it("Given only an alias and a provider, when mapped, then nothing else is managed and no secret travels", () => {
    const mapped = identityProviderRepresentation({ alias: "gh", providerId: "github" });
    expect(mapped).toEqual({ rep: { alias: "gh", providerId: "github", config: {} } });
    expect("clientSecret" in mapped).toBe(false);
  });
});

describe("identityProviderMapperRepresentation", () => {
  it("Given a mapper with a syncMode, when mapped, then the syncMode joins its config", () => {
    expect(
      identityProviderMapperRepresentation({
        identityProviderAlias: "upstream",
        name: "partner",
        identityProviderMapper: "oidc-hardcoded-role-idp-mapper",
        syncMode: "INHERIT",
        config: { role: "partner" },
      }),
    ).toEqual({
      identityProviderAlias: "upstream",
      name: "partner",
      identityProviderMapper: "oidc-hardcoded-role-idp-mapper",
      config: { role: "partner", syncMode: "INHERIT" },
    });
  });
});

describe("desiredIdentityProviders", () => {
  it("Given a spec without identity providers or mappers, then neither is managed", () => {
    expect(desiredIdentityProviders(minimal)).toBeUndefined();
    expect("identityProviders" in desiredRealm(minimal)).toBe(false);
  });

  it("Given only mappers, then providers are not managed (none pruned) and the mappers are", () => {
    const spec: KeycloakRealmSpec = {
      ...minimal,
      identityProviderMappers: [
        { identityProviderAlias: "by-hand", name: "m", identityProviderMapper: "oidc-username-idp-mapper" },
      ],
    };
    const desired = desiredIdentityProviders(spec);
    expect(desired).toEqual({
      mappers: [
        {
          identityProviderAlias: "by-hand",
          name: "m",
          identityProviderMapper: "oidc-username-idp-mapper",
          config: {},
        },
      ],
    });
    expect(desired && "providers" in desired).toBe(false);
  });

  it("Given a clientSecretRef, then the Secret is listed by the spec path and its value reaches the desired provider", () => {
    const spec: KeycloakRealmSpec = {
      ...minimal,
      identityProviders: [upstream],
      identityProviderMappers: [],
    };
    const refs = realmSecretReferences(spec);
    expect(refs).toEqual([
      { field: "spec.identityProviders[upstream].clientSecretRef", name: "upstream-idp", key: "secret" },
    ]);
    const secrets = new Map([["spec.identityProviders[upstream].clientSecretRef", "from-the-secret"]]);
    const desired = desiredRealm(spec, secrets).identityProviders;
    expect(desired?.providers?.[0]?.clientSecret).toBe("from-the-secret");
    expect(desired?.mappers).toEqual([]);
    // The value stays out of the config map, which Keycloak returns to every reader.
    expect(JSON.stringify(desired?.providers?.[0]?.rep)).not.toContain("from-the-secret");
  });

  it("Given a clientSecretRef without its key, then the key defaults to client-secret", () => {
    const { key: _key, ...ref } = upstream.clientSecretRef;
    const spec: KeycloakRealmSpec = {
      ...minimal,
      identityProviders: [{ ...upstream, clientSecretRef: ref }],
    };
    expect(realmSecretReferences(spec)[0]?.key).toBe("client-secret");
  });

  it("Given a clientSecretRef whose value was not resolved, then mapping fails naming the path, never a value", () => {
    const spec: KeycloakRealmSpec = { ...minimal, identityProviders: [upstream] };
    expect(() => desiredIdentityProviders(spec)).toThrow(
      /spec\.identityProviders\[upstream\]\.clientSecretRef names Secret "upstream-idp" key "secret"/,
    );
  });
});
