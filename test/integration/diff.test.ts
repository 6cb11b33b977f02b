// `kpo diff` against the real Keycloak: a realm and a client applied with the operator's own
// mapping and sync, then the command's own function on manifests that match, differ in a field,
// add a client, change an identity provider's client secret, drop an owned role, and ask the
// standard policy bundle. Nothing is ever written: the realm's admin events and Keycloak's partial
// export are the same before and after every diff.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type KcAdminClient from "@keycloak/keycloak-admin-client";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KeycloakClientSpec, KeycloakRealmSpec } from "../../src/api/index.js";
import { diffCommand, type DiffOptions } from "../../src/cli/diffCommand.js";
import { getClientSecret, syncClient } from "../../src/keycloak/clientSync.js";
import { KeycloakConnection } from "../../src/keycloak/connection.js";
import type { Owner } from "../../src/keycloak/ownership.js";
import { deleteRealm, syncRealm } from "../../src/keycloak/realmSync.js";
import { desiredClient } from "../../src/resources/clientRepresentation.js";
import { desiredRealm } from "../../src/resources/realmRepresentation.js";
import { realPolicyBundle } from "../unit/policyBundle.js";
import {
  adminClient,
  createInstance,
  createNamespace,
  installCrds,
  kubeConfig,
  Resources,
} from "./support.js";
import * as k8s from "@kubernetes/client-node";
import { partialExport } from "./realmComparison.js";

const env = inject("keycloak");
const suffix = randomUUID().slice(0, 8);
const realmName = `kpo-diff-${suffix}`;
const team = "team-a";
const realmOwner: Owner = { uid: randomUUID(), namespace: team, name: "shop" };
const clientOwner: Owner = { uid: randomUUID(), namespace: team, name: "web" };
const brokerSecret = `broker-secret-${randomUUID()}`;

const realmSpec = (): KeycloakRealmSpec => ({
  instanceRef: { name: "keycloak", namespace: "iam" },
  realmName,
  displayName: "Shop",
  roles: [{ name: "buyer", description: "may buy" }, { name: "seller" }],
  identityProviders: [
    {
      alias: "github",
      providerId: "github",
      clientSecretRef: { name: "broker-credentials" },
      config: { clientId: "gh-app" },
    },
  ],
});

const clientSpec = (): KeycloakClientSpec => ({
  realmRef: { name: "shop" },
  clientId: `web-${suffix}`,
  publicClient: true,
  redirectUris: ["https://shop.example.com/callback"],
  roles: [{ name: "viewer" }],
});

const manifest = (kind: string, name: string, spec: unknown) => ({
  apiVersion: "keycloak.kpo.dev/v1alpha1",
  kind,
  metadata: { name, namespace: team },
  spec,
});

const secretDoc = (value: string) => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "broker-credentials", namespace: team },
  stringData: { "client-secret": value },
});

