// The platform operator's path on the real node: `helm install` of the chart with the locally built
// image, the operator running as two pods (one leader), the quickstart applied by an application
// team and reconciled through the pod, then the day-2 operations a platform team performs: a policy
// data change through the chart's ConfigMap, killing the leader, `helm upgrade`, `helm uninstall`.
// The tests run in order and build on each other, as one cluster's life does.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import * as k8s from "@kubernetes/client-node";
import KcAdminClient from "@keycloak/keycloak-admin-client";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEnv, type TestEnv } from "../../src/testenv/index.js";
import { repoRoot, requireTool } from "../../src/testenv/tools.js";
import {
  Resources,
  requestClientCredentialsToken,
  secretValue,
  waitFor,
  type KpoObject,
} from "../integration/support.js";

const release = "kpo";
const releaseNs = "kpo-system";
const chartDir = path.join(repoRoot, "charts/keycloak-policy-operator");
const quickstart = path.join(repoRoot, "examples/quickstart");
const selector = "app.kubernetes.io/instance=kpo,app.kubernetes.io/name=keycloak-policy-operator";
const leaseName = "keycloak-policy-operator";

let env: TestEnv;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let coordination: k8s.CoordinationV1Api;
let resources: Resources;
let operatorImage: string;

function kubectl(...args: string[]): string {
  const [cmd, ...base] = env.node?.kubectl ?? [];
  if (!cmd) throw new Error("no node");
  return execFileSync(cmd, [...base, ...args], { encoding: "utf8" });
}

function helm(...args: string[]): string {
  return execFileSync(
    requireTool("KPO_HELM"),
    [...args, "--kubeconfig", env.controlPlane.kubeconfigPath, "--namespace", releaseNs],
    { encoding: "utf8" },
  );
}

/** The values a platform operator passes for a cluster without a registry: the local image. */
function imageValues(): string[] {
  const [repository, tag] = operatorImage.split(":");
  return [
    "--set",
    `image.repository=${repository}`,
    "--set",
    `image.tag=${tag}`,
    "--set",
    "image.pullPolicy=Never",
  ];
}

interface OperatorPod {
  name: string;
  uid: string;
  ready: boolean;
  restarts: number;
}

async function operatorPods(): Promise<OperatorPod[]> {
  const list = await core.listNamespacedPod({ namespace: releaseNs, labelSelector: selector });
  return list.items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p) => ({
      name: p.metadata?.name ?? "",
      uid: p.metadata?.uid ?? "",
      ready: p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
      restarts: p.status?.containerStatuses?.reduce((n, c) => n + c.restartCount, 0) ?? 0,
    }));
}

/** Both replicas of the Deployment's current template Ready, none left of an older one. */
async function rolledOut(): Promise<OperatorPod[] | undefined> {
  const d = await apps.readNamespacedDeployment({
    name: release + "-keycloak-policy-operator",
    namespace: releaseNs,
  });
  const s = d.status;
  const done =
    s?.observedGeneration === d.metadata?.generation &&
    s?.updatedReplicas === 2 &&
    s?.readyReplicas === 2 &&
    s?.replicas === 2;
  if (!done) return undefined;
  const pods = await operatorPods();
  return pods.length === 2 && pods.every((p) => p.ready) ? pods : undefined;
}

async function leader(): Promise<string | undefined> {
  const lease = await coordination.readNamespacedLease({ name: leaseName, namespace: releaseNs });
  return lease.spec?.holderIdentity ?? undefined;
}

function metricsOf(pod: string): Promise<string> {
  return core
    .connectGetNamespacedPodProxyWithPath({ name: `${pod}:8081`, namespace: releaseNs, path: "metrics" })
    .then(String);
}

/** The policy revision each operator pod serves (bundle plus a hash of the data override). */
async function policyRevisions(): Promise<string[]> {
  const pods = await operatorPods();
  const texts = await Promise.all(pods.map((p) => metricsOf(p.name)));
  return texts.map((t) => /^kpo_policy_bundle_info\{revision="([^"]+)"\} 1$/m.exec(t)?.[1] ?? "");
}

