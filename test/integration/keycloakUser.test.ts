// KeycloakUser end to end: the real operator process, kube-apiserver and Keycloak. A tenant
// namespace granted by the realm's spec.userGrants creates a user with attributes, groups, a role,
// an identity-provider link and an initial password; the user logs in with it (direct grant), a
// resync writes nothing, a membership removed by hand comes back, a later change of the password
// Secret does not reset the password, the password appears in no status, event or operator log,
// and deletion removes the user. Then, with the tenant's own ServiceAccount token, every way to
// reach more than the grant gives is tried — realm-admin directly, through a composite made by
// hand, through a group or a default group mapped by hand, taking over a hand-made user, a realm
// without a user grant — and each is refused with Keycloak unchanged.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import * as k8s from "@kubernetes/client-node";
import type KcAdminClient from "@keycloak/keycloak-admin-client";
import type { KeycloakConnection } from "../../src/keycloak/connection.js";
import { syncUser } from "../../src/keycloak/userSync.js";
import type { KeycloakUserSpec } from "../../src/api/index.js";
import { noSecrets } from "../../src/resources/secretReferences.js";
import { desiredUser } from "../../src/resources/userRepresentation.js";
import {
  adminClient,
  condition,
  createInstance,
  createNamespace,
  installCrds,
  kubeConfig,
  Resources,
  startOperatorProcess,
  tenantKubeConfig,
  waitFor,
  type KpoObject,
  type OperatorProcess,
  adminConnection,
} from "./support.js";

const REALMS = "keycloakrealms";
const USERS = "keycloakusers";
const API = "keycloak.kpo.dev/v1alpha1";
const env = inject("keycloak");

const initialPassword = "Initial-Passw0rd-for-bot";
const laterPassword = "Changed-Passw0rd-in-Secret";

