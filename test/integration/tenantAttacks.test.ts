// As an attacker in a tenant namespace: with only the rights the docs give a tenant (create and edit
// KeycloakRealms and KeycloakClients in its own namespace, read its Secrets), every field it can set
// is tried as a way to reach more than its grants give: Keycloak administration through the master
// realm, a composite, a group, the default roles or a hardcoded token role; Keycloak's own clients
// and roles; another tenant's realm or client; a Secret it did not create. Each attempt must be
// refused with a message that says what to fix, must leave Keycloak as it was, and the attacker's
// own token must still get 401/403 from the admin API.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { readFileSync } from "node:fs";
import * as k8s from "@kubernetes/client-node";
import type KcAdminClient from "@keycloak/keycloak-admin-client";
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
  type KpoObject,
  type OperatorProcess,
} from "./support.js";

const REALMS = "keycloakrealms";
const CLIENTS = "keycloakclients";
const API = "keycloak.kpo.dev/v1alpha1";

const decode = secretValue;

async function clientCredentialsToken(tokenEndpoint: string, clientId: string, secret: string) {
  const res = await requestClientCredentialsToken(tokenEndpoint, clientId, secret);
  const body = (await res.json()) as { access_token?: string };
  if (!res.ok || !body.access_token) throw new Error(`token request for ${clientId} answered ${res.status}`);
  return body.access_token;
}

/** The HTTP status the admin API answers the bearer of `token` for each path. */
async function adminApiStatuses(token: string, paths: string[]): Promise<number[]> {
  const { url } = inject("keycloak");
  return Promise.all(
    paths.map(
      async (p) =>
        (await fetch(`${url}/admin${p}`, { headers: { authorization: `Bearer ${token}` } })).status,
    ),
  );
}

