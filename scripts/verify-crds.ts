// Loads the CRDs into a real kube-apiserver (the test environment's etcd + kube-apiserver) and checks
// what only the API server can: the schemas are accepted (structural, CEL within cost limits), every
// example is stored, every CEL rule refuses what it should with its message, defaults are applied,
// and the printer columns show values. Exits 1 when anything differs. Needs the tools that
// scripts/tools.sh builds (etcd, kube-apiserver); about 30 s.
//
//   npm run verify:crds
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { CRD_KINDS, readCrdForApiServer } from "../src/api/crds.js";
import { GROUP, PLURALS, VERSION, type KeycloakKind } from "../src/api/index.js";
import { waitForEstablished } from "../src/kube/crdInstall.js";
import { startControlPlane } from "../src/testenv/index.js";
import { repoRoot } from "../src/testenv/tools.js";

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}

/** A change to an object the examples created, and what the API server must answer. */
interface RuleCase {
  name: string;
  kind: KeycloakKind;
  namespace: string;
  object: string;
  patch: Record<string, unknown>;
  /** Substring of the API server's message; undefined means the patch must be accepted. */
  rejectedWith?: string;
}

const cases: RuleCase[] = [
  {
    name: "realmName is immutable",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { realmName: "other" } },
    rejectedWith: "spec.realmName is immutable",
  },
  {
    name: "instanceRef is immutable",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { instanceRef: { name: "x" } } },
    rejectedWith: "spec.instanceRef is immutable",
  },
  {
    name: "a flow with a sub-flow, bindings and required actions",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: {
      spec: {
        authenticationFlows: [
          { alias: "corp browser", executions: [{ subFlow: "corp forms", requirement: "ALTERNATIVE" }] },
          {
            alias: "corp forms",
            executions: [
              {
                authenticator: "auth-otp-form",
                requirement: "REQUIRED",
                config: { alias: "otp", config: { a: "b" } },
              },
            ],
          },
        ],
        flowBindings: { browser: "corp browser" },
        requiredActions: [{ alias: "CONFIGURE_TOTP", enabled: true, priority: 10 }],
      },
    },
  },
  {
    name: "a sub-flow that is not in the list",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: {
      spec: {
        authenticationFlows: [{ alias: "a", executions: [{ subFlow: "b", requirement: "REQUIRED" }] }],
      },
    },
    rejectedWith: "must be the alias of another entry of spec.authenticationFlows",
  },
  {
    name: "a flow entering itself",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: {
      spec: {
        authenticationFlows: [{ alias: "a", executions: [{ subFlow: "a", requirement: "REQUIRED" }] }],
      },
    },
    rejectedWith: "a flow cannot be its own sub-flow",
  },
  {
    name: "a built-in flow's alias",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { authenticationFlows: [{ alias: "direct grant", executions: [] }] } },
    rejectedWith: "names one of Keycloak's built-in flows",
  },
  {
    name: "an execution with both an authenticator and a sub-flow",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: {
      spec: {
        authenticationFlows: [
          {
            alias: "a",
            executions: [{ authenticator: "auth-cookie", subFlow: "b", requirement: "REQUIRED" }],
          },
          { alias: "b", executions: [] },
        ],
      },
    },
    rejectedWith: "exactly one of authenticator and subFlow",
  },
  {
    name: "a config on a sub-flow step",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: {
      spec: {
        authenticationFlows: [
          { alias: "a", executions: [{ subFlow: "b", requirement: "REQUIRED", config: { alias: "c" } }] },
          { alias: "b", executions: [] },
        ],
      },
    },
    rejectedWith: "config applies to an authenticator",
  },
  {
    name: "other realm settings change",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { displayName: "Apps 2" } },
  },
  {
    name: "realmName pattern",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { realmName: "has space" } },
    rejectedWith: "spec.realmName",
  },
  {
    name: "sslRequired enum",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { sslRequired: "sometimes" } },
    rejectedWith: "Unsupported value",
  },
  {
    name: "SSO idle within max",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { tokens: { ssoSessionIdleTimeoutSeconds: 100, ssoSessionMaxLifespanSeconds: 50 } } },
    rejectedWith: "must not exceed",
  },
  {
    name: "token lifespan beyond a Java int",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { tokens: { accessTokenLifespanSeconds: 2 ** 40 } } },
    rejectedWith: "spec.tokens.accessTokenLifespanSeconds in body should be less than or equal to 2147483647",
  },
  {
    name: "token lifespan at the largest Java int",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { tokens: { accessTokenLifespanSeconds: 2147483647 } } },
  },
  {
    name: "a client scope's protocol is immutable",
    kind: "KeycloakRealm",
    namespace: "team-a",
    object: "team-a",
    patch: { spec: { clientScopes: [{ name: "team-a-api", protocol: "saml" }] } },
    rejectedWith: "spec.clientScopes[].protocol is immutable",
  },
  {
    name: "client scope attributes keep off the operator's markers",
    kind: "KeycloakRealm",
    namespace: "team-a",
    object: "team-a",
    patch: { spec: { clientScopes: [{ name: "team-a-api", attributes: { "kpo.dev/owner-uid": "x" } }] } },
    rejectedWith: "reserved for the operator's ownership markers",
  },
  {
    name: "client scope attributes behind typed fields go through them",
    kind: "KeycloakRealm",
    namespace: "team-a",
    object: "team-a",
    patch: { spec: { clientScopes: [{ name: "team-a-api", attributes: { "gui.order": "1" } }] } },
    rejectedWith: "with the typed fields",
  },
  {
    name: "client scope names are OAuth scope tokens",
    kind: "KeycloakRealm",
    namespace: "team-a",
    object: "team-a",
    patch: { spec: { clientScopes: [{ name: "has space" }] } },
    rejectedWith: "spec.clientScopes[0].name",
  },
  {
    name: "a realm's scope is a default or an optional one, not both",
    kind: "KeycloakRealm",
    namespace: "team-a",
    object: "team-a",
    patch: { spec: { defaultClientScopes: ["team-a-api"], optionalClientScopes: ["team-a-api"] } },
    rejectedWith: "either a default or an optional scope",
  },
  {
    name: "a scope moves from the defaults to the optional scopes",
    kind: "KeycloakRealm",
    namespace: "team-a",
    object: "team-a",
    patch: { spec: { defaultClientScopes: [], optionalClientScopes: ["team-a-api"] } },
  },
  {
    name: "lockout longer than a year",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { bruteForceProtection: { maxFailureWaitSeconds: 2 * 31536000 } } },
    rejectedWith:
      "spec.bruteForceProtection.maxFailureWaitSeconds in body should be less than or equal to 31536000",
  },
  {
    name: "SMTP auth needs user and password",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { smtp: { host: "h", from: "a@b.c", auth: true } } },
    rejectedWith: "spec.smtp.auth=true requires",
  },
  {
    name: "realm attributes cannot forge the operator's markers",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { attributes: { "kpo.dev/owner-uid": "x" } } },
    rejectedWith: "spec.attributes may not set keys under kpo.dev/",
  },
  {
    name: "default locale among the supported ones",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { localization: { supportedLocales: ["en"], defaultLocale: "de" } } },
    rejectedWith: "spec.localization.defaultLocale must be one of spec.localization.supportedLocales",
  },
  {
    name: "organizations need the feature",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { organizations: [{ name: "Acme" }] } },
    rejectedWith: "spec.organizations needs spec.organizationsEnabled set to true",
  },
  {
    name: "admin event details need admin events",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { events: { adminEventsDetailsEnabled: true } } },
    rejectedWith: "spec.events.adminEventsDetailsEnabled needs spec.events.adminEventsEnabled: true",
  },
  {
    name: "SMTP ssl xor starttls",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { smtp: { host: "h", from: "a@b.c", ssl: true, starttls: true } } },
    rejectedWith: "mutually exclusive",
  },
  ...identityProviderCases(),
  {
    name: "LDAP provider accepted",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: {
      spec: {
        userFederation: {
          ldap: [
            {
              name: "corp",
              connectionUrl: "ldaps://ldap.example",
              usersDn: "ou=people,dc=example",
              bindDn: "cn=kc,dc=example",
              bindCredentialRef: { name: "ldap-bind" },
              mappers: [
                { name: "devs", type: "group-ldap-mapper", config: { "groups.dn": "ou=groups,dc=example" } },
              ],
            },
          ],
        },
      },
    },
  },
  {
    name: "LDAP bindDn needs bindCredentialRef",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: {
      spec: {
        userFederation: {
          ldap: [
            {
              name: "corp",
              connectionUrl: "ldaps://ldap.example",
              usersDn: "ou=people,dc=example",
              bindDn: "cn=kc,dc=example",
            },
          ],
        },
      },
    },
    rejectedWith: "bindDn and bindCredentialRef go together",
  },
  {
    name: "LDAP UNSYNCED needs import",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: {
      spec: {
        userFederation: {
          ldap: [
            {
              name: "corp",
              connectionUrl: "ldaps://ldap.example",
              usersDn: "ou=people,dc=example",
              editMode: "UNSYNCED",
              importEnabled: false,
            },
          ],
        },
      },
    },
    rejectedWith: "editMode UNSYNCED",
  },
  {
    name: "LDAP syncRegistrations needs WRITABLE",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: {
      spec: {
        userFederation: {
          ldap: [
            {
              name: "corp",
              connectionUrl: "ldaps://ldap.example",
              usersDn: "ou=people,dc=example",
              syncRegistrations: true,
            },
          ],
        },
      },
    },
    rejectedWith: "syncRegistrations writes new users to the directory",
  },
  {
    name: "LDAP startTls on ldaps",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: {
      spec: {
        userFederation: {
          ldap: [
            {
              name: "corp",
              connectionUrl: "ldaps://ldap.example",
              usersDn: "ou=people,dc=example",
              startTls: true,
            },
          ],
        },
      },
    },
    rejectedWith: "startTls upgrades a plain ldap:// connection",
  },
  {
    name: "LDAP search filter in parentheses",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: {
      spec: {
        userFederation: {
          ldap: [
            {
              name: "corp",
              connectionUrl: "ldaps://ldap.example",
              usersDn: "ou=people,dc=example",
              customUserSearchFilter: "objectClass=person",
            },
          ],
        },
      },
    },
    rejectedWith: "customUserSearchFilter must be an LDAP filter in parentheses",
  },
  {
    name: "LDAP connectionUrl scheme",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: {
      spec: {
        userFederation: {
          ldap: [{ name: "corp", connectionUrl: "http://ldap.example", usersDn: "ou=people,dc=example" }],
        },
      },
    },
    rejectedWith: "spec.userFederation.ldap[0].connectionUrl in body should match",
  },
  {
    name: "LDAP mapper type",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: {
      spec: {
        userFederation: {
          ldap: [
            {
              name: "corp",
              connectionUrl: "ldaps://ldap.example",
              usersDn: "ou=people,dc=example",
              mappers: [{ name: "x", type: "script-mapper" }],
            },
          ],
        },
      },
    },
    rejectedWith: 'Unsupported value: "script-mapper"',
  },
  {
    name: "selector values for Exists",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: {
      spec: {
        clientGrants: {
          namespaceSelector: { matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] },
        },
      },
    },
    rejectedWith: "must be empty for",
  },
  {
    name: "selector values for In",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: {
      spec: { clientGrants: { namespaceSelector: { matchExpressions: [{ key: "a", operator: "In" }] } } },
    },
    rejectedWith: "at least one value",
  },
  {
    name: "clientId is immutable",
    kind: "KeycloakClient",
    namespace: "shop",
    object: "storefront",
    patch: { spec: { clientId: "x" } },
    rejectedWith: "spec.clientId is immutable",
  },
  {
    name: "realmRef is immutable",
    kind: "KeycloakClient",
    namespace: "shop",
    object: "storefront",
    patch: { spec: { realmRef: { name: "x" } } },
    rejectedWith: "spec.realmRef is immutable",
  },
  {
    name: "public client without service account",
    kind: "KeycloakClient",
    namespace: "shop",
    object: "storefront",
    patch: { spec: { publicClient: true, serviceAccountsEnabled: true } },
    rejectedWith: "spec.publicClient and spec.serviceAccountsEnabled are mutually exclusive",
  },
  {
    name: "public client not bearer-only",
    kind: "KeycloakClient",
    namespace: "shop",
    object: "storefront",
    patch: { spec: { publicClient: true, bearerOnly: true } },
    rejectedWith: "spec.publicClient and spec.bearerOnly",
  },
  {
    name: "service-account roles need a service account",
    kind: "KeycloakClient",
    namespace: "shop",
    object: "storefront",
    patch: { spec: { serviceAccount: { realmRoles: ["x"] } } },
    rejectedWith: "spec.serviceAccountsEnabled=true",
  },
  {
    name: "client token lifespan beyond a Java int",
    kind: "KeycloakClient",
    namespace: "shop",
    object: "storefront",
    patch: { spec: { tokens: { accessTokenLifespanSeconds: 2 ** 40 } } },
    rejectedWith: "spec.tokens.accessTokenLifespanSeconds in body should be less than or equal to 2147483647",
  },
  {
    name: "secret rotation counter beyond a Java int",
    kind: "KeycloakClient",
    namespace: "shop",
    object: "storefront",
    patch: { spec: { secret: { rotate: 2 ** 40 } } },
    rejectedWith: "spec.secret.rotate in body should be less than or equal to 2147483647",
  },
  {
    name: "pkceMethod enum",
    kind: "KeycloakClient",
    namespace: "shop",
    object: "storefront",
    patch: { spec: { pkceMethod: "S512" } },
    rejectedWith: "Unsupported value",
  },
  {
    name: "an adoption grant names namespaces and realms",
    kind: "KeycloakInstance",
    namespace: "identity",
    object: "main",
    patch: { spec: { adoptionGrants: [{ namespaces: ["shop"] }] } },
    rejectedWith: "realmNames",
  },
  {
    name: "an adoption grant that names both is stored",
    kind: "KeycloakInstance",
    namespace: "identity",
    object: "main",
    patch: { spec: { adoptionGrants: [{ namespaces: ["shop"], realmNames: ["legacy"] }] } },
  },
  {
    name: "the master realm goes to a namespace by name",
    kind: "KeycloakInstance",
    namespace: "identity",
    object: "main",
    patch: { spec: { masterRealmGrant: { namespace: "Not A Namespace" } } },
    rejectedWith: "spec.masterRealmGrant.namespace",
  },
  {
    name: "a client adoption grant names client IDs",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { adoptionGrants: [{ namespaces: ["shop"], clientIds: [] }] } },
    rejectedWith: "clientIds",
  },
  {
    name: "role grants select namespaces like client grants",
    kind: "KeycloakClient",
    namespace: "shop",
    object: "storefront",
    patch: {
      spec: {
        roleGrants: {
          namespaceSelector: { matchExpressions: [{ key: "team", operator: "Exists", values: ["a"] }] },
        },
      },
    },
    rejectedWith: "must be empty for Exists",
  },
  {
    name: "external xor managed",
    kind: "KeycloakInstance",
    namespace: "identity",
    object: "main",
    patch: { spec: { managed: { database: { vendor: "dev-mem" } } } },
    rejectedWith: "exactly one of spec.external",
  },
  {
    name: "one kind of admin credentials",
    kind: "KeycloakInstance",
    namespace: "identity",
    object: "main",
    patch: {
      spec: {
        external: { adminCredentials: { clientCredentials: { clientId: "c", secretRef: { name: "s" } } } },
      },
    },
    rejectedWith: "exactly one of spec.external.adminCredentials",
  },
  {
    name: "CA and insecureSkipTLSVerify contradict",
    kind: "KeycloakInstance",
    namespace: "identity",
    object: "main",
    patch: { spec: { external: { insecureSkipTLSVerify: true, caSecretRef: { name: "ca" } } } },
    rejectedWith: "contradict each other",
  },
  {
    name: "URL must be http(s)",
    kind: "KeycloakInstance",
    namespace: "identity",
    object: "main",
    patch: { spec: { external: { url: "ftp://x" } } },
    rejectedWith: "spec.external.url",
  },
  {
    name: "username is immutable",
    kind: "KeycloakUser",
    namespace: "shop",
    object: "tester",
    patch: { spec: { username: "other" } },
    rejectedWith: "spec.username is immutable",
  },
  {
    name: "no service-account users",
    kind: "KeycloakUser",
    namespace: "shop",
    object: "tester",
    patch: { spec: { username: "service-account-web" } },
    rejectedWith: "may not start with service-account-",
  },
  {
    name: "no kpo.dev/ user attributes",
    kind: "KeycloakUser",
    namespace: "shop",
    object: "tester",
    patch: { spec: { attributes: { "kpo.dev/owner-uid": ["x"] } } },
    rejectedWith: "may not use keys under kpo.dev/",
  },
  {
    name: "an adopted user keeps its password",
    kind: "KeycloakUser",
    namespace: "shop",
    object: "tester",
    patch: { spec: { adopt: true } },
    rejectedWith: "spec.adopt and spec.initialPasswordSecretRef are mutually exclusive",
  },
  {
    name: "the initial password may be changed while it has not been used",
    kind: "KeycloakUser",
    namespace: "shop",
    object: "tester",
    patch: { spec: { initialPasswordSecretRef: { name: "tester-password-2" } } },
  },
  {
    name: "userGrants has the namespace-grant shape",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { userGrants: { namespaces: ["Not_A_Namespace"] } } },
    rejectedWith: "spec.userGrants.namespaces",
  },
  {
    name: "an adoption grant names clients or users",
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { adoptionGrants: [{ namespaces: ["shop"] }] } },
    rejectedWith: "must list clientIds, usernames or both",
  },
];

