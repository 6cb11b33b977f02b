// Every rule, allowed and denied, through the compiled wasm bundle: `opa test` runs the Go evaluator,
// and the wasm build can differ (builtins implemented differently, e.g. sprintf), so the operator's
// own path is tested too.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crdDirectory, readCrd } from "../../src/api/crds.js";
import type { KeycloakInstance } from "../../src/api/index.js";
import { renderStatefulSet } from "../../src/managed/render.js";
import type { PolicyInput } from "../../src/policy/decision.js";
import { createPolicyEngine, type PolicyEngine } from "../../src/policy/engine.js";
import { realPolicyBundle } from "./policyBundle.js";

let engine: PolicyEngine;
beforeAll(async () => {
  engine = await createPolicyEngine({ bundleDir: realPolicyBundle() });
}, 60_000);
afterAll(() => engine.close());

const prod = { "kpo.dev/environment": "production" };
const instance = {
  metadata: { name: "kc", namespace: "iam" },
  spec: { realmGrants: { namespaces: ["team-a"], namespaceSelector: { matchLabels: { realms: "yes" } } } },
};
const realm = {
  metadata: { name: "shop", namespace: "platform" },
  spec: { clientGrants: { namespaces: ["team-a"], namespaceSelector: { matchLabels: { clients: "yes" } } } },
};

function mk(
  kind: PolicyInput["kind"],
  spec: Record<string, unknown>,
  opts: {
    ns?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    counts?: PolicyInput["counts"];
    operation?: PolicyInput["operation"];
    target?: PolicyInput["target"];
  } = {},
): PolicyInput {
  const ns = opts.ns ?? "team-a";
  return {
    operation: opts.operation ?? "create",
    kind,
    resource: { metadata: { name: "x", namespace: ns }, spec },
    namespace: { name: ns, labels: opts.labels ?? {}, annotations: opts.annotations ?? {} },
    target:
      opts.target ?? (kind === "KeycloakRealm" ? { instance } : kind === "KeycloakClient" ? { realm } : {}),
    counts: opts.counts ?? {},
    environment: {},
  };
}

const goodRealm = {
  sslRequired: "external",
  bruteForceProtection: { enabled: true },
  passwordPolicy: "length(12)",
  events: { enabled: true, expirationSeconds: 2592000, adminEventsEnabled: true },
};
const goodClient = { redirectUris: ["https://a.example.com/cb"], publicClient: true, pkceMethod: "S256" };
const goodInstance = {
  managed: {
    replicas: 2,
    image: "quay.io/keycloak/keycloak:26.5.2",
    database: { vendor: "postgres" },
    tls: { secretName: "t" },
    hostname: "https://sso.example.com",
    resources: { requests: { cpu: "500m", memory: "1Gi" } },
  },
};

