// The platform operator's path on a real node: the operator's image built here without Docker
// (scripts/operator-image.sh), the chart installed with helm and its default values plus that image,
// and the operator running as two pods under kubelet, containerd, the scheduler and the
// controller-manager (src/testenv/node.ts), against the test Keycloak reached from the pods on the
// node's bridge address. One release, shared by ordered tests, each building on the one before:
// install → securityContext seen from inside the container → the quickstart from other namespaces →
// a policy data change through the chart's ConfigMap → the leader pod killed → an upgrade that
// rolls the pods → uninstall and garbage collection. Every fact is read from the running system
// (pods, the Lease, the pods' own endpoints, Keycloak), not from the rendered manifests.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as k8s from "@kubernetes/client-node";
import KcAdminClient from "@keycloak/keycloak-admin-client";
import { parseAllDocuments, stringify } from "yaml";
import { metricSum } from "../../src/observability/prometheusText.js";
import { startTestEnv, type TestEnv } from "../../src/testenv/index.js";
import { repoRoot } from "../../src/testenv/tools.js";
import {
  condition,
  requestClientCredentialsToken,
  Resources,
  secretValue,
  waitFor,
  type KpoObject,
} from "../integration/support.js";
import {
  helm,
  isRunningAndReady,
  Kubectl,
  livePods,
  operatorImage,
  podName,
  restarts,
  type OperatorImage,
} from "./support.js";

const CHART = path.join(repoRoot, "charts/keycloak-policy-operator");
const RELEASE = "kpo";
const NAMESPACE = "kpo-system";
const FULLNAME = "kpo-keycloak-policy-operator";
const SELECTOR = "app.kubernetes.io/name=keycloak-policy-operator,app.kubernetes.io/instance=kpo";
const LEASE = "keycloak-policy-operator";
const HEALTH_PORT = 8081;
const QUICKSTART = path.join(repoRoot, "examples/quickstart");
const PLACEHOLDER_URL = "http://127.0.0.1:8080";
const CLIENTS = "keycloakclients";

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  stringData?: Record<string, string>;
}

/** What a user edits before applying the quickstart: the Keycloak URL and the admin credentials. */
function quickstartFor(keycloakUrl: string, admin: { username: string; password: string }): string {
  const files = ["00-namespaces.yaml", "01-admin-credentials.yaml", "02-instance.yaml", "03-realm.yaml"];
  files.push("04-client.yaml", "05-user.yaml");
  const docs = files.flatMap((file) =>
    parseAllDocuments(
      readFileSync(path.join(QUICKSTART, file), "utf8").replaceAll(PLACEHOLDER_URL, keycloakUrl),
    )
      .map((d) => d.toJS() as Manifest | null)
      .filter((m): m is Manifest => m !== null),
  );
  for (const m of docs)
    if (m.kind === "Secret" && m.metadata.name === "keycloak-admin") m.stringData = { ...admin };
  return docs.map((m) => stringify(m)).join("---\n");
}

/** A confidential client with a service account, so its credentials can log in on their own. */
const serviceClient = (name: string) => ({
  apiVersion: "keycloak.kpo.dev/v1alpha1",
  kind: "KeycloakClient",
  metadata: { name },
  spec: {
    realmRef: { name: "apps", namespace: "identity" },
    clientId: name,
    publicClient: false,
    serviceAccountsEnabled: true,
    standardFlowEnabled: false,
  },
});

/** Keycloak's answer to a client-credentials request: "200" or "<status> <error>". */
async function tokenAnswer(endpoint: string, clientId: string, secret: string): Promise<string> {
  const res = await requestClientCredentialsToken(endpoint, clientId, secret);
  const body = (await res.json().catch(() => ({}))) as { error?: string; access_token?: string };
  if (res.ok) return body.access_token ? "200" : "200 without an access token";
  return `${res.status} ${body.error ?? ""}`.trim();
}

