// The examples/complete set end to end, applied as a user would apply it: every manifest of the set
// (and of its ldap/ part, against a real slapd started here) created in the real kube-apiserver and
// reconciled by the operator process against the real Keycloak. Only what a user must change is
// substituted: the placeholder Keycloak URL, the admin credentials, the LDAP connection, and the
// namespace and realm names (made unique so runs and parallel files never meet). Then: everything
// is Ready, the breadth of the spec is in Keycloak, several resyncs write nothing, and the
// confidential client's credentials Secret exists. Then the round trip that keeps the CRDs honest:
// `kpo export` of the retail realm, applied under another realm name, gives a realm whose Keycloak
// export equals the original's, and a resync of it writes nothing.
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import * as k8s from "@kubernetes/client-node";
import type KcAdminClient from "@keycloak/keycloak-admin-client";
import { parse, parseAllDocuments } from "yaml";
import { PLURALS, type KeycloakKind } from "../../src/api/index.js";
import { runExport } from "../../src/cli/exportCommand.js";
import { FILL_IN_ANNOTATION } from "../../src/export/manifests.js";
import { ownerUidAttribute } from "../../src/keycloak/ownership.js";
import { startLdap, type LdapServer } from "../../src/testenv/ldap.js";
import { repoRoot } from "../../src/testenv/tools.js";
import {
  adminClient,
  installCrds,
  kubeConfig,
  Resources,
  secretValue,
  startOperatorProcess,
  waitFor,
  type KpoObject,
  type OperatorProcess,
  keycloakTraffic,
} from "./support.js";
import { normalised, partialExport } from "./realmComparison.js";

const PLACEHOLDER_URL = "http://127.0.0.1:8080";
const exampleDir = path.join(repoRoot, "examples", "complete");
const files = [
  "00-namespaces.yaml",
  "01-admin-credentials.yaml",
  "02-instance.yaml",
  "03-upstream-realm.yaml",
  "04-retail-realm.yaml",
  "05-clients.yaml",
  "06-user.yaml",
  "ldap/realm-ldap.yaml",
];

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  stringData?: Record<string, string>;
}

