import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { KeycloakClientSpec } from "../api/index.js";
import { ownerAttributes } from "../keycloak/ownership.js";
import { desiredAuthorization } from "../resources/authorizationRepresentation.js";
import { desiredClient } from "../resources/clientRepresentation.js";
import { certificateBody, samlAttributes } from "../resources/samlClientRepresentation.js";
import { packageRoot } from "../packageRoot.js";
import { clientSpecFromRepresentation, type ClientSpecBody } from "./clientSpec.js";
import { forRealm, keycloakDefaults, type Representation } from "./defaults.js";
import { ExportReport, MASKED_SECRET } from "./report.js";
import { artifactBindingIdentifier } from "./samlSpec.js";

/**
 * Keycloak's new SAML client with the signing key pair Keycloak gives it (a throwaway pair it made,
 * test/fixtures/saml/: kept out of the captured defaults, which ship with the operator).
 */
const generatedPair = JSON.parse(
  readFileSync(join(packageRoot(), "test/fixtures/saml/generated-keypair.json"), "utf8"),
) as { certificate: string; privateKey: string };

function generatedSamlClient(): Representation {
  const client = structuredClone(keycloakDefaults.samlClient);
  client.attributes = {
    ...(client.attributes as Record<string, string>),
    "saml.signing.certificate": generatedPair.certificate,
    "saml.signing.private.key": generatedPair.privateKey,
  };
  return client;
}

const realmName = "retail";
const generatedSecret = "generated-client-secret-value";
const builtinRealm = forRealm(keycloakDefaults.realm, realmName);

/** A realm as a full export has it: Keycloak's new realm plus what the specs below refer to. */
function realmFixture(): Representation {
  const scopes = (builtinRealm.clientScopes ?? []) as Representation[];
  return {
    realm: realmName,
    defaultRole: builtinRealm.defaultRole,
    defaultDefaultClientScopes: [...(builtinRealm.defaultDefaultClientScopes as string[]), "loyalty"],
    defaultOptionalClientScopes: builtinRealm.defaultOptionalClientScopes,
    clientScopes: [...scopes, { name: "loyalty", protocol: "openid-connect" }],
    defaultGroups: ["/customers"],
    authenticationFlows: [
      { id: "flow-1", alias: "browser-mfa" },
      { id: "flow-2", alias: "direct-grant-otp" },
    ],
    roles: { realm: [], client: {} },
    users: [],
  };
}

const owner = { uid: "uid-1", namespace: "webshop", name: "web" };

/**
 * The client as Keycloak stores it after the operator applied `spec` to a new realm: Keycloak's new
 * client of the protocol, the operator's writes over it (desiredClient), and what Keycloak adds
 * itself (flow ids for aliases, uma_protection, the service account with the default role and
 * groups, service_account scope, a generated secret), in the shape of a full realm export.
 */
