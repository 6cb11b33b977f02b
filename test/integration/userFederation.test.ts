// LDAP user federation end to end: a real OpenLDAP (Debian's slapd, started here because only this
// file needs it) seeded with alice and bob and a group `developers` holding alice; the operator as its
// own process; a KeycloakRealm applied with the tenant's own credentials, federating that directory
// with a group-ldap-mapper into a spec group that maps the realm role `developer`. Then: alice's
// direct-grant token carries `developer`, resyncs write nothing, a mapper deleted by hand comes back,
// a wrong bind password is reported without being shown, a rotated one is applied, and a hardcoded
// realm-admin mapper is refused by the policy with Keycloak left as it was.
import { randomBytes, randomUUID } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import * as k8s from "@kubernetes/client-node";
import type KcAdminClient from "@keycloak/keycloak-admin-client";
import { startLdap, type LdapServer } from "../../src/testenv/ldap.js";
import { ldapMapperProviderType, userStorageProviderType } from "../../src/keycloak/userFederation.js";
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
  keycloakTraffic,
} from "./support.js";

const REALMS = "keycloakrealms";
const API = "keycloak.kpo.dev/v1alpha1";

interface TokenClaims {
  realm_access?: { roles?: string[] };
}

describe("Given a real OpenLDAP directory and a realm that federates it through the operator", () => {
  let ldap: LdapServer;
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let kcAdmin: KcAdminClient;
  let tenant: Resources;
  let operator: OperatorProcess;
  let team: string;
  let realm: string;
  let bindPassword: string;

  const groupMapper = () => ({
    name: "ldap-groups",
    type: "group-ldap-mapper",
    config: {
      "groups.dn": ldap.groupsDn,
      "group.name.ldap.attribute": "cn",
      "group.object.classes": "groupOfNames",
      "membership.ldap.attribute": "member",
      "membership.attribute.type": "DN",
      "membership.user.ldap.attribute": "uid",
      "user.roles.retrieve.strategy": "LOAD_GROUPS_BY_MEMBER_ATTRIBUTE",
      mode: "READ_ONLY",
      "preserve.group.inheritance": "false",
      "ignore.missing.groups": "false",
      "drop.non.existing.groups.during.sync": "false",
    },
  });
  const provider = (mappers: unknown[]) => ({
    name: "corp",
    connectionUrl: ldap.url,
    bindDn: ldap.bindDn,
    bindCredentialRef: { name: "ldap-bind" },
    usersDn: ldap.usersDn,
    editMode: "READ_ONLY",
    importEnabled: true,
    mappers,
  });

  const writeBindSecret = async (password: string) => {
    const body = { metadata: { name: "ldap-bind" }, stringData: { password } };
    await core
      .replaceNamespacedSecret({ namespace: team, name: "ldap-bind", body })
      .catch(() => core.createNamespacedSecret({ namespace: team, body }));
  };

  const login = async (username: string, password: string) => {
    const res = await fetch(`${inject("keycloak").url}/realms/${realm}/protocol/openid-connect/token`, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "password", client_id: "cli", username, password }),
    });
    const body = (await res.json()) as { access_token?: string };
    if (!res.ok || !body.access_token) return { status: res.status, roles: [] as string[] };
    const claims = JSON.parse(
      Buffer.from(body.access_token.split(".")[1] ?? "", "base64url").toString(),
    ) as TokenClaims;
    return { status: res.status, roles: claims.realm_access?.roles ?? [] };
  };

  const providerComponent = async () =>
    (await kcAdmin.components.find({ realm, type: userStorageProviderType })).find((c) => c.name === "corp");
  const mappersOf = async (parent: string) =>
    kcAdmin.components.find({ realm, parent, type: ldapMapperProviderType });
  /** Everything an attack on the federation could change. */
  const federationSnapshot = async () => {
    const comp = await providerComponent();
    const mappers = await mappersOf(comp?.id ?? "");
    return {
      provider: comp,
      mappers: mappers
        .map((m) => ({ id: m.id, name: m.name, type: m.providerId, config: m.config }))
        .sort((a, b) => String(a.name).localeCompare(String(b.name))),
      roles: (await kcAdmin.roles.find({ realm })).map((r) => r.name).sort(),
    };
  };
  const storedCredentialBinds = async () => {
    const comp = await providerComponent();
    return kcAdmin.realms
      .testLDAPConnection(
        { realm },
        {
          action: "testAuthentication",
          connectionUrl: ldap.url,
          bindDn: ldap.bindDn,
          bindCredential: "**********",
          componentId: comp?.id ?? "",
        },
      )
      .then(
        () => true,
        () => false,
      );
  };

  beforeAll(async () => {
    const suffix = randomUUID().slice(0, 8);
    ldap = await startLdap({
      dir: path.join(inject("testEnvDir"), `ldap-${suffix}`),
      users: [
        {
          uid: "alice",
          password: "alice-password",
          givenName: "Alice",
          sn: "Liddell",
          mail: "alice@corp.test",
        },
        { uid: "bob", password: "bob-password", givenName: "Bob", sn: "Builder", mail: "bob@corp.test" },
      ],
      groups: [{ cn: "developers", members: ["alice"] }],
    });
    bindPassword = ldap.bindPassword;
    admin = kubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    kcAdmin = await adminClient();
    const platformResources = new Resources(admin);
    await installCrds(admin);
    const platform = await createNamespace(admin, "ldap-iam");
    team = await createNamespace(admin, "ldap-team");
    realm = `corp-${team}`;
    operator = await startOperatorProcess({
      name: "ldap",
      extraArgs: ["--resync-period-ms", "3000", "--leader-election-namespace", platform],
    });
    await createInstance(admin, platformResources, platform, "main", { namespaces: [team] });
    await writeBindSecret(bindPassword);
    // The realm is the tenant's own: applied with its ServiceAccount token, not the admin's.
    tenant = new Resources(await tenantKubeConfig(admin, team));
    await tenant.create(REALMS, team, {
      apiVersion: API,
      kind: "KeycloakRealm",
      metadata: { name: "corp" },
      spec: {
        instanceRef: { name: "main", namespace: platform },
        realmName: realm,
        deletionPolicy: "Delete",
        roles: [{ name: "developer" }],
        groups: [{ name: "developers", realmRoles: ["developer"] }],
        userFederation: { ldap: [provider([groupMapper()])] },
      },
    });
    await tenant.waitForStatus(REALMS, team, "corp", (o) => o.status?.phase === "Ready");
    await kcAdmin.clients.create({
      realm,
      clientId: "cli",
      publicClient: true,
      directAccessGrantsEnabled: true,
      standardFlowEnabled: false,
    });
  });

  afterAll(async () => {
    await operator?.stop();
    await ldap?.stop();
  });

  it("When alice logs in with a direct grant, Then her token has the developer role from her LDAP group; bob's has not", async () => {
    const alice = await login("alice", "alice-password");
    expect(alice.status).toBe(200);
    expect(alice.roles).toContain("developer");
    const bob = await login("bob", "bob-password");
    expect(bob.status).toBe(200);
    expect(bob.roles).not.toContain("developer");
    expect((await login("alice", "not-her-password")).status).toBe(401);
  });

  it("When nothing changes, Then resyncs read Keycloak but make no writes, and Keycloak's default mappers are kept", async () => {
    const comp = await providerComponent();
    const names = (await mappersOf(comp?.id ?? "")).map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(["ldap-groups", "username", "email", "first name"]));
    const writes = async () => keycloakTraffic(await operator.metrics()).writes;
    const reads = async () => keycloakTraffic(await operator.metrics()).reads;
    const [writesBefore, readsBefore] = [await writes(), await reads()];
    await new Promise((r) => setTimeout(r, 8_000));
    expect(await reads()).toBeGreaterThan(readsBefore);
    expect(await writes()).toBe(writesBefore);
  });

  it("When the spec's mapper is deleted by hand in Keycloak, Then the next resync restores it and leaves the default mappers alone", async () => {
    const comp = await providerComponent();
    const before = await mappersOf(comp?.id ?? "");
    const mine = before.find((m) => m.name === "ldap-groups");
    await kcAdmin.components.del({ realm, id: mine?.id ?? "" });
    const restored = await waitFor("mapper restored", async () =>
      (await mappersOf(comp?.id ?? "")).find((m) => m.name === "ldap-groups"),
    );
    expect(restored.id).toBe(mine?.id);
    expect(restored.config?.["groups.dn"]).toEqual([ldap.groupsDn]);
    expect((await mappersOf(comp?.id ?? "")).map((m) => m.id).sort()).toEqual(before.map((m) => m.id).sort());
  });

  it("When the Secret holds a wrong bind password, Then the realm says which provider and Secret failed, never shows the password, and Keycloak keeps the working one", async () => {
    const wrong = `wrong-${randomBytes(12).toString("hex")}`;
    await writeBindSecret(wrong);
    const degraded = await waitFor("realm reports the failed bind", async () => {
      const o = await tenant.get(REALMS, team, "corp");
      return JSON.stringify(o.status ?? {}).includes("AuthenticationFailure") ? o : false;
    });
    const message = condition(degraded, "Ready")?.message ?? "";
    expect(message).toContain('LDAP provider "corp"');
    expect(message).toContain(
      'Secret "ldap-bind" key "password" (spec.userFederation.ldap[corp].bindCredentialRef)',
    );
    expect(JSON.stringify(degraded.status)).not.toContain(wrong);
    const events = await core.listNamespacedEvent({ namespace: team });
    expect(JSON.stringify(events.items)).not.toContain(wrong);
    expect(await storedCredentialBinds()).toBe(true);
    expect((await login("alice", "alice-password")).roles).toContain("developer");
  });

  it("When the directory's bind password is rotated and the Secret follows, Then Keycloak binds with the new one and the old one no longer works", async () => {
    const rotated = randomBytes(18).toString("base64url");
    await ldap.setPassword(ldap.bindDn, rotated);
    expect(await ldap.canBind(ldap.bindDn, bindPassword)).toBe(false);
    expect(await storedCredentialBinds()).toBe(false);
    await writeBindSecret(rotated);
    await waitFor("the rotated credential is applied", async () => await storedCredentialBinds());
    const ready = await tenant.waitForStatus(REALMS, team, "corp", (o) => o.status?.phase === "Ready");
    expect(condition(ready, "Ready")?.status).toBe("True");
    bindPassword = rotated;
    expect((await login("alice", "alice-password")).roles).toContain("developer");
  });

  it("When the tenant adds a hardcoded LDAP role mapper giving realm-admin, Then the policy refuses it and Keycloak is unchanged", async () => {
    const before = await federationSnapshot();
    await tenant.patchSpec(REALMS, team, "corp", {
      userFederation: {
        ldap: [
          provider([
            groupMapper(),
            {
              name: "admins",
              type: "hardcoded-ldap-role-mapper",
              config: { role: "realm-management.realm-admin" },
            },
          ]),
        ],
      },
    });
    const refused: KpoObject = await tenant.waitForStatus(
      REALMS,
      team,
      "corp",
      (o) => o.status?.phase === "Failed" && condition(o, "PolicyCompliant")?.status === "False",
    );
    const message = condition(refused, "PolicyCompliant")?.message ?? "";
    expect(message).toContain(
      'spec.userFederation.ldap[corp].mappers[admins] gives users of LDAP provider "corp"',
    );
    expect(message).toContain("realm-management/realm-admin");
    expect(await federationSnapshot()).toEqual(before);
    expect((await login("bob", "bob-password")).roles).not.toContain("realm-admin");
  });

  it("When the tenant maps LDAP groups to realm roles and a role made by hand holds realm-admin, Then the last check before writing refuses it and Keycloak is unchanged", async () => {
    await kcAdmin.roles.create({ realm, name: "ops-by-hand" });
    const ops = await kcAdmin.roles.findOneByName({ realm, name: "ops-by-hand" });
    const [rm] = await kcAdmin.clients.find({ realm, clientId: "realm-management" });
    const realmAdmin = await kcAdmin.clients.findRole({ realm, id: rm?.id ?? "", roleName: "realm-admin" });
    await kcAdmin.roles.createComposite({ realm, roleId: ops?.id ?? "" }, [realmAdmin ?? {}]);
    const before = await federationSnapshot();
    await tenant.patchSpec(REALMS, team, "corp", {
      userFederation: {
        ldap: [
          provider([
            groupMapper(),
            {
              name: "ldap-roles",
              type: "role-ldap-mapper",
              config: {
                "roles.dn": ldap.groupsDn,
                "role.name.ldap.attribute": "cn",
                "role.object.classes": "groupOfNames",
                "membership.ldap.attribute": "member",
                mode: "READ_ONLY",
              },
            },
          ]),
        ],
      },
    });
    const refused = await tenant.waitForStatus(
      REALMS,
      team,
      "corp",
      (o) => o.status?.phase === "Failed" && condition(o, "PolicyCompliant")?.status === "False",
    );
    const message = condition(refused, "PolicyCompliant")?.message ?? "";
    expect(message).toContain(
      'spec.userFederation.ldap[corp].mappers[ldap-roles] gives users of LDAP provider "corp"',
    );
    expect(message).toContain("* → ops-by-hand → realm-management/realm-admin");
    expect(await federationSnapshot()).toEqual(before);
  });

  it("When a hardcoded LDAP role mapper names a role that does not exist, Then the realm says so and nothing of the federation is written", async () => {
    const before = await federationSnapshot();
    await tenant.patchSpec(REALMS, team, "corp", {
      userFederation: {
        ldap: [
          provider([
            groupMapper(),
            { name: "everyone", type: "hardcoded-ldap-role-mapper", config: { role: "no-such-role" } },
          ]),
        ],
      },
    });
    const failed = await tenant.waitForStatus(REALMS, team, "corp", (o) => o.status?.phase === "Failed");
    expect(condition(failed, "PolicyCompliant")?.status).toBe("True");
    expect(condition(failed, "Ready")?.message).toContain(
      'Mapper "everyone" of LDAP provider "corp" (config.role) refers to realm role "no-such-role"',
    );
    expect(await federationSnapshot()).toEqual(before);
  });
});
