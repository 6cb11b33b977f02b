// Client scopes of a KeycloakRealm against the real operator process, kube-apiserver and Keycloak:
// scopes with mappers and scope mappings, the realm's default and optional links, a KeycloakClient of
// another namespace whose token carries the default scope's claims, zero-write resync, drift repair,
// pruning of the operator's own scopes only — and, as a tenant with nothing but a client grant and a
// realm of its own, attempts to change the platform's scopes or to hardcode an admin role.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as k8s from "@kubernetes/client-node";
import type KcAdminClient from "@keycloak/keycloak-admin-client";
import type ClientScopeRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientScopeRepresentation.js";
import type { KeycloakRealm } from "../../src/api/index.js";
import type { KeycloakConnection } from "../../src/keycloak/connection.js";
import { syncRealm } from "../../src/keycloak/realmSync.js";
import { ownerOf } from "../../src/operator/realmHandler.js";
import { desiredRealm } from "../../src/resources/realmRepresentation.js";
import {
  adminClient,
  condition,
  createInstance,
  createNamespace,
  installCrds,
  kubeConfig,
  Resources,
  requestClientCredentialsToken,
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

const tierScope = {
  name: "tier",
  description: "The customer's tier and the orders API audience",
  includeInTokenScope: true,
  guiOrder: 5,
  attributes: { "is.dynamic.scope": "false" },
  protocolMappers: [
    {
      name: "tier-claim",
      protocolMapper: "oidc-hardcoded-claim-mapper",
      config: {
        "claim.name": "tier",
        "claim.value": "gold",
        "jsonType.label": "String",
        "access.token.claim": "true",
        "id.token.claim": "false",
      },
    },
    {
      name: "orders-audience",
      protocolMapper: "oidc-audience-mapper",
      config: { "included.custom.audience": "orders-api", "access.token.claim": "true" },
    },
  ],
  scopeMappings: { realmRoles: ["reader"] },
};
const reportsScope = {
  name: "reports",
  protocolMappers: [
    {
      name: "reports-claim",
      protocolMapper: "oidc-hardcoded-claim-mapper",
      config: { "claim.name": "reports", "claim.value": "yes", "access.token.claim": "true" },
    },
  ],
};

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<
    string,
    unknown
  >;
}