function stored(spec: KeycloakClientSpec, realm: Representation): Representation {
  const desired = desiredClient(spec);
  const saml = spec.protocol === "saml";
  const fresh = structuredClone(
    forRealm(saml ? keycloakDefaults.samlClient : keycloakDefaults.oidcClient, realmName),
  );
  const { authenticationFlowBindingOverrides: _o, ...settings } = desired.client;
  const client: Representation = {
    ...fresh,
    id: "client-uuid",
    ...settings,
    protocol: saml ? "saml" : "openid-connect",
    attributes: {
      ...(fresh.attributes as Record<string, string>),
      ...desired.client.attributes,
      ...ownerAttributes(owner),
      // Keycloak derives it from the clientId when it makes a SAML client.
      ...(saml ? { "saml.artifact.binding.identifier": artifactBindingIdentifier(spec.clientId) } : {}),
    },
  };
  const flows = realm.authenticationFlows as Representation[];
  if (desired.authenticationFlowBindingOverrides)
    client.authenticationFlowBindingOverrides = Object.fromEntries(
      Object.entries(desired.authenticationFlowBindingOverrides).map(([k, alias]) => [
        k,
        flows.find((f) => f.alias === alias)?.id,
      ]),
    );
  const serviceAccount = client.serviceAccountsEnabled === true;
  client.defaultClientScopes = desired.defaultClientScopes ?? [
    ...(realm.defaultDefaultClientScopes as string[]).filter(
      (s) =>
        ((realm.clientScopes as Representation[]).find((c) => c.name === s)?.protocol ?? "openid-connect") ===
        (saml ? "saml" : "openid-connect"),
    ),
    ...(serviceAccount ? ["service_account"] : []),
  ];
  if (desired.optionalClientScopes) client.optionalClientScopes = desired.optionalClientScopes;
  if (desired.protocolMappers)
    client.protocolMappers = desired.protocolMappers.map((m, i) => ({
      id: `mapper-${i}`,
      ...m,
      consentRequired: false,
    }));
  if (!saml && !client.publicClient && !client.bearerOnly) client.secret = generatedSecret;
  const authz = spec.authorization !== undefined;
  const roles = (realm.roles as { client: Record<string, Representation[]> }).client;
  const clientRoles: Representation[] = (desired.roles ?? []).map((r) => ({
    id: `role-${r.name}`,
    ...r,
    composite: r.composites !== undefined,
    clientRole: true,
    containerId: "client-uuid",
    attributes: { "kpo.dev/managed": ["true"], "kpo.dev/owner-uid": [owner.uid] },
  }));
  if (authz) clientRoles.push({ name: "uma_protection", composite: false, clientRole: true, attributes: {} });
  if (clientRoles.length > 0) roles[spec.clientId] = clientRoles;
  if (spec.authorization) client.authorizationSettings = exportedAuthorization(spec.authorization);
  if (serviceAccount) {
    const granted = desired.serviceAccountRoles ?? {};
    const clientGrants: Record<string, string[]> = { ...(granted.client ?? {}) };
    if (authz) clientGrants[spec.clientId] = [...(clientGrants[spec.clientId] ?? []), "uma_protection"];
    (realm.users as Representation[]).push({
      id: "sa-uuid",
      username: `service-account-${spec.clientId}`,
      enabled: true,
      serviceAccountClientId: spec.clientId,
      realmRoles: [`default-roles-${realmName}`, ...(granted.realm ?? [])],
      clientRoles: clientGrants,
      groups: [...(realm.defaultGroups as string[]), ...(desired.serviceAccountGroups ?? [])],
    });
  }
  return client;
}

const timeKeys: Record<string, string> = { notBefore: "nbf", notOnOrAfter: "noa" };