/** The identity provider rules, each tried on the quickstart realm (and the providerId one on the production realm's). */
function identityProviderCases(): RuleCase[] {
  const oidc = {
    alias: "corp",
    providerId: "oidc",
    config: {
      authorizationUrl: "https://id.example/auth",
      tokenUrl: "https://id.example/token",
      clientId: "apps",
    },
  };
  const saml = {
    alias: "adfs",
    providerId: "saml",
    config: { singleSignOnServiceUrl: "https://adfs.example/sso" },
  };
  const github = {
    alias: "gh",
    providerId: "github",
    clientSecretRef: { name: "gh" },
    config: { clientId: "app" },
  };
  const on = (name: string, idp: Record<string, unknown>, rejectedWith?: string): RuleCase => ({
    name: `identity providers: ${name}`,
    kind: "KeycloakRealm",
    namespace: "identity",
    object: "apps",
    patch: { spec: { identityProviders: [idp] } },
    ...(rejectedWith !== undefined ? { rejectedWith } : {}),
  });
  const mapper = (extra: Record<string, unknown>) => ({
    identityProviderAlias: "corp",
    name: "m",
    identityProviderMapper: "oidc-hardcoded-role-idp-mapper",
    config: { role: "partner" },
    ...extra,
  });
  return [
    on("a complete oidc, saml and social provider are accepted", oidc),
    on("saml accepted", saml),
    on("social accepted", github),
    on(
      "oidc needs its endpoints and clientId",
      { ...oidc, config: { clientId: "apps" } },
      "needs config.authorizationUrl",
    ),
    on(
      "saml needs its SSO URL",
      { ...saml, config: { entityId: "x" } },
      "needs config.singleSignOnServiceUrl",
    ),
    on(
      "social needs clientId and a secret",
      { ...github, clientSecretRef: undefined },
      "a social identity provider",
    ),
    on(
      "no client secret for saml",
      { ...saml, clientSecretRef: { name: "s" } },
      "clientSecretRef is for OIDC",
    ),
    on(
      "no SAML fields on oidc",
      { ...oidc, config: { ...oidc.config, wantAssertionsSigned: true } },
      "marked (SAML)",
    ),
    on("no OIDC fields on saml", { ...saml, config: { ...saml.config, pkceEnabled: true } }, "marked (OIDC)"),
    on(
      "no endpoints on social",
      { ...github, config: { clientId: "a", tokenUrl: "https://x/t" } },
      "fixed endpoints",
    ),
    on(
      "no clientSecret in extraConfig",
      { ...oidc, extraConfig: { clientSecret: "x" } },
      "may not set clientSecret",
    ),
    on(
      "no typed key in extraConfig",
      { ...oidc, extraConfig: { tokenUrl: "x" } },
      "may not set clientSecret",
    ),
    on(
      "no kpo.dev/ key in extraConfig",
      { ...oidc, extraConfig: { "kpo.dev/owner-uid": "x" } },
      "kpo.dev/ are the operator's own",
    ),
    {
      name: "identity providers: mapper syncMode is a field, not config",
      kind: "KeycloakRealm",
      namespace: "identity",
      object: "apps",
      patch: { spec: { identityProviderMappers: [mapper({ config: { syncMode: "FORCE" } })] } },
      rejectedWith: "set the mapper's syncMode field",
    },
    {
      name: "identity providers: only Keycloak's mapper types",
      kind: "KeycloakRealm",
      namespace: "identity",
      object: "apps",
      patch: {
        spec: { identityProviderMappers: [mapper({ identityProviderMapper: "hardcoded-role-idp-mapper" })] },
      },
      rejectedWith: "Unsupported value",
    },
    {
      name: "identity providers: providerId is immutable",
      kind: "KeycloakRealm",
      namespace: "payments",
      object: "payments",
      patch: {
        spec: {
          identityProviders: [
            { ...oidc, providerId: "keycloak-oidc", clientSecretRef: { name: "payments-corp-idp" } },
          ],
          identityProviderMappers: [],
        },
      },
      rejectedWith: "providerId of an identity provider cannot change",
    },
  ];
}