// [code, allowed input, denied input]
const cases: [string, PolicyInput, PolicyInput][] = [
  ["InstanceNotFound", mk("KeycloakRealm", {}), mk("KeycloakRealm", {}, { target: {} })],
  [
    "RealmNamespaceNotGranted",
    mk("KeycloakRealm", {}, { ns: "team-z", labels: { realms: "yes" } }),
    mk("KeycloakRealm", {}, { ns: "team-z" }),
  ],
  ["RealmNotFound", mk("KeycloakClient", {}), mk("KeycloakClient", {}, { target: {} })],
  [
    "ClientNamespaceNotGranted",
    mk("KeycloakClient", {}, { ns: "platform" }),
    mk("KeycloakClient", {}, { ns: "team-b" }),
  ],
  [
    "CrossNamespaceSecretRef",
    mk("KeycloakClient", { secret: { name: "s" } }),
    mk("KeycloakClient", { secret: { name: "s", namespace: "kube-system" } }),
  ],
  [
    "PrivilegedRole",
    mk("KeycloakClient", {
      serviceAccount: { realmRoles: ["offline_access"], clientRoles: { api: ["read"] } },
    }),
    mk("KeycloakClient", { serviceAccount: { clientRoles: { "realm-management": ["query-users"] } } }),
  ],
  [
    "RealmQuotaExceeded",
    mk("KeycloakRealm", {}, { counts: { realmsInNamespace: 4 } }),
    mk("KeycloakRealm", {}, { counts: { realmsInNamespace: 5 } }),
  ],
  [
    "NamespaceClientQuotaExceeded",
    mk(
      "KeycloakClient",
      {},
      { counts: { clientsInNamespace: 25 }, annotations: { "kpo.dev/max-clients-per-namespace": "26" } },
    ),
    mk("KeycloakClient", {}, { counts: { clientsInNamespace: 20 } }),
  ],
  [
    "RealmClientQuotaExceeded",
    mk("KeycloakClient", {}, { counts: { clientsInRealm: 99 } }),
    mk("KeycloakClient", {}, { counts: { clientsInRealm: 100 } }),
  ],
  [
    "RealmSslNotRequired",
    mk("KeycloakRealm", goodRealm, { labels: prod }),
    mk("KeycloakRealm", { ...goodRealm, sslRequired: "none" }, { labels: prod }),
  ],
  [
    "RealmBruteForceProtectionDisabled",
    mk("KeycloakRealm", goodRealm, { labels: prod }),
    mk("KeycloakRealm", { ...goodRealm, bruteForceProtection: { enabled: false } }, { labels: prod }),
  ],
  [
    "RealmPasswordPolicyMissingLength",
    mk("KeycloakRealm", goodRealm, { labels: prod }),
    mk("KeycloakRealm", { ...goodRealm, passwordPolicy: "digits(1)" }, { labels: prod }),
  ],
  [
    "RealmPasswordTooShort",
    mk("KeycloakRealm", { ...goodRealm, passwordPolicy: "length(20) and length(12)" }, { labels: prod }),
    mk("KeycloakRealm", { ...goodRealm, passwordPolicy: "length(11)" }, { labels: prod }),
  ],
  [
    "IdentityProviderEndpointNotHttps",
    mk(
      "KeycloakRealm",
      {
        ...goodRealm,
        identityProviders: [{ alias: "corp", config: { tokenUrl: "https://id.example/token" } }],
      },
      { labels: prod },
    ),
    mk(
      "KeycloakRealm",
      {
        ...goodRealm,
        identityProviders: [{ alias: "corp", config: { tokenUrl: "http://id.example/token" } }],
      },
      { labels: prod },
    ),
  ],
  [
    "RealmEventsDisabled",
    mk("KeycloakRealm", goodRealm, { labels: prod }),
    mk("KeycloakRealm", { ...goodRealm, events: { enabled: true, expirationSeconds: 60 } }, { labels: prod }),
  ],
  [
    "RealmEventsNeverExpire",
    mk("KeycloakRealm", goodRealm, { labels: prod }),
    mk(
      "KeycloakRealm",
      { ...goodRealm, events: { ...goodRealm.events, expirationSeconds: 0 } },
      { labels: prod },
    ),
  ],
  [
    "DefaultGroupNotDefined",
    mk("KeycloakRealm", { groups: [{ name: "staff" }], defaultGroups: ["/staff"] }),
    mk("KeycloakRealm", { groups: [{ name: "staff" }], defaultGroups: ["/staff/x"] }),
  ],
  [
    "AdminPermissionsNotAllowed",
    mk("KeycloakRealm", { adminPermissionsEnabled: false }),
    mk("KeycloakRealm", { adminPermissionsEnabled: true }),
  ],
  [
    "ClientRedirectUriWildcard",
    mk("KeycloakClient", goodClient, { labels: prod }),
    mk("KeycloakClient", { ...goodClient, redirectUris: ["https://a.example.com/*"] }, { labels: prod }),
  ],
  [
    "ClientRedirectUriPlainHttp",
    mk("KeycloakClient", { ...goodClient, redirectUris: ["http://127.0.0.1:8080/cb"] }, { labels: prod }),
    mk("KeycloakClient", { ...goodClient, redirectUris: ["http://a.example.com/cb"] }, { labels: prod }),
  ],
  [
    "ClientImplicitFlowEnabled",
    mk("KeycloakClient", { ...goodClient, implicitFlowEnabled: false }, { labels: prod }),
    mk("KeycloakClient", { ...goodClient, implicitFlowEnabled: true }, { labels: prod }),
  ],
  [
    "PublicClientWithoutPkce",
    mk("KeycloakClient", goodClient, { labels: prod }),
    mk("KeycloakClient", { ...goodClient, pkceMethod: "plain" }, { labels: prod }),
  ],
  [
    "InstanceTooFewReplicas",
    mk("KeycloakInstance", goodInstance, { labels: prod }),
    mk("KeycloakInstance", { managed: { ...goodInstance.managed, replicas: 1 } }, { labels: prod }),
  ],
  [
    "InstanceDevDatabase",
    mk("KeycloakInstance", goodInstance, { labels: prod }),
    mk(
      "KeycloakInstance",
      { managed: { ...goodInstance.managed, database: { vendor: "dev-file" } } },
      { labels: prod },
    ),
  ],
  [
    "InstanceTlsMissing",
    mk("KeycloakInstance", goodInstance, { labels: prod }),
    mk("KeycloakInstance", { managed: { ...goodInstance.managed, tls: {} } }, { labels: prod }),
  ],
  [
    "InstanceImageNotPinned",
    mk("KeycloakInstance", goodInstance, { labels: prod }),
    mk(
      "KeycloakInstance",
      { managed: { ...goodInstance.managed, image: "quay.io/keycloak/keycloak:latest" } },
      { labels: prod },
    ),
  ],
  [
    "InstanceHostnameMissing",
    mk("KeycloakInstance", goodInstance, { labels: prod }),
    mk("KeycloakInstance", { managed: { ...goodInstance.managed, hostname: undefined } }, { labels: prod }),
  ],
  [
    "InstanceResourcesMissing",
    mk(
      "KeycloakInstance",
      { managed: { ...goodInstance.managed, resources: { limits: { cpu: 1, memory: "2Gi" } } } },
      { labels: prod },
    ),
    mk(
      "KeycloakInstance",
      { managed: { ...goodInstance.managed, resources: { requests: { cpu: "500m", memory: "0" } } } },
      { labels: prod },
    ),
  ],
  [
    "InstanceImageNotAllowed",
    mk("KeycloakInstance", { managed: { database: { vendor: "dev-file" } } }),
    mk("KeycloakInstance", {
      managed: { image: "quay.io/keycloak/../attacker/keycloak:26.5.2", database: { vendor: "dev-file" } },
    }),
  ],
  [
    "InstanceIngressSnippetNotAllowed",
    mk("KeycloakInstance", {
      managed: {
        database: { vendor: "dev-file" },
        ingress: {
          enabled: true,
          host: "sso",
          annotations: { "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS" },
        },
      },
    }),
    mk("KeycloakInstance", {
      managed: {
        database: { vendor: "dev-file" },
        ingress: {
          enabled: true,
          host: "sso",
          annotations: { "nginx.ingress.kubernetes.io/server-snippet": "x" },
        },
      },
    }),
  ],
  [
    "InstanceTlsVerificationDisabled",
    mk(
      "KeycloakInstance",
      { external: { url: "https://kc", insecureSkipTLSVerify: false } },
      { labels: prod },
    ),
    mk(
      "KeycloakInstance",
      { external: { url: "https://kc", insecureSkipTLSVerify: true } },
      { labels: prod },
    ),
  ],
];