/** The resource server as Keycloak's export writes it: names, JSON-string config, defaults filled in. */
function exportedAuthorization(spec: NonNullable<KeycloakClientSpec["authorization"]>): Representation {
  const desired = desiredAuthorization(spec);
  const policy = (p: (typeof desired.policies)[number]): Representation => {
    const { name, description, logic, decisionStrategy, ...rest } = p.body;
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(rest)) {
      if (key === "policies") config.applyPolicies = JSON.stringify(value);
      else if (key === "resourceType") config.defaultResourceType = String(value);
      else if (Array.isArray(value)) config[key] = JSON.stringify(value);
      else if (value !== undefined)
        config[timeKeys[key] ?? key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return {
      id: `policy-${String(name)}`,
      name,
      ...(description === undefined ? {} : { description }),
      type: p.type,
      logic: logic ?? "POSITIVE",
      decisionStrategy: decisionStrategy ?? "UNANIMOUS",
      config,
    };
  };
  return {
    allowRemoteResourceManagement: desired.settings.allowRemoteResourceManagement ?? false,
    policyEnforcementMode: desired.settings.policyEnforcementMode ?? "ENFORCING",
    decisionStrategy: desired.settings.decisionStrategy ?? "UNANIMOUS",
    resources: desired.resources.map((r) => ({
      _id: `resource-${r.name}`,
      ...r,
      scopes: r.scopes.map((name) => ({ name })),
      ownerManagedAccess: r.ownerManagedAccess ?? false,
      attributes: { ...r.attributes, "kpo.dev/managed": ["true"], "kpo.dev/owner-uid": [owner.uid] },
    })),
    policies: [...desired.policies, ...desired.aggregates, ...desired.permissions].map(policy),
    scopes: desired.scopes.map((s) => ({ id: `scope-${s.name}`, ...s })),
    decisionStrategyDefault: undefined,
  };
}

/**
 * The spec the export can give back for `spec`. Normalised only where it must be: fields that are
 * not Keycloak's (realmRef, adopt, deletionPolicy, secret, roleGrants); values equal to what a new
 * client gets anyway, which the export cannot tell from an unset field; certificates, which Keycloak
 * keeps as their base64 body (compared by body); and allowRemoteResourceManagement, which the
 * export always writes because spec.authorization replaces the whole resource server.
 */
function expectedBack(spec: KeycloakClientSpec): ClientSpecBody {
  const {
    realmRef: _r,
    adopt: _a,
    deletionPolicy: _d,
    secret: _s,
    roleGrants: _g,
    ...body
  } = structuredClone(spec);
  const saml = spec.protocol === "saml";
  const fresh = saml ? keycloakDefaults.samlClient : keycloakDefaults.oidcClient;
  const out = body as Record<string, unknown>;
  for (const [key, value] of Object.entries(out))
    if (JSON.stringify(value) === JSON.stringify(fresh[key]) || (Array.isArray(value) && value.length === 0))
      delete out[key];
  // The CRD defaults protocol to openid-connect, so a SAML client must say saml.
  if (saml) body.protocol = "saml";
  else delete body.protocol;
  if (body.saml) {
    const freshAttributes = fresh.attributes as Record<string, string>;
    const kept: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(body.saml)) {
      const attrs = samlAttributes({ [field]: value });
      if (Object.entries(attrs).every(([k, v]) => freshAttributes[k] === v)) continue;
      kept[field] = field.endsWith("Certificate") ? certificateBody(value as string) : value;
    }
    body.saml = kept;
    if (Object.keys(kept).length === 0) delete body.saml;
  }
  for (const m of body.protocolMappers ?? []) if (m.protocol === "openid-connect") delete m.protocol;
  if (body.authorization) {
    const a = body.authorization;
    if (a.policyEnforcementMode === "ENFORCING") delete a.policyEnforcementMode;
    if (a.decisionStrategy === "UNANIMOUS") delete a.decisionStrategy;
    a.allowRemoteResourceManagement ??= false;
    for (const p of [...(a.policies ?? []), ...(a.permissions ?? [])]) {
      if (p.decisionStrategy === "UNANIMOUS") delete p.decisionStrategy;
      if ("logic" in p && p.logic === "POSITIVE") delete p.logic;
    }
    // Keycloak keeps a policy's lists as sets; the forward mapping sorts them.
    for (const p of a.policies ?? []) {
      p.roles?.sort((x, y) => x.role.localeCompare(y.role));
      p.groups?.sort((x, y) => x.path.localeCompare(y.path));
      p.clients?.sort();
      p.users?.sort();
      p.policies?.sort();
      for (const r of p.roles ?? []) if (r.required === false) delete r.required;
      for (const g of p.groups ?? []) if (g.extendChildren === false) delete g.extendChildren;
    }
    for (const p of a.permissions ?? []) {
      p.resources?.sort();
      p.scopes?.sort();
      p.policies.sort();
    }
    for (const r of a.resources ?? []) {
      r.uris?.sort();
      r.scopes?.sort();
      if (r.ownerManagedAccess === false) delete r.ownerManagedAccess;
    }
  }
  return body;
}

function exportBack(client: Representation, realm: Representation, report = new ExportReport()) {
  const spec = clientSpecFromRepresentation(client, realm, report);
  if (spec?.saml?.signingCertificate)
    spec.saml.signingCertificate = certificateBody(spec.saml.signingCertificate);
  if (spec?.saml?.encryptionCertificate)
    spec.saml.encryptionCertificate = certificateBody(spec.saml.encryptionCertificate);
  return { spec, report };
}

function exampleClients(): { file: string; spec: KeycloakClientSpec }[] {
  const root = join(packageRoot(), "examples");
  const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith(".yaml"));
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(root, file), "utf8"))
      .map((d) => d.toJS() as { kind?: string; spec?: KeycloakClientSpec } | null)
      .filter((d) => d?.kind === "KeycloakClient")
      .map((d) => ({ file, spec: d?.spec as KeycloakClientSpec })),
  );
}

const realmRef = { name: "retail" };
const pem = (body: string) => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;

