// Identity providers end to end: the operator (`kpo run`) creates an upstream realm with a
// confidential client, and a second realm that brokers logins to it through an OIDC identity
// provider with a role mapper. A real authorization-code flow is followed over HTTP (the second
// realm's login, kc_idp_hint, the upstream login form, the broker endpoint, the code exchange), and
// the token must carry the mapped role. Then: a resync writes nothing, a mapper deleted by hand comes
// back, a new client secret in the Secret reaches Keycloak, removing an identity provider from the
// spec deletes only the operator's own, a mapper naming a missing identity provider writes nothing,
// and a tenant's mapper granting realm-admin is refused with Keycloak unchanged.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import * as k8s from "@kubernetes/client-node";
import type KcAdminClient from "@keycloak/keycloak-admin-client";
import type { KeycloakRealm } from "../../src/api/index.js";
import { clientSecretHashKey } from "../../src/keycloak/identityProviders.js";
import { ownerUidAttribute } from "../../src/keycloak/ownership.js";
import { syncRealm } from "../../src/keycloak/realmSync.js";
import { ownerOf } from "../../src/operator/realmHandler.js";
import { resolveSecretReferences } from "../../src/operator/secrets.js";
import { desiredRealm } from "../../src/resources/realmRepresentation.js";
import { realmSecretReferences } from "../../src/resources/secretReferences.js";
import { Browser, jwtClaims, pageTitle } from "./authorizationCodeFlow.js";
import {
  adminClient,
  condition,
  createInstance,
  createNamespace,
  installCrds,
  kubeConfig,
  Resources,
  secretValue,
  startOperatorProcess,
  tenantKubeConfig,
  waitFor,
  type OperatorProcess,
  adminConnection,
} from "./support.js";

const REALMS = "keycloakrealms";
const CLIENTS = "keycloakclients";
const API = "keycloak.kpo.dev/v1alpha1";
const REDIRECT_URI = "http://127.0.0.1:9/callback";
const PASSWORD = "Upstream-pass-1";