describe("Given the chart installed with helm on a real node", () => {
  let env: TestEnv;
  let image: OperatorImage;
  let kubeconfig: string;
  let kubectl: Kubectl;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let coordination: k8s.CoordinationV1Api;
  let resources: Resources;
  let keycloak: KcAdminClient;
  let keycloakUrlForPods: string;

  const operatorPods = () => livePods(core, NAMESPACE, SELECTOR);
  const metricsOf = (pod: string) => kubectl.podGet(NAMESPACE, pod, HEALTH_PORT, "/metrics");
  const leaseHolder = async () =>
    (await coordination.readNamespacedLease({ namespace: NAMESPACE, name: LEASE })).spec?.holderIdentity ??
    "";
  /** Two pods of the release, Running and Ready; the message says what they are when they are not. */
  const twoReadyPods = (what: string, accept: (pods: k8s.V1Pod[]) => boolean = () => true) =>
    waitFor(
      what,
      async () => {
        const pods = await operatorPods();
        if (pods.length === 2 && pods.every(isRunningAndReady) && accept(pods)) return pods;
        const states = pods.map((p) => `${podName(p)} ${p.status?.phase} ready=${isRunningAndReady(p)}`);
        throw new Error(`pods: ${states.join(", ") || "none"}`);
      },
      240_000,
    );
  const upgrade = (...sets: string[]) =>
    helm(
      kubeconfig,
      "upgrade",
      RELEASE,
      CHART,
      "--namespace",
      NAMESPACE,
      "--reuse-values",
      ...sets,
      "--wait",
      "--timeout",
      "5m",
    );

  beforeAll(async () => {
    // Built before the node starts, which imports every archive of the images directory.
    image = operatorImage();
    env = await startTestEnv({ node: true, cleanup: process.env.KPO_KEEP_TESTENV !== "1" });
    if (!env.node || !env.keycloakUrlForPods)
      throw new Error("startTestEnv({ node: true }) returned no node");
    keycloakUrlForPods = env.keycloakUrlForPods;
    await env.node.importImage(image.archive);
    kubeconfig = env.controlPlane.kubeconfigPath;
    kubectl = new Kubectl(env.node.kubectl);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    coordination = kc.makeApiClient(k8s.CoordinationV1Api);
    resources = new Resources(kc);
    keycloak = new KcAdminClient({ baseUrl: env.keycloak.url, realmName: "master" });
    await keycloak.auth({
      grantType: "password",
      clientId: "admin-cli",
      username: env.keycloak.adminUsername,
      password: env.keycloak.adminPassword,
    });
    // Default values, except the image: the one built above, never pulled (there is no registry).
    await helm(
      kubeconfig,
      "install",
      RELEASE,
      CHART,
      "--namespace",
      NAMESPACE,
      "--create-namespace",
      "--set",
      `image.repository=${image.repository}`,
      "--set",
      `image.tag=${image.tag}`,
      "--set",
      "image.pullPolicy=Never",
    );
  }, 900_000);

  afterAll(async () => {
    // The pods' logs next to the node's, for a failed run (KPO_KEEP_TESTENV=1 keeps them).
    if (env?.node && kubectl) {
      for (const pod of await operatorPods().catch(() => [])) {
        const logs = await kubectl
          .run(["logs", "-n", NAMESPACE, podName(pod)])
          .catch((e: Error) => e.message);
        writeFileSync(path.join(env.dir, `pod-${podName(pod)}.log`), logs);
      }
    }
    await env?.stop();
  }, 300_000);

  it("When it settles, Then both replicas are Running and Ready, their probes pass and exactly one holds the Lease", async () => {
    const pods = await twoReadyPods("two operator pods Running and Ready");
    const deployment = await apps.readNamespacedDeployment({ namespace: NAMESPACE, name: FULLNAME });
    expect(deployment.status?.readyReplicas).toBe(2);
    expect(pods.map((p) => p.spec?.containers[0]?.image)).toEqual([image.ref, image.ref]);
    // Startup and liveness probes passed (started, never restarted); what the kubelet probes answers.
    expect(pods.map(restarts)).toEqual([0, 0]);
    for (const pod of pods) {
      expect(await kubectl.podGet(NAMESPACE, podName(pod), HEALTH_PORT, "/healthz")).toBe("ok\n");
      expect(await kubectl.podGet(NAMESPACE, podName(pod), HEALTH_PORT, "/readyz?verbose")).toContain(
        "readyz check passed",
      );
    }
    const names = pods.map(podName);
    const holder = await waitFor("the Lease held by one of the pods", async () => {
      const h = await leaseHolder();
      return names.includes(h) ? h : false;
    });
    const leading = await Promise.all(
      names.map(async (n) => metricSum(await metricsOf(n), "leader_election_master_status", { name: LEASE })),
    );
    expect(leading.filter((v) => v === 1)).toHaveLength(1);
    expect(names[leading.indexOf(1)]).toBe(holder);
  }, 300_000);

  it("When the container is looked at from inside, Then it runs as 65532, cannot write its root filesystem, has no_new_privs and no capabilities", async () => {
    // PID 1 is the operator itself; the script runs beside it in the same container.
    const script = `
      const fs = require("node:fs");
      const status = Object.fromEntries(
        fs.readFileSync("/proc/1/status", "utf8").trim().split("\\n").map((l) => l.split(/:\\s+/)),
      );
      const write = (p) => { try { fs.writeFileSync(p, "x"); fs.rmSync(p); return "written"; } catch (e) { return e.code; } };
      const root = fs.readFileSync("/proc/1/mountinfo", "utf8").split("\\n").map((l) => l.split(" ")).find((f) => f[4] === "/");
      console.log(JSON.stringify({
        cmdline: fs.readFileSync("/proc/1/cmdline", "utf8").split("\\0").filter(Boolean),
        uid: status.Uid, gid: status.Gid, noNewPrivs: status.NoNewPrivs, capEff: status.CapEff,
        capBnd: status.CapBnd, seccomp: status.Seccomp, rootOptions: root && root[5].split(","),
        writeApp: write("/app/e2e-probe"), writeRoot: write("/e2e-probe"), writeTmp: write("/tmp/e2e-probe"),
      }));`;
    for (const pod of await operatorPods()) {
      const seen = JSON.parse(await kubectl.execNode(NAMESPACE, podName(pod), script)) as Record<
        string,
        unknown
      >;
      expect((seen.cmdline as string[]).slice(0, 3)).toEqual(["/nodejs/bin/node", "dist/src/cli.js", "run"]);
      expect(seen).toMatchObject({
        uid: "65532\t65532\t65532\t65532",
        gid: "65532\t65532\t65532\t65532",
        noNewPrivs: "1",
        capEff: "0000000000000000",
        capBnd: "0000000000000000",
        seccomp: "2",
        writeApp: "EROFS",
        writeRoot: "EROFS",
        // The chart's emptyDir: the one writable place.
        writeTmp: "written",
      });
      expect(seen.rootOptions).toContain("ro");
    }
  }, 120_000);

  it("When the quickstart is applied from other namespaces, Then it reaches Ready through the operator pod and its credentials Secret authenticates to Keycloak", async () => {
    await kubectl.run(
      ["apply", "-f", "-"],
      quickstartFor(keycloakUrlForPods, {
        username: env.keycloak.adminUsername,
        password: env.keycloak.adminPassword,
      }),
    );
    const objects: [string, string, string][] = [
      ["keycloakinstances", "identity", "main"],
      ["keycloakrealms", "identity", "apps"],
      [CLIENTS, "shop", "storefront"],
      ["keycloakusers", "shop", "tester"],
    ];
    for (const [plural, namespace, name] of objects)
      await resources.waitForStatus(plural, namespace, name, (o) => o.status?.phase === "Ready", 240_000);
    // What the README's tour shows a user.
    const table = await kubectl.run(["get", "keycloakrealms,keycloakclients", "-A"]);
    expect(table).toMatch(/identity\s+\S*\/apps\s.*Ready/);
    expect(table).toMatch(/shop\s+\S*\/storefront\s.*Ready/);

    const secret = await core.readNamespacedSecret({ namespace: "shop", name: "storefront-credentials" });
    const endpoint = secretValue(secret, "token-endpoint");
    expect(endpoint).toBe(`${keycloakUrlForPods}/realms/apps/protocol/openid-connect/token`);
    expect(secretValue(secret, "client-id")).toBe("storefront");
    // The storefront has no service account: Keycloak accepts its secret and refuses the grant, and
    // tells a wrong secret apart.
    const clientSecret = secretValue(secret, "client-secret");
    expect(await tokenAnswer(endpoint, "storefront", clientSecret)).toBe("401 unauthorized_client");
    expect(await tokenAnswer(endpoint, "storefront", `${clientSecret}x`)).toBe("401 invalid_client");
    const realm = await keycloak.realms.findOne({ realm: "apps" });
    expect(realm?.displayName).toBe("Apps");
  }, 300_000);

  it("When policy data changes through the chart's ConfigMap, Then the running pods load it and a decision changes without a restart", async () => {
    await resources.create(CLIENTS, "shop", serviceClient("reporting"));
    await resources.waitForStatus(CLIENTS, "shop", "reporting", (o) => o.status?.phase === "Ready", 240_000);
    const before = await operatorPods();
    const dataDir = "/etc/kpo/policy-data";
    const readMount = (pod: string) =>
      kubectl
        .execNode(
          NAMESPACE,
          pod,
          `const fs = require("node:fs"); console.log(JSON.stringify({ link: fs.readlinkSync("${dataDir}/..data"), data: JSON.parse(fs.readFileSync("${dataDir}/data.json", "utf8")) }))`,
        )
        .then((out) => JSON.parse(out) as { link: string; data: unknown });
    const mountsBefore = await Promise.all(before.map((p) => readMount(podName(p))));
    expect(mountsBefore.map((m) => m.data)).toEqual([{}, {}]);

    const data = { kpo: { authorization: { reservedClients: ["reporting"] } } };
    await upgrade("--set-json", `policyData=${JSON.stringify(data)}`);
    // kubelet swaps the volume's ..data symlink on its next sync of the pod (up to about a minute).
    const mountsAfter = await waitFor(
      "the new policy data in both pods' volumes",
      async () => {
        const mounts = await Promise.all(before.map((p) => readMount(podName(p))));
        return mounts.every((m) => JSON.stringify(m.data) === JSON.stringify(data)) ? mounts : false;
      },
      180_000,
    );
    expect(mountsAfter.map((m) => m.link)).not.toEqual(mountsBefore.map((m) => m.link));

    const denied = await resources.waitForStatus(
      CLIENTS,
      "shop",
      "reporting",
      (o) => condition(o, "PolicyCompliant")?.status === "False",
      180_000,
    );
    expect(condition(denied, "PolicyCompliant")?.message).toMatch(/Keycloak.s own clients/);
    // Both replicas swapped the data in (the standby decides the moment it leads); nobody restarted.
    for (const pod of before) {
      const revisions = (await metricsOf(podName(pod)))
        .split("\n")
        .filter((l) => l.startsWith("kpo_policy_bundle_info{"));
      expect(revisions).toHaveLength(1);
      expect(revisions[0]).toMatch(/revision="[^"]*\+data:[0-9a-f]+"/);
    }
    const after = await operatorPods();
    expect(after.map((p) => p.metadata?.uid)).toEqual(before.map((p) => p.metadata?.uid));
    expect(after.map(restarts)).toEqual([0, 0]);
  }, 420_000);

  it("When the leader pod is killed, Then the standby leads, a new client becomes Ready and the Deployment replaces the pod", async () => {
    const before = await operatorPods();
    const leader = await leaseHolder();
    const standby = before.map(podName).find((n) => n !== leader);
    expect(standby).toBeDefined();
    // Cordoned, the node takes no replacement pod until the standby leads: otherwise the replacement
    // may win the released Lease first, and the standby's takeover would go unobserved.
    await kubectl.run(["cordon", env.node!.name]);
    await core.deleteNamespacedPod({ namespace: NAMESPACE, name: leader, gracePeriodSeconds: 0 });

    await waitFor("the standby holding the Lease", async () => (await leaseHolder()) === standby, 120_000);
    expect(metricSum(await metricsOf(standby!), "leader_election_master_status", { name: LEASE })).toBe(1);

    await resources.create(CLIENTS, "shop", serviceClient("failover"));
    await resources.waitForStatus(CLIENTS, "shop", "failover", (o) => o.status?.phase === "Ready", 240_000);
    const secret = await core.readNamespacedSecret({ namespace: "shop", name: "failover-credentials" });
    expect(
      await tokenAnswer(
        secretValue(secret, "token-endpoint"),
        "failover",
        secretValue(secret, "client-secret"),
      ),
    ).toBe("200");

    await kubectl.run(["uncordon", env.node!.name]);
    const pods = await twoReadyPods("the Deployment's replacement pod Running and Ready", (ps) =>
      ps.every((p) => podName(p) !== leader),
    );
    expect(pods.map(podName)).toContain(standby);
    expect(await leaseHolder()).toBe(standby);
  }, 420_000);

  it("When a value changes with helm upgrade, Then the pods roll and no resource is lost", async () => {
    const kinds = ["keycloakinstances", "keycloakrealms", CLIENTS, "keycloakusers"];
    const snapshot = async () => {
      const out = JSON.parse(await kubectl.run(["get", kinds.join(","), "-A", "-o", "json"])) as {
        items: KpoObject[];
      };
      return out.items
        .map(
          (o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name} ${o.metadata.uid} ${o.status?.phase}`,
        )
        .sort();
    };
    const objectsBefore = await snapshot();
    expect(objectsBefore).toHaveLength(6);
    const secretUids = async () =>
      Promise.all(
        ["storefront-credentials", "failover-credentials", "reporting-credentials"].map(
          async (name) => (await core.readNamespacedSecret({ namespace: "shop", name })).metadata?.uid,
        ),
      );
    const secretsBefore = await secretUids();
    const podsBefore = (await operatorPods()).map(podName);

    await upgrade("--set", "operator.logLevel=debug");
    const pods = await twoReadyPods("two rolled pods Running and Ready", (ps) =>
      ps.every((p) => !podsBefore.includes(podName(p))),
    );
    for (const pod of pods)
      expect(pod.spec?.containers[0]?.env?.find((e) => e.name === "KPO_LOG_LEVEL")?.value).toBe("debug");
    const holder = await waitFor("a rolled pod holding the Lease", async () => {
      const h = await leaseHolder();
      return pods.map(podName).includes(h) ? h : false;
    });
    expect(holder).not.toBe("");

    // The new leader reconciles the same world: the client it last saw Ready is still in Keycloak.
    await resources.patchSpec(CLIENTS, "shop", "storefront", { name: "Storefront (rolled)" });
    await resources.waitForStatus(CLIENTS, "shop", "storefront", (o) => o.status?.phase === "Ready", 180_000);
    const [storefront] = await keycloak.clients.find({ realm: "apps", clientId: "storefront" });
    expect(storefront?.name).toBe("Storefront (rolled)");
    expect(await snapshot()).toEqual(objectsBefore);
    expect(await secretUids()).toEqual(secretsBefore);
  }, 600_000);

  it("When the release is uninstalled, Then retained realms stay in Keycloak and the garbage collector removes what the operator owned", async () => {
    await helm(kubeconfig, "uninstall", RELEASE, "--namespace", NAMESPACE, "--wait", "--timeout", "3m");
    // helm deletes the Deployment; its ReplicaSets and pods go through the garbage collector.
    await waitFor(
      "the operator's ReplicaSets and pods gone",
      async () => {
        const sets = await apps.listNamespacedReplicaSet({ namespace: NAMESPACE, labelSelector: SELECTOR });
        const pods = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: SELECTOR });
        return sets.items.length === 0 && pods.items.length === 0;
      },
      180_000,
    );

    // The realm (deletionPolicy: Retain) is still in Keycloak, and so is the CR that describes it.
    expect((await keycloak.realms.findOne({ realm: "apps" }))?.realm).toBe("apps");
    expect((await resources.get("keycloakrealms", "identity", "apps")).status?.phase).toBe("Ready");

    // With no operator left to release it, an administrator drops a client's finalizer and deletes
    // it: the credentials Secret it owned is removed by the garbage collector alone.
    const secretBefore = await core.readNamespacedSecret({ namespace: "shop", name: "failover-credentials" });
    const owner = secretBefore.metadata?.ownerReferences?.[0];
    expect(owner).toMatchObject({ kind: "KeycloakClient", name: "failover", controller: true });
    await kubectl.run([
      "patch",
      "-n",
      "shop",
      "keycloakclient/failover",
      "--type=merge",
      "-p",
      '{"metadata":{"finalizers":null}}',
    ]);
    await resources.delete(CLIENTS, "shop", "failover");
    await waitFor("the KeycloakClient gone", () => resources.gone(CLIENTS, "shop", "failover"));
    await waitFor(
      "the garbage collector removing failover-credentials",
      async () => {
        try {
          await core.readNamespacedSecret({ namespace: "shop", name: "failover-credentials" });
          return false;
        } catch (err) {
          if (err instanceof k8s.ApiException && err.code === 404) return true;
          throw err;
        }
      },
      120_000,
    );
    // The Secret of a client that still exists is untouched.
    const storefront = await core.readNamespacedSecret({ namespace: "shop", name: "storefront-credentials" });
    expect(storefront.metadata?.uid).toBeDefined();
  }, 420_000);
});