/** Runs `change`, then waits until every pod serves a policy revision none of them served before. */
async function policyChange(change: () => void): Promise<void> {
  const before = await policyRevisions();
  change();
  await waitFor(
    "the new policy data in every pod",
    async () => {
      const now = await policyRevisions();
      return now.length === 2 && now.every((r) => r !== "" && !before.includes(r));
    },
    120_000,
  );
}

const quota = (maxClientsPerNamespace: number) =>
  JSON.stringify({ kpo: { quota: { defaults: { maxClientsPerNamespace } } } });

const ready = (o: KpoObject) => o.status?.phase === "Ready";

async function adminClient(): Promise<KcAdminClient> {
  const admin = new KcAdminClient({ baseUrl: env.keycloak.url, realmName: "master" });
  await admin.auth({
    grantType: "password",
    clientId: "admin-cli",
    username: env.keycloak.adminUsername,
    password: env.keycloak.adminPassword,
  });
  return admin;
}

/** A confidential client with a service account, so that its credentials can be used for real. */
function workerClient(name: string): Omit<KpoObject, "metadata"> & { metadata: { name: string } } {
  return {
    apiVersion: "keycloak.kpo.dev/v1alpha1",
    kind: "KeycloakClient",
    metadata: { name },
    spec: {
      realmRef: { name: "apps", namespace: "identity" },
      clientId: name,
      publicClient: false,
      standardFlowEnabled: false,
      serviceAccountsEnabled: true,
    },
  };
}

async function credentials(
  name: string,
): Promise<{ uid: string; id: string; secret: string; token: string }> {
  const s = await core.readNamespacedSecret({ name: `${name}-credentials`, namespace: "shop" });
  return {
    uid: s.metadata?.uid ?? "",
    id: secretValue(s, "client-id"),
    secret: secretValue(s, "client-secret"),
    token: secretValue(s, "token-endpoint"),
  };
}

beforeAll(async () => {
  const built = execFileSync("bash", [path.join(repoRoot, "scripts/operator-image.sh")], {
    encoding: "utf8",
  });
  operatorImage = /^KPO_OPERATOR_IMAGE=(.+)$/m.exec(built)?.[1] ?? "";
  expect(operatorImage).toMatch(/^kpo\.local\/keycloak-policy-operator:/);
  env = await startTestEnv({ node: true });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.controlPlane.kubeconfigPath);
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  coordination = kc.makeApiClient(k8s.CoordinationV1Api);
  resources = new Resources(kc);
});

afterAll(async () => {
  await env?.stop();
});

