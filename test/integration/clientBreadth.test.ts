// KeycloakClient breadth against the real operator, kube-apiserver and Keycloak: a SAML client
// (its SP descriptor, the realm's IdP descriptor, and a signed assertion from an IdP-initiated
// login whose signatures are verified with xml-crypto), an OIDC client authenticating with signed
// JWTs and free-form attributes, and Authorization Services whose policy evaluation permits a user
// with the role and denies one without. A resync of each writes nothing; a permission deleted by
// hand comes back. The API server refuses what the CRD's rules forbid. And, as an attacker in a
// tenant namespace with its own credentials only: making its service account a member of a group
// that holds realm-admin (through the group's parent, mapped by hand in Keycloak) is refused, and
// nothing changes.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import * as k8s from "@kubernetes/client-node";
import type KcAdminClient from "@keycloak/keycloak-admin-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KeycloakClientSpec } from "../../src/api/index.js";
import { syncClient } from "../../src/keycloak/clientSync.js";
import type { KeycloakConnection } from "../../src/keycloak/connection.js";
import { ownerOf } from "../../src/operator/realmHandler.js";
import { desiredClient } from "../../src/resources/clientRepresentation.js";
import { idpCertificate, idpInitiatedLogin, verifiedSignatures } from "./samlBrowser.js";
import {
  adminClient,
  createInstance,
  createNamespace,
  installCrds,
  kubeConfig,
  Resources,
  condition,
  requestClientCredentialsToken,
  secretValue,
  startOperatorProcess,
  tenantKubeConfig,
  type KpoObject,
  type OperatorProcess,
  adminConnection,
} from "./support.js";

const REALMS = "keycloakrealms";
const CLIENTS = "keycloakclients";
const API = "keycloak.kpo.dev/v1alpha1";

// A service provider's certificate (public, self-signed, test only).
const spCertificate = readFileSync(new URL("./fixtures/saml-sp.crt", import.meta.url), "utf8");

const suffix = randomUUID().slice(0, 6);
const realmName = `breadth-${suffix}`;
const samlClientId = `https://sp-${suffix}.example.com/metadata`;

const samlSpec = (): Partial<KeycloakClientSpec> => ({
  clientId: samlClientId,
  protocol: "saml",
  name: "Service provider",
  frontchannelLogout: true,
  redirectUris: [`https://sp-${suffix}.example.com/*`],
  saml: {
    signDocuments: true,
    signAssertions: true,
    signatureAlgorithm: "RSA_SHA256",
    canonicalization: "http://www.w3.org/2001/10/xml-exc-c14n#",
    clientSignatureRequired: true,
    signingCertificate: spCertificate,
    nameIdFormat: "email",
    forceNameIdFormat: true,
    assertionConsumerServiceUrls: { post: `https://sp-${suffix}.example.com/acs` },
    singleLogoutServiceUrls: { post: `https://sp-${suffix}.example.com/slo` },
    forcePostBinding: true,
    idpInitiatedSsoUrlName: "sp",
  },
  protocolMappers: [
    {
      name: "email",
      protocol: "saml",
      protocolMapper: "saml-user-property-mapper",
      config: { "user.attribute": "email", "attribute.name": "email", "attribute.nameformat": "Basic" },
    },
    {
      name: "roles",
      protocol: "saml",
      protocolMapper: "saml-role-list-mapper",
      config: { "attribute.name": "Role", "attribute.nameformat": "Basic", single: "false" },
    },
  ],
});

const jwtSpec = (): Partial<KeycloakClientSpec> => ({
  clientId: "jwt-app",
  publicClient: false,
  clientAuthenticatorType: "client-jwt",
  jwksUrl: "https://app.example.com/jwks.json",
  useJwksUrl: true,
  fullScopeAllowed: false,
  frontchannelLogout: false,
  backchannelLogout: {
    url: "https://app.example.com/logout",
    sessionRequired: true,
    revokeOfflineTokens: true,
  },
  alwaysDisplayInConsole: true,
  surrogateAuthRequired: false,
  nodeReRegistrationTimeout: 120,
  consentRequired: true,
  attributes: { "display.on.consent.screen": "true", "consent.screen.text": "Orders app" },
});

