// A managed KeycloakInstance on the real node: the operator (its own process on the host, reaching
// the pods by their IPs with --managed-address pod, since the node has no Service proxy) checks a
// real PostgreSQL (Debian's, on loopback, reachable from pods through the bridge), deploys the
// locally built Keycloak image (scripts/keycloak-image.sh, imported here), waits for the pods and the admin API, and
// then serves a realm and a client on it whose credentials get a token from the pod.
//
// One Keycloak start-up costs about a minute on this machine, so the scenarios build on each other:
// the database is down first (nothing deployed), then comes up (one pod, Ready), then a realm and a
// client, two replicas forming one cache cluster, and a rotated database password rolling the pods.
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { gunzipSync } from "node:zlib";
import path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MACHINES_DIR } from "../../src/lifecycle/paths.js";
import { startControlPlane, type ControlPlane } from "../../src/testenv/controlPlane.js";
import { startNode, type Node } from "../../src/testenv/node.js";
import { operatorCommand } from "../../src/testenv/operatorCommand.js";
import { freePort } from "../../src/testenv/ports.js";
import { startPostgres, type PostgresServer } from "../../src/testenv/postgres.js";
import { repoRoot, toolPaths } from "../../src/testenv/tools.js";
import {
  condition,
  installCrds,
  requestClientCredentialsToken,
  Resources,
  secretValue,
  waitFor,
  type KpoObject,
  unlessNotFound,
  upsertSecret,
} from "../integration/support.js";

const KEYCLOAK_VERSION = /^KEYCLOAK_VERSION=(\S+)$/m.exec(
  readFileSync(path.join(repoRoot, "tools.versions"), "utf8"),
)?.[1];
const ns = "identity";
const INSTANCES = "keycloakinstances";
const IMAGE = `kpo.local/keycloak:${KEYCLOAK_VERSION}`;
const HASH = "kpo.dev/config-hash";
// Keycloak's first start creates its schema; two pods starting side by side share two cores.
const STARTUP_MS = 420_000;

let dir: string;
let controlPlane: ControlPlane;
let node: Node;
let postgres: PostgresServer | undefined;
let operator: ChildProcess | undefined;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let resources: Resources;
let dbPort: number;
let dbHostForPods: string;

const ready = (o: KpoObject) => condition(o, "Ready");
const instance = () => resources.get(INSTANCES, ns, "kc");
const statefulSet = () => unlessNotFound(() => apps.readNamespacedStatefulSet({ name: "kc", namespace: ns }));
const pods = async () =>
  (await core.listNamespacedPod({ namespace: ns, labelSelector: "app.kubernetes.io/instance=kc" })).items;

const writeDbSecret = (password: string) =>
  upsertSecret(core, ns, "db-creds", { username: "keycloak", password });

/** Ready at the instance's current generation, with every pod of the StatefulSet up to date. */
async function waitForReady(what: string): Promise<KpoObject> {
  return waitFor(
    what,
    async () => {
      const o = await instance();
      return o.status?.observedGeneration === o.metadata.generation && ready(o)?.status === "True"
        ? o
        : false;
    },
    STARTUP_MS,
  );
}