const richSpecs: Record<string, KeycloakClientSpec> = {
  "a confidential OIDC client with every setting": {
    realmRef,
    clientId: "web",
    name: "Web",
    description: "The web shop",
    enabled: false,
    consentRequired: true,
    implicitFlowEnabled: true,
    directAccessGrantsEnabled: true,
    standardFlowEnabled: false,
    redirectUris: ["https://shop.example.com/*"],
    webOrigins: ["+"],
    postLogoutRedirectUris: ["https://shop.example.com/", "https://shop.example.com/bye"],
    rootUrl: "https://shop.example.com",
    baseUrl: "/home",
    adminUrl: "https://shop.example.com/admin",
    pkceMethod: "S256",
    clientAuthenticatorType: "client-jwt",
    jwksUrl: "https://shop.example.com/jwks",
    useJwksUrl: true,
    fullScopeAllowed: false,
    frontchannelLogout: true,
    frontchannelLogoutUrl: "https://shop.example.com/fc-logout",
    backchannelLogout: {
      url: "https://shop.example.com/logout",
      sessionRequired: true,
      revokeOfflineTokens: true,
    },
    alwaysDisplayInConsole: true,
    surrogateAuthRequired: true,
    nodeReRegistrationTimeout: 60,
    attributes: { "display.on.consent.screen": "true", "consent.screen.text": "Shop" },
    tokens: {
      accessTokenLifespanSeconds: 300,
      clientSessionIdleTimeoutSeconds: 600,
      clientSessionMaxLifespanSeconds: 3600,
      clientOfflineSessionIdleTimeoutSeconds: 7200,
      clientOfflineSessionMaxLifespanSeconds: 86400,
    },
    authenticationFlowBindingOverrides: { browser: "browser-mfa", directGrant: "direct-grant-otp" },
    defaultClientScopes: ["profile", "email", "loyalty"],
    optionalClientScopes: ["offline_access"],
    protocolMappers: [
      {
        name: "department",
        protocolMapper: "oidc-usermodel-attribute-mapper",
        config: { "user.attribute": "department", "claim.name": "department", "access.token.claim": "true" },
      },
      { name: "audience", protocol: "openid-connect", protocolMapper: "oidc-audience-mapper" },
    ],
    roles: [
      { name: "orders:read", description: "Read orders" },
      {
        name: "orders:admin",
        composites: { realm: ["staff"], client: { web: ["orders:read"], billing: ["pay"] } },
      },
    ],
  },
  "a resource server with a service account": {
    realmRef,
    clientId: "orders-api",
    publicClient: false,
    standardFlowEnabled: false,
    serviceAccountsEnabled: true,
    clientAuthenticatorType: "client-x509",
    x509SubjectDn: "CN=orders, O=Example",
    serviceAccount: {
      groups: ["/staff/reporting"],
      realmRoles: ["reporter"],
      clientRoles: { billing: ["read", "invoice"] },
    },
    authorization: {
      policyEnforcementMode: "PERMISSIVE",
      decisionStrategy: "AFFIRMATIVE",
      allowRemoteResourceManagement: true,
      scopes: [{ name: "view" }, { name: "edit", displayName: "Edit orders", iconUri: "https://icons/edit" }],
      resources: [
        {
          name: "orders",
          displayName: "Orders",
          type: "urn:orders-api:resources:order",
          uris: ["/orders/*", "/orders"],
          scopes: ["view", "edit"],
          ownerManagedAccess: true,
          attributes: { tier: ["gold", "silver"] },
        },
        { name: "reports" },
      ],
      policies: [
        {
          name: "support",
          type: "role",
          description: "Support staff",
          roles: [{ role: "support", required: true }, { role: "billing/read" }],
        },
        {
          name: "ops",
          type: "group",
          logic: "NEGATIVE",
          groups: [{ path: "/staff/ops", extendChildren: true }, { path: "/staff" }],
        },
        { name: "gateway", type: "client", clients: ["gateway"] },
        { name: "alice", type: "user", users: ["alice"] },
        {
          name: "office-hours",
          type: "time",
          time: { hour: 8, hourEnd: 18, notBefore: "2026-01-01 00:00:00" },
        },
        { name: "either", type: "aggregate", decisionStrategy: "AFFIRMATIVE", policies: ["support", "ops"] },
      ],
      permissions: [
        {
          name: "view-orders",
          type: "scope",
          resources: ["orders"],
          scopes: ["view"],
          policies: ["support"],
          decisionStrategy: "CONSENSUS",
        },
        {
          name: "all-orders",
          type: "resource",
          description: "Every order",
          resourceType: "urn:orders-api:resources:order",
          policies: ["either"],
        },
        {
          name: "reports",
          type: "resource",
          resources: ["reports"],
          policies: ["alice", "gateway", "office-hours"],
        },
      ],
    },
  },
  "a public client": {
    realmRef,
    clientId: "spa",
    publicClient: true,
    redirectUris: ["http://localhost:3000/*"],
    webOrigins: ["http://localhost:3000"],
    pkceMethod: "S256",
  },
  "a bearer-only client": { realmRef, clientId: "api", bearerOnly: true, roles: [{ name: "admin" }] },
  "a SAML client with every setting": {
    realmRef,
    clientId: "https://sp.example.com/saml",
    protocol: "saml",
    name: "Reports",
    frontchannelLogout: false,
    redirectUris: ["https://sp.example.com/*"],
    rootUrl: "https://sp.example.com",
    saml: {
      signDocuments: false,
      signAssertions: true,
      signatureAlgorithm: "RSA_SHA512",
      canonicalization: "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
      clientSignatureRequired: true,
      signingCertificate: pem("MIIBspSigningCertificateBody"),
      encryptAssertions: true,
      encryptionCertificate: pem("MIIBspEncryptionCertificateBody"),
      nameIdFormat: "persistent",
      forceNameIdFormat: true,
      assertionConsumerServiceUrls: {
        post: "https://sp.example.com/acs",
        redirect: "https://sp.example.com/acs-r",
      },
      singleLogoutServiceUrls: {
        post: "https://sp.example.com/slo",
        redirect: "https://sp.example.com/slo-r",
      },
      forcePostBinding: false,
      idpInitiatedSsoUrlName: "reports",
    },
    defaultClientScopes: ["role_list"],
    protocolMappers: [
      {
        name: "email",
        protocol: "saml",
        protocolMapper: "saml-user-property-mapper",
        config: { "user.attribute": "email" },
      },
    ],
  },
};