const authzSpec = (): Partial<KeycloakClientSpec> => ({
  clientId: "orders-api",
  publicClient: false,
  serviceAccountsEnabled: true,
  standardFlowEnabled: false,
  authorization: {
    policyEnforcementMode: "ENFORCING",
    decisionStrategy: "UNANIMOUS",
    scopes: [{ name: "view" }, { name: "edit", displayName: "Edit orders" }],
    resources: [
      {
        name: "orders",
        type: "urn:orders:resources:order",
        uris: ["/orders/*"],
        scopes: ["view", "edit"],
        attributes: { tier: ["gold"] },
      },
    ],
    policies: [
      { name: "viewers", type: "role", roles: [{ role: "orders-viewer", required: true }] },
      { name: "business-hours", type: "time", time: { hour: 0, hourEnd: 23 } },
      { name: "viewers-any-time", type: "aggregate", policies: ["viewers", "business-hours"] },
    ],
    permissions: [
      {
        name: "view-orders",
        type: "scope",
        resources: ["orders"],
        scopes: ["view"],
        policies: ["viewers-any-time"],
      },
    ],
  },
});

/** The message of the API server's Status answer to a refused write. */
function statusMessage(err: unknown): string {
  if (!(err instanceof k8s.ApiException)) return String(err);
  const body: unknown = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
  const message = (body as { message?: unknown }).message;
  return typeof message === "string" ? message : JSON.stringify(body);
}