/** Defaults the API server must have filled in on objects the examples created. */
const expectedDefaults: {
  kind: KeycloakKind;
  namespace: string;
  name: string;
  path: string[];
  value: unknown;
}[] = [
  {
    kind: "KeycloakInstance",
    namespace: "identity",
    name: "main",
    path: ["external", "realm"],
    value: "master",
  },
  {
    kind: "KeycloakInstance",
    namespace: "identity",
    name: "main",
    path: ["external", "adminCredentials", "secretRef", "usernameKey"],
    value: "username",
  },
  { kind: "KeycloakRealm", namespace: "identity", name: "apps", path: ["deletionPolicy"], value: "Retain" },
  { kind: "KeycloakRealm", namespace: "identity", name: "apps", path: ["adopt"], value: false },
  { kind: "KeycloakRealm", namespace: "team-b", name: "team-b", path: ["enabled"], value: true },
  { kind: "KeycloakUser", namespace: "shop", name: "tester", path: ["enabled"], value: true },
  {
    kind: "KeycloakUser",
    namespace: "shop",
    name: "tester",
    path: ["initialPasswordSecretRef", "key"],
    value: "password",
  },
  {
    kind: "KeycloakClient",
    namespace: "team-a",
    name: "team-a-batch",
    path: ["protocolMappers", "0", "protocol"],
    value: "openid-connect",
  },
];