describe("KeycloakUser", () => {
  let admin: k8s.KubeConfig;
  let kcAdmin: KcAdminClient;
  let platform: Resources;
  let tenant: Resources;
  let tenantCore: k8s.CoreV1Api;
  let operator: OperatorProcess;
  let conn: KeycloakConnection;
  let iam: string;
  let team: string;
  let realm: string;
  let closedRealm: string;

  const realmRef = () => ({ name: "apps", namespace: iam });
  const userCr = (name: string, spec: Partial<KeycloakUserSpec>) => ({
    apiVersion: API,
    kind: "KeycloakUser",
    metadata: { name },
    spec: { realmRef: realmRef(), username: name, deletionPolicy: "Delete", ...spec },
  });
  const usersNamed = async (username: string) =>
    (await kcAdmin.users.find({ realm, username, exact: true })).filter((u) => u.username === username);
  const touch = async (name: string, value: string) => {
    await tenant.api.patchNamespacedCustomObject(
      {
        group: "keycloak.kpo.dev",
        version: "v1alpha1",
        namespace: team,
        plural: USERS,
        name,
        body: { metadata: { annotations: { "test.kpo.dev/touch": value } } },
      },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
  };
  const passwordGrant = (password: string) =>
    fetch(`${env.url}/realms/${realm}/protocol/openid-connect/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "password", client_id: "cli", username: "bot", password }),
    });
  /** The refusal the tenant reads: every condition message of a Failed user. */
  const refusal = async (name: string): Promise<{ object: KpoObject; text: string }> => {
    const object = await tenant.waitForStatus(USERS, team, name, (o) => o.status?.phase === "Failed");
    const text = (object.status?.conditions ?? []).map((c) => c.message).join("\n");
    return { object, text };
  };

  beforeAll(async () => {
    admin = kubeConfig();
    kcAdmin = await adminClient();
    platform = new Resources(admin);
    await installCrds(admin);
    iam = await createNamespace(admin, "iam");
    team = await createNamespace(admin, "team");
    realm = `users-${iam}`;
    closedRealm = `closed-${iam}`;
    operator = await startOperatorProcess({ name: "users", extraArgs: ["--leader-election-namespace", iam] });
    conn = adminConnection();
    await createInstance(admin, platform, iam, "main");
    const realmCr = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: API,
      kind: "KeycloakRealm",
      metadata: { name },
      spec: { instanceRef: { name: "main" }, deletionPolicy: "Delete", ...spec },
    });
    await platform.create(
      REALMS,
      iam,
      realmCr("apps", {
        realmName: realm,
        userGrants: { namespaces: [team] },
        roles: [{ name: "reader" }, { name: "viewer" }],
        groups: [{ name: "staff", realmRoles: ["reader"] }, { name: "crew" }],
      }),
    );
    await platform.create(REALMS, iam, realmCr("closed", { realmName: closedRealm }));
    await Promise.all(
      ["apps", "closed"].map((r) =>
        platform.waitForStatus(REALMS, iam, r, (o) => o.status?.phase === "Ready"),
      ),
    );

    // Made by hand in Keycloak, where no spec declares them: a composite and a group that reach
    // realm-admin, a user nobody's resource created, and a public client for password logins.
    const [rm] = await kcAdmin.clients.find({ realm, clientId: "realm-management" });
    const realmAdmin = await kcAdmin.clients.findRole({ realm, id: rm?.id ?? "", roleName: "realm-admin" });
    await kcAdmin.roles.create({ realm, name: "ops-by-hand" });
    const ops = await kcAdmin.roles.findOneByName({ realm, name: "ops-by-hand" });
    await kcAdmin.roles.createComposite({ realm, roleId: ops?.id ?? "" }, [
      realmAdmin as { id: string; name: string },
    ]);
    const group = await kcAdmin.groups.create({ realm, name: "admins-by-hand" });
    await kcAdmin.groups.addClientRoleMappings({
      realm,
      id: group.id,
      clientUniqueId: rm?.id ?? "",
      roles: [{ id: realmAdmin?.id ?? "", name: "realm-admin" }],
    });
    await kcAdmin.users.create({ realm, username: "handmade", enabled: true, firstName: "Hand" });
    await kcAdmin.identityProviders.create({
      realm,
      alias: "gh",
      providerId: "github",
      enabled: true,
      config: { clientId: "kpo-test", clientSecret: "not-a-real-secret" },
    });
    await kcAdmin.clients.create({
      realm,
      clientId: "cli",
      publicClient: true,
      directAccessGrantsEnabled: true,
      standardFlowEnabled: false,
    });

    // The tenant, with its own credentials only: users and Secrets in its namespace.
    const tenantConfig = await tenantKubeConfig(admin, team, {
      resources: ["keycloakusers"],
      secretVerbs: ["get", "list", "create", "update", "patch"],
    });
    tenant = new Resources(tenantConfig);
    tenantCore = tenantConfig.makeApiClient(k8s.CoreV1Api);
    await tenantCore.createNamespacedSecret({
      namespace: team,
      body: { metadata: { name: "bot-password" }, stringData: { password: initialPassword } },
    });
    await tenant.create(
      USERS,
      team,
      userCr("bot", {
        email: "bot@example.com",
        firstName: "Build",
        lastName: "Bot",
        attributes: { team: ["a"] },
        groups: ["/staff", "/crew"],
        realmRoles: ["viewer"],
        federatedIdentities: [{ identityProvider: "gh", userId: "4242", userName: "bot-at-gh" }],
        initialPasswordSecretRef: { name: "bot-password" },
      }),
    );
  });

  afterAll(async () => {
    await operator?.stop();
    await conn?.close();
    for (const r of [realm, closedRealm]) await kcAdmin?.realms.del({ realm: r }).catch(() => undefined);
  });

  describe("Given a realm whose spec.userGrants names the tenant namespace", () => {
    let bot: KpoObject;

    it("When the tenant creates a KeycloakUser, Then it is Ready with its columns and the user has its fields, attributes, groups and role", async () => {
      bot = await tenant.waitForStatus(USERS, team, "bot", (o) => o.status?.phase === "Ready");
      expect(condition(bot, "Ready")?.status).toBe("True");
      expect(bot.status?.passwordInitialized).toBe(true);

      const table = (await tenant.api.listNamespacedCustomObject(
        { group: "keycloak.kpo.dev", version: "v1alpha1", namespace: team, plural: USERS },
        k8s.setHeaderOptions("Accept", "application/json;as=Table;g=meta.k8s.io;v=v1"),
      )) as { columnDefinitions: Array<{ name: string }>; rows: Array<{ cells: unknown[] }> };
      const columns = table.columnDefinitions.map((c) => c.name);
      expect(columns).toEqual(expect.arrayContaining(["Name", "Username", "Realm", "Phase", "Ready", "Age"]));
      const row = table.rows[0]?.cells ?? [];
      expect(row[columns.indexOf("Username")]).toBe("bot");
      expect(row[columns.indexOf("Realm")]).toBe("apps");
      expect(row[columns.indexOf("Phase")]).toBe("Ready");
      expect(row[columns.indexOf("Ready")]).toBe("True");

      const [user] = await usersNamed("bot");
      expect(user?.id).toBe(bot.status?.userId);
      expect(user).toMatchObject({
        email: "bot@example.com",
        firstName: "Build",
        lastName: "Bot",
        enabled: true,
      });
      expect(user?.attributes).toMatchObject({ team: ["a"], "kpo.dev/owner-uid": [bot.metadata.uid] });
      const groups = await kcAdmin.users.listGroups({ realm, id: user?.id ?? "" });
      expect(groups.map((g) => g.path).sort()).toEqual(["/crew", "/staff"]);
      const roles = await kcAdmin.users.listRealmRoleMappings({ realm, id: user?.id ?? "" });
      expect(roles.map((r) => r.name)).toContain("viewer");
      const links = await kcAdmin.users.listFederatedIdentities({ realm, id: user?.id ?? "" });
      expect(links).toEqual([{ identityProvider: "gh", userId: "4242", userName: "bot-at-gh" }]);
    });

    it("When the user logs in with the initial password (direct grant), Then Keycloak issues a token", async () => {
      const res = await passwordGrant(initialPassword);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { access_token?: string }).access_token).toBeTruthy();
    });

    it("When the same spec is synced again, Then it makes zero writes", async () => {
      const owner = { uid: bot.metadata.uid ?? "", namespace: team, name: "bot", kind: "KeycloakUser" };
      const desired = desiredUser(bot.spec as unknown as KeycloakUserSpec, noSecrets);
      const result = await syncUser(conn, realm, desired, owner);
      expect(result).toMatchObject({ created: false, writes: 0, changedFields: [] });
    });

    it("When a membership is removed by hand, Then the next reconcile adds it back", async () => {
      const [user] = await usersNamed("bot");
      const id = user?.id ?? "";
      const crew = (await kcAdmin.users.listGroups({ realm, id })).find((g) => g.path === "/crew");
      await kcAdmin.users.delFromGroup({ realm, id, groupId: crew?.id ?? "" });
      expect((await kcAdmin.users.listGroups({ realm, id })).map((g) => g.path)).toEqual(["/staff"]);
      await touch("bot", "drift");
      await waitFor("the /crew membership repaired", async () =>
        (await kcAdmin.users.listGroups({ realm, id })).some((g) => g.path === "/crew"),
      );
    });

    it("When the password Secret changes, Then the user's password is not reset", async () => {
      await tenantCore.patchNamespacedSecret(
        { namespace: team, name: "bot-password", body: { stringData: { password: laterPassword } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
      // A spec change with it, so that the status shows when a reconcile after the Secret's change
      // is done (waitForStatus waits for the new generation).
      await tenant.patchSpec(USERS, team, "bot", { lastName: "Robot" });
      await tenant.waitForStatus(USERS, team, "bot", (o) => o.status?.phase === "Ready");
      expect((await usersNamed("bot"))[0]?.lastName).toBe("Robot");
      expect((await passwordGrant(initialPassword)).status).toBe(200);
      expect((await passwordGrant(laterPassword)).status).toBe(401);
    });

    it("When its status, events and the operator's log are read, Then no password appears in them", async () => {
      const current = await tenant.get(USERS, team, "bot");
      const events = await admin.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace: team });
      const text =
        JSON.stringify(current.status) +
        JSON.stringify(events.items) +
        readFileSync(operator.logFile, "utf8");
      expect(events.items.length).toBeGreaterThan(0);
      expect(text).not.toContain(initialPassword);
      expect(text).not.toContain(laterPassword);
    });

    it("When it is deleted with deletionPolicy Delete, Then the user is removed from Keycloak", async () => {
      await tenant.delete(USERS, team, "bot");
      await waitFor("the KeycloakUser gone", () => tenant.gone(USERS, team, "bot"));
      expect(await usersNamed("bot")).toEqual([]);
    });
  });

  describe("As an attacker with the tenant's own ServiceAccount token", () => {
    it("Given realm-admin mapped directly, When applied, Then it is denied and no user is created", async () => {
      await tenant.create(
        USERS,
        team,
        userCr("evil-direct", { clientRoles: { "realm-management": ["realm-admin"] } }),
      );
      const { object, text } = await refusal("evil-direct");
      expect(condition(object, "PolicyCompliant")?.status).toBe("False");
      expect(text).toContain('spec.clientRoles gives user evil-direct "realm-management/realm-admin"');
      expect(await usersNamed("evil-direct")).toEqual([]);
    });

    it("Given a realm role whose composite made by hand is realm-admin, When applied, Then the live check denies it and no user is created", async () => {
      await tenant.create(USERS, team, userCr("evil-composite", { realmRoles: ["ops-by-hand"] }));
      const { text } = await refusal("evil-composite");
      expect(text).toContain("role ops-by-hand → realm-management/realm-admin");
      expect(await usersNamed("evil-composite")).toEqual([]);
    });

    it("Given a group whose roles mapped by hand include realm-admin, When applied, Then the live check denies it and no user is created", async () => {
      await tenant.create(USERS, team, userCr("evil-group", { groups: ["/admins-by-hand"] }));
      const { text } = await refusal("evil-group");
      expect(text).toContain("spec.groups[/admins-by-hand]");
      expect(text).toContain("realm-management/realm-admin");
      expect(await usersNamed("evil-group")).toEqual([]);
    });

    it("Given a hand-made user's username, When applied with or without adopt, Then it is refused and the user is unchanged", async () => {
      const [before] = await usersNamed("handmade");
      await tenant.create(
        USERS,
        team,
        userCr("take", { username: "handmade", firstName: "Taken", realmRoles: ["viewer"] }),
      );
      const taken = await refusal("take");
      expect(taken.text).toContain('User "handmade"');
      expect(taken.text).toContain("was not created by this operator");
      await tenant.create(
        USERS,
        team,
        userCr("adopt", { username: "handmade", firstName: "Taken", adopt: true }),
      );
      const adopted = await refusal("adopt");
      expect(adopted.text).toContain("spec.adoptionGrants");
      const [after] = await usersNamed("handmade");
      expect(after).toEqual(before);
      const roles = await kcAdmin.users.listRealmRoleMappings({ realm, id: after?.id ?? "" });
      expect(roles.map((r) => r.name)).not.toContain("viewer");
    });

    it("Given a realm without a user grant for the namespace, When applied, Then it is denied with how to fix it and no user is created", async () => {
      await tenant.create(USERS, team, {
        ...userCr("evil-closed", {}),
        spec: { realmRef: { name: "closed", namespace: iam }, username: "evil-closed" },
      });
      const { text } = await refusal("evil-closed");
      expect(text).toContain(`may not create users in KeycloakRealm ${iam}/closed`);
      expect(text).toContain("spec.userGrants.namespaces");
      const found = await kcAdmin.users.find({ realm: closedRealm, username: "evil-closed", exact: true });
      expect(found).toEqual([]);
    });

    it("Given a default group of the realm mapped to realm-admin by hand, When a user without groups is applied, Then it is denied and not created", async () => {
      const group = await kcAdmin.groups.create({ realm, name: "everyone-by-hand" });
      const [rm] = await kcAdmin.clients.find({ realm, clientId: "realm-management" });
      const realmAdmin = await kcAdmin.clients.findRole({ realm, id: rm?.id ?? "", roleName: "realm-admin" });
      await kcAdmin.groups.addClientRoleMappings({
        realm,
        id: group.id,
        clientUniqueId: rm?.id ?? "",
        roles: [{ id: realmAdmin?.id ?? "", name: "realm-admin" }],
      });
      await kcAdmin.realms.addDefaultGroup({ realm, id: group.id });
      await tenant.create(USERS, team, userCr("evil-default", {}));
      const { text } = await refusal("evil-default");
      expect(text).toContain("member of default group /everyone-by-hand");
      expect(text).toContain("realm-management/realm-admin");
      expect(await usersNamed("evil-default")).toEqual([]);
    });

    it("Given a service-account username, When applied, Then the API server refuses it", async () => {
      await expect(
        tenant.create(USERS, team, userCr("sa", { username: "service-account-cli" })),
      ).rejects.toThrow(/service-account-/);
    });
  });

  describe("Given a realm with deletionPolicy Delete and a user in it", () => {
    it("When the realm is deleted, Then its deletion waits for the user, saying so, and completes once the user is gone", async () => {
      const doomedRealm = `doomed-${iam}`;
      await platform.create(REALMS, iam, {
        apiVersion: API,
        kind: "KeycloakRealm",
        metadata: { name: "doomed" },
        spec: {
          instanceRef: { name: "main" },
          deletionPolicy: "Delete",
          realmName: doomedRealm,
          userGrants: { namespaces: [team] },
        },
      });
      await platform.waitForStatus(REALMS, iam, "doomed", (o) => o.status?.phase === "Ready");
      await tenant.create(USERS, team, userCr("held", { realmRef: { name: "doomed", namespace: iam } }));
      await tenant.waitForStatus(USERS, team, "held", (o) => o.status?.phase === "Ready");

      await platform.delete(REALMS, iam, "doomed");
      const waiting = await platform.waitForStatus(REALMS, iam, "doomed", (o) =>
        (o.status?.conditions ?? []).some((c) => c.message.includes("KeycloakUser")),
      );
      expect(waiting.status?.phase).toBe("Deleting");
      const message = (waiting.status?.conditions ?? []).map((c) => c.message).join("\n");
      expect(message).toContain("1 KeycloakUser(s)");
      // The user is in another namespace than the realm: counted, not named.
      expect(message).toContain("1 in another namespace");
      expect(message).not.toContain("held");
      expect((await kcAdmin.realms.findOne({ realm: doomedRealm }))?.realm).toBe(doomedRealm);

      await tenant.delete(USERS, team, "held");
      await waitFor("the realm's deletion to complete", () => platform.gone(REALMS, iam, "doomed"));
      expect(await kcAdmin.realms.findOne({ realm: doomedRealm })).toBeNull();
    });
  });
});