describe("Given an upstream realm and a realm that brokers logins to it, both made by the operator", () => {
  const { url } = inject("keycloak");
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let resources: Resources;
  let kcAdmin: KcAdminClient;
  let operator: OperatorProcess;
  let platform: string;
  let team: string;
  let upstreamRealm: string;
  let appsRealm: string;

  const realmCr = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: API,
    kind: "KeycloakRealm",
    metadata: { name },
    spec: { instanceRef: { name: "main", namespace: platform }, deletionPolicy: "Delete", ...spec },
  });
  const clientCr = (name: string, realm: string, spec: Record<string, unknown>) => ({
    apiVersion: API,
    kind: "KeycloakClient",
    metadata: { name },
    spec: { realmRef: { name: realm }, deletionPolicy: "Delete", ...spec },
  });
  const oidc = (realm: string) => `${url}/realms/${realm}/protocol/openid-connect`;
  const upstreamIdp = () => ({
    alias: "upstream",
    providerId: "oidc",
    displayName: "Upstream",
    trustEmail: true,
    syncMode: "FORCE",
    clientSecretRef: { name: "broker-credentials", key: "client-secret" },
    config: {
      authorizationUrl: `${oidc(upstreamRealm)}/auth`,
      tokenUrl: `${oidc(upstreamRealm)}/token`,
      userInfoUrl: `${oidc(upstreamRealm)}/userinfo`,
      jwksUrl: `${oidc(upstreamRealm)}/certs`,
      logoutUrl: `${oidc(upstreamRealm)}/logout`,
      issuer: `${url}/realms/${upstreamRealm}`,
      clientId: "apps-broker",
      clientAuthMethod: "client_secret_post",
      defaultScope: "openid email profile",
      validateSignature: true,
      useJwksUrl: true,
      pkceEnabled: true,
      pkceMethod: "S256",
    },
  });
  const partnerMapper = {
    identityProviderAlias: "upstream",
    name: "partner-role",
    identityProviderMapper: "oidc-hardcoded-role-idp-mapper",
    syncMode: "INHERIT",
    config: { role: "partner" },
  };

  const ready = (plural: string, namespace: string, name: string) =>
    resources.waitForStatus(plural, namespace, name, (o) => o.status?.phase === "Ready");
  const idp = (alias: string) => kcAdmin.identityProviders.findOne({ realm: appsRealm, alias });
  const idpMappers = (alias: string) => kcAdmin.identityProviders.findMappers({ realm: appsRealm, alias });

  /** Logs in to the apps realm through the upstream identity provider; returns the access token's claims. */
  const brokeredLogin = async (): Promise<Record<string, unknown>> => {
    const browser = new Browser(REDIRECT_URI);
    const query = new URLSearchParams({
      client_id: "portal",
      redirect_uri: REDIRECT_URI,
      response_type: "code",
      scope: "openid",
      state: "s1",
      kc_idp_hint: "upstream",
    });
    const loginForm = await browser.navigate(`${oidc(appsRealm)}/auth?${query.toString()}`);
    // kc_idp_hint skips the apps realm's own login page: this is the upstream realm's form.
    expect(loginForm.url.pathname).toContain(`/realms/${upstreamRealm}/`);
    const done = await browser.submit(
      loginForm,
      { username: "alice", password: PASSWORD, credentialId: "" },
      "kc-form-login",
    );
    if (!done.location) throw new Error(`the brokered login stopped at ${done.url.href}: ${pageTitle(done)}`);
    expect(done.location.searchParams.get("state")).toBe("s1");
    const code = done.location.searchParams.get("code") ?? "";
    const res = await fetch(`${oidc(appsRealm)}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: "portal",
        code,
        redirect_uri: REDIRECT_URI,
      }),
    });
    const body = (await res.json()) as { access_token?: string };
    expect(res.status).toBe(200);
    return jwtClaims(body.access_token ?? "");
  };

  beforeAll(async () => {
    kc = kubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    resources = new Resources(kc);
    kcAdmin = await adminClient();
    await installCrds(kc);
    platform = await createNamespace(kc, "idp-platform");
    team = await createNamespace(kc, "idp-team");
    upstreamRealm = `upstream-${team}`;
    appsRealm = `apps-${team}`;
    operator = await startOperatorProcess({
      name: "idp",
      extraArgs: ["--resync-period-ms", "3000", "--leader-election-namespace", platform],
    });
    await createInstance(kc, resources, platform, "main", { namespaces: [team] });

    await resources.create(REALMS, team, realmCr("upstream", { realmName: upstreamRealm }));
    await ready(REALMS, team, "upstream");
    await resources.create(
      CLIENTS,
      team,
      clientCr("broker", "upstream", {
        clientId: "apps-broker",
        publicClient: false,
        standardFlowEnabled: true,
        redirectUris: [`${url}/realms/${appsRealm}/broker/upstream/endpoint`],
      }),
    );
    await kcAdmin.users.create({
      realm: upstreamRealm,
      username: "alice",
      email: "alice@upstream.example",
      emailVerified: true,
      firstName: "Alice",
      lastName: "Upstream",
      enabled: true,
      credentials: [{ type: "password", value: PASSWORD, temporary: false }],
    });
    await ready(CLIENTS, team, "broker");

    await resources.create(
      REALMS,
      team,
      realmCr("apps", {
        realmName: appsRealm,
        roles: [{ name: "partner" }],
        identityProviders: [upstreamIdp()],
        identityProviderMappers: [partnerMapper],
      }),
    );
    await ready(REALMS, team, "apps");
    await resources.create(
      CLIENTS,
      team,
      clientCr("portal", "apps", {
        clientId: "portal",
        publicClient: true,
        standardFlowEnabled: true,
        redirectUris: [REDIRECT_URI],
      }),
    );
    await ready(CLIENTS, team, "portal");
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it("When a user of the upstream realm logs in to the apps realm through the identity provider, Then the token carries the mapped role", async () => {
    const inKeycloak = await idp("upstream");
    expect(inKeycloak?.config?.[ownerUidAttribute]).toBeTruthy();
    expect(inKeycloak?.config?.clientSecret).toBe("**********");
    expect(String(inKeycloak?.config?.[clientSecretHashKey])).toMatch(/^hmac-sha256:/);

    const claims = await brokeredLogin();
    expect(claims.iss).toBe(`${url}/realms/${appsRealm}`);
    expect(claims.preferred_username).toBe("alice");
    expect((claims.realm_access as { roles?: string[] } | undefined)?.roles).toContain("partner");
  });

  it("When the realm is synced again with the same spec and Secret, Then it makes zero writes", async () => {
    const cr = (await resources.get(REALMS, team, "apps")) as unknown as KeycloakRealm;
    const secrets = await resolveSecretReferences(core, team, realmSecretReferences(cr.spec), "test");
    const conn = adminConnection("idp-test");
    try {
      const result = await syncRealm(conn, desiredRealm(cr.spec, secrets), ownerOf(cr));
      expect(result).toEqual({ created: false, writes: 0, changedFields: [] });
      expect(conn.stats.writes).toBe(0);
    } finally {
      await conn.close();
    }
  });

  it("When a mapper is deleted by hand in Keycloak, Then the operator restores it", async () => {
    const [mapper] = await idpMappers("upstream");
    expect(mapper?.name).toBe("partner-role");
    await kcAdmin.identityProviders.delMapper({ realm: appsRealm, alias: "upstream", id: mapper?.id ?? "" });
    const restored = await waitFor("mapper restored", async () =>
      (await idpMappers("upstream")).find((m) => m.name === "partner-role"),
    );
    const configOf = (m: typeof mapper) => (m?.config ?? {}) as Record<string, string>;
    expect(restored.id).not.toBe(mapper?.id);
    expect(configOf(restored).role).toBe("partner");
    expect(configOf(restored)[ownerUidAttribute]).toBe(configOf(mapper)[ownerUidAttribute]);
  });

  it("When the client secret in the referenced Secret changes, Then the identity provider gets the new one and logins keep working", async () => {
    const before = String((await idp("upstream"))?.config?.[clientSecretHashKey]);
    // The upstream client's secret is rotated; its credentials Secret, which the IdP references, follows.
    await resources.patchSpec(CLIENTS, team, "broker", { secret: { rotate: 1 } });
    await waitFor(
      "the new client secret hashed in the identity provider's config",
      async () => String((await idp("upstream"))?.config?.[clientSecretHashKey]) !== before,
    );
    const claims = await brokeredLogin();
    expect((claims.realm_access as { roles?: string[] } | undefined)?.roles).toContain("partner");
    // The value itself never reaches the operator's log, nor Keycloak's answers.
    const secret = await core.readNamespacedSecret({ namespace: team, name: "broker-credentials" });
    const value = secretValue(secret, "client-secret");
    expect(readFileSync(operator.logFile, "utf8")).not.toContain(value);
    expect(JSON.stringify(await idp("upstream"))).not.toContain(value);
  });

  it("When an identity provider is removed from the spec, Then only the operator's own is deleted, never a hand-made one", async () => {
    await kcAdmin.identityProviders.create({
      realm: appsRealm,
      alias: "by-hand",
      providerId: "oidc",
      config: {
        authorizationUrl: "https://by-hand.example/auth",
        tokenUrl: "https://by-hand.example/token",
        clientId: "x",
      },
    });
    await resources.patchSpec(REALMS, team, "apps", {
      identityProviders: [
        upstreamIdp(),
        {
          alias: "github",
          providerId: "github",
          clientSecretRef: { name: "broker-credentials" },
          config: { clientId: "gh-app" },
        },
      ],
    });
    await ready(REALMS, team, "apps");
    expect((await idp("github"))?.config?.[ownerUidAttribute]).toBeTruthy();

    await resources.patchSpec(REALMS, team, "apps", { identityProviders: [upstreamIdp()] });
    await waitFor("github identity provider deleted", async () => !(await idp("github")));
    const aliases = (await kcAdmin.identityProviders.find({ realm: appsRealm })).map((p) => p.alias).sort();
    expect(aliases).toEqual(["by-hand", "upstream"]);
  });

  it("When a mapper names an identity provider that is neither in the spec nor in Keycloak, Then the sync fails saying so and writes nothing", async () => {
    const before = await kcAdmin.realms.findOne({ realm: appsRealm });
    await resources.patchSpec(REALMS, team, "apps", {
      displayName: "Should not be written",
      identityProviderMappers: [
        partnerMapper,
        { ...partnerMapper, identityProviderAlias: "nowhere", name: "lost" },
      ],
    });
    const failed = await resources.waitForStatus(REALMS, team, "apps", (o) => o.status?.phase === "Failed");
    expect(condition(failed, "Ready")?.message).toContain(
      'spec.identityProviderMappers[nowhere/lost] names identity provider "nowhere", which is neither in spec.identityProviders nor in realm',
    );
    const after = await kcAdmin.realms.findOne({ realm: appsRealm });
    expect(after?.displayName).toBe(before?.displayName);
    expect((await idpMappers("upstream")).map((m) => m.name)).toEqual(["partner-role"]);

    await resources.patchSpec(REALMS, team, "apps", {
      displayName: null,
      identityProviderMappers: [partnerMapper],
    });
    await ready(REALMS, team, "apps");
  });

  describe("and an attacker in a tenant namespace with only the tenant's own credentials", () => {
    let evil: string;
    let attacker: Resources;
    let labRealm: string;

    beforeAll(async () => {
      evil = await createNamespace(kc, "idp-evil");
      labRealm = `lab-${evil}`;
      await resources.patchSpec("keycloakinstances", platform, "main", {
        realmGrants: { namespaces: [team, evil] },
      });
      attacker = new Resources(await tenantKubeConfig(kc, evil));
      await attacker.create(
        REALMS,
        evil,
        realmCr("lab", {
          realmName: labRealm,
          identityProviders: [upstreamIdp()].map(({ clientSecretRef: _ref, ...rest }) => rest),
          identityProviderMappers: [],
        }),
      );
      await attacker.waitForStatus(REALMS, evil, "lab", (o) => o.status?.phase === "Ready");
      // A role made by hand by a Keycloak admin, with realm-admin inside: only Keycloak knows it.
      await kcAdmin.roles.create({ realm: labRealm, name: "ops-by-hand" });
      const ops = await kcAdmin.roles.findOneByName({ realm: labRealm, name: "ops-by-hand" });
      const [rm] = await kcAdmin.clients.find({ realm: labRealm, clientId: "realm-management" });
      const realmAdmin = await kcAdmin.clients.findRole({
        realm: labRealm,
        id: rm?.id ?? "",
        roleName: "realm-admin",
      });
      await kcAdmin.roles.createComposite({ realm: labRealm, roleId: ops?.id ?? "" }, [realmAdmin ?? {}]);
    });

    const policyMessage = async () => {
      const o = await attacker.waitForStatus(
        REALMS,
        evil,
        "lab",
        (x) => x.status?.phase === "Failed" && condition(x, "PolicyCompliant")?.status === "False",
      );
      return condition(o, "PolicyCompliant")?.message ?? "";
    };
    const labMappers = () => kcAdmin.identityProviders.findMappers({ realm: labRealm, alias: "upstream" });

    it("When it maps realm-admin to every brokered user, directly or through a role made by hand, Then the policy refuses and Keycloak is unchanged", async () => {
      expect(await labMappers()).toEqual([]);
      const grab = (role: string) => ({
        identityProviderAlias: "upstream",
        name: "grab",
        identityProviderMapper: "oidc-hardcoded-role-idp-mapper",
        config: { role },
      });
      await attacker.patchSpec(REALMS, evil, "lab", {
        identityProviderMappers: [grab("realm-management.realm-admin")],
      });
      const direct = await policyMessage();
      expect(direct).toContain(
        'spec.identityProviderMappers[upstream/grab] gives users brokered by identity provider "upstream" "realm-management/realm-admin"',
      );
      expect(await labMappers()).toEqual([]);

      // The guard cannot see inside ops-by-hand; the last check before writing reads it from Keycloak.
      await attacker.patchSpec(REALMS, evil, "lab", { identityProviderMappers: [grab("ops-by-hand")] });
      expect(await policyMessage()).toContain("role ops-by-hand → realm-management/realm-admin");
      expect(await labMappers()).toEqual([]);
    });
  });
});