function manifests(dir: string): Manifest[] {
  const full = path.join(repoRoot, "examples", dir);
  return readdirSync(full)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(full, f), "utf8")).map((d) => d.toJS() as Manifest),
    );
}

function errorMessage(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === "string") {
    try {
      return String((JSON.parse(body) as { message?: string }).message ?? body);
    } catch {
      return body;
    }
  }
  return String(error);
}

async function main(): Promise<number> {
  const failures: string[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), "kpo-verify-crds-"));
  const controlPlane = await startControlPlane({ dir });
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(controlPlane.kubeconfigPath);
    const extensions = kc.makeApiClient(ApiextensionsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const ssa = setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply);
    const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

    for (const kind of CRD_KINDS) {
      try {
        await extensions.createCustomResourceDefinition({ body: readCrdForApiServer(kind) });
      } catch (error) {
        failures.push(`CRD ${kind} refused: ${errorMessage(error)}`);
      }
    }
    if (failures.length > 0) return report(failures);
    try {
      await waitForEstablished(
        kc,
        CRD_KINDS.map((kind) => readCrdForApiServer(kind).metadata?.name ?? kind),
        10_000,
      );
    } catch (error) {
      return report([errorMessage(error)]);
    }

    const apply = async (m: Manifest, source: string) => {
      const namespace = m.metadata.namespace ?? "";
      try {
        if (m.kind === "Namespace") await core.createNamespace({ body: m });
        else if (m.kind === "Secret") await core.createNamespacedSecret({ namespace, body: m });
        else {
          const plural = PLURALS[m.kind as KeycloakKind];
          await custom.patchNamespacedCustomObject(
            {
              group: GROUP,
              version: VERSION,
              namespace,
              plural,
              name: m.metadata.name,
              body: m,
              fieldManager: "verify-crds",
              force: true,
            },
            ssa,
          );
        }
      } catch (error) {
        const message = errorMessage(error);
        if (!message.includes("already exists"))
          failures.push(`${source}: ${m.kind} ${namespace}/${m.metadata.name} refused: ${message}`);
      }
    };
    // Production: the denied objects first, then the fixed ones over them (as a user would).
    const sets = [
      ...["quickstart", "multi-tenant", "production", "production/denied", "production/fixed"],
      ...["complete", "complete/ldap"],
    ];
    for (const set of sets) {
      for (const m of manifests(set)) await apply(m, `examples/${set}`);
    }

    for (const c of cases) {
      let outcome: string | undefined;
      try {
        await custom.patchNamespacedCustomObject(
          {
            group: GROUP,
            version: VERSION,
            namespace: c.namespace,
            plural: PLURALS[c.kind],
            name: c.object,
            body: c.patch,
            dryRun: "All",
          },
          merge,
        );
      } catch (error) {
        outcome = errorMessage(error);
      }
      if (c.rejectedWith === undefined && outcome !== undefined)
        failures.push(`${c.name}: expected acceptance, got: ${outcome}`);
      if (c.rejectedWith !== undefined && !outcome?.includes(c.rejectedWith)) {
        failures.push(
          `${c.name}: expected rejection with "${c.rejectedWith}", got: ${outcome ?? "accepted"}`,
        );
      }
    }

    for (const d of expectedDefaults) {
      const obj = (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: d.namespace,
        plural: PLURALS[d.kind],
        name: d.name,
      })) as { spec: unknown };
      const actual = d.path.reduce<unknown>(
        (node, key) => (node as Record<string, unknown> | undefined)?.[key],
        obj.spec,
      );
      if (actual !== d.value)
        failures.push(
          `default ${d.kind} ${d.name} spec.${d.path.join(".")}: expected ${JSON.stringify(d.value)}, got ${JSON.stringify(actual)}`,
        );
    }

    await custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        namespace: "identity",
        plural: PLURALS.KeycloakRealm,
        name: "apps",
        body: {
          status: {
            phase: "Ready",
            realmName: "apps",
            conditions: [
              {
                type: "Ready",
                status: "True",
                reason: "Provisioned",
                message: "",
                lastTransitionTime: new Date().toISOString(),
              },
            ],
          },
        },
      },
      merge,
    );
    const table = await getTable(
      kc,
      `/apis/${GROUP}/${VERSION}/namespaces/identity/${PLURALS.KeycloakRealm}`,
    );
    const columns = table.columnDefinitions.map((c) => c.name);
    const row = table.rows.find((r) => r.cells[0] === "apps")?.cells ?? [];
    const cell = (name: string) => row[columns.indexOf(name)];
    if (
      cell("Realm") !== "apps" ||
      cell("Phase") !== "Ready" ||
      cell("Ready") !== "True" ||
      cell("Instance") !== "main"
    ) {
      failures.push(
        `printer columns of KeycloakRealm apps: ${JSON.stringify(Object.fromEntries(columns.map((c, i) => [c, row[i]])))}`,
      );
    }
    return report(failures);
  } finally {
    await controlPlane.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Table {
  columnDefinitions: { name: string }[];
  rows: { cells: unknown[] }[];
}

async function getTable(kc: KubeConfig, apiPath: string): Promise<Table> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  const options: https.RequestOptions = {
    headers: { Accept: "application/json;as=Table;v=v1;g=meta.k8s.io" },
  };
  await kc.applyToHTTPSOptions(options);
  const url = new URL(apiPath, cluster.server);
  return new Promise((resolve, reject) => {
    https
      .get(url, options, (res) => {
        let data = "";
        res.on("data", (chunk: Buffer) => (data += chunk.toString()));
        res.on("end", () =>
          res.statusCode === 200
            ? resolve(JSON.parse(data) as Table)
            : reject(new Error(`${res.statusCode}: ${data}`)),
        );
      })
      .on("error", reject);
  });
}

function report(failures: string[]): number {
  if (failures.length === 0) {
    console.log(
      `verify-crds: ${CRD_KINDS.length} CRDs established; examples stored; ${cases.length} rule cases, ${expectedDefaults.length} defaults and printer columns as expected`,
    );
    return 0;
  }
  console.error(`verify-crds: ${failures.length} problem(s):\n- ${failures.join("\n- ")}`);
  return 1;
}

process.exitCode = await main();