async function startOperator(): Promise<void> {
  // Retries every few seconds, so a pod becoming ready is noticed soon (the shipped backoff grows to
  // minutes), and enough of them for a first start.
  const machinesDir = path.join(dir, "machines");
  cpSync(DEFAULT_MACHINES_DIR, machinesDir, { recursive: true });
  for (const kind of ["instance", "realm", "client"]) {
    const file = path.join(machinesDir, `${kind}.json`);
    const doc = JSON.parse(readFileSync(file, "utf8")) as { constants: Record<string, number> };
    Object.assign(doc.constants, { retryBaseDelayMs: 2_000, retryMaxDelayMs: 5_000, maxAttempts: 1_000 });
    writeFileSync(file, JSON.stringify(doc, null, 2));
  }
  const healthPort = await freePort();
  const { command, args } = operatorCommand({
    kubeconfigPath: controlPlane.kubeconfigPath,
    healthPort,
    args: ["--leader-election", "false", "--managed-address", "pod", "--machines", machinesDir],
  });
  const log = createWriteStream(path.join(dir, "operator.log"));
  operator = spawn(command, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  operator.stdout?.pipe(log);
  operator.stderr?.pipe(log);
  await waitFor(
    "the operator to be ready",
    async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok,
    60_000,
  );
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "kpo-e2e-managed-"));
  controlPlane = await startControlPlane({ dir: path.join(dir, "control-plane") });
  node = await startNode({ controlPlane, dir: path.join(dir, "node") });
  // Built by scripts/keycloak-image.sh; not among the images every node start imports.
  await node.importImage(path.join(toolPaths().KPO_IMAGES_DIR, "managed", "keycloak.tar"));
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(controlPlane.kubeconfigPath);
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  resources = new Resources(kc);
  await installCrds(kc);
  await core.createNamespace({ body: { metadata: { name: ns } } });
  // The database's port is reachable from pods before anything listens on it.
  dbPort = await freePort();
  dbHostForPods = (await node.exposeOnBridge(dbPort)).split(":")[0] ?? "";
  await startOperator();
});

afterAll(async () => {
  operator?.kill("SIGTERM");
  await node?.stop();
  await controlPlane?.stop();
  await postgres?.stop();
  if (process.env.KPO_KEEP_TESTENV !== "1") rmSync(dir, { recursive: true, force: true });
});