describe("the chart on a real node", () => {
  it("installs with helm: two replicas Running and Ready, exactly one of them leading", async () => {
    helm("install", release, chartDir, "--create-namespace", ...imageValues());
    const pods = await waitFor("both operator replicas Ready", rolledOut, 180_000);
    const holder = await waitFor("a Lease holder", leader);
    expect(pods.map((p) => p.name)).toContain(holder);
    expect(pods.every((p) => p.restarts === 0)).toBe(true);
    const metrics = await Promise.all(pods.map((p) => metricsOf(p.name)));
    const leading = metrics.map((m) => /^leader_election_master_status\{[^}]*\} 1$/m.test(m));
    expect(leading.filter(Boolean)).toHaveLength(1);
  });

  it("runs the containers as the chart says: non-root, read-only root, no privilege escalation", async () => {
    const [pod] = await operatorPods();
    const probe = [
      "const fs = require('node:fs');",
      "let write; try { fs.writeFileSync('/probe', 'x'); write = 'ok'; } catch (e) { write = e.code; }",
      "const status = fs.readFileSync('/proc/self/status', 'utf8');",
      "const field = (k) => (status.match(new RegExp('^' + k + ':\\\\s*(\\\\S+)', 'm')) || [])[1];",
      "console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), write,",
      "  noNewPrivs: field('NoNewPrivs'), capEff: field('CapEff') }));",
    ].join("\n");
    const out = kubectl(
      "exec",
      "-n",
      releaseNs,
      pod?.name ?? "",
      "-c",
      "operator",
      "--",
      "/nodejs/bin/node",
      "-e",
      probe,
    );
    expect(JSON.parse(out)).toEqual({
      uid: 65532,
      gid: 65532,
      write: "EROFS",
      noNewPrivs: "1",
      capEff: "0000000000000000",
    });
  });

  it("reconciles the quickstart from the application team's namespace, with working credentials", async () => {
    kubectl("apply", "-f", path.join(quickstart, "00-namespaces.yaml"));
    await core.createNamespacedSecret({
      namespace: "identity",
      body: {
        metadata: { name: "keycloak-admin" },
        stringData: { username: env.keycloak.adminUsername, password: env.keycloak.adminPassword },
      },
    });
    // The quickstart's instance, pointed at the Keycloak the pods reach on the node's bridge.
    const instance = parse(readFileSync(path.join(quickstart, "02-instance.yaml"), "utf8")) as KpoObject;
    (instance.spec.external as { url: string }).url = env.keycloakUrlForPods ?? "";
    await resources.create("keycloakinstances", "identity", instance);
    kubectl(
      "apply",
      "-f",
      path.join(quickstart, "03-realm.yaml"),
      "-f",
      path.join(quickstart, "04-client.yaml"),
    );
    await resources.create("keycloakclients", "shop", workerClient("orders-worker"));
    for (const [plural, ns, name] of [
      ["keycloakinstances", "identity", "main"],
      ["keycloakrealms", "identity", "apps"],
      ["keycloakclients", "shop", "storefront"],
      ["keycloakclients", "shop", "orders-worker"],
    ] as const) {
      await resources.waitForStatus(plural, ns, name, ready, 180_000);
    }
    const listed = kubectl("get", "keycloakrealms,keycloakclients", "-A");
    expect(listed).toMatch(/storefront\s+.*Ready/);
    const creds = await credentials("orders-worker");
    const ok = await requestClientCredentialsToken(creds.token, creds.id, creds.secret);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { access_token?: string }).access_token).toBeTruthy();
    const wrong = await requestClientCredentialsToken(creds.token, creds.id, `${creds.secret}x`);
    expect(wrong.status).toBe(401);
    // The storefront (browser flow only) holds the secret Keycloak has for it.
    const admin = await adminClient();
    const [storefront] = await admin.clients.find({ realm: "apps", clientId: "storefront" });
    const stored = await admin.clients.getClientSecret({ realm: "apps", id: storefront?.id ?? "" });
    expect((await credentials("storefront")).secret).toBe(stored.value);
  });

  it("takes a policy data change from the chart's ConfigMap without restarting a pod", async () => {
    const before = await operatorPods();
    // Two clients exist in `shop`; with a limit of two, a third is over quota.
    const limitTo = (n: number) => () =>
      helm("upgrade", release, chartDir, "--reuse-values", "--set-json", `policyData=${quota(n)}`);
    await policyChange(limitTo(2));
    await resources.create("keycloakclients", "shop", workerClient("over-quota"));
    const denied = await resources.waitForStatus(
      "keycloakclients",
      "shop",
      "over-quota",
      (o) => o.status?.conditions?.some((c) => c.message.includes("may have at most 2")) ?? false,
      150_000,
    );
    expect(denied.status?.phase).not.toBe("Ready");
    const admin = await adminClient();
    expect(await admin.clients.find({ realm: "apps", clientId: "over-quota" })).toHaveLength(0);
    expect(await operatorPods()).toEqual(before);

    // Raised again, the client that was refused is re-decided and created.
    await policyChange(limitTo(10));
    await resources.waitForStatus("keycloakclients", "shop", "over-quota", ready, 240_000);
    expect(await operatorPods()).toEqual(before);
    await resources.delete("keycloakclients", "shop", "over-quota");
    await waitFor("over-quota gone", () => resources.gone("keycloakclients", "shop", "over-quota"));
  });

  it("fails over to the standby when the leader pod is killed, and the Deployment replaces it", async () => {
    const first = await leader();
    const before = await operatorPods();
    const standby = before.find((p) => p.name !== first);
    expect(standby).toBeDefined();
    // Cordoned, the replacement cannot start, so only the standby can take the Lease.
    kubectl("cordon", env.node?.name ?? "");
    try {
      await core.deleteNamespacedPod({ name: first ?? "", namespace: releaseNs, gracePeriodSeconds: 0 });
      await waitFor("the standby to lead", async () => (await leader()) === standby?.name, 90_000);
      await resources.create("keycloakclients", "shop", workerClient("after-failover"));
      await resources.waitForStatus("keycloakclients", "shop", "after-failover", ready, 120_000);
      const pending = await core.listNamespacedPod({ namespace: releaseNs, labelSelector: selector });
      expect(pending.items.some((p) => p.status?.phase === "Pending")).toBe(true);
    } finally {
      kubectl("uncordon", env.node?.name ?? "");
    }
    const after = await waitFor("the replacement pod Ready", rolledOut, 180_000);
    expect(after.map((p) => p.name)).toContain(standby?.name);
    expect(after.map((p) => p.name)).not.toContain(first);
  });

  it("rolls the pods on helm upgrade with a changed value, without losing a resource", async () => {
    const before = await operatorPods();
    const storefront = await credentials("storefront");
    helm("upgrade", release, chartDir, "--reuse-values", "--set", "operator.logLevel=debug");
    const after = await waitFor(
      "a rollout to new pods",
      async () => {
        const pods = await rolledOut();
        return pods?.every((p) => !before.some((b) => b.uid === p.uid)) ? pods : undefined;
      },
      240_000,
    );
    expect(after).toHaveLength(2);
    await waitFor("a Lease holder among the new pods", async () => {
      const holder = await leader();
      return after.some((p) => p.name === holder);
    });
    for (const name of ["storefront", "orders-worker", "after-failover"]) {
      const o = await resources.get("keycloakclients", "shop", name);
      expect(o.status?.phase, name).toBe("Ready");
    }
    // The same Secret with the same credential: nothing was re-created.
    expect(await credentials("storefront")).toEqual(storefront);
    const admin = await adminClient();
    expect(await admin.clients.find({ realm: "apps", clientId: "storefront" })).toHaveLength(1);
    const creds = await credentials("orders-worker");
    expect((await requestClientCredentialsToken(creds.token, creds.id, creds.secret)).status).toBe(200);
  });

  it("uninstalls: the retained realm stays in Keycloak, garbage collection removes what was owned", async () => {
    helm("uninstall", release, "--wait", "--timeout", "120s");
    await waitFor(
      "the operator's pods and ReplicaSets collected",
      async () => {
        const pods = await core.listNamespacedPod({ namespace: releaseNs, labelSelector: selector });
        const sets = await apps.listNamespacedReplicaSet({ namespace: releaseNs, labelSelector: selector });
        return pods.items.length === 0 && sets.items.length === 0;
      },
      120_000,
    );
    const admin = await adminClient();
    expect((await admin.realms.findOne({ realm: "apps" }))?.realm).toBe("apps");
    // With no operator left, a client's finalizer is released by hand; its credentials Secret,
    // owned by the KeycloakClient, then goes by garbage collection.
    const secret = await core.readNamespacedSecret({ name: "storefront-credentials", namespace: "shop" });
    expect(secret.metadata?.ownerReferences?.[0]?.kind).toBe("KeycloakClient");
    await resources.api.patchNamespacedCustomObject(
      {
        group: "keycloak.kpo.dev",
        version: "v1alpha1",
        namespace: "shop",
        plural: "keycloakclients",
        name: "storefront",
        body: { metadata: { finalizers: null } },
      },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await resources.delete("keycloakclients", "shop", "storefront");
    await waitFor(
      "the credentials Secret collected",
      async () => {
        try {
          await core.readNamespacedSecret({ name: "storefront-credentials", namespace: "shop" });
          return false;
        } catch (err) {
          return err instanceof k8s.ApiException && err.code === 404;
        }
      },
      120_000,
    );
    // Keycloak keeps the client too: deleting a CR with no operator touches nothing there.
    expect(await admin.clients.find({ realm: "apps", clientId: "storefront" })).toHaveLength(1);
  });
});
