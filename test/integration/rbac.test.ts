// RBAC proven, not assumed: the chart's ServiceAccount, Roles and bindings (rendered by helm) are
// applied to the real kube-apiserver (RBAC on); the operator runs with nothing but that
// ServiceAccount's token and must take an instance → realm → client through create and delete.
// Then SubjectAccessReviews, and a real request with the token, show what it is denied.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import * as k8s from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { repoRoot, requireTool } from "../../src/testenv/tools.js";
import {
  createInstance,
  createNamespace,
  installCrds,
  kubeConfig,
  Resources,
  startOperatorProcess,
  waitFor,
  type OperatorProcess,
} from "./support.js";

const RBAC_KINDS = new Set(["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]);
const LEASE = "keycloak-policy-operator";

/** The chart's RBAC objects (and ServiceAccount) as `helm template` renders them. */
function renderRbac(release: string, namespace: string, set: string[]): k8s.KubernetesObject[] {
  const out = execFileSync(
    requireTool("KPO_HELM"),
    [
      "template",
      release,
      path.join(repoRoot, "charts/keycloak-policy-operator"),
      "--namespace",
      namespace,
      ...set.flatMap((s) => ["--set", s]),
    ],
    { encoding: "utf8" },
  );
  return parseAllDocuments(out)
    .map((d) => d.toJS() as k8s.KubernetesObject | null)
    .filter((o): o is k8s.KubernetesObject => o !== null && RBAC_KINDS.has(o.kind ?? ""));
}

interface Access {
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const RBAC = "rbac.authorization.k8s.io";
const COORDINATION = "coordination.k8s.io";
const KPO = "keycloak.kpo.dev";

/** "update leases.coordination.k8s.io in ns named x", for failure messages. */
function describeAccess(a: Access): string {
  const resource = `${a.resource}${a.group ? `.${a.group}` : ""}${a.subresource ? `/${a.subresource}` : ""}`;
  return `${a.verb} ${resource}${a.namespace ? ` in ${a.namespace}` : ""}${a.name ? ` named ${a.name}` : ""}`;
}

describe("Chart RBAC against a real API server", () => {
  let kc: k8s.KubeConfig;
  let objects: k8s.KubernetesObjectApi;
  let resources: Resources;
  let authz: k8s.AuthorizationV1Api;
  let operator: OperatorProcess | undefined;
  const created: k8s.KubernetesObject[] = [];
  let release: string;
  let operatorNs: string;
  let platform: string;
  let app: string;
  let outside: string;
  let serviceAccount: string;
  let tokenKubeConfig: k8s.KubeConfig;

  const apply = async (list: k8s.KubernetesObject[]) => {
    for (const o of list) {
      await objects.create(o);
      created.push(o);
    }
  };

  /** The API server's answer for the ServiceAccount `user` (system:serviceaccount:ns:name). */
  const allowed = async (user: string, ns: string, access: Access): Promise<boolean> => {
    const review = await authz.createSubjectAccessReview({
      body: {
        spec: {
          user,
          groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"],
          resourceAttributes: { group: access.group ?? "", ...access },
        },
      },
    });
    return review.status?.allowed === true;
  };

  /** One SubjectAccessReview per entry; a failure names the access that was answered wrongly. */
  const expectAccess = async (
    user: string,
    ns: string,
    expected: { allowed: Access[]; denied: Access[] },
  ): Promise<void> => {
    for (const access of expected.allowed)
      expect(await allowed(user, ns, access), describeAccess(access)).toBe(true);
    for (const access of expected.denied)
      expect(await allowed(user, ns, access), describeAccess(access)).toBe(false);
  };

  beforeAll(async () => {
    kc = kubeConfig();
    objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    resources = new Resources(kc);
    authz = kc.makeApiClient(k8s.AuthorizationV1Api);
    await installCrds(kc);
    operatorNs = await createNamespace(kc, "kpo-system");
    platform = await createNamespace(kc, "platform");
    app = await createNamespace(kc, "app");
    outside = await createNamespace(kc, "outside");
    release = `rbac-${operatorNs.slice(-6)}`;
    serviceAccount = `${release}-keycloak-policy-operator`;

    // Namespaced mode: the operator may touch only platform and app.
    await apply(renderRbac(release, operatorNs, [`watchNamespaces={${platform},${app}}`]));

    const core = kc.makeApiClient(k8s.CoreV1Api);
    const tokenRequest = await core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace: operatorNs,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const token = tokenRequest.status?.token;
    if (!token) throw new Error(`TokenRequest for ${operatorNs}/${serviceAccount} returned no token`);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("the admin kubeconfig has no current cluster");
    tokenKubeConfig = new k8s.KubeConfig();
    tokenKubeConfig.loadFromOptions({
      clusters: [{ ...cluster, name: "test" }],
      users: [{ name: serviceAccount, token }],
      contexts: [{ name: "sa", cluster: "test", user: serviceAccount }],
      currentContext: "sa",
    });
    const kubeconfigPath = path.join(inject("testEnvDir"), `kubeconfig-${serviceAccount}.yaml`);
    writeFileSync(kubeconfigPath, tokenKubeConfig.exportConfig(), { mode: 0o600 });

    operator = await startOperatorProcess({
      name: "rbac",
      kubeconfigPath,
      extraArgs: [
        "--namespaces",
        `${platform},${app}`,
        "--leader-election-namespace",
        operatorNs,
        "--leader-election-id",
        LEASE,
      ],
    });
  });

  afterAll(async () => {
    await operator?.stop();
    for (const o of created.reverse().filter((x) => x.kind?.startsWith("Cluster")))
      await objects.delete(o).catch(() => undefined);
  });

  it("given the token kubeconfig the operator runs with, then the API server authenticates it as the chart's ServiceAccount", async () => {
    const review = await tokenKubeConfig
      .makeApiClient(k8s.AuthenticationV1Api)
      .createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${operatorNs}:${serviceAccount}`);
    expect(review.status?.userInfo?.groups).not.toContain("system:masters");
  });

  it("given only the chart's RBAC, when an instance, a realm and a client are applied and deleted, then all of them go through", async () => {
    await createInstance(kc, resources, platform, "main", { namespaces: [platform] });
    await resources.waitForStatus("keycloakinstances", platform, "main", (o) => o.status?.phase === "Ready");
    await resources.create("keycloakrealms", platform, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      metadata: { name: "apps" },
      spec: {
        instanceRef: { name: "main" },
        realmName: `rbac-${platform}`,
        sslRequired: "external",
        bruteForceProtection: { enabled: true },
        passwordPolicy: "length(12)",
        clientGrants: { namespaces: [app] },
        deletionPolicy: "Delete",
      },
    });
    const realm = await resources.waitForStatus(
      "keycloakrealms",
      platform,
      "apps",
      (o) => o.status?.phase === "Ready",
    );
    expect(realm.metadata.finalizers?.length).toBeGreaterThan(0);
    await resources.create("keycloakclients", app, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakClient",
      metadata: { name: "billing" },
      spec: {
        realmRef: { name: "apps", namespace: platform },
        clientId: "billing",
        serviceAccountsEnabled: true,
        standardFlowEnabled: false,
        deletionPolicy: "Delete",
      },
    });
    await resources.waitForStatus("keycloakclients", app, "billing", (o) => o.status?.phase === "Ready");
    const core = kc.makeApiClient(k8s.CoreV1Api);
    // create/patch secrets: the credentials Secret was written by server-side apply.
    const secret = await core.readNamespacedSecret({ namespace: app, name: "billing-credentials" });
    expect(Object.keys(secret.data ?? {})).toContain("client-secret");
    // events: create.
    const events = await core.listNamespacedEvent({
      namespace: platform,
      fieldSelector: "involvedObject.name=apps",
    });
    expect(events.items.length).toBeGreaterThan(0);
    // The Lease is held in the release namespace.
    const lease = await kc
      .makeApiClient(k8s.CoordinationV1Api)
      .readNamespacedLease({ namespace: operatorNs, name: LEASE });
    expect(lease.spec?.holderIdentity).toMatch(/^rbac-/);

    // delete secrets and patch (finalizers): the client and then the realm go away cleanly.
    await resources.delete("keycloakclients", app, "billing");
    await waitFor("client gone", async () => resources.gone("keycloakclients", app, "billing"));
    await waitFor("credentials Secret deleted", async () =>
      core
        .readNamespacedSecret({ namespace: app, name: "billing-credentials" })
        .then(() => false)
        .catch((err: unknown) => err instanceof k8s.ApiException && err.code === 404),
    );
    await resources.delete("keycloakrealms", platform, "apps");
    await waitFor("realm gone", async () => resources.gone("keycloakrealms", platform, "apps"));
    // create/list secrets in the realm's namespace: the backup taken before the realm's deletion.
    const backups = await core.listNamespacedSecret({
      namespace: platform,
      labelSelector: "keycloak.kpo.dev/backup-reason=realm-deletion,keycloak.kpo.dev/backup-realm=apps",
    });
    expect(backups.items).toHaveLength(1);
    const log = await import("node:fs/promises").then((fs) => fs.readFile(operator?.logFile ?? "", "utf8"));
    expect(log).not.toMatch(/forbidden/i);
  });

  it("given watchNamespaces, when the ServiceAccount's token reads a Secret outside them, then the API server answers 403", async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({
      namespace: outside,
      body: { metadata: { name: "unrelated" }, stringData: { password: "not-for-the-operator" } },
    });
    const asOperator = tokenKubeConfig.makeApiClient(k8s.CoreV1Api);
    const denied = await asOperator
      .readNamespacedSecret({ namespace: outside, name: "unrelated" })
      .then(() => 200)
      .catch((err: unknown) => (err instanceof k8s.ApiException ? err.code : -1));
    expect(denied).toBe(403);
    // The same token can read in a watched namespace (so the 403 is RBAC, not a broken token).
    const ok = await asOperator.listNamespacedSecret({ namespace: app });
    expect(Array.isArray(ok.items)).toBe(true);
  });

  it("given watchNamespaces, then SubjectAccessReviews allow only the operator's own work", async () => {
    const user = `system:serviceaccount:${operatorNs}:${serviceAccount}`;
    await expectAccess(user, operatorNs, {
      allowed: [
        { verb: "get", resource: "secrets", namespace: app },
        { verb: "list", resource: "secrets", namespace: platform },
        { verb: "update", resource: "leases", group: COORDINATION, namespace: operatorNs, name: LEASE },
        { verb: "list", resource: "namespaces" },
        // Managed instances (managedInstances.enabled, the default): server-side apply of the workload.
        { verb: "patch", resource: "statefulsets", group: "apps", namespace: app },
        { verb: "create", resource: "services", namespace: app },
        // ... and reading its pods' status while it is not ready (src/managed/podDiagnosis.ts).
        { verb: "list", resource: "pods", namespace: app },
        // The optional objects: applied, and removed once their field is unset.
        { verb: "patch", resource: "poddisruptionbudgets", group: "policy", namespace: app },
        { verb: "delete", resource: "poddisruptionbudgets", group: "policy", namespace: app },
        { verb: "get", resource: "networkpolicies", group: "networking.k8s.io", namespace: app },
        { verb: "delete", resource: "networkpolicies", group: "networking.k8s.io", namespace: app },
        { verb: "create", resource: "ingresses", group: "networking.k8s.io", namespace: app },
        { verb: "delete", resource: "ingresses", group: "networking.k8s.io", namespace: app },
        { verb: "patch", resource: "servicemonitors", group: "monitoring.coreos.com", namespace: app },
        { verb: "delete", resource: "servicemonitors", group: "monitoring.coreos.com", namespace: app },
      ],
      denied: [
        { verb: "get", resource: "secrets", namespace: outside },
        { verb: "patch", resource: "statefulsets", group: "apps", namespace: outside },
        { verb: "delete", resource: "statefulsets", group: "apps", namespace: app },
        { verb: "list", resource: "statefulsets", group: "apps", namespace: app },
        { verb: "delete", resource: "services", namespace: app },
        { verb: "list", resource: "networkpolicies", group: "networking.k8s.io", namespace: app },
        { verb: "update", resource: "ingresses", group: "networking.k8s.io", namespace: app },
        { verb: "delete", resource: "ingresses", group: "networking.k8s.io", namespace: outside },
        { verb: "delete", resource: "poddisruptionbudgets", group: "policy", namespace: outside },
        { verb: "list", resource: "servicemonitors", group: "monitoring.coreos.com", namespace: app },
        { verb: "list", resource: "secrets", namespace: outside },
        { verb: "list", resource: "secrets" },
        { verb: "get", resource: "secrets", namespace: operatorNs },
        { verb: "update", resource: "secrets", namespace: app },
        { verb: "delete", resource: "namespaces", name: app },
        { verb: "create", resource: "clusterroles", group: RBAC },
        { verb: "create", resource: "rolebindings", group: RBAC, namespace: app },
        { verb: "patch", resource: "deployments", group: "apps", namespace: operatorNs },
        { verb: "create", resource: "pods", namespace: app },
        { verb: "watch", resource: "pods", namespace: app },
        { verb: "delete", resource: "pods", namespace: app },
        { verb: "list", resource: "pods", namespace: outside },
        { verb: "update", resource: "leases", group: COORDINATION, namespace: platform, name: LEASE },
        {
          verb: "update",
          resource: "leases",
          group: COORDINATION,
          namespace: operatorNs,
          name: "kube-controller-manager",
        },
        { verb: "update", resource: "keycloakrealms", group: KPO, namespace: platform },
        { verb: "delete", resource: "keycloakrealms", group: KPO, namespace: platform },
      ],
    });
  });

  it("given the cluster-wide default, then Secrets are readable everywhere but RBAC, workloads and namespaces stay out of reach", async () => {
    const clusterNs = await createNamespace(kc, "kpo-cluster");
    const clusterRelease = `cw-${clusterNs.slice(-6)}`;
    await apply(renderRbac(clusterRelease, clusterNs, []));
    const user = `system:serviceaccount:${clusterNs}:${clusterRelease}-keycloak-policy-operator`;
    await expectAccess(user, clusterNs, {
      allowed: [
        // Honest: list/watch on Secrets cannot be narrowed to a label by RBAC (docs/security.md).
        { verb: "list", resource: "secrets" },
        { verb: "get", resource: "secrets", namespace: outside },
        { verb: "patch", resource: "keycloakclients", group: KPO, subresource: "status", namespace: app },
      ],
      denied: [
        { verb: "delete", resource: "namespaces", name: outside },
        { verb: "create", resource: "clusterroles", group: RBAC },
        { verb: "escalate", resource: "clusterroles", group: RBAC },
        { verb: "create", resource: "clusterrolebindings", group: RBAC },
        { verb: "patch", resource: "deployments", group: "apps", namespace: clusterNs },
        { verb: "create", resource: "pods", subresource: "exec", namespace: app },
        { verb: "update", resource: "secrets", namespace: outside },
        { verb: "update", resource: "leases", group: COORDINATION, namespace: platform, name: LEASE },
        { verb: "create", resource: "customresourcedefinitions", group: "apiextensions.k8s.io" },
      ],
    });
  });
});