describe("kpo diff against a real Keycloak", () => {
  let admin: KcAdminClient;
  let conn: KeycloakConnection;
  let dir: string;
  let passwordFile: string;

  beforeAll(async () => {
    admin = await adminClient();
    conn = new KeycloakConnection({
      instance: "test/diff",
      baseUrl: env.url,
      credentials: { kind: "password", username: env.adminUsername, password: env.adminPassword },
      timeoutMs: 60_000,
    });
    // Applied the way the realm and client handlers apply them.
    const secrets = new Map([["spec.identityProviders[github].clientSecretRef", brokerSecret]]);
    await syncRealm(conn, desiredRealm(realmSpec(), secrets), realmOwner);
    await syncClient(conn, realmName, desiredClient(clientSpec()), clientOwner);
    // Every admin write to the realm from here on leaves an admin event.
    await admin.realms.updateConfigEvents({ realm: realmName }, { adminEventsEnabled: true });
    dir = mkdtempSync(join(tmpdir(), "kpo-diff-"));
    passwordFile = join(dir, "admin-password");
    writeFileSync(passwordFile, env.adminPassword, { mode: 0o600 });
  });

  afterAll(async () => {
    await deleteRealm(conn, realmName, realmOwner);
    await conn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes the documents as one multi-document file in a fresh directory and diffs that directory. */
  async function diff(docs: unknown[], extra: Partial<DiffOptions> = {}) {
    const manifests = mkdtempSync(join(dir, "manifests-"));
    writeFileSync(join(manifests, "all.yaml"), docs.map((d) => stringify(d)).join("---\n"));
    let stdout = "";
    let stderr = "";
    const events = await admin.realms.findAdminEvents({ realm: realmName, max: 10_000 });
    const exported = await partialExport(admin, realmName);
    const code = await diffCommand(
      {
        file: [manifests],
        url: env.url,
        username: env.adminUsername,
        passwordFile,
        adminRealm: "master",
        namespace: "default",
        output: "text",
        ...extra,
      },
      { out: (t) => void (stdout += t), err: (t) => void (stderr += t) },
    );
    if (process.env.KPO_DIFF_SHOW) console.log(stdout, stderr);
    // Nothing written: no admin event, and the realm exports as before.
    expect(await admin.realms.findAdminEvents({ realm: realmName, max: 10_000 })).toHaveLength(events.length);
    expect(await partialExport(admin, realmName)).toEqual(exported);
    return { code, stdout, stderr };
  }

  const same = () => [
    manifest("KeycloakRealm", "shop", realmSpec()),
    manifest("KeycloakClient", "web", clientSpec()),
    secretDoc(brokerSecret),
  ];

  it("Given the manifests that were applied, when diffed, then nothing would change: exit 0, no writes", async () => {
    const { code, stdout, stderr } = await diff(same());
    expect(stderr).toBe("");
    expect(stdout).toBe("0 to create, 0 to update, 2 unchanged\n");
    expect(code).toBe(0);
  });

  it("Given a changed display name, when diffed, then the realm would be updated: exit 1 and displayName: old → new", async () => {
    const [, ...rest] = same();
    const { code, stdout } = await diff([
      manifest("KeycloakRealm", "shop", { ...realmSpec(), displayName: "Shop EU" }),
      ...rest,
    ]);
    expect(code).toBe(1);
    expect(stdout).toContain(`KeycloakRealm ${team}/shop (realm "${realmName}"): update\n`);
    expect(stdout).toContain('  displayName: "Shop" → "Shop EU"\n');
    expect(stdout).toContain("0 to create, 1 to update, 1 unchanged");
  });

  it("Given a new client, when diffed, then it would be created with its desired fields", async () => {
    const { code, stdout } = await diff([
      ...same(),
      manifest("KeycloakClient", "api", {
        realmRef: { name: "shop" },
        clientId: `api-${suffix}`,
        name: "API",
      }),
    ]);
    expect(code).toBe(1);
    expect(stdout).toContain(
      `KeycloakClient ${team}/api (client "api-${suffix}" in realm "${realmName}"): create\n`,
    );
    expect(stdout).toContain(`  clientId: "api-${suffix}"\n  name: "API"\n`);
  });

  it("Given a changed identity provider client secret, when diffed, then the change is masked and neither value is printed", async () => {
    const changed = `new-broker-secret-${randomUUID()}`;
    const [realm, client] = same();
    const { code, stdout, stderr } = await diff([realm, client, secretDoc(changed)]);
    expect(code).toBe(1);
    expect(stdout).toContain(
      `  ~ identityProvider:github: update identity provider "github" in realm "${realmName}"\n`,
    );
    expect(stdout).toContain("      config.clientSecret: (secret changed)\n");
    for (const out of [stdout, stderr]) {
      expect(out).not.toContain(changed);
      expect(out).not.toContain(brokerSecret);
    }
    const json = await diff([realm, client, secretDoc(changed)], { output: "json" });
    expect(json.stdout).not.toContain(changed);
    const parsed = JSON.parse(json.stdout) as { action: string; changes: { changes?: unknown[] }[] }[];
    expect(parsed[0]?.action).toBe("update");
    expect(parsed[0]?.changes[0]?.changes).toEqual([{ field: "config.clientSecret", secret: true }]);
  });

  it("Given an owned role removed from the spec, when diffed, then its deletion is listed", async () => {
    const [, ...rest] = same();
    const { code, stdout } = await diff([
      manifest("KeycloakRealm", "shop", {
        ...realmSpec(),
        roles: [{ name: "buyer", description: "may buy" }],
      }),
      ...rest,
    ]);
    expect(code).toBe(1);
    expect(stdout).toContain(
      `  - role:seller: delete role "seller" in realm "${realmName}" (no longer in the spec)\n`,
    );
  });

  it("Given a new role and a new group mapped to it, when diffed, then the role, the group and the mapping are planned", async () => {
    const [, ...rest] = same();
    const spec = {
      ...realmSpec(),
      roles: [...(realmSpec().roles ?? []), { name: "auditor" }],
      groups: [{ name: "staff", realmRoles: ["auditor"] }],
    };
    const { code, stdout, stderr } = await diff([manifest("KeycloakRealm", "shop", spec), ...rest]);
    expect(stderr).toBe("");
    expect(code).toBe(1);
    expect(stdout).toContain(`  + role:auditor: create role "auditor" in realm "${realmName}"\n`);
    expect(stdout).toContain(`  + group:/staff: create group "/staff" in realm "${realmName}"\n`);
    expect(stdout).toContain(
      `  + group:/staff.realmRoles: add to the realm roles of group "/staff" in realm "${realmName}"\n`,
    );
  });

  it("Given --policy and a realm the standard bundle denies, when diffed, then each object's decision is printed", async () => {
    // The instance grants realms to another namespace only: the authorization policy denies this one.
    const instance = {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakInstance",
      metadata: { name: "keycloak", namespace: "iam" },
      spec: { external: { url: env.url }, realmGrants: { namespaces: ["team-z"] } },
    };
    const { code, stdout } = await diff([...same(), instance], { policy: true, bundle: realPolicyBundle() });
    expect(code).toBe(0);
    expect(stdout).toContain(
      `KeycloakRealm ${team}/shop (realm "${realmName}"): unchanged\n  policy (update): DENIED\n    deny `,
    );
    expect(stdout).toMatch(/ {4}deny [^\n]*team-a[^\n]*\n/);
    expect(stdout).toContain(
      `KeycloakClient ${team}/web (client "web-${suffix}" in realm "${realmName}"): unchanged\n  policy (update): `,
    );
  });

  it("Given the same change applied by the operator's sync, then the admin events count it: the no-write checks above can fail", async () => {
    const before = await admin.realms.findAdminEvents({ realm: realmName, max: 10_000 });
    const secrets = new Map([["spec.identityProviders[github].clientSecretRef", brokerSecret]]);
    await syncRealm(conn, desiredRealm({ ...realmSpec(), displayName: "Shop EU" }, secrets), realmOwner);
    const after = await admin.realms.findAdminEvents({ realm: realmName, max: 10_000 });
    expect(after.length).toBeGreaterThan(before.length);
    const { code, stdout } = await diff([
      manifest("KeycloakRealm", "shop", { ...realmSpec(), displayName: "Shop EU" }),
      ...same().slice(1),
    ]);
    expect(code).toBe(0);
    expect(stdout).toBe("0 to create, 0 to update, 2 unchanged\n");
  });
});

describe("kpo diff --instance: the instance, the resource's uid and its Secrets from the cluster", () => {
  const name = `kpo-diff-instance-${suffix}`;
  let admin: KcAdminClient;
  let conn: KeycloakConnection;
  let owner: Owner;
  let namespace: string;
  let dir: string;

  const spec = (namespaceOfInstance: string): KeycloakRealmSpec => ({
    instanceRef: { name: "main", namespace: namespaceOfInstance },
    realmName: name,
    displayName: "Cluster shop",
    identityProviders: [
      {
        alias: "github",
        providerId: "github",
        clientSecretRef: { name: "broker-credentials" },
        config: { clientId: "gh-app" },
      },
    ],
  });

  beforeAll(async () => {
    const kc = kubeConfig();
    const resources = new Resources(kc);
    await installCrds(kc);
    namespace = await createNamespace(kc, "diff");
    await createInstance(kc, resources, namespace, "main", { namespaces: [namespace] });
    await kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({
      namespace,
      body: { metadata: { name: "broker-credentials" }, stringData: { "client-secret": brokerSecret } },
    });
    // Stored, never reconciled (no operator runs here): it gives the uid the ownership checks compare.
    const realm = await resources.create("keycloakrealms", namespace, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      metadata: { name: "shop" },
      spec: { ...spec(namespace) },
    });
    owner = { uid: realm.metadata.uid ?? "", namespace, name: "shop" };
    admin = await adminClient();
    conn = new KeycloakConnection({
      instance: "test/diff-instance",
      baseUrl: env.url,
      credentials: { kind: "password", username: env.adminUsername, password: env.adminPassword },
      timeoutMs: 60_000,
    });
    const secrets = new Map([["spec.identityProviders[github].clientSecretRef", brokerSecret]]);
    await syncRealm(conn, desiredRealm(spec(namespace), secrets), owner);
    await admin.realms.updateConfigEvents({ realm: name }, { adminEventsEnabled: true });
    dir = mkdtempSync(join(tmpdir(), "kpo-diff-instance-"));
  });

  afterAll(async () => {
    await deleteRealm(conn, name, owner);
    await conn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function diffViaInstance(realmSpec: KeycloakRealmSpec, resource = "shop") {
    const file = join(dir, `realm-${randomUUID()}.yaml`);
    // No Secret and no uid in the file: both are the cluster's.
    writeFileSync(
      file,
      stringify({
        ...manifest("KeycloakRealm", resource, realmSpec),
        metadata: { name: resource, namespace },
      }),
    );
    const events = await admin.realms.findAdminEvents({ realm: name, max: 10_000 });
    let stdout = "";
    let stderr = "";
    const code = await diffCommand(
      {
        file: [file],
        instance: `${namespace}/main`,
        kubeconfig: inject("kubeconfigPath"),
        adminRealm: "master",
        namespace: "default",
        output: "text",
        policy: true,
        bundle: realPolicyBundle(),
      },
      { out: (t) => void (stdout += t), err: (t) => void (stderr += t) },
    );
    expect(await admin.realms.findAdminEvents({ realm: name, max: 10_000 })).toHaveLength(events.length);
    return { code, stdout, stderr };
  }

  it("Given the applied realm, when diffed through its instance, then it is unchanged and the instance's grant allows it", async () => {
    const { code, stdout, stderr } = await diffViaInstance(spec(namespace));
    expect(stderr).toBe("");
    expect(stdout).toBe(
      `KeycloakRealm ${namespace}/shop (realm "${name}"): unchanged\n  policy (update): ALLOWED\n0 to create, 0 to update, 1 unchanged\n`,
    );
    expect(code).toBe(0);
  });

  it("Given a changed field, when diffed through its instance, then the update is shown", async () => {
    const { code, stdout } = await diffViaInstance({ ...spec(namespace), displayName: "Cluster shop EU" });
    expect(code).toBe(1);
    expect(stdout).toContain('  displayName: "Cluster shop" → "Cluster shop EU"\n');
  });

  it("Given a Keycloak realm that names this resource but an earlier uid, when diffed through the instance, then the live resource's uid is compared and the sync's ownership refusal is reported", async () => {
    const kc = kubeConfig();
    const resources = new Resources(kc);
    const other = `${name}-old`;
    await resources.create("keycloakrealms", namespace, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      metadata: { name: "old" },
      spec: { instanceRef: { name: "main" }, realmName: other },
    });
    // Created by an earlier KeycloakRealm of the same name (deleted and created again since).
    const earlier: Owner = { uid: randomUUID(), namespace, name: "old" };
    await syncRealm(conn, { realm: { realm: other, displayName: "Old" } }, earlier);
    try {
      const { code, stdout } = await diffViaInstance(
        { instanceRef: { name: "main" }, realmName: other },
        "old",
      );
      expect(code).toBe(2);
      expect(stdout).toContain(`KeycloakRealm ${namespace}/old (realm "${other}"): error\n`);
      expect(stdout).toContain("is managed by another resource");
    } finally {
      await deleteRealm(conn, other, earlier);
    }
  });

  it("Given a raised spec.secret.rotate, when diffed through the instance, then the client secret would change, masked", async () => {
    const kc = kubeConfig();
    const resources = new Resources(kc);
    const clientId = `confidential-${suffix}`;
    const clientSpec = { realmRef: { name: "shop" }, clientId, publicClient: false };
    const client = await resources.create("keycloakclients", namespace, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakClient",
      metadata: { name: "api" },
      spec: clientSpec,
    });
    await syncClient(conn, name, desiredClient(clientSpec), {
      uid: client.metadata.uid ?? "",
      namespace,
      name: "api",
    });
    // The credentials Secret as the client handler leaves it: its rotation annotation says 0.
    await kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: "api-credentials", annotations: { "keycloak.kpo.dev/rotation": "0" } },
        stringData: { "client-secret": "x" },
      },
    });
    const file = join(dir, "client.yaml");
    writeFileSync(
      file,
      [
        stringify({
          ...manifest("KeycloakRealm", "shop", spec(namespace)),
          metadata: { name: "shop", namespace },
        }),
        stringify({
          ...manifest("KeycloakClient", "api", { ...clientSpec, secret: { rotate: 1 } }),
          metadata: { name: "api", namespace },
        }),
      ].join("---\n"),
    );
    let stdout = "";
    let stderr = "";
    const code = await diffCommand(
      {
        file: [file],
        instance: `${namespace}/main`,
        kubeconfig: inject("kubeconfigPath"),
        adminRealm: "master",
        namespace: "default",
        output: "text",
      },
      { out: (t) => void (stdout += t), err: (t) => void (stderr += t) },
    );
    expect(code).toBe(1);
    expect(stdout).toContain(
      `KeycloakClient ${namespace}/api (client "${clientId}" in realm "${name}"): update\n  secret: (secret changed)\n`,
    );
    const secret = await getClientSecret(conn, name, clientId);
    expect(stdout + stderr).not.toContain(secret);
  });
});