describe("Given a KeycloakRealm with client scopes and realm scope defaults", () => {
  let admin: k8s.KubeConfig;
  let kcAdmin: KcAdminClient;
  let resources: Resources;
  let operator: OperatorProcess;
  let conn: KeycloakConnection;
  let platform: string;
  let tenant: string;
  let realmName: string;
  let tenantRealmName: string;

  const realmCr = (name: string, realm: string, spec: Record<string, unknown>) => ({
    apiVersion: API,
    kind: "KeycloakRealm",
    metadata: { name },
    spec: {
      instanceRef: { name: "main", namespace: platform },
      realmName: realm,
      deletionPolicy: "Delete",
      ...spec,
    },
  });
  const shopSpec = {
    roles: [{ name: "reader" }],
    clientScopes: [tierScope, reportsScope],
    defaultClientScopes: ["tier"],
    optionalClientScopes: ["reports"],
  };
  const scopeNamed = async (realm: string, name: string): Promise<ClientScopeRepresentation | undefined> =>
    (await kcAdmin.clientScopes.find({ realm })).find((s) => s.name === name);
  const linked = async (realm: string, kind: "default" | "optional") =>
    (kind === "default"
      ? await kcAdmin.clientScopes.listDefaultClientScopes({ realm } as never)
      : await kcAdmin.clientScopes.listDefaultOptionalClientScopes({ realm } as never)
    )
      .map((s) => s.name)
      .sort();
  /** A sync of the live CR with the operator's own code: what it would write now. */
  const resyncWrites = async () => {
    const realm = (await resources.get(REALMS, platform, "shop")) as unknown as KeycloakRealm;
    return (await syncRealm(conn, desiredRealm(realm.spec), ownerOf(realm))).writes;
  };

  beforeAll(async () => {
    admin = kubeConfig();
    kcAdmin = await adminClient();
    resources = new Resources(admin);
    await installCrds(admin);
    platform = await createNamespace(admin, "scopes-iam");
    tenant = await createNamespace(admin, "scopes-tenant");
    realmName = `shop-${platform}`;
    tenantRealmName = `lab-${tenant}`;
    conn = adminConnection("scopes-test");
    operator = await startOperatorProcess({
      name: "scopes",
      extraArgs: ["--resync-period-ms", "3000", "--leader-election-namespace", platform],
    });
    await createInstance(admin, resources, platform, "main", { namespaces: [platform, tenant] });
    await resources.create(
      REALMS,
      platform,
      realmCr("shop", realmName, { ...shopSpec, clientGrants: { namespaces: [tenant] } }),
    );
    await resources.waitForStatus(REALMS, platform, "shop", (o) => o.status?.phase === "Ready", 120_000);
    // A scope someone made in the console: never the operator's to change or delete.
    await kcAdmin.clientScopes.create({ realm: realmName, name: "by-hand", protocol: "openid-connect" });
  }, 180_000);

  afterAll(async () => {
    await operator?.stop();
    await conn?.close();
    for (const realm of [realmName, tenantRealmName])
      await kcAdmin?.realms.del({ realm }).catch(() => undefined);
  });

  it("When the realm is Ready, Then its scopes carry their settings, marker, mappers and scope mappings, and the realm defaults link them", async () => {
    const tier = await scopeNamed(realmName, "tier");
    expect(tier?.protocol).toBe("openid-connect");
    expect(tier?.description).toBe(tierScope.description);
    expect(tier?.attributes).toMatchObject({
      "include.in.token.scope": "true",
      "gui.order": "5",
      "is.dynamic.scope": "false",
      "kpo.dev/managed": "true",
    });
    expect(tier?.protocolMappers?.map((m) => m.name).sort()).toEqual(["orders-audience", "tier-claim"]);
    const mappings = await kcAdmin.clientScopes.listScopeMappings({ realm: realmName, id: tier?.id ?? "" });
    expect(mappings.realmMappings?.map((r) => r.name)).toEqual(["reader"]);
    expect(await linked(realmName, "default")).toContain("tier");
    expect(await linked(realmName, "optional")).toContain("reports");
    expect(await linked(realmName, "default")).toContain("profile");
  });

  it("When a KeycloakClient of another namespace joins the realm, Then its client-credentials token carries the default scope's claim and audience, and the optional scope's only when asked for", async () => {
    await resources.create(CLIENTS, tenant, {
      apiVersion: API,
      kind: "KeycloakClient",
      metadata: { name: "orders" },
      spec: {
        realmRef: { name: "shop", namespace: platform },
        clientId: "orders",
        serviceAccountsEnabled: true,
        standardFlowEnabled: false,
        // Keycloak applies a scope with role scope mappings only for users holding one of its roles.
        serviceAccount: { realmRoles: ["reader"] },
        deletionPolicy: "Delete",
      },
    });
    await resources.waitForStatus(CLIENTS, tenant, "orders", (o) => o.status?.phase === "Ready", 120_000);
    const secret = await admin
      .makeApiClient(k8s.CoreV1Api)
      .readNamespacedSecret({ namespace: tenant, name: "orders-credentials" });
    const endpoint = secretValue(secret, "token-endpoint");
    const clientSecret = secretValue(secret, "client-secret");
    const res = await requestClientCredentialsToken(endpoint, "orders", clientSecret);
    const body = (await res.json()) as { access_token?: string };
    expect(res.status).toBe(200);
    const [orders] = await kcAdmin.clients.find({ realm: realmName, clientId: "orders" });
    const ordersScopes = await kcAdmin.clients.listDefaultClientScopes({
      realm: realmName,
      id: orders?.id ?? "",
    });
    expect(ordersScopes.map((s) => s.name)).toContain("tier");
    const claims = claimsOf(body.access_token ?? "");
    expect(claims).toMatchObject({ tier: "gold" });
    expect([claims.aud].flat()).toContain("orders-api");
    expect(String(claims.scope).split(" ")).toContain("tier");
    expect(claims).not.toHaveProperty("reports");

    const withOptional = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: "orders",
        client_secret: clientSecret,
        scope: "reports",
      }),
    });
    const optionalBody = (await withOptional.json()) as { access_token?: string };
    expect(claimsOf(optionalBody.access_token ?? "").reports).toBe("yes");
  });

  it("When the unchanged realm is synced again, Then it makes zero writes", async () => {
    expect(await resyncWrites()).toBe(0);
  });

  it("When a scope's mapper is deleted and a realm default link removed by hand, Then the operator restores both, and the next sync writes nothing", async () => {
    const tier = await scopeNamed(realmName, "tier");
    const id = tier?.id ?? "";
    const mapperId = tier?.protocolMappers?.find((m) => m.name === "tier-claim")?.id ?? "";
    await kcAdmin.clientScopes.delProtocolMapper({ realm: realmName, id, mapperId });
    await kcAdmin.clientScopes.delDefaultClientScope({ realm: realmName, id });
    await waitFor("the mapper and the default link restored", async () => {
      const names = (await scopeNamed(realmName, "tier"))?.protocolMappers?.map((m) => m.name) ?? [];
      return names.includes("tier-claim") && (await linked(realmName, "default")).includes("tier");
    });
    expect(await resyncWrites()).toBe(0);
  });

  it("When a scope leaves the spec, Then only the operator's scope is deleted and the hand-made one is untouched", async () => {
    const handMade = await scopeNamed(realmName, "by-hand");
    await resources.patchSpec(REALMS, platform, "shop", {
      clientScopes: [tierScope],
      optionalClientScopes: [],
    });
    await resources.waitForStatus(REALMS, platform, "shop", (o) => o.status?.phase === "Ready");
    await waitFor(
      "scope reports deleted",
      async () => (await scopeNamed(realmName, "reports")) === undefined,
    );
    expect(await scopeNamed(realmName, "by-hand")).toEqual(handMade);
    expect(await scopeNamed(realmName, "tier")).toBeDefined();
    expect(await linked(realmName, "optional")).not.toContain("reports");
    expect(await resyncWrites()).toBe(0);
  });

  describe("as a tenant with a client grant and a realm of its own", () => {
    let attacker: Resources;
    const scopesOf = async (realm: string) =>
      (await kcAdmin.clientScopes.find({ realm }))
        .map((s) => ({
          name: s.name,
          attributes: s.attributes,
          mappers: s.protocolMappers?.map((m) => m.name).sort(),
        }))
        .sort((a, b) => String(a.name).localeCompare(String(b.name)));
    const policyMessage = async (name: string) => {
      const o = await attacker.waitForStatus(
        REALMS,
        tenant,
        name,
        (x) => x.status?.phase === "Failed" && condition(x, "PolicyCompliant")?.status === "False",
      );
      return condition(o, "PolicyCompliant")?.message ?? "";
    };

    beforeAll(async () => {
      attacker = new Resources(await tenantKubeConfig(admin, tenant));
      await attacker.create(REALMS, tenant, realmCr("lab", tenantRealmName, { roles: [{ name: "ops" }] }));
      await attacker.waitForStatus(REALMS, tenant, "lab", (o) => o.status?.phase === "Ready", 120_000);
    }, 180_000);

    it("cannot edit the platform realm's scopes: the API server refuses the patch and Keycloak is unchanged", async () => {
      const before = await scopesOf(realmName);
      const patch = attacker.patchSpec(REALMS, platform, "shop", { clientScopes: [] });
      await expect(patch).rejects.toMatchObject({ code: 403 });
      expect(await scopesOf(realmName)).toEqual(before);
    });

    it("cannot put realm-admin in every token through a scope of its own realm, directly or through a composite", async () => {
      const before = await scopesOf(tenantRealmName);
      await attacker.patchSpec(REALMS, tenant, "lab", {
        clientScopes: [
          {
            name: "ops",
            protocolMappers: [
              {
                name: "admin",
                protocolMapper: "oidc-hardcoded-role-mapper",
                config: { role: "realm-management.realm-admin" },
              },
            ],
          },
        ],
      });
      const direct = await policyMessage("lab");
      expect(direct).toContain("spec.clientScopes[ops].protocolMappers[admin]");
      expect(direct).toContain("realm-management/realm-admin");

      await attacker.patchSpec(REALMS, tenant, "lab", {
        roles: [{ name: "ops", composites: { client: { "realm-management": ["realm-admin"] } } }],
        clientScopes: [
          {
            name: "ops",
            protocolMappers: [
              { name: "ops", protocolMapper: "oidc-hardcoded-role-mapper", config: { role: "ops" } },
            ],
          },
        ],
      });
      const composite = await policyMessage("lab");
      expect(composite).toContain("ops → realm-management/realm-admin");
      expect(await scopesOf(tenantRealmName)).toEqual(before);
    });

    it("cannot define or change a built-in scope of its own realm", async () => {
      const before = await scopesOf(tenantRealmName);
      await attacker.patchSpec(REALMS, tenant, "lab", {
        roles: [{ name: "ops" }],
        clientScopes: [{ name: "roles", protocolMappers: [] }],
      });
      expect(await policyMessage("lab")).toContain('spec.clientScopes lists "roles"');
      expect(await scopesOf(tenantRealmName)).toEqual(before);
    });
  });
});