describe("clientSpecFromRepresentation", () => {
  const cases = [
    ...exampleClients().map(({ file, spec }) => [`examples/${file}: ${spec.clientId}`, spec] as const),
    ...Object.entries(richSpecs),
  ];

  it.each(cases)("Given %s as the operator stores it, when exported, then the spec comes back", (_, spec) => {
    const realm = realmFixture();
    const client = stored(spec, realm);
    const { spec: back, report } = exportBack(client, realm);
    expect(back).toEqual(expectedBack(spec));
    // Reported are only what no spec carries: the operator's marker, the generated secret, and
    // the private key of the key pair Keycloak gave the SAML client.
    const base = `$.clients[?(@.clientId=='${spec.clientId}')]`;
    const allowed = [
      `${base}.attributes['kpo.dev/owner-uid']`,
      `${base}.secret`,
      `${base}.attributes['saml.signing.private.key']`,
      ...(spec.saml?.signingCertificate ? [] : [`${base}.attributes['saml.signing.certificate']`]),
    ];
    expect(report.unexpressed.map((u) => u.path).filter((p) => !allowed.includes(p))).toEqual([]);
    expect(report.secrets).toEqual([]);
  });

  it("Given the examples, when listed, then there are KeycloakClients to test (the glob still matches)", () => {
    expect(exampleClients().length).toBeGreaterThanOrEqual(5);
  });

  it("Given Keycloak's new OIDC client, when exported, then the spec names only the client and the secret is reported, not copied", () => {
    const realm = structuredClone(builtinRealm);
    const client = {
      ...structuredClone(keycloakDefaults.oidcClient),
      clientId: "fresh",
      id: "x",
      secret: generatedSecret,
    };
    const { spec, report } = exportBack(client, realm);
    expect(spec).toEqual({ clientId: "fresh" });
    expect(report.unexpressed.map((u) => u.path)).toEqual(["$.clients[?(@.clientId=='fresh')].secret"]);
    expect(report.unexpressed[0]?.reason).toContain("adopts this client");
    expect(report.secrets).toEqual([]);
  });

  it("Given Keycloak's new SAML client, when exported, then only the protocol is set and its generated key pair is reported", () => {
    const realm = structuredClone(builtinRealm);
    const client = { ...generatedSamlClient(), clientId: "probe-saml" };
    const { spec, report } = exportBack(client, realm);
    expect(spec).toEqual({ clientId: "probe-saml", protocol: "saml" });
    expect(report.unexpressed.map((u) => u.path)).toEqual([
      "$.clients[?(@.clientId=='probe-saml')].attributes['saml.signing.private.key']",
      "$.clients[?(@.clientId=='probe-saml')].attributes['saml.signing.certificate']",
    ]);
  });

  it("Given a masked secret of a partial export, when exported, then it is reported like a real one and never copied", () => {
    const client = {
      ...structuredClone(keycloakDefaults.oidcClient),
      clientId: "masked",
      secret: MASKED_SECRET,
    };
    const { spec, report } = exportBack(client, structuredClone(builtinRealm));
    expect(spec).toEqual({ clientId: "masked" });
    expect(report.unexpressed.map((u) => u.path)).toEqual(["$.clients[?(@.clientId=='masked')].secret"]);
  });

  it("Given settings the CRD has no field for, when exported, then each is reported once with its path and nothing else is lost", () => {
    const realm = structuredClone(builtinRealm);
    (realm.roles as { client: Record<string, unknown> }).client.odd = [
      { name: "r", composite: false, attributes: { colour: ["red"] } },
    ];
    const client: Representation = {
      ...structuredClone(keycloakDefaults.oidcClient),
      clientId: "odd",
      notBefore: 1700000000,
      defaultRoles: ["legacy"],
      directGrantsOnly: true,
      publicClient: true,
      clientAuthenticatorType: "client-jwt",
      authenticationFlowBindingOverrides: { browser: "unknown-flow-id", docker: "flow-1" },
      attributes: {
        ...(keycloakDefaults.oidcClient.attributes as Record<string, string>),
        "saml.assertion.lifespan": "60",
        "pkce.code.challenge.method": "S384",
        "access.token.lifespan": "-1",
        "x509.subjectdn": "CN=odd",
        "client.secret.rotated": "old-secret-value",
        "kpo.dev/owner-uid": "uid-9",
        "kpo.dev/owner-namespace": "other",
        "kpo.dev/owner-name": "odd",
        "kpo.dev/service-account-roles": "[]",
        "tls.client.certificate.bound.access.tokens": "true",
      },
      protocolMappers: [
        { id: "m1", name: "saml-one", protocol: "saml", protocolMapper: "saml-role-list-mapper", config: {} },
        {
          id: "m2",
          name: "ok",
          protocol: "openid-connect",
          protocolMapper: "oidc-audience-mapper",
          config: {},
          consentText: "x",
        },
      ],
    };
    const report = new ExportReport();
    const spec = clientSpecFromRepresentation(client, realm, report);
    const base = "$.clients[?(@.clientId=='odd')]";
    expect(report.unexpressed.map((u) => u.path).sort()).toEqual(
      [
        `${base}.clientAuthenticatorType`,
        `${base}.attributes['kpo.dev/owner-uid']`,
        `${base}.attributes['saml.assertion.lifespan']`,
        `${base}.attributes['pkce.code.challenge.method']`,
        `${base}.attributes['access.token.lifespan']`,
        `${base}.attributes['x509.subjectdn']`,
        `${base}.attributes['client.secret.rotated']`,
        `${base}.authenticationFlowBindingOverrides.browser`,
        `${base}.authenticationFlowBindingOverrides.docker`,
        `${base}.protocolMappers[?(@.name=='saml-one')]`,
        `${base}.protocolMappers[?(@.name=='ok')].consentText`,
        `$.roles.client.odd[?(@.name=='r')].attributes.colour`,
        `${base}.notBefore`,
        `${base}.defaultRoles`,
        `${base}.directGrantsOnly`,
      ].sort(),
    );
    expect(report.unexpressed.find((u) => u.path === `${base}.notBefore`)?.reason).toContain(
      "revocation action",
    );
    expect(
      report.unexpressed.find((u) => u.path === `${base}.attributes['kpo.dev/owner-uid']`)?.reason,
    ).toContain("KeycloakClient other/odd");
    expect(spec).toEqual({
      clientId: "odd",
      publicClient: true,
      attributes: { "tls.client.certificate.bound.access.tokens": "true" },
      protocolMappers: [{ name: "ok", protocolMapper: "oidc-audience-mapper" }],
      roles: [{ name: "r" }],
    });
  });

  it("Given a SAML client with OIDC settings and SAML attributes spec.saml lacks, when exported, then they are reported", () => {
    const client: Representation = {
      ...generatedSamlClient(),
      clientId: "sp",
      publicClient: true,
      webOrigins: ["+"],
      attributes: {
        ...(generatedSamlClient().attributes as Record<string, string>),
        "saml.allow.ecp.flow": "true",
        "saml.signature.algorithm": "HMAC_SHA1",
        "saml.artifact.binding.identifier": "not-derived",
        "access.token.lifespan": "60",
      },
    };
    const { spec, report } = exportBack(client, realmFixture());
    expect(spec).toEqual({ clientId: "sp", protocol: "saml" });
    const base = "$.clients[?(@.clientId=='sp')]";
    expect(report.unexpressed.map((u) => u.path).sort()).toEqual(
      [
        `${base}.publicClient`,
        `${base}.webOrigins`,
        `${base}.attributes['saml.signing.private.key']`,
        `${base}.attributes['saml.signing.certificate']`,
        `${base}.attributes['saml.allow.ecp.flow']`,
        `${base}.attributes['saml.signature.algorithm']`,
        `${base}.attributes['saml.artifact.binding.identifier']`,
        `${base}.attributes['access.token.lifespan']`,
      ].sort(),
    );
  });

  it("Given a SAML client with the web origins Keycloak derived from its redirect URIs, when exported, then they are left out, and other ones are reported", () => {
    const saml = (webOrigins: string[]) =>
      exportBack(
        {
          ...generatedSamlClient(),
          clientId: "sp",
          redirectUris: ["https://a.example.com/*", "https://a.example.com:8443/cb", "/relative"],
          webOrigins,
        },
        realmFixture(),
      );
    const path = "$.clients[?(@.clientId=='sp')].webOrigins";
    const derived = saml(["https://a.example.com:8443", "https://a.example.com"]);
    expect(derived.spec?.webOrigins).toBeUndefined();
    expect(derived.report.unexpressed.map((u) => u.path)).not.toContain(path);
    expect(saml(["https://b.example.com"]).report.unexpressed.map((u) => u.path)).toContain(path);
  });

  it("Given encryption with a key pair Keycloak generated, when exported, then the requirement is reported with the pair", () => {
    const attributes = generatedSamlClient().attributes as Record<string, string>;
    const client: Representation = {
      ...generatedSamlClient(),
      clientId: "enc",
      attributes: {
        ...attributes,
        "saml.artifact.binding.identifier": artifactBindingIdentifier("enc"),
        "saml.encrypt": "true",
        "saml.encryption.certificate": attributes["saml.signing.certificate"],
        "saml.encryption.private.key": attributes["saml.signing.private.key"],
      },
    };
    const { spec, report } = exportBack(client, structuredClone(builtinRealm));
    expect(spec).toEqual({ clientId: "enc", protocol: "saml" });
    const base = "$.clients[?(@.clientId=='enc')].attributes";
    expect(report.unexpressed.map((u) => u.path)).toEqual([
      `${base}['saml.signing.private.key']`,
      `${base}['saml.signing.certificate']`,
      `${base}['saml.encryption.private.key']`,
      `${base}['saml.encryption.certificate']`,
      `${base}['saml.encrypt']`,
    ]);
  });

  it("Given authorization settings the CRD cannot hold, when exported, then they are reported with their paths", () => {
    const client: Representation = {
      ...structuredClone(keycloakDefaults.oidcClient),
      clientId: "rs",
      serviceAccountsEnabled: true,
      authorizationServicesEnabled: true,
      authorizationSettings: {
        allowRemoteResourceManagement: true,
        policyEnforcementMode: "ENFORCING",
        resources: [{ name: "Default Resource", uris: ["/*"], owner: { name: "alice" }, icon_uri: "x" }],
        policies: [
          { name: "Default Policy", type: "js", config: { code: "$evaluation.grant();" } },
          {
            name: "p",
            type: "role",
            decisionStrategy: "AFFIRMATIVE",
            config: { roles: '[{"id":"a","required":false}]', extra: "1" },
          },
          {
            name: "perm",
            type: "resource",
            logic: "NEGATIVE",
            config: { resources: '["Default Resource"]', applyPolicies: '["p"]' },
          },
        ],
        scopes: [],
      },
    };
    const { spec, report } = exportBack(client, realmFixture());
    const base = "$.clients[?(@.clientId=='rs')].authorizationSettings";
    expect(report.unexpressed.map((u) => u.path).sort()).toEqual(
      [
        `${base}.resources[?(@.name=='Default Resource')].owner`,
        `${base}.resources[?(@.name=='Default Resource')].icon_uri`,
        `${base}.policies[?(@.name=='Default Policy')]`,
        `${base}.policies[?(@.name=='p')].decisionStrategy`,
        `${base}.policies[?(@.name=='p')].config.extra`,
        `${base}.policies[?(@.name=='perm')].logic`,
      ].sort(),
    );
    expect(spec?.authorization).toEqual({
      allowRemoteResourceManagement: true,
      resources: [{ name: "Default Resource", uris: ["/*"] }],
      policies: [{ name: "p", type: "role", roles: [{ role: "a" }] }],
      permissions: [{ name: "perm", type: "resource", resources: ["Default Resource"], policies: ["p"] }],
    });
  });

  it("Given a service account without the realm's default role and group, when exported, then both are reported", () => {
    const realm = realmFixture();
    (realm.users as Representation[]).push({
      username: "service-account-job",
      serviceAccountClientId: "job",
      realmRoles: ["reporter"],
      groups: [],
    });
    const client = {
      ...structuredClone(keycloakDefaults.oidcClient),
      clientId: "job",
      serviceAccountsEnabled: true,
      defaultClientScopes: [
        ...(realm.defaultDefaultClientScopes as string[]).filter(
          (s) => !["role_list", "saml_organization"].includes(s),
        ),
        "service_account",
      ],
    };
    const { spec, report } = exportBack(client, realm);
    expect(spec).toEqual({
      clientId: "job",
      serviceAccountsEnabled: true,
      serviceAccount: { realmRoles: ["reporter"] },
    });
    expect(report.unexpressed.map((u) => u.path)).toEqual([
      "$.users[?(@.username=='service-account-job')].realmRoles",
      "$.users[?(@.username=='service-account-job')].groups",
    ]);
  });

  it("Given service-account roles read from a live realm, when exported, then they are used instead of the realm's users", () => {
    const client = {
      ...structuredClone(keycloakDefaults.oidcClient),
      clientId: "live",
      serviceAccountsEnabled: true,
    };
    const spec = clientSpecFromRepresentation(client, { realm: realmName }, new ExportReport(), {
      serviceAccountRoles: {
        realm: [`default-roles-${realmName}`, "reader"],
        client: { api: ["call"], empty: [] },
      },
    });
    expect(spec?.serviceAccount).toEqual({ realmRoles: ["reader"], clientRoles: { api: ["call"] } });
  });

  it("Given Keycloak's own clients, when exported, then none becomes a spec and only a changed one is reported", () => {
    const report = new ExportReport();
    for (const builtin of builtinRealm.clients as Representation[])
      expect(clientSpecFromRepresentation(structuredClone(builtin), realmFixture(), report)).toBeUndefined();
    expect(report.unexpressed).toEqual([]);
    const account = structuredClone(
      (builtinRealm.clients as Representation[]).find((c) => c.clientId === "account"),
    );
    (account as Representation).redirectUris = ["https://elsewhere/*"];
    expect(clientSpecFromRepresentation(account as Representation, realmFixture(), report)).toBeUndefined();
    expect(report.unexpressed.map((u) => u.path)).toEqual([
      "$.clients[?(@.clientId=='account')].redirectUris",
    ]);
  });

  it("Given clients with secrets and private keys, when exported, then no secret value is in the spec or the report's messages", () => {
    const secrets = [
      generatedSecret,
      "old-secret-value",
      String(
        keycloakDefaults.samlClient.attributes &&
          (keycloakDefaults.samlClient.attributes as Record<string, string>)["saml.signing.private.key"],
      ),
    ];
    const report = new ExportReport();
    const realm = realmFixture();
    const clients = [
      stored(richSpecs["a resource server with a service account"] as KeycloakClientSpec, realm),
      {
        ...stored(richSpecs["a confidential OIDC client with every setting"] as KeycloakClientSpec, realm),
        attributes: { "client.secret.rotated": "old-secret-value" },
      },
      { ...structuredClone(keycloakDefaults.samlClient), clientId: "sp" },
    ];
    for (const client of clients) {
      const spec = clientSpecFromRepresentation(client, realm, report);
      for (const secret of secrets) expect(JSON.stringify(spec)).not.toContain(secret);
    }
    for (const secret of secrets) expect(JSON.stringify(report)).not.toContain(secret);
  });
});
