// End to end: an application team in its own namespace applies a KeycloakClient against a platform
// team's realm and receives working OIDC credentials in a Secret.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import * as k8s from "@kubernetes/client-node";
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
  waitFor,
  type OperatorProcess,
} from "./support.js";

const CLIENTS = "keycloakclients";
const REALMS = "keycloakrealms";

/** "200", or the HTTP status with Keycloak's error, of a client-credentials token request. */
async function clientCredentialsToken(
  tokenEndpoint: string,
  clientId: string,
  clientSecret: string,
): Promise<string> {
  const res = await requestClientCredentialsToken(tokenEndpoint, clientId, clientSecret);
  const body = (await res.json().catch(() => ({}))) as { error?: string; error_description?: string };
  return res.ok ? "200" : `${res.status} ${body.error ?? ""} ${body.error_description ?? ""}`.trim();
}

const decode = secretValue;

describe("KeycloakClient lifecycle against a real API server and Keycloak", () => {
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let resources: Resources;
  let operator: OperatorProcess;
  let platform: string;
  let app: string;
  let prod: string;
  let realmName: string;

  beforeAll(async () => {
    kc = kubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    resources = new Resources(kc);
    await installCrds(kc);
    platform = await createNamespace(kc, "platform");
    app = await createNamespace(kc, "app");
    prod = await createNamespace(kc, "prod", { "kpo.dev/environment": "production" });
    operator = await startOperatorProcess({
      name: "client",
      extraArgs: ["--leader-election-namespace", platform],
    });
    await createInstance(kc, resources, platform, "main", { namespaces: [platform] });
    realmName = `apps-${platform}`;
    await resources.create(REALMS, platform, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      metadata: { name: "apps" },
      spec: {
        instanceRef: { name: "main" },
        realmName,
        sslRequired: "external",
        bruteForceProtection: { enabled: true },
        passwordPolicy: "length(12)",
        clientGrants: { namespaces: [app, prod] },
        deletionPolicy: "Delete",
      },
    });
    await resources.waitForStatus(REALMS, platform, "apps", (o) => o.status?.phase === "Ready");
  });

  afterAll(async () => {
    await operator?.stop();
  });

  const confidentialClient = (name: string, clientId: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: "keycloak.kpo.dev/v1alpha1",
    kind: "KeycloakClient",
    metadata: { name },
    spec: {
      realmRef: { name: "apps", namespace: platform },
      clientId,
      serviceAccountsEnabled: true,
      standardFlowEnabled: false,
      deletionPolicy: "Delete",
      ...extra,
    },
  });

  it("given a granted namespace, when a confidential client is applied, then its Secret holds credentials that obtain a token", async () => {
    await resources.create(CLIENTS, app, confidentialClient("billing", "billing"));
    const client = await resources.waitForStatus(CLIENTS, app, "billing", (o) => o.status?.phase === "Ready");
    expect(client.status?.secretName).toBe("billing-credentials");
    const secret = await core.readNamespacedSecret({ namespace: app, name: "billing-credentials" });
    expect(secret.metadata?.ownerReferences?.[0]?.uid).toBe(client.metadata.uid);
    const { url } = inject("keycloak");
    expect(decode(secret, "issuer")).toBe(`${url}/realms/${realmName}`);
    expect(decode(secret, "client-id")).toBe("billing");
    expect(
      await clientCredentialsToken(
        decode(secret, "token-endpoint"),
        "billing",
        decode(secret, "client-secret"),
      ),
    ).toBe("200");
    expect(
      await clientCredentialsToken(decode(secret, "token-endpoint"), "billing", "not-the-secret"),
    ).toMatch(/^401/);
  });

  it("given the credentials Secret is deleted, then it is restored with the same working secret", async () => {
    const before = await core.readNamespacedSecret({ namespace: app, name: "billing-credentials" });
    await core.deleteNamespacedSecret({ namespace: app, name: "billing-credentials" });
    const restored = await waitFor("Secret restored", async () =>
      core.readNamespacedSecret({ namespace: app, name: "billing-credentials" }).catch(() => undefined),
    );
    expect(restored.metadata?.uid).not.toBe(before.metadata?.uid);
    expect(decode(restored, "client-secret")).toBe(decode(before, "client-secret"));
  });

  it("given spec.secret.rotate is bumped, then a new secret is written that works and the old one stops working", async () => {
    const before = await core.readNamespacedSecret({ namespace: app, name: "billing-credentials" });
    const oldSecret = decode(before, "client-secret");
    await resources.patchSpec(CLIENTS, app, "billing", { secret: { rotate: 1 } });
    const rotated = await waitFor("rotated secret", async () => {
      const s = await core.readNamespacedSecret({ namespace: app, name: "billing-credentials" });
      return decode(s, "client-secret") !== oldSecret ? s : false;
    });
    const tokenEndpoint = decode(rotated, "token-endpoint");
    expect(await clientCredentialsToken(tokenEndpoint, "billing", decode(rotated, "client-secret"))).toBe(
      "200",
    );
    expect(await clientCredentialsToken(tokenEndpoint, "billing", oldSecret)).toMatch(/^401/);
  });

  it("given a namespace the realm does not grant, then the client is denied and absent from Keycloak; granting it makes it Ready", async () => {
    const stranger = await createNamespace(kc, "stranger");
    await resources.create(CLIENTS, stranger, confidentialClient("intruder", `intruder-${stranger}`));
    const denied = await resources.waitForStatus(
      CLIENTS,
      stranger,
      "intruder",
      (o) => o.status?.phase === "Failed",
    );
    expect(condition(denied, "PolicyCompliant")?.status).toBe("False");
    expect(condition(denied, "PolicyCompliant")?.message).toMatch(/clientGrants/);
    const admin = await adminClient();
    expect(await admin.clients.find({ realm: realmName, clientId: `intruder-${stranger}` })).toHaveLength(0);

    await resources.patchSpec(REALMS, platform, "apps", {
      clientGrants: { namespaces: [app, prod, stranger] },
    });
    await resources.waitForStatus(CLIENTS, stranger, "intruder", (o) => o.status?.phase === "Ready");
    expect(await admin.clients.find({ realm: realmName, clientId: `intruder-${stranger}` })).toHaveLength(1);

    // Revoking the grant stops managing the client and says so; it does not delete it from Keycloak.
    await resources.patchSpec(REALMS, platform, "apps", { clientGrants: { namespaces: [app, prod] } });
    const revoked = await resources.waitForStatus(
      CLIENTS,
      stranger,
      "intruder",
      (o) => condition(o, "PolicyCompliant")?.status === "False",
    );
    expect(revoked.status?.phase).toBe("Failed");
    expect(await admin.clients.find({ realm: realmName, clientId: `intruder-${stranger}` })).toHaveLength(1);
  });

  it("given a production namespace, then a wildcard redirect URI is denied with the policy's message; elsewhere it is allowed", async () => {
    const wildcard = {
      standardFlowEnabled: true,
      serviceAccountsEnabled: false,
      redirectUris: ["https://shop.example.com/*"],
    };
    await resources.create(CLIENTS, prod, confidentialClient("web", `web-${prod}`, wildcard));
    const denied = await resources.waitForStatus(CLIENTS, prod, "web", (o) => o.status?.phase === "Failed");
    expect(condition(denied, "PolicyCompliant")?.message).toMatch(/redirectUris/);

    await resources.create(CLIENTS, app, confidentialClient("web", `web-${app}`, wildcard));
    await resources.waitForStatus(CLIENTS, app, "web", (o) => o.status?.phase === "Ready");

    // The fix the message asks for: an exact URI.
    await resources.patchSpec(CLIENTS, prod, "web", { redirectUris: ["https://shop.example.com/callback"] });
    await resources.waitForStatus(CLIENTS, prod, "web", (o) => o.status?.phase === "Ready");
  });

  it("given a realm that is Degraded before Keycloak has it (its SMTP Secret is missing), when a client is applied to it, then the client retries instead of failing and is Ready soon after the realm", async () => {
    const lateRealm = `late-${platform}`;
    await resources.create(REALMS, platform, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      metadata: { name: "late" },
      spec: {
        instanceRef: { name: "main" },
        realmName: lateRealm,
        sslRequired: "external",
        bruteForceProtection: { enabled: true },
        passwordPolicy: "length(12)",
        smtp: {
          host: "smtp.example",
          from: "a@example.com",
          auth: true,
          user: "mailer",
          passwordSecretRef: { name: "late-smtp" },
        },
        clientGrants: { namespaces: [app] },
        deletionPolicy: "Delete",
      },
    });
    await resources.waitForStatus(REALMS, platform, "late", (o) => o.status?.phase === "Degraded");
    await resources.create(CLIENTS, app, {
      ...confidentialClient("early", "early"),
      spec: { ...confidentialClient("early", "early").spec, realmRef: { name: "late", namespace: platform } },
    });
    const waiting = await resources.waitForStatus(
      CLIENTS,
      app,
      "early",
      (o) => o.status?.phase === "Degraded",
    );
    expect(String(waiting.status?.lastError)).toMatch(/Realm not found/i);

    await core.createNamespacedSecret({
      namespace: platform,
      body: { metadata: { name: "late-smtp" }, stringData: { password: "not-a-real-password" } },
    });
    await resources.waitForStatus(REALMS, platform, "late", (o) => o.status?.phase === "Ready", 120_000);
    const ready = await resources.waitForStatus(
      CLIENTS,
      app,
      "early",
      (o) => o.status?.phase === "Ready",
      120_000,
    );
    expect(ready.status?.phase).toBe("Ready");

    await resources.delete(CLIENTS, app, "early");
    await waitFor("client gone", () => resources.gone(CLIENTS, app, "early"));
    await resources.delete(REALMS, platform, "late");
    await waitFor("realm gone", () => resources.gone(REALMS, platform, "late"), 90_000);
  });

  it("given a change made in Keycloak directly, then the client is repaired", async () => {
    const admin = await adminClient();
    const [found] = await admin.clients.find({ realm: realmName, clientId: "billing" });
    expect(found?.id).toBeDefined();
    await admin.clients.update(
      { realm: realmName, id: found?.id ?? "" },
      { ...found, serviceAccountsEnabled: false },
    );
    // Nudge a reconcile the way a resync would (the default resync period is minutes).
    await resources.patchSpec(CLIENTS, app, "billing", { description: "repaired" });
    await waitFor("client repaired", async () => {
      const [c] = await admin.clients.find({ realm: realmName, clientId: "billing" });
      return c?.serviceAccountsEnabled === true && c.description === "repaired";
    });
  });

  it("given deletionPolicy Delete, when the client is deleted, then Keycloak's client and the Secret are gone", async () => {
    const admin = await adminClient();
    await resources.delete(CLIENTS, app, "billing");
    await waitFor("client CR gone", () => resources.gone(CLIENTS, app, "billing"));
    expect(await admin.clients.find({ realm: realmName, clientId: "billing" })).toHaveLength(0);
    await expect(
      core.readNamespacedSecret({ namespace: app, name: "billing-credentials" }),
    ).rejects.toThrow();
  });
  it("given a realm with deletionPolicy Delete that clients still reference, then its deletion waits with a message naming those in its own namespace and counting the others, and completes once they are gone", async () => {
    const admin = await adminClient();
    await resources.create(CLIENTS, platform, confidentialClient("ops", `ops-${platform}`));
    await resources.waitForStatus(CLIENTS, platform, "ops", (o) => o.status?.phase === "Ready");
    await resources.delete(REALMS, platform, "apps");
    const blocked = await waitFor("realm deletion blocked", async () => {
      const o = await resources.get(REALMS, platform, "apps");
      return o.status?.phase === "Deleting" && /KeycloakClient/.test(condition(o, "Ready")?.message ?? "")
        ? o
        : false;
    });
    // Other tenants' clients are counted, never named: app/web, prod/web and the revoked stranger.
    const message = condition(blocked, "Ready")?.message ?? "";
    expect(message).toContain("(ops and 3 in other namespaces)");
    for (const other of [app, prod, "web", "intruder"]) expect(message).not.toContain(other);
    expect((await admin.realms.findOne({ realm: realmName }))?.realm).toBe(realmName);

    for (const [ns, name] of [
      [app, "web"],
      [prod, "web"],
    ] as const) {
      await resources.delete(CLIENTS, ns, name);
      await waitFor(`${ns}/${name} gone`, () => resources.gone(CLIENTS, ns, name));
    }
    // The revoked client from the grant test still points at the realm; remove it too.
    const remaining = (await resources.api.listClusterCustomObject({
      group: "keycloak.kpo.dev",
      version: "v1alpha1",
      plural: CLIENTS,
    })) as { items: Array<{ metadata: { name: string; namespace: string } }> };
    for (const c of remaining.items) await resources.delete(CLIENTS, c.metadata.namespace, c.metadata.name);
    await waitFor("realm gone", () => resources.gone(REALMS, platform, "apps"), 90_000);
    expect(await admin.realms.findOne({ realm: realmName })).toBeNull();
  });
});