describe("as an attacker in a tenant namespace", () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let kcAdmin: KcAdminClient;
  let platformResources: Resources;
  let attacker: Resources;
  let attackerCore: k8s.CoreV1Api;
  let operator: OperatorProcess;
  let iam: string;
  let evil: string;
  let victim: string;
  let appsRealm: string;
  let labRealm: string;
  let victimRealm: string;

  const realmCr = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: API,
    kind: "KeycloakRealm",
    metadata: { name },
    spec: { instanceRef: { name: "main", namespace: iam }, deletionPolicy: "Delete", ...spec },
  });
  const clientCr = (
    name: string,
    realm: { name: string; namespace: string },
    spec: Record<string, unknown>,
  ) => ({
    apiVersion: API,
    kind: "KeycloakClient",
    metadata: { name },
    spec: { realmRef: realm, deletionPolicy: "Delete", ...spec },
  });
  const apps = () => ({ name: "apps", namespace: evil });

  /** Waits for a refusal for the current generation and returns the message users read. */
  const refused = async (plural: string, name: string): Promise<string> => {
    const o = await attacker.waitForStatus(plural, evil, name, (x) => x.status?.phase === "Failed");
    return condition(o, "Ready")?.message ?? "";
  };
  const policyRefusal = async (plural: string, name: string): Promise<KpoObject> => {
    const o = await attacker.waitForStatus(
      plural,
      evil,
      name,
      (x) => x.status?.phase === "Failed" && condition(x, "PolicyCompliant")?.status === "False",
    );
    expect(condition(o, "Stalled")?.status).toBe("True");
    return o;
  };
  const policyMessage = async (plural: string, name: string) =>
    condition(await policyRefusal(plural, name), "PolicyCompliant")?.message ?? "";

  /** What an attack could change, read with Keycloak's admin account. */
  const snapshot = async (realm: string) => {
    const [realmRep, clients, groups, roles] = await Promise.all([
      kcAdmin.realms.findOne({ realm }),
      kcAdmin.clients.find({ realm }),
      kcAdmin.groups.find({ realm }),
      kcAdmin.roles.find({ realm }),
    ]);
    const defaultRoleId = realmRep?.defaultRole?.id ?? "";
    const defaults = await kcAdmin.roles.getCompositeRoles({ realm, id: defaultRoleId });
    const pick = (c: (typeof clients)[number]) => ({
      clientId: c.clientId,
      redirectUris: c.redirectUris,
      webOrigins: c.webOrigins,
      attributes: c.attributes,
      serviceAccountsEnabled: c.serviceAccountsEnabled,
    });
    return {
      attributes: realmRep?.attributes,
      clients: clients.map(pick).sort((a, b) => String(a.clientId).localeCompare(String(b.clientId))),
      groups: groups.map((g) => g.name).sort(),
      roles: roles.map((r) => `${r.name}:${String(r.composite)}`).sort(),
      defaultRoles: defaults.map((r) => r.name).sort(),
    };
  };

  let probeToken: () => Promise<string>;
  const adminPaths = () => [
    "/realms",
    `/realms/${appsRealm}/users`,
    `/realms/${appsRealm}/clients`,
    `/realms/${labRealm}/roles`,
    `/realms/${victimRealm}/clients`,
    "/realms/master/users",
  ];
  const expectNoAdminPower = async () => {
    for (const status of await adminApiStatuses(await probeToken(), adminPaths()))
      expect([401, 403]).toContain(status);
  };

  beforeAll(async () => {
    admin = kubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    kcAdmin = await adminClient();
    platformResources = new Resources(admin);
    await installCrds(admin);
    iam = await createNamespace(admin, "iam");
    evil = await createNamespace(admin, "evil");
    victim = await createNamespace(admin, "victim");
    appsRealm = `apps-${evil}`;
    labRealm = `lab-${evil}`;
    // Named without the victim's namespace, so a message naming the realm reveals nothing.
    victimRealm = `shared-${victim.slice(-6)}`;
    operator = await startOperatorProcess({
      name: "attacks",
      extraArgs: ["--leader-election-namespace", iam],
    });
    await createInstance(admin, platformResources, iam, "main", { namespaces: [evil, victim] });

    // Another tenant: a realm shared with the attacker's namespace, and a client of its own in it.
    await platformResources.create(
      REALMS,
      victim,
      realmCr("shared", { realmName: victimRealm, clientGrants: { namespaces: [victim, evil] } }),
    );
    await platformResources.waitForStatus(REALMS, victim, "shared", (o) => o.status?.phase === "Ready");
    await platformResources.create(
      CLIENTS,
      victim,
      clientCr(
        "payments",
        { name: "shared", namespace: victim },
        { clientId: "payments", redirectUris: ["https://pay.example/*"] },
      ),
    );
    await platformResources.waitForStatus(CLIENTS, victim, "payments", (o) => o.status?.phase === "Ready");

    // The attacker, with its own credentials only: two realms of its own and a client that works.
    const tenant = await tenantKubeConfig(admin, evil);
    attacker = new Resources(tenant);
    attackerCore = tenant.makeApiClient(k8s.CoreV1Api);
    await attacker.create(REALMS, evil, realmCr("apps", { realmName: appsRealm }));
    await attacker.create(REALMS, evil, realmCr("lab", { realmName: labRealm, roles: [{ name: "reader" }] }));
    await attacker.waitForStatus(REALMS, evil, "apps", (o) => o.status?.phase === "Ready");
    await attacker.waitForStatus(REALMS, evil, "lab", (o) => o.status?.phase === "Ready");
    await attacker.create(
      CLIENTS,
      evil,
      clientCr("probe", apps(), {
        clientId: "probe",
        serviceAccountsEnabled: true,
        standardFlowEnabled: false,
      }),
    );
    await attacker.waitForStatus(CLIENTS, evil, "probe", (o) => o.status?.phase === "Ready");
    probeToken = async () => {
      const secret = await attackerCore.readNamespacedSecret({ namespace: evil, name: "probe-credentials" });
      return clientCredentialsToken(
        decode(secret, "token-endpoint"),
        "probe",
        decode(secret, "client-secret"),
      );
    };

    // Roles made by hand in Keycloak, which no spec declares: composites only Keycloak knows.
    for (const realm of [appsRealm, labRealm]) {
      await kcAdmin.roles.create({ realm, name: "ops-by-hand" });
      const ops = await kcAdmin.roles.findOneByName({ realm, name: "ops-by-hand" });
      const [rm] = await kcAdmin.clients.find({ realm, clientId: "realm-management" });
      const realmAdmin = await kcAdmin.clients.findRole({ realm, id: rm?.id ?? "", roleName: "realm-admin" });
      await kcAdmin.roles.createComposite({ realm, roleId: ops?.id ?? "" }, [realmAdmin ?? {}]);
    }
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it("has, to begin with, a working client whose token the admin API refuses", async () => {
    expect((await probeToken()).length).toBeGreaterThan(20);
    await expectNoAdminPower();
  });

  it("cannot take over the master realm, even asking to adopt it", async () => {
    const before = await snapshot("master");
    await attacker.create(REALMS, evil, realmCr("takeover", { realmName: "master", adopt: true }));
    const message = await policyMessage(REALMS, "takeover");
    expect(message).toContain("Keycloak's administration realm");
    expect(message).toContain("spec.adoptionGrants");
    expect(await snapshot("master")).toEqual(before);
    expect(before.attributes?.["kpo.dev/owner-uid"]).toBeUndefined();
    await expectNoAdminPower();
  });

  it("cannot reach realm-admin through a composite in its own realm's roles", async () => {
    const before = await snapshot(labRealm);
    await attacker.patchSpec(REALMS, evil, "lab", {
      roles: [
        { name: "reader" },
        { name: "ops", composites: { client: { "realm-management": ["realm-admin"] } } },
      ],
    });
    const message = await policyMessage(REALMS, "lab");
    expect(message).toContain("spec.roles[ops].composites gives role ops");
    expect(message).toContain("role ops → realm-management/realm-admin");
    expect(await snapshot(labRealm)).toEqual(before);
  });

  it("cannot rewrite Keycloak's default role through spec.roles", async () => {
    const before = await snapshot(labRealm);
    await attacker.patchSpec(REALMS, evil, "lab", {
      roles: [
        { name: "reader" },
        {
          name: `default-roles-${labRealm}`,
          composites: { client: { "realm-management": ["realm-admin"] } },
        },
      ],
    });
    const message = await policyMessage(REALMS, "lab");
    expect(message).toContain(`"default-roles-${labRealm}", a role Keycloak creates and uses itself`);
    expect(message).toContain("spec.defaultRoles");
    expect(await snapshot(labRealm)).toEqual(before);
  });

  it("cannot give every user admin roles through spec.defaultRoles, directly or through a role made by hand", async () => {
    const before = await snapshot(labRealm);
    await attacker.patchSpec(REALMS, evil, "lab", {
      roles: [{ name: "reader" }],
      defaultRoles: { client: { "realm-management": ["manage-users"] } },
    });
    expect(await policyMessage(REALMS, "lab")).toContain("every user (the realm's default roles)");
    expect(await snapshot(labRealm)).toEqual(before);

    // The guard cannot see inside ops-by-hand; the last check before writing reads it from Keycloak.
    await attacker.patchSpec(REALMS, evil, "lab", { defaultRoles: { realm: ["ops-by-hand"], client: null } });
    const message = await policyMessage(REALMS, "lab");
    expect(message).toContain("role ops-by-hand → realm-management/realm-admin");
    expect(await snapshot(labRealm)).toEqual(before);
  });

  it("can still add a harmless default role, and only that changes", async () => {
    const before = await snapshot(labRealm);
    await attacker.patchSpec(REALMS, evil, "lab", { defaultRoles: { realm: ["reader"] } });
    await attacker.waitForStatus(REALMS, evil, "lab", (o) => o.status?.phase === "Ready");
    const after = await snapshot(labRealm);
    expect(after.defaultRoles).toEqual([...before.defaultRoles, "reader"].sort());
    await attacker.patchSpec(REALMS, evil, "lab", { defaultRoles: { realm: [] } });
    await waitFor("reader removed from the default roles", async () =>
      (await snapshot(labRealm)).defaultRoles.join() === before.defaultRoles.join() ? true : undefined,
    );
  });

  it("cannot map admin roles to a group, directly or through a role made by hand", async () => {
    const before = await snapshot(labRealm);
    await attacker.patchSpec(REALMS, evil, "lab", {
      defaultRoles: null,
      groups: [{ name: "admins", clientRoles: { "realm-management": ["realm-admin"] } }],
    });
    expect(await policyMessage(REALMS, "lab")).toContain("spec.groups[/admins] gives group /admins");
    await attacker.patchSpec(REALMS, evil, "lab", {
      groups: [{ name: "team", subGroups: [{ name: "ops", realmRoles: ["ops-by-hand"] }] }],
    });
    expect(await policyMessage(REALMS, "lab")).toContain("group /team/ops");
    const after = await snapshot(labRealm);
    expect(after.groups).toEqual(before.groups);
    expect(after.groups).not.toContain("team");
  });

  it("cannot grant its service account admin roles, directly or through a role made by hand", async () => {
    const [probe] = await kcAdmin.clients.find({ realm: appsRealm, clientId: "probe" });
    const sa = await kcAdmin.clients.getServiceAccountUser({ realm: appsRealm, id: probe?.id ?? "" });
    const effective = async () => ({
      realm: (await kcAdmin.users.listCompositeRealmRoleMappings({ realm: appsRealm, id: sa.id ?? "" }))
        .map((r) => r.name)
        .sort(),
      all: await kcAdmin.users.listRoleMappings({ realm: appsRealm, id: sa.id ?? "" }),
    });
    const before = await effective();

    await attacker.patchSpec(CLIENTS, evil, "probe", {
      serviceAccount: { clientRoles: { "realm-management": ["manage-users"] } },
    });
    expect(await policyMessage(CLIENTS, "probe")).toContain(
      "granted directly: realm-management/manage-users",
    );
    await attacker.patchSpec(CLIENTS, evil, "probe", {
      serviceAccount: { clientRoles: null, realmRoles: ["ops-by-hand"] },
    });
    const message = await policyMessage(CLIENTS, "probe");
    expect(message).toContain('the client\'s service account "realm-management/realm-admin"');
    expect(message).toContain("role ops-by-hand → realm-management/realm-admin");
    expect(await effective()).toEqual(before);
    await expectNoAdminPower();
    await attacker.patchSpec(CLIENTS, evil, "probe", { serviceAccount: null });
    await attacker.waitForStatus(CLIENTS, evil, "probe", (o) => o.status?.phase === "Ready");
  });

  it("cannot define a client role that includes admin roles, nor hardcode one into its tokens", async () => {
    const before = await snapshot(appsRealm);
    await attacker.create(
      CLIENTS,
      evil,
      clientCr("composite", apps(), {
        clientId: "composite",
        roles: [{ name: "boss", composites: { client: { "realm-management": ["realm-admin"] } } }],
      }),
    );
    expect(await policyMessage(CLIENTS, "composite")).toContain(
      "role composite/boss → realm-management/realm-admin",
    );
    await attacker.create(
      CLIENTS,
      evil,
      clientCr("hardcoded", apps(), {
        clientId: "hardcoded",
        protocolMappers: [
          {
            name: "admin",
            protocolMapper: "oidc-hardcoded-role-mapper",
            config: { role: "realm-management.realm-admin" },
          },
          {
            name: "forged",
            protocolMapper: "oidc-hardcoded-claim-mapper",
            config: { "claim.name": "resource_access.payments.roles", "claim.value": "admin" },
          },
        ],
      }),
    );
    const o = await policyRefusal(CLIENTS, "hardcoded");
    const message = condition(o, "PolicyCompliant")?.message ?? "";
    expect(message).toContain("every token of the client (hardcoded role)");
    expect(message).toContain("a client may only hardcode its own roles");
    expect(message).toContain('writes claim "resource_access.payments.roles"');
    expect(await snapshot(appsRealm)).toEqual(before);
  });

  it("cannot adopt or change Keycloak's own clients", async () => {
    const before = await snapshot(appsRealm);
    for (const clientId of ["admin-cli", "realm-management", "security-admin-console", "broker", "account"]) {
      await attacker.create(
        CLIENTS,
        evil,
        clientCr(`own-${clientId}`, apps(), {
          clientId,
          adopt: true,
          redirectUris: ["https://evil.example/*"],
          webOrigins: ["https://evil.example"],
        }),
      );
    }
    for (const clientId of ["admin-cli", "realm-management", "security-admin-console", "broker", "account"])
      expect(await policyMessage(CLIENTS, `own-${clientId}`)).toContain("one of Keycloak's own clients");
    expect(await snapshot(appsRealm)).toEqual(before);
  });

  it("cannot adopt or touch another tenant's client or realm, and is not told whose they are", async () => {
    const before = await snapshot(victimRealm);
    const shared = { name: "shared", namespace: victim };
    await attacker.create(CLIENTS, evil, clientCr("steal", shared, { clientId: "payments", adopt: true }));
    expect(await policyMessage(CLIENTS, "steal")).toContain("the KeycloakRealm does not grant that");
    await attacker.create(
      CLIENTS,
      evil,
      clientCr("clash", shared, { clientId: "payments", redirectUris: ["https://evil.example/*"] }),
    );
    const clash = await refused(CLIENTS, "clash");
    expect(clash).toContain("is managed by another resource");
    expect(clash).not.toContain(victim);
    expect(clash).not.toContain("payments-credentials");
    await attacker.create(
      CLIENTS,
      evil,
      clientCr("borrow", shared, {
        clientId: "borrow",
        serviceAccountsEnabled: true,
        serviceAccount: { clientRoles: { payments: ["admin"] } },
      }),
    );
    const borrow = await policyMessage(CLIENTS, "borrow");
    expect(borrow).toContain('roles of client "payments", which another namespace manages');
    expect(borrow).not.toContain(victim);
    await attacker.create(REALMS, evil, realmCr("clash", { realmName: victimRealm }));
    const realmClash = await refused(REALMS, "clash");
    expect(realmClash).toContain("is managed by another resource");
    expect(realmClash).not.toContain(victim);
    expect(await snapshot(victimRealm)).toEqual(before);
  });

  it("cannot make the operator write to, own or delete a Secret it did not create", async () => {
    await core.createNamespacedSecret({
      namespace: evil,
      body: { metadata: { name: "db-password", labels: { app: "db" } }, stringData: { password: "keep-me" } },
    });
    const before = await core.readNamespacedSecret({ namespace: evil, name: "db-password" });
    // Once as a client the policies admit, once as one they refuse; both with deletionPolicy Delete.
    await attacker.create(
      CLIENTS,
      evil,
      clientCr("deputy", apps(), { clientId: "deputy", secret: { name: "db-password" } }),
    );
    await attacker.create(
      CLIENTS,
      evil,
      clientCr("denied-deputy", apps(), {
        clientId: "admin-cli",
        adopt: true,
        secret: { name: "db-password" },
      }),
    );
    const message = await refused(CLIENTS, "deputy");
    expect(message).toContain("Secret");
    expect(message).toContain("db-password");
    expect(message).toContain("was not created for this KeycloakClient");
    await policyRefusal(CLIENTS, "denied-deputy");
    expect(await kcAdmin.clients.find({ realm: appsRealm, clientId: "deputy" })).toEqual([]);

    await attacker.delete(CLIENTS, evil, "deputy");
    await attacker.delete(CLIENTS, evil, "denied-deputy");
    await waitFor(
      "both CRs released",
      async () =>
        (await attacker.gone(CLIENTS, evil, "deputy")) &&
        (await attacker.gone(CLIENTS, evil, "denied-deputy")),
      30_000,
    );
    const after = await core.readNamespacedSecret({ namespace: evil, name: "db-password" });
    expect(after.metadata?.uid).toBe(before.metadata?.uid);
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(after.metadata?.ownerReferences).toBeUndefined();
    expect(decode(after, "password")).toBe("keep-me");
    expect(await kcAdmin.clients.find({ realm: appsRealm, clientId: "admin-cli" })).toHaveLength(1);
  });

  it("ends with no admin power in any realm", async () => {
    await expectNoAdminPower();
    const log = readFileSync(operator.logFile, "utf8");
    const secret = await attackerCore.readNamespacedSecret({ namespace: evil, name: "probe-credentials" });
    expect(log).not.toContain(decode(secret, "client-secret"));
    expect(log).not.toContain("keep-me");
  });
});