describe("policies evaluated in wasm", () => {
  it.each(cases)("Given a compliant input, when checked for %s, then it is allowed", (_code, allowed) => {
    expect(engine.decide(allowed)).toEqual({ allowed: true, violations: [], warnings: [] });
  });

  it.each(cases)(
    "Given an input breaking %s, when decided, then exactly that violation denies it",
    (code, _allowed, denied) => {
      const decision = engine.decide(denied);
      expect(decision.allowed).toBe(false);
      expect(decision.violations.map((v) => v.code)).toEqual([code]);
      // Messages start with the object and never carry a Go/JS formatting artefact.
      expect(decision.violations[0]?.message).toMatch(/^Keycloak(Instance|Realm|Client) [a-z-]+\/x: /);
      expect(decision.violations[0]?.message).not.toMatch(/%!|\[object Object\]|undefined/);
    },
  );

  it("Given a delete of a non-compliant object, when decided, then it is allowed so cleanup always works", () => {
    const input = mk(
      "KeycloakRealm",
      { sslRequired: "none" },
      { ns: "team-z", labels: prod, operation: "delete" },
    );
    expect(engine.decide(input).allowed).toBe(true);
  });

  it("Given a managed instance without an image, when the policy, the CRD and the rendering pick the default, then all three pick the same image", () => {
    const rego = readFileSync(
      join(crdDirectory(), "..", "policies/authorization/managed_images.rego"),
      "utf8",
    );
    const policyDefault = /^default_managed_image := "([^"]+)"$/m.exec(rego)?.[1];
    const managedSchema =
      readCrd("KeycloakInstance").spec.versions[0]?.schema.openAPIV3Schema.properties?.spec?.properties
        ?.managed;
    const withoutImage = {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakInstance",
      metadata: { name: "kc", namespace: "iam", uid: "u" },
      spec: { managed: { database: { vendor: "dev-file" } } },
    } as KeycloakInstance;
    const rendered = renderStatefulSet(withoutImage, "h").spec?.template.spec?.containers[0]?.image;
    expect(policyDefault).toBeDefined();
    expect(managedSchema?.properties?.image?.default).toBe(policyDefault);
    expect(rendered).toBe(policyDefault);
  });

  it("Given a malformed input, when decided, then it is denied", () => {
    const decision = engine.decide({ kind: "KeycloakClient" } as unknown as PolicyInput);
    expect(decision.allowed).toBe(false);
    expect(decision.violations.map((v) => v.code)).toEqual(["MalformedPolicyInput"]);
  });
});