describe("Given the operator, a realm with users, and SAML, JWT and authorization clients", () => {
  let admin: k8s.KubeConfig;
  let resources: Resources;
  let kc: KcAdminClient;
  let operator: OperatorProcess;
  let conn: KeycloakConnection;
  let team: string;
  const users: Record<string, string> = {};

  const clientCr = (name: string, spec: Partial<KeycloakClientSpec>) => ({
    apiVersion: API,
    kind: "KeycloakClient",
    metadata: { name },
    spec: { realmRef: { name: "apps" }, deletionPolicy: "Delete", ...spec } as Record<string, unknown>,
  });
  const ready = (name: string) =>
    resources.waitForStatus(CLIENTS, team, name, (o) => o.status?.phase === "Ready");
  const clientUuid = async (clientId: string) =>
    (await kc.clients.find({ realm: realmName, clientId })).find((c) => c.clientId === clientId)?.id ?? "";
  /** The sync the operator runs for this CR, run again here: its write count is the resync's. */
  const resync = async (o: KpoObject) =>
    syncClient(
      conn,
      realmName,
      desiredClient(o.spec as unknown as KeycloakClientSpec),
      ownerOf({ ...o, kind: "KeycloakClient" }),
    );

  beforeAll(async () => {
    admin = kubeConfig();
    resources = new Resources(admin);
    kc = await adminClient();
    await installCrds(admin);
    const iam = await createNamespace(admin, "iam");
    team = await createNamespace(admin, "team");
    conn = adminConnection(`${iam}/main`);
    operator = await startOperatorProcess({
      name: "breadth",
      extraArgs: ["--leader-election-namespace", iam],
    });
    await createInstance(admin, resources, iam, "main", { namespaces: [team] });
    await resources.create(REALMS, team, {
      apiVersion: API,
      kind: "KeycloakRealm",
      metadata: { name: "apps" },
      spec: {
        instanceRef: { name: "main", namespace: iam },
        realmName,
        deletionPolicy: "Delete",
        roles: [{ name: "orders-viewer" }],
      },
    });
    await resources.waitForStatus(REALMS, team, "apps", (o) => o.status?.phase === "Ready");
    // Test users, made with the admin account: alice has the role the policy checks, bob does not.
    for (const username of ["alice", "bob"]) {
      const { id } = await kc.users.create({
        realm: realmName,
        username,
        email: `${username}@example.com`,
        firstName: username,
        lastName: "Test",
        emailVerified: true,
        enabled: true,
        credentials: [{ type: "password", value: `pw-${username}-${suffix}`, temporary: false }],
      });
      users[username] = id;
    }
    const viewer = await kc.roles.findOneByName({ realm: realmName, name: "orders-viewer" });
    await kc.users.addRealmRoleMappings({
      realm: realmName,
      id: users.alice ?? "",
      roles: [{ id: viewer?.id ?? "", name: "orders-viewer" }],
    });
    await Promise.all([
      resources.create(CLIENTS, team, clientCr("sp", samlSpec())),
      resources.create(CLIENTS, team, clientCr("jwt", jwtSpec())),
      resources.create(CLIENTS, team, clientCr("orders", authzSpec())),
    ]);
    await Promise.all([ready("sp"), ready("jwt"), ready("orders")]);
  });

  afterAll(async () => {
    await operator?.stop();
    await conn?.close();
  });

  it("When the SAML client is applied, Then its SP descriptor has the ACS URL, name ID format and signing requirements", async () => {
    const id = await clientUuid(samlClientId);
    const descriptor = await fetch(
      `${inject("keycloak").url}/admin/realms/${realmName}/clients/${id}/installation/providers/saml-sp-descriptor`,
      { headers: { authorization: `Bearer ${kc.accessToken ?? ""}` } },
    ).then((r) => r.text());
    expect(descriptor).toContain(`entityID="${samlClientId}"`);
    expect(descriptor).toContain('AuthnRequestsSigned="true"');
    expect(descriptor).toContain('WantAssertionsSigned="true"');
    expect(descriptor).toMatch(
      new RegExp(
        `<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp-${suffix}.example.com/acs"`,
      ),
    );
    expect(descriptor).toContain(`Location="https://sp-${suffix}.example.com/slo"`);
    expect(descriptor).toContain(
      "<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>",
    );
    const body = spCertificate.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, "");
    expect(descriptor).toContain(`<ds:X509Certificate>${body}</ds:X509Certificate>`);
    const [client] = await kc.clients.find({ realm: realmName, clientId: samlClientId });
    expect(client?.protocol).toBe("saml");
    expect(client?.frontchannelLogout).toBe(true);
    expect(client?.attributes?.["saml.force.post.binding"]).toBe("true");
    expect(client?.attributes?.["saml_signature_canonicalization_method"]).toBe(
      "http://www.w3.org/2001/10/xml-exc-c14n#",
    );
    expect(client?.protocolMappers?.map((m) => `${m.protocol}:${m.protocolMapper}`).sort()).toEqual([
      "saml:saml-role-list-mapper",
      "saml:saml-user-property-mapper",
    ]);
  });

  it("When alice logs in IdP-initiated, Then Keycloak posts a signed response and assertion to the ACS URL that verify with the realm's certificate", async () => {
    const url = inject("keycloak").url;
    const idpDescriptor = await fetch(`${url}/realms/${realmName}/protocol/saml/descriptor`).then((r) =>
      r.text(),
    );
    expect(idpDescriptor).toContain(`entityID="${url}/realms/${realmName}"`);
    const { xml, postedTo } = await idpInitiatedLogin(url, realmName, "sp", "alice", `pw-alice-${suffix}`);
    expect(postedTo).toBe(`https://sp-${suffix}.example.com/acs`);
    expect(xml).toMatch(
      /<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@example.com<\/saml:NameID>/,
    );
    expect(xml).toContain("orders-viewer");
    const certificate = idpCertificate(idpDescriptor);
    expect(verifiedSignatures(xml, certificate).sort()).toEqual(["Assertion", "Response"]);
    // The check can fail: a changed assertion no longer verifies.
    expect(() =>
      verifiedSignatures(xml.replace("alice@example.com", "mallory@example.com"), certificate),
    ).toThrow("a signature does not verify");
  });

  it("When the client-jwt client is applied, Then its authenticator, logout settings and attributes read back", async () => {
    const [client] = await kc.clients.find({ realm: realmName, clientId: "jwt-app" });
    expect(client).toMatchObject({
      clientAuthenticatorType: "client-jwt",
      fullScopeAllowed: false,
      frontchannelLogout: false,
      alwaysDisplayInConsole: true,
      surrogateAuthRequired: false,
      nodeReRegistrationTimeout: 120,
      consentRequired: true,
    });
    expect(client?.attributes).toMatchObject({
      "jwks.url": "https://app.example.com/jwks.json",
      "use.jwks.url": "true",
      "backchannel.logout.url": "https://app.example.com/logout",
      "backchannel.logout.session.required": "true",
      "backchannel.logout.revoke.offline.tokens": "true",
      "display.on.consent.screen": "true",
      "consent.screen.text": "Orders app",
    });
  });

  it("When Keycloak evaluates the scope permission, Then it permits alice (with the role) and denies bob (without)", async () => {
    const id = await clientUuid("orders-api");
    const evaluate = (userId: string) =>
      kc.clients.evaluateResource(
        { realm: realmName, id },
        {
          userId,
          clientId: id,
          entitlements: false,
          context: { attributes: {} },
          resources: [{ name: "orders", scopes: [{ name: "view" }] }],
        },
      );
    expect((await evaluate(users.alice ?? "")).status).toBe("PERMIT");
    expect((await evaluate(users.bob ?? "")).status).toBe("DENY");
    // Keycloak's defaults (made when authorization was switched on) are gone: exactly the spec.
    const exported = await kc.clients.exportResource({ realm: realmName, id });
    expect(exported.resources?.map((r) => r.name)).toEqual(["orders"]);
    expect(exported.policies?.map((p) => p.name).sort()).toEqual([
      "business-hours",
      "view-orders",
      "viewers",
      "viewers-any-time",
    ]);
    expect(exported.resources?.[0]?.attributes?.["kpo.dev/owner-uid"]).toHaveLength(1);
  });

  it("When each client is synced again unchanged, Then nothing is written", async () => {
    for (const name of ["sp", "jwt", "orders"]) {
      const result = await resync(await resources.get(CLIENTS, team, name));
      expect({ name, writes: result.writes, changed: result.changedFields }).toEqual({
        name,
        writes: 0,
        changed: [],
      });
    }
  });

  it("When a permission is deleted by hand, Then the next sync restores it, and the one after writes nothing", async () => {
    const id = await clientUuid("orders-api");
    const [permission] = await kc.clients.findPermissions({ realm: realmName, id, name: "view-orders" });
    await kc.clients.delPolicy({ realm: realmName, id, policyId: permission?.id ?? "" });
    const cr = await resources.get(CLIENTS, team, "orders");
    await resync(cr);
    const exported = await kc.clients.exportResource({ realm: realmName, id });
    const restored = exported.policies?.find((p) => p.name === "view-orders");
    expect(restored?.type).toBe("scope");
    expect(restored?.config).toMatchObject({
      resources: '["orders"]',
      scopes: '["view"]',
      applyPolicies: '["viewers-any-time"]',
    });
    expect((await resync(cr)).writes).toBe(0);
  });

  it("When specs break the CRD's rules, Then the API server refuses each with a message that says what to fix", async () => {
    const refusal = async (name: string, spec: Partial<KeycloakClientSpec>) => {
      try {
        await resources.create(CLIENTS, team, clientCr(name, spec));
      } catch (err) {
        return statusMessage(err);
      }
      throw new Error(`${name} was accepted`);
    };
    expect(await refusal("saml-oidc", { ...samlSpec(), publicClient: true })).toContain(
      "a SAML client (spec.protocol: saml) has no OIDC settings",
    );
    expect(await refusal("oidc-saml", { clientId: "x", saml: { signDocuments: true } })).toContain(
      "spec.saml is only for SAML clients",
    );
    expect(
      await refusal("key", {
        ...samlSpec(),
        saml: {
          signingCertificate: `${spCertificate}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----`,
        },
      }),
    ).toContain("must not contain a private key");
    expect(
      await refusal("marker", { clientId: "y", attributes: { "kpo.dev/owner-uid": "someone" } }),
    ).toContain("spec.attributes may not set keys under kpo.dev/");
    expect(await refusal("typed", { clientId: "y", attributes: { "jwks.url": "https://x" } })).toContain(
      "spec.attributes may not set a key a typed field owns",
    );
    const js = authzSpec();
    js.authorization = { policies: [{ name: "anyone", type: "js" as "role" }] };
    expect(await refusal("js", js)).toContain('Unsupported value: "js"');
    const noSa = authzSpec();
    delete noSa.serviceAccountsEnabled;
    expect(await refusal("no-sa", noSa)).toContain(
      "spec.authorization needs a confidential client with a service account",
    );
    const patched = await resources.patchSpec(CLIENTS, team, "jwt", { protocol: "saml" }).then(
      () => "accepted",
      (err: unknown) => statusMessage(err),
    );
    expect(patched).toContain("spec.protocol is immutable");
  });

  it("When an attacker makes its service account a member of a subgroup of a group holding realm-admin, Then it is refused and nothing changes", async () => {
    const evil = await createNamespace(admin, "evil");
    await resources.patchSpec(REALMS, team, "apps", { clientGrants: { namespaces: [evil] } });
    await resources.waitForStatus(REALMS, team, "apps", (o) => o.status?.phase === "Ready");
    // A group made by hand in Keycloak (the realm's spec could never map realm-admin to it).
    const { id: adminsId } = await kc.groups.create({ realm: realmName, name: "admins" });
    const { id: readersId } = await kc.groups.createChildGroup(
      { realm: realmName, id: adminsId },
      { name: "readers" },
    );
    const [rm] = await kc.clients.find({ realm: realmName, clientId: "realm-management" });
    const realmAdmin = await kc.clients.findRole({
      realm: realmName,
      id: rm?.id ?? "",
      roleName: "realm-admin",
    });
    await kc.groups.addClientRoleMappings({
      realm: realmName,
      id: adminsId,
      clientUniqueId: rm?.id ?? "",
      roles: [{ id: realmAdmin?.id ?? "", name: "realm-admin" }],
    });

    // The attacker, with its own Kubernetes credentials only, and a working client of its own.
    const tenant = await tenantKubeConfig(admin, evil);
    const attacker = new Resources(tenant);
    const attackerCore = tenant.makeApiClient(k8s.CoreV1Api);
    await attacker.create(CLIENTS, evil, {
      apiVersion: API,
      kind: "KeycloakClient",
      metadata: { name: "probe" },
      spec: {
        realmRef: { name: "apps", namespace: team },
        clientId: `probe-${suffix}`,
        serviceAccountsEnabled: true,
        standardFlowEnabled: false,
      },
    });
    await attacker.waitForStatus(CLIENTS, evil, "probe", (o) => o.status?.phase === "Ready");
    const probeToken = async () => {
      const secret = await attackerCore.readNamespacedSecret({ namespace: evil, name: "probe-credentials" });
      const res = await requestClientCredentialsToken(
        secretValue(secret, "token-endpoint"),
        `probe-${suffix}`,
        secretValue(secret, "client-secret"),
      );
      return ((await res.json()) as { access_token: string }).access_token;
    };
    const [probe] = await kc.clients.find({ realm: realmName, clientId: `probe-${suffix}` });
    const sa = await kc.clients.getServiceAccountUser({ realm: realmName, id: probe?.id ?? "" });
    const membership = async () => ({
      groups: (await kc.users.listGroups({ realm: realmName, id: sa.id ?? "" })).map((g) => g.path),
      admins: (await kc.groups.listMembers({ realm: realmName, id: adminsId })).map((u) => u.username),
      readers: (await kc.groups.listMembers({ realm: realmName, id: readersId })).map((u) => u.username),
      probe: (await kc.clients.findOne({ realm: realmName, id: probe?.id ?? "" }))?.attributes,
    });
    const before = await membership();
    expect(before.groups).toEqual([]);

    await attacker.patchSpec(CLIENTS, evil, "probe", { serviceAccount: { groups: ["/admins/readers"] } });
    const refused = await attacker.waitForStatus(
      CLIENTS,
      evil,
      "probe",
      (o) => o.status?.phase === "Failed" && condition(o, "PolicyCompliant")?.status === "False",
    );
    const message = condition(refused, "PolicyCompliant")?.message ?? "";
    expect(message).toContain("spec.serviceAccount.groups[/admins/readers]");
    expect(message).toContain("group /admins/readers → group /admins → realm-management/realm-admin");
    expect(await membership()).toEqual(before);
    // The service account's own token still gets nowhere in the admin API.
    const { url } = inject("keycloak");
    for (const p of [`/admin/realms/${realmName}/users`, `/admin/realms/${realmName}/clients`]) {
      const res = await fetch(`${url}${p}`, { headers: { authorization: `Bearer ${await probeToken()}` } });
      expect([401, 403]).toContain(res.status);
    }

    // A harmless group is a membership like any other: added, then removed when the spec drops it.
    const { id: staffId } = await kc.groups.create({ realm: realmName, name: "staff" });
    await attacker.patchSpec(CLIENTS, evil, "probe", { serviceAccount: { groups: ["/staff"] } });
    await attacker.waitForStatus(CLIENTS, evil, "probe", (o) => o.status?.phase === "Ready");
    expect((await membership()).groups).toEqual(["/staff"]);
    await attacker.patchSpec(CLIENTS, evil, "probe", { serviceAccount: { groups: [] } });
    await attacker.waitForStatus(CLIENTS, evil, "probe", (o) => o.status?.phase === "Ready");
    expect((await membership()).groups).toEqual([]);
    expect((await kc.groups.listMembers({ realm: realmName, id: staffId })).length).toBe(0);
  });
});