describe("Given the examples/complete set applied through the operator", () => {
  const { url, adminUsername, adminPassword } = inject("keycloak");
  const suffix = randomUUID().slice(0, 6);
  // Made unique so runs and parallel files never meet: the namespaces wherever they appear (they
  // appear only as namespaces) and the realm names where they name a Keycloak realm.
  const iam = `iam-${suffix}`;
  const webshop = `webshop-${suffix}`;
  const retail = `retail-${suffix}`;
  const partners = `partners-${suffix}`;
  const employees = `employees-${suffix}`;
  const namespaces: Record<string, string> = { iam, webshop };
  const realms: Record<string, string> = { retail, partners, employees };
  // The realm `kpo export`'s resources create (round trip); not a name of the example set.
  const retailCopy = `copy-${suffix}`;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let resources: Resources;
  let kcAdmin: KcAdminClient;
  let operator: OperatorProcess;
  let ldap: LdapServer;
  let manifests: Manifest[];

  /** The set's text with the placeholders a user replaces, and the names this run makes unique. */
  const load = (file: string): Manifest[] => {
    let text = readFileSync(path.join(exampleDir, file), "utf8").replaceAll(PLACEHOLDER_URL, url);
    for (const [word, unique] of Object.entries(namespaces))
      text = text.replace(new RegExp(`\\b${word}\\b`, "g"), unique);
    for (const [word, unique] of Object.entries(realms))
      text = text.replace(new RegExp(`(?<=realmName: |/realms/)${word}\\b`, "g"), unique);
    return parseAllDocuments(text)
      .map((d) => d.toJS() as Manifest | null)
      .filter((m): m is Manifest => m !== null);
  };

  const isKpo = (m: Manifest) => m.apiVersion.startsWith("keycloak.kpo.dev/");
  const plural = (m: Manifest) => PLURALS[m.kind as KeycloakKind];
  const ready = (m: Manifest) =>
    resources.waitForStatus(
      plural(m),
      m.metadata.namespace ?? "",
      m.metadata.name,
      (o: KpoObject) => o.status?.phase === "Ready",
      240_000,
    );

  beforeAll(async () => {
    kc = kubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    resources = new Resources(kc);
    kcAdmin = await adminClient();
    await installCrds(kc);
    ldap = await startLdap({
      dir: path.join(inject("testEnvDir"), `ldap-complete-${suffix}`),
      baseDn: "dc=acme,dc=example,dc=com",
      users: [{ uid: "dev", password: "dev-password", givenName: "Dev", sn: "Eloper" }],
      groups: [{ cn: "developers", members: ["dev"] }],
    });
    manifests = files.flatMap(load);
    for (const m of manifests) {
      if (m.kind === "Secret" && m.metadata.name === "keycloak-admin")
        m.stringData = { username: adminUsername, password: adminPassword };
      if (m.kind === "Secret" && m.metadata.name === "ldap-bind")
        m.stringData = { password: ldap.bindPassword };
      const federation = (m.spec?.userFederation as { ldap?: Record<string, unknown>[] } | undefined)?.ldap;
      for (const provider of federation ?? []) {
        // The test directory speaks plain LDAP on loopback; the example's StartTLS needs a certificate.
        delete provider.startTls;
        Object.assign(provider, { connectionUrl: ldap.url, bindDn: ldap.bindDn, usersDn: ldap.usersDn });
      }
    }

    for (const m of manifests.filter((n) => n.kind === "Namespace")) await core.createNamespace({ body: m });
    // The leader-election lease lives in the instance's namespace, so the operator starts after it.
    operator = await startOperatorProcess({
      name: "complete",
      extraArgs: ["--resync-period-ms", "3000", "--leader-election-namespace", iam],
    });
    await Promise.all(
      manifests
        .filter((m) => m.kind === "Secret")
        .map((m) => core.createNamespacedSecret({ namespace: m.metadata.namespace ?? "", body: m })),
    );
    // In two steps, as the README says: the identity team's objects, then (once the realms are
    // Ready) the web-shop team's. A client or user whose realm is not in Keycloak yet fails and
    // only retries after the failure backoff.
    const create = (ms: Manifest[]) =>
      Promise.all(
        ms.map((m) => resources.create(plural(m), m.metadata.namespace ?? "", m as unknown as KpoObject)),
      );
    const identityTeam = manifests.filter((m) => isKpo(m) && m.metadata.namespace === iam);
    await create(identityTeam);
    await Promise.all(identityTeam.filter((m) => m.kind === "KeycloakRealm").map(ready));
    await create(manifests.filter((m) => isKpo(m) && m.metadata.namespace === webshop));
  }, 300_000);

  afterAll(async () => {
    // The objects go while this operator still runs, so their finalizers are released: left behind,
    // they would be reconciled by the next test file's operator, which watches every namespace.
    const objects = manifests.filter(isKpo);
    for (const kinds of [["KeycloakClient", "KeycloakUser"], ["KeycloakRealm"], ["KeycloakInstance"]]) {
      const batch = objects.filter((m) => kinds.includes(m.kind));
      await Promise.all(
        batch.map((m) =>
          resources.delete(plural(m), m.metadata.namespace ?? "", m.metadata.name).catch(() => undefined),
        ),
      );
      await Promise.all(
        batch.map((m) =>
          waitFor(`${m.kind} ${m.metadata.name} gone`, () =>
            resources.gone(plural(m), m.metadata.namespace ?? "", m.metadata.name),
          ).catch(() => undefined),
        ),
      );
    }
    await operator?.stop();
    await ldap?.stop();
    // Realms the set retains (deletionPolicy Retain) are removed from the shared Keycloak by hand.
    for (const realm of [retail, partners, employees, retailCopy])
      await kcAdmin?.realms.del({ realm }).catch(() => undefined);
  });

  it("When the operator reconciles the set, Then the instance, every realm, client and user reach Ready", async () => {
    const objects = manifests.filter(isKpo);
    expect(objects.map((m) => m.kind).sort()).toEqual([
      "KeycloakClient",
      "KeycloakClient",
      "KeycloakClient",
      "KeycloakClient",
      "KeycloakInstance",
      "KeycloakRealm",
      "KeycloakRealm",
      "KeycloakRealm",
      "KeycloakUser",
    ]);
    const results = await Promise.all(objects.map(ready));
    expect(results.map((o) => o.status?.phase)).toEqual(objects.map(() => "Ready"));
  }, 300_000);

  it("When Keycloak is read, Then the identity provider, scope, flow, actions, events, texts, organization, user, SAML client and authorization are there", async () => {
    const realm = await kcAdmin.realms.findOne({ realm: retail });
    expect(realm?.browserFlow).toBe("retail browser");
    expect(realm?.organizationsEnabled).toBe(true);

    const idp = await kcAdmin.identityProviders.findOne({ realm: retail, alias: "partner-sso" });
    expect(idp?.config?.issuer).toBe(`${url}/realms/${partners}`);
    expect(idp?.config?.[ownerUidAttribute]).toBeTruthy();
    const idpMappers = await kcAdmin.identityProviders.findMappers({ realm: retail, alias: "partner-sso" });
    const mapperRoles = idpMappers.map((m) => [m.name, (m.config as Record<string, string>).role]);
    expect(mapperRoles).toEqual([["partner-role", "partner"]]);

    const scope = (await kcAdmin.clientScopes.find({ realm: retail })).find((s) => s.name === "loyalty");
    expect(scope?.protocolMappers?.map((m) => m.name)).toEqual(["loyalty-tier"]);

    const actions = await kcAdmin.authenticationManagement.getRequiredActions({ realm: retail } as never);
    expect(actions.find((a) => a.alias === "TERMS_AND_CONDITIONS")?.enabled).toBe(true);

    const events = await kcAdmin.realms.getConfigEvents({ realm: retail });
    expect(events.eventsEnabled).toBe(true);
    expect(events.adminEventsEnabled).toBe(true);
    expect([...(events.enabledEventTypes ?? [])].sort()).toEqual([
      "IDENTITY_PROVIDER_LOGIN",
      "LOGIN",
      "LOGIN_ERROR",
      "LOGOUT",
    ]);

    const texts = await kcAdmin.realms.getRealmLocalizationTexts({ realm: retail, selectedLocale: "de" });
    expect(texts.loginTitle).toBe("Bei Retail anmelden");

    const organizations = await kcAdmin.organizations.find({ realm: retail });
    expect(organizations.map((o) => o.alias)).toEqual(["acme-wholesale"]);

    const [agent] = await kcAdmin.users.find({ realm: retail, username: "agent", exact: true });
    const groups = await kcAdmin.users.listGroups({ realm: retail, id: agent?.id ?? "" });
    expect(groups.map((g) => g.path).sort()).toEqual(["/customers", "/staff"]);

    const [saml] = await kcAdmin.clients.find({
      realm: retail,
      clientId: "https://reports.acme.example.com/saml",
    });
    expect(saml?.protocol).toBe("saml");
    expect(saml?.attributes?.["saml.force.post.binding"]).toBe("true");

    const [orders] = await kcAdmin.clients.find({ realm: retail, clientId: "orders-api" });
    const id = orders?.id ?? "";
    const authzResources = await kcAdmin.clients.listResources({ realm: retail, id });
    expect(authzResources.map((r) => r.name)).toContain("orders");
    const ordersResource = authzResources.find((r) => r.name === "orders");
    const permissions = (await kcAdmin.clients.listPermissionsByResource({
      realm: retail,
      id,
      resourceId: ordersResource?._id ?? "",
    })) as { name?: string }[];
    expect(permissions.map((p) => p.name)).toEqual(["view-orders"]);
    const serviceAccount = await kcAdmin.clients.getServiceAccountUser({ realm: retail, id });
    const saGroups = await kcAdmin.users.listGroups({ realm: retail, id: serviceAccount.id ?? "" });
    // Keycloak makes the service account join the realm's default group too.
    expect(saGroups.map((g) => g.path).sort()).toEqual(["/customers", "/staff/reporting"]);

    const [provider] = await kcAdmin.components.find({
      realm: employees,
      type: "org.keycloak.storage.UserStorageProvider",
    });
    expect(provider?.name).toBe("corp");
    expect(provider?.config?.connectionUrl).toEqual([ldap.url]);
  });

  it("When everything is Ready and several resyncs pass, Then the operator makes zero Keycloak writes", async () => {
    const writes = async () => keycloakTraffic(await operator.metrics()).writes;
    const reads = async () => keycloakTraffic(await operator.metrics()).reads;
    // A resync period for anything still settling (the identity provider waits for the broker's Secret).
    await new Promise((r) => setTimeout(r, 4_000));
    const [writesBefore, readsBefore] = [await writes(), await reads()];
    await new Promise((r) => setTimeout(r, 12_000));
    expect(await reads()).toBeGreaterThan(readsBefore);
    expect(await writes()).toBe(writesBefore);
  }, 60_000);

  it("When the confidential client is Ready, Then its credentials Secret holds the client id, secret and issuer", async () => {
    const secret = await waitFor("web-credentials", () =>
      core.readNamespacedSecret({ namespace: webshop, name: "web-credentials" }),
    );
    expect(secretValue(secret, "client-id")).toBe("storefront-web");
    expect(secretValue(secret, "issuer")).toBe(`${url}/realms/${retail}`);
    const [web] = await kcAdmin.clients.find({ realm: retail, clientId: "storefront-web" });
    const { value } = await kcAdmin.clients.getClientSecret({ realm: retail, id: web?.id ?? "" });
    expect(secretValue(secret, "client-secret")).toBe(value);
  });

  /**
   * What Keycloak holds for a realm, beyond its partial export: localization texts, organizations,
   * users with their groups and roles (service accounts included), in comparable form.
   */
  async function realmContent(realm: string): Promise<unknown> {
    const exported = await partialExport(kcAdmin, realm);
    const locales = await kcAdmin.realms.getRealmSpecificLocales({ realm });
    const texts = Object.fromEntries(
      await Promise.all(
        locales.map(
          async (l) =>
            [l, await kcAdmin.realms.getRealmLocalizationTexts({ realm, selectedLocale: l })] as const,
        ),
      ),
    );
    const organizations = await kcAdmin.organizations.find({ realm });
    const users: unknown[] = [];
    for (const user of await kcAdmin.users.find({ realm, max: 100 })) {
      const id = user.id ?? "";
      const groups = (await kcAdmin.users.listGroups({ realm, id })).map((g) => g.path);
      const roles = await kcAdmin.users.listRoleMappings({ realm, id });
      const { createdTimestamp: _created, ...rest } = user;
      users.push({ ...rest, groups, roles });
    }
    return normalised({ exported, texts, organizations, users }, realm);
  }

  it("When kpo export writes the retail realm's resources and they are applied under another realm name, Then Keycloak holds the same realm twice and a resync writes nothing", async () => {
    const outputDir = mkdtempSync(path.join(inject("testEnvDir"), `export-${suffix}-`));
    const { result, notes } = await runExport({
      instance: `${iam}/main`,
      realm: retail,
      kubeconfig: inject("kubeconfigPath"),
      namespace: iam,
      name: "retail-copy",
      realmName: retailCopy,
      users: true,
      outputDir,
      adminRealm: "master",
      strict: false,
    });
    // What the resources cannot express is listed, never dropped: the complete set needs nothing but
    // the two confidential clients' secrets, which Keycloak generates (the copy gets new ones).
    expect(result.report.unexpressed.map((u) => u.path).sort()).toEqual([
      "$.clients[?(@.clientId=='orders-api')].secret",
      "$.clients[?(@.clientId=='storefront-web')].secret",
    ]);
    expect(notes.join("\n")).toContain("secrets.yaml");

    // What a user commits: the files, one per object, read back.
    const written = readdirSync(outputDir)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => parse(readFileSync(path.join(outputDir, f), "utf8")) as Manifest);
    const clients = manifests.filter(
      (m) => m.kind === "KeycloakClient" && (m.spec?.realmRef as { name?: string }).name === "retail",
    );
    expect(written.filter((m) => m.kind === "KeycloakRealm").map((m) => m.spec?.realmName)).toEqual([
      retailCopy,
    ]);
    expect(
      written
        .filter((m) => m.kind === "KeycloakClient")
        .map((m) => m.spec?.clientId)
        .sort(),
    ).toEqual(clients.map((m) => m.spec?.clientId).sort());
    expect(written.filter((m) => m.kind === "KeycloakUser").map((m) => m.spec?.username)).toEqual(["agent"]);
    expect(written.every((m) => m.spec?.adopt === undefined)).toBe(true);

    // Secrets apart, never inline: the broker's client secret (masked by Keycloak) is left to fill in.
    const broker = await core.readNamespacedSecret({ namespace: iam, name: "broker-credentials" });
    const brokerSecret = secretValue(broker, "client-secret");
    expect(JSON.stringify(written)).not.toContain(brokerSecret);
    const secrets = parseAllDocuments(
      readFileSync(path.join(outputDir, "secrets", "secrets.yaml"), "utf8"),
    ).map((d) => d.toJS() as Manifest & { metadata: { annotations?: Record<string, string> } });
    for (const secret of secrets) {
      const missing = secret.metadata.annotations?.[FILL_IN_ANNOTATION]?.split(",") ?? [];
      for (const key of missing)
        (secret.stringData ??= {})[key] =
          key === "client-secret" ? brokerSecret : "fake-initial-password-change-me";
      await core.createNamespacedSecret({ namespace: iam, body: secret });
    }

    manifests.push(...written);
    await Promise.all(written.map((m) => resources.create(plural(m), iam, m as unknown as KpoObject)));
    const results = await Promise.all(written.map(ready));
    expect(results.map((o) => o.status?.phase)).toEqual(written.map(() => "Ready"));

    expect(await realmContent(retailCopy)).toEqual(await realmContent(retail));

    const writes = async () => keycloakTraffic(await operator.metrics()).writes;
    await new Promise((r) => setTimeout(r, 4_000));
    const writesBefore = await writes();
    await new Promise((r) => setTimeout(r, 8_000));
    expect(await writes()).toBe(writesBefore);
  }, 300_000);
});