describe("a managed KeycloakInstance on the real node", () => {
  it("Given the database is down, When the instance is created, Then it is Degraded with DatabaseUnreachable and no workload exists", async () => {
    await writeDbSecret("not-yet");
    await resources.create(INSTANCES, ns, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakInstance",
      metadata: { name: "kc" },
      spec: {
        managed: {
          replicas: 1,
          image: IMAGE,
          database: {
            vendor: "postgres",
            host: dbHostForPods,
            port: dbPort,
            database: "keycloak",
            credentialsSecretRef: { name: "db-creds" },
          },
          resources: { requests: { cpu: "250m", memory: "512Mi" } },
        },
      },
    });
    const degraded = await resources.waitForStatus(
      INSTANCES,
      ns,
      "kc",
      (o) => ready(o)?.reason === "DatabaseUnreachable" && Number(o.status?.attempts ?? 0) >= 2,
    );
    expect(ready(degraded)?.message).toContain(`${dbHostForPods}:${dbPort}`);
    expect(await statefulSet()).toBeUndefined();
  });

  it("When the database comes up, Then the instance deploys one Keycloak pod and becomes Ready with the server's version", async () => {
    postgres = await startPostgres({ port: dbPort, role: "keycloak", database: "keycloak" });
    await writeDbSecret(postgres.password);
    const o = await waitForReady("the instance to be Ready on a running pod");
    expect(o.status?.version).toBe(KEYCLOAK_VERSION);
    expect(ready(o)?.message).toContain(`Keycloak ${KEYCLOAK_VERSION} answers at`);
    const [pod] = await pods();
    expect(pod?.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(o.status?.url).toBe(`http://${pod?.status?.podIP}:8080`);
    // The admin password exists only in its Secret.
    const admin = await core.readNamespacedSecret({ name: "kc-admin", namespace: ns });
    expect(JSON.stringify(o.status)).not.toContain(secretValue(admin, "password"));
  });

  it("Then a realm and a confidential client on it become Ready, and the client's credentials get a token from the pod", async () => {
    await resources.create("keycloakrealms", ns, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      metadata: { name: "shop" },
      spec: { instanceRef: { name: "kc" }, realmName: "shop" },
    });
    await resources.create("keycloakclients", ns, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakClient",
      metadata: { name: "backend" },
      spec: {
        realmRef: { name: "shop" },
        clientId: "backend",
        publicClient: false,
        serviceAccountsEnabled: true,
        secret: { name: "backend-credentials" },
      },
    });
    await resources.waitForStatus(
      "keycloakclients",
      ns,
      "backend",
      (o) => ready(o)?.status === "True",
      180_000,
    );
    const secret = await core.readNamespacedSecret({ name: "backend-credentials", namespace: ns });
    const response = await requestClientCredentialsToken(
      secretValue(secret, "token-endpoint"),
      "backend",
      secretValue(secret, "client-secret"),
    );
    expect(response.status).toBe(200);
    const token = (await response.json()) as { access_token?: string };
    expect(token.access_token?.split(".")).toHaveLength(3);
  });

  it("When scaled to two replicas, Then both pods form one cache cluster and the instance is Ready again", async () => {
    const before = await instance();
    await resources.patchSpec(INSTANCES, ns, "kc", {
      managed: { ...(before.spec.managed as object), replicas: 2 },
    });
    await waitForReady("two replicas Ready");
    const names = (await pods()).map((p) => p.metadata?.name ?? "").sort();
    expect(names).toEqual(["kc-0", "kc-1"]);
    // Keycloak's own cluster view (Infinispan, over JGroups) names both members.
    const view = await waitFor(
      "a two-member cluster view",
      async () => {
        const log = await core.readNamespacedPodLog({ name: "kc-1", namespace: ns, container: "keycloak" });
        return /cluster view[^\n]*\(2\)[^\n]*/.exec(log)?.[0];
      },
      120_000,
    );
    expect(view).toMatch(/kc-0/);
    expect(view).toMatch(/kc-1/);
  });

  it("When the database password (in PostgreSQL and its Secret) and the admin Secret are rotated, Then the pods roll, the new admin password is Keycloak's and the instance returns to Ready", async () => {
    const sts = await statefulSet();
    const hashBefore = sts?.spec?.template.metadata?.annotations?.[HASH];
    const uidsBefore = (await pods()).map((p) => p.metadata?.uid);
    const rotated = "rotated-" + Math.random().toString(36).slice(2);
    const admin = await core.readNamespacedSecret({ name: "kc-admin", namespace: ns });
    const oldAdminPassword = secretValue(admin, "password");
    const newAdminPassword = "admin-" + Math.random().toString(36).slice(2);
    await postgres?.setPassword(rotated);
    await writeDbSecret(rotated);
    await core.patchNamespacedSecret(
      { name: "kc-admin", namespace: ns, body: { stringData: { password: newAdminPassword } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await waitFor(
      "the pod template to carry the new Secret's hash",
      async () => {
        const hash = (await statefulSet())?.spec?.template.metadata?.annotations?.[HASH];
        return hash !== undefined && hash !== hashBefore;
      },
      120_000,
    );
    const o = await waitFor(
      "Ready on new pods",
      async () => {
        const current = await instance();
        const uids = (await pods()).map((p) => p.metadata?.uid);
        return ready(current)?.status === "True" &&
          uids.length === 2 &&
          uids.every((u) => !uidsBefore.includes(u))
          ? current
          : false;
      },
      STARTUP_MS,
    );
    expect(o.status?.version).toBe(KEYCLOAK_VERSION);
    // Keycloak keeps its admin in the database: the operator carried the new password over.
    const login = (password: string) =>
      fetch(`${String(o.status?.url)}/realms/master/protocol/openid-connect/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "password",
          client_id: "admin-cli",
          username: "admin",
          password,
        }),
      });
    expect((await login(newAdminPassword)).status).toBe(200);
    expect((await login(oldAdminPassword)).status).toBe(401);
  });

  it("When the image changes, Then the realms are backed up first, no old pod runs beside a new one, and the instance comes back Ready on the new image", async () => {
    const newImage = `${IMAGE}-patched`;
    await node.tagImage(IMAGE, newImage);
    const before = await instance();
    await resources.patchSpec(INSTANCES, ns, "kc", {
      managed: { ...(before.spec.managed as object), image: newImage },
    });
    // Every poll records the images of the pods that exist: old and new must never overlap.
    const mixed: string[][] = [];
    const sawUpgrading: string[] = [];
    const o = await waitFor(
      "Ready on the new image",
      async () => {
        const images = [...new Set((await pods()).map((p) => p.spec?.containers[0]?.image ?? ""))].sort();
        if (images.length > 1) mixed.push(images);
        const current = await instance();
        if (ready(current)?.reason === "KeycloakUpgrading") sawUpgrading.push(ready(current)?.message ?? "");
        return current.status?.observedGeneration === current.metadata.generation &&
          ready(current)?.status === "True" &&
          images.length === 1 &&
          images[0] === newImage
          ? current
          : false;
      },
      STARTUP_MS,
    );
    expect(mixed).toEqual([]);
    expect(sawUpgrading.length).toBeGreaterThan(0);
    const backupName = typeof o.status?.lastBackup === "string" ? o.status.lastBackup : "";
    expect(sawUpgrading[0]).toContain(`backup ${backupName} stored`);
    const backup = await core.readNamespacedSecret({ name: backupName, namespace: ns });
    expect(backup.metadata?.labels?.["keycloak.kpo.dev/backup-of"]).toBe("kc");
    expect(backup.metadata?.ownerReferences ?? []).toEqual([]);
    expect(backup.metadata?.annotations?.["keycloak.kpo.dev/backup-from-image"]).toBe(IMAGE);
    const realms = JSON.parse(
      gunzipSync(Buffer.from(backup.data?.["realms.json.gz"] ?? "", "base64")).toString("utf8"),
    ) as { realm: string; clients?: { clientId: string }[] }[];
    expect(realms.map((r) => r.realm).sort()).toEqual(["master", "shop"]);
    expect(realms.find((r) => r.realm === "shop")?.clients?.map((c) => c.clientId)).toContain("backend");
    // The realm on it is served again.
    await resources.waitForStatus(
      "keycloakclients",
      ns,
      "backend",
      (c) => ready(c)?.status === "True",
      180_000,
    );
  });

  it("When the image is replaced by one that cannot start, Then the instance is Degraded with the pod's reason and the backup's name, and the previous image brings it back", async () => {
    const working = (await instance()).spec.managed as { image: string };
    // An image without Keycloak in it: its container cannot even start.
    const broken = `${IMAGE}-broken`;
    await node.tagImage("kpo.local/busybox:1.35", broken);
    await resources.patchSpec(INSTANCES, ns, "kc", { managed: { ...working, image: broken } });
    const failing = await resources.waitForStatus(
      INSTANCES,
      ns,
      "kc",
      (o) => ready(o)?.reason === "KeycloakPodFailing",
      STARTUP_MS,
    );
    const message = ready(failing)?.message ?? "";
    expect(message).toMatch(/^pod kc-\d container keycloak: /);
    const backups = await core.listNamespacedSecret({
      namespace: ns,
      labelSelector: "keycloak.kpo.dev/backup-of=kc",
    });
    const newest = backups.items
      .map((b) => b.metadata?.name ?? "")
      .sort()
      .at(-1);
    expect(message).toContain(`the backup taken before this change is Secret ${newest}`);
    // Back to the image that worked: no Keycloak serves to back up from, which must not block it.
    await resources.patchSpec(INSTANCES, ns, "kc", { managed: { ...working } });
    const back = await waitForReady("Ready again on the previous image");
    expect((await pods()).map((p) => p.spec?.containers[0]?.image)).toEqual([working.image, working.image]);
    expect(back.status?.version).toBe(KEYCLOAK_VERSION);
  });
});
