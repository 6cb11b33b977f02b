// What the policy benchmarks share: the decision they measure, the pinned opa, and the floor bundle.
import type { PolicyInput } from "../src/policy/decision.js";
import { requireTool } from "../src/testenv/tools.js";
import { bundleFromRego } from "../test/unit/policyBundle.js";

/** A realistic steady-state decision: a compliant confidential client in a production namespace. */
export const input: PolicyInput = {
  operation: "create",
  kind: "KeycloakClient",
  resource: {
    apiVersion: "keycloak.kpo.dev/v1alpha1",
    kind: "KeycloakClient",
    // As the informer cache holds it: server bookkeeping included (the engine strips what policies ignore).
    metadata: {
      name: "checkout-api",
      namespace: "shop",
      uid: "6f1c2a8e-3b0d-4c1e-9a51-2f7d8e4b9c10",
      resourceVersion: "481516",
      generation: 3,
      creationTimestamp: "2026-01-12T09:30:00Z",
      labels: { "app.kubernetes.io/name": "checkout" },
      managedFields: [
        {
          manager: "argocd-controller",
          operation: "Apply",
          apiVersion: "keycloak.kpo.dev/v1alpha1",
          time: "2026-01-12T09:30:00Z",
          fieldsType: "FieldsV1",
          fieldsV1: {
            "f:metadata": { "f:labels": { "f:app.kubernetes.io/name": {} } },
            "f:spec": {
              "f:clientId": {},
              "f:publicClient": {},
              "f:realmRef": { "f:name": {}, "f:namespace": {} },
              "f:redirectUris": {},
              "f:serviceAccount": { "f:clientRoles": { "f:orders-api": {} }, "f:realmRoles": {} },
              "f:webOrigins": {},
              "f:protocolMappers": {},
              "f:secret": { "f:name": {} },
            },
          },
        },
        {
          manager: "kpo",
          operation: "Update",
          apiVersion: "keycloak.kpo.dev/v1alpha1",
          time: "2026-01-12T09:30:02Z",
          fieldsType: "FieldsV1",
          subresource: "status",
          fieldsV1: { "f:status": { "f:conditions": {}, "f:observedGeneration": {}, "f:phase": {} } },
        },
      ],
    },
    spec: {
      realmRef: { name: "shop", namespace: "platform-iam" },
      clientId: "checkout-api",
      publicClient: false,
      standardFlowEnabled: true,
      implicitFlowEnabled: false,
      serviceAccountsEnabled: true,
      redirectUris: [
        "https://shop.example.com/checkout/callback",
        "https://shop.example.com/account/callback",
      ],
      webOrigins: ["https://shop.example.com"],
      serviceAccount: { realmRoles: ["offline_access"], clientRoles: { "orders-api": ["orders:write"] } },
      protocolMappers: [
        {
          name: "audience",
          protocol: "openid-connect",
          protocolMapper: "oidc-audience-mapper",
          config: { "included.client.audience": "orders-api", "access.token.claim": "true" },
        },
      ],
      secret: { name: "checkout-api-oidc" },
    },
  },
  namespace: {
    name: "shop",
    labels: { "kpo.dev/environment": "production", "kubernetes.io/metadata.name": "shop", team: "checkout" },
    annotations: {},
  },
  target: {
    realm: {
      metadata: { name: "shop", namespace: "platform-iam" },
      spec: {
        realmName: "shop",
        instanceRef: { name: "keycloak", namespace: "iam" },
        clientGrants: {
          namespaces: ["shop", "payments"],
          namespaceSelector: { matchLabels: { "kpo.dev/shop-clients": "true" } },
        },
      },
    },
    instance: {
      metadata: { name: "keycloak", namespace: "iam" },
      spec: { realmGrants: { namespaces: ["platform-iam"] } },
    },
  },
  counts: { clientsInNamespace: 6, clientsInRealm: 41 },
  environment: {},
};

/** The pinned opa (scripts/tools.sh, or KPO_OPA). */
export const opaBinary = (): string => requireTool("KPO_OPA");

/**
 * The engine's floor: a bundle whose decision only reads input.kind, so what is left is compaction,
 * JSON in and out of wasm, metrics and checks. The policies' own cost is the difference. Built like
 * the test bundles, against the same capabilities as the real one.
 */
export const buildFloorBundle = (): string =>
  bundleFromRego(
    'package kpo\n\ndecision := {"allowed": true, "violations": [], "warnings": []} if input.kind\n',
  );
