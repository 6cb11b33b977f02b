// Scale benchmark: N KeycloakClients applied to a real control plane and Keycloak, reconciled by
// `kpo run` in its own process. Measures time to all Ready, Keycloak requests, operator CPU and peak
// RSS; then an operator restart and one periodic resync with nothing changed (both must make zero
// Keycloak writes); then the lower bound: the same client creates sent straight to Keycloak with the
// admin client at the same concurrency; and the API server's floor: the same CRs applied with no
// operator running. Loopback only, bounded waits, stops and cleans up by itself.
//
// The operator under test is the bundled CLI (dist/kpo.mjs, as in the image), not tsx.
// Between the restart pass and the first periodic resync the operator is idle: its CPU, Keycloak
// requests and the API server's writes in that window are reported. After the resync one client
// is disabled by hand in Keycloak and the time until the operator re-enables it is measured.
//
//   npm run bench:scale -- [options]       (builds the policy bundle and dist/kpo.mjs first)
//   options: [--clients 1000] [--namespaces 10] [--realms 5] [--workers 4]
//            [--resync-period-ms auto] [--keycloak-rate 50] [--keycloak-burst 100]
//            [--timeout-minutes auto] ["--node-flags=…" (default: the image's)] [--cpu-prof]
//            [--keep]
//   10,000 clients: --clients 10000 --namespaces 50 --realms 20 (keeps 200 clients per namespace
//   and 500 per realm, like 1000 / 10 / 5 does at 100 and 200) --resync-period-ms 300000 (the auto
//   period, 1.2 × the create time, would be about 17 minutes and the idle wait and drift with it).
//
// Results: stdout (a Markdown table for docs/benchmarks.md "Scale") and bench/results/scale-<N>.json.
import https from "node:https";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import KcAdminClient from "@keycloak/keycloak-admin-client";
import { installCrds } from "../src/kube/crdInstall.js";
import { startTestEnv, type TestEnv } from "../src/testenv/index.js";
import { repoRoot } from "../src/testenv/tools.js";
import {
  diffCounts,
  keycloakCounts,
  metricSum,
  pool,
  processStats,
  threadCpu,
  threadCpuSince,
  sleep,
  startOperator,
  zeroCounts,
  imageNodeFlags,
  type KeycloakCounts,
  type OperatorProcess,
} from "./scaleSupport.js";
import { gitCommit, positiveOption, requirePolicyBundle, writeResult } from "./benchSupport.js";

const group = "keycloak.kpo.dev";
const version = "v1alpha1";

const { values: args } = parseArgs({
  options: {
    clients: { type: "string", default: "1000" },
    namespaces: { type: "string", default: "10" },
    realms: { type: "string", default: "5" },
    workers: { type: "string", default: "4" },
    "resync-period-ms": { type: "string", default: "auto" },
    "keycloak-rate": { type: "string", default: "50" },
    "keycloak-burst": { type: "string", default: "100" },
    "apply-concurrency": { type: "string", default: "16" },
    "timeout-minutes": { type: "string", default: "auto" },
    "node-flags": { type: "string" },
    "cpu-prof": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
  },
});

const N = positiveOption("clients", args.clients);
const NAMESPACES = positiveOption("namespaces", args.namespaces);
const REALMS = positiveOption("realms", args.realms);
const WORKERS = positiveOption("workers", args.workers);
const KC_RATE = positiveOption("keycloak-rate", args["keycloak-rate"]);
const KC_BURST = positiveOption("keycloak-burst", args["keycloak-burst"]);
const APPLY_CONCURRENCY = positiveOption("apply-concurrency", args["apply-concurrency"]);
// Auto: 30 minutes plus about 0.6 s per client (create, restart, a resync period ≈ 1.2 × create,
// drift repair and the lower bound each grow with N); 10,000 clients → 130 minutes.
const timeoutMinutes =
  args["timeout-minutes"] === "auto"
    ? 30 + Math.ceil(N / 100)
    : positiveOption("timeout-minutes", args["timeout-minutes"]);
const deadline = Date.now() + timeoutMinutes * 60_000;
// The operator runs as the image runs it: with the node flags of the Dockerfile's ENTRYPOINT
// unless --node-flags replaces them.
const NODE_FLAGS =
  args["node-flags"] !== undefined ? args["node-flags"].split(/\s+/).filter(Boolean) : imageNodeFlags();

const bundleDir = path.join(repoRoot, "build/policy/bundle");
requirePolicyBundle(bundleDir, " (npm run bench:scale does)");

// Ctrl-C / SIGTERM end the run through the normal path, so the operator and the environment stop.
let aborted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    aborted = true;
  });
}

const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const seconds = (ms: number) => ms / 1000;

/** Poll `probe` until it returns a value; fails after the run's deadline or if the operator died. */
/** The operator's CPU per /metrics scrape, in ms, over `count` scrapes one after another. */
async function scrapeCost(operator: OperatorProcess, count: number): Promise<number> {
  const before = processStats(operator.pid).cpuSeconds;
  for (let i = 0; i < count; i++) await operator.metrics();
  return ((processStats(operator.pid).cpuSeconds - before) * 1000) / count;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { everyMs?: number; operator?: OperatorProcess; progress?: () => string } = {},
): Promise<T> {
  let lastReport = Date.now();
  for (;;) {
    if (aborted) throw new Error(`interrupted while waiting for ${what}`);
    if (options.operator && !options.operator.alive()) {
      throw new Error(`operator exited while waiting for ${what}; see ${options.operator.logFile}`);
    }
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out (--timeout-minutes) waiting for ${what}`);
    if (options.progress && Date.now() - lastReport > 15_000) {
      log(`  … ${what}: ${options.progress()}`);
      lastReport = Date.now();
    }
    await sleep(options.everyMs ?? 1000);
  }
}

interface PhaseResult {
  name: string;
  seconds: number;
  keycloak: KeycloakCounts;
  reconciles: number;
  cpuSeconds: number;
  peakRssMiB: number;
}

interface ClientList {
  items: Array<{
    metadata: { generation?: number };
    status?: {
      phase?: string;
      observedGeneration?: number;
      conditions?: Array<{ type: string; message: string }>;
    };
  }>;
}

async function main(): Promise<void> {
  const load0 = loadavg();
  const startedAt = new Date();
  // The code under test is the bundle built before this started: record its commit now, not after a
  // run of up to an hour during which the working tree may move on.
  const commit = gitCommit();
  log(`starting control plane and Keycloak (about 1–2 minutes)`);
  let env: TestEnv | undefined;
  const operators: OperatorProcess[] = [];
  const logFiles: string[] = [];
  try {
    env = await startTestEnv({ cleanup: !args.keep });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(env.controlPlane.kubeconfigPath);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await installCrds(kc, path.join(repoRoot, "crds"));

    const platform = "bench-platform";
    const appNamespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-app-${i}`);
    for (const name of [platform, ...appNamespaces])
      await core.createNamespace({ body: { metadata: { name } } });

    // The default quotas (20 clients per namespace, 100 per realm) would deny most of the load:
    // raised through the documented override file, as a platform team would.
    const policyData = path.join(env.dir, "bench-policy-data.json");
    writeFileSync(
      policyData,
      JSON.stringify({
        kpo: {
          quota: {
            defaults: {
              maxRealmsPerNamespace: REALMS + 10,
              maxClientsPerRealm: N + 10,
              maxClientsPerNamespace: N + 10,
            },
          },
        },
      }),
    );
    // A private copy of the bundle: the operator watches its bundle directory and re-decides every
    // resource when it changes, so a rebuild of build/policy/bundle during the run would add a pass.
    const bundleCopy = path.join(env.dir, "policy-bundle");
    cpSync(bundleDir, bundleCopy, { recursive: true });
    const operatorArgs = (extra: string[]) => [
      "--policy-bundle",
      bundleCopy,
      "--workers",
      String(WORKERS),
      "--policy-data",
      policyData,
      "--keycloak-rate",
      String(KC_RATE),
      "--keycloak-burst",
      String(KC_BURST),
      ...extra,
    ];
    const launch = async (name: string, extra: string[]) => {
      const logFile = path.join(env!.dir, `operator-${name}.log`);
      logFiles.push(logFile);
      const profDir = path.join(repoRoot, "bench/results/prof");
      const op = await startOperator({
        kubeconfig: env!.controlPlane.kubeconfigPath,
        logFile,
        args: operatorArgs(extra),
        nodeFlags: [
          ...NODE_FLAGS,
          ...(args["cpu-prof"]
            ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${name}.cpuprofile`]
            : []),
        ],
      });
      operators.push(op);
      return op;
    };
    const stopOperator = async (op: OperatorProcess) => {
      await op.stop();
      operators.splice(operators.indexOf(op), 1);
    };

    // Writes the API server served (create/update/patch/delete, all clients of the server): with
    // only the operator running, the writes of an idle operator.
    const kubeWrites = async () => {
      const url = new URL("/metrics", env!.controlPlane.server);
      const options: https.RequestOptions = { hostname: url.hostname, port: url.port, path: url.pathname };
      await kc.applyToHTTPSOptions(options);
      const text = await new Promise<string>((resolve, reject) => {
        https
          .get(options, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => resolve(body));
          })
          .on("error", reject);
      });
      return ["CREATE", "UPDATE", "PATCH", "DELETE", "APPLY"].reduce(
        (sum, verb) => sum + metricSum(text, "apiserver_request_total", { verb }),
        0,
      );
    };
    const listClients = async () =>
      (await custom.listClusterCustomObject({ group, version, plural: "keycloakclients" })) as ClientList;
    const readyCount = (list: ClientList) =>
      list.items.filter(
        (o) => o.status?.phase === "Ready" && o.status.observedGeneration === o.metadata.generation,
      ).length;
    const failFast = (list: ClientList) => {
      const failed = list.items.find((o) => o.status?.phase === "Failed");
      if (failed) {
        const msg = failed.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "(no message)";
        throw new Error(`a KeycloakClient went Failed, the benchmark is invalid: ${msg}`);
      }
    };

    // ---- operator A: setup, then N clients to Ready ------------------------------------------------
    const opA = await launch("create", []);
    const cpuA0 = processStats(opA.pid).cpuSeconds;

    const { url, adminUsername, adminPassword } = env.keycloak;
    await core.createNamespacedSecret({
      namespace: platform,
      body: {
        metadata: { name: "main-admin" },
        stringData: { username: adminUsername, password: adminPassword },
      },
    });
    const create = (plural: string, namespace: string, body: object) =>
      custom.createNamespacedCustomObject({ group, version, namespace, plural, body });
    await create("keycloakinstances", platform, {
      apiVersion: `${group}/${version}`,
      kind: "KeycloakInstance",
      metadata: { name: "main" },
      spec: {
        external: { url, adminCredentials: { secretRef: { name: "main-admin" } } },
        realmGrants: { namespaces: [platform] },
      },
    });
    const realmNames = Array.from({ length: REALMS }, (_, i) => `bench-${i}`);
    for (const name of realmNames) {
      await create("keycloakrealms", platform, {
        apiVersion: `${group}/${version}`,
        kind: "KeycloakRealm",
        metadata: { name },
        spec: {
          instanceRef: { name: "main" },
          realmName: name,
          clientGrants: { namespaces: appNamespaces },
          deletionPolicy: "Delete",
        },
      });
    }
    await until(
      `${REALMS} realms Ready`,
      async () => {
        const list = (await custom.listNamespacedCustomObject({
          group,
          version,
          namespace: platform,
          plural: "keycloakrealms",
        })) as ClientList;
        return readyCount(list) === REALMS ? true : undefined;
      },
      { operator: opA },
    );
    const beforeCreate = keycloakCounts(await opA.metrics());
    const reconcilesBeforeCreate = metricSum(await opA.metrics(), "controller_runtime_reconcile_total", {
      controller: "client",
    });
    const cpuBeforeCreate = processStats(opA.pid).cpuSeconds;
    log(`setup done (instance + ${REALMS} realms Ready); applying ${N} KeycloakClients`);

    const clientCr = (i: number) => ({
      apiVersion: `${group}/${version}`,
      kind: "KeycloakClient",
      metadata: { name: `client-${i}` },
      spec: {
        realmRef: { name: realmNames[Math.floor(i / NAMESPACES) % REALMS]!, namespace: platform },
        clientId: `client-${i}`,
        deletionPolicy: "Delete",
      },
    });
    const t0 = Date.now();
    // Client i lives in namespace i mod NAMESPACES and realm (i / NAMESPACES) mod REALMS, so every
    // namespace uses every realm.
    await pool(N, APPLY_CONCURRENCY, async (i) => {
      if (aborted) throw new Error("interrupted while applying the clients");
      await create("keycloakclients", appNamespaces[i % NAMESPACES]!, clientCr(i));
    });
    const applySeconds = seconds(Date.now() - t0);
    log(`applied in ${applySeconds.toFixed(1)} s; waiting for all Ready`);
    let ready = 0;
    await until(
      `${N} clients Ready`,
      async () => {
        const list = await listClients();
        failFast(list);
        ready = readyCount(list);
        return ready === N ? true : undefined;
      },
      { operator: opA, everyMs: 2000, progress: () => `${ready}/${N} Ready` },
    );
    const createMs = Date.now() - t0;
    const textA = await opA.metrics();
    const statsA = processStats(opA.pid);
    const createPhase: PhaseResult = {
      name: `create ${N} clients → all Ready`,
      seconds: seconds(createMs),
      keycloak: diffCounts(keycloakCounts(textA), beforeCreate),
      reconciles:
        metricSum(textA, "controller_runtime_reconcile_total", { controller: "client" }) -
        reconcilesBeforeCreate,
      cpuSeconds: statsA.cpuSeconds - cpuBeforeCreate,
      peakRssMiB: statsA.peakRssMiB,
    };
    const startupCpuA = cpuBeforeCreate - cpuA0;
    log(`all ${N} Ready in ${createPhase.seconds.toFixed(1)} s`);
    // Let in-flight follow-ups (status-change events) drain before the restart.
    await sleep(3000);
    await stopOperator(opA);

    // ---- operator B: restart with everything Ready, then one periodic resync -----------------------
    // The resync period must outlast the restart pass so that the two passes are measured apart;
    // the reconciler jitters it by ±10 %.
    const resyncMs =
      args["resync-period-ms"] === "auto"
        ? Math.max(30_000, Math.ceil((createMs * 1.2) / 1000) * 1000)
        : positiveOption("resync-period-ms", args["resync-period-ms"]);
    log(`restarting the operator (resync period ${seconds(resyncMs)} s)`);
    const tRestart = Date.now();
    const opB = await launch("restart", ["--resync-period-ms", String(resyncMs)]);
    // Process start → /readyz (node + tsx loading the code, informers' initial lists) is reported
    // apart from the pass itself.
    const readyzMs = Date.now() - tRestart;
    const tPass = Date.now();
    const statsB0 = processStats(opB.pid);
    const clientReconciles = async () => {
      const text = await opB.metrics();
      return {
        text,
        total: metricSum(text, "controller_runtime_reconcile_total", { controller: "client" }),
        idle:
          metricSum(text, "workqueue_depth", { name: "client" }) === 0 &&
          metricSum(text, "controller_runtime_active_workers", { controller: "client" }) === 0,
      };
    };
    let seen = 0;
    const restartDone = await until(
      `restart pass over ${N} clients`,
      async () => {
        const r = await clientReconciles();
        seen = r.total;
        return r.total >= N && r.idle ? r : undefined;
      },
      { operator: opB, everyMs: 1000, progress: () => `${seen}/${N} reconciled` },
    );
    const restartMs = Date.now() - tPass;
    const statsB1 = processStats(opB.pid);
    const idleStart = {
      at: Date.now(),
      cpu: statsB1.cpuSeconds,
      threads: threadCpu(opB.pid),
      kubeWrites: await kubeWrites(),
    };
    const restartPhase: PhaseResult = {
      name: "operator restart, all Ready (/readyz → every client reconciled, queue idle)",
      seconds: seconds(restartMs),
      keycloak: diffCounts(keycloakCounts(restartDone.text), zeroCounts),
      reconciles: restartDone.total,
      cpuSeconds: statsB1.cpuSeconds - statsB0.cpuSeconds,
      peakRssMiB: statsB1.peakRssMiB,
    };
    log(
      `restart pass: ${restartPhase.seconds.toFixed(1)} s, ${restartPhase.keycloak.writes} Keycloak writes`,
    );
    const stillReady = readyCount(await listClients());
    if (stillReady !== N) throw new Error(`after the restart only ${stillReady}/${N} clients are Ready`);

    // The resync pass begins with the first reconcile after the restart pass and ends once N more
    // client reconciles have run and the queue is idle.
    const base = restartDone;
    const baseCounts = keycloakCounts(base.text);
    // Idle: nothing is due before tPass + 0.9 × the resync period (every requeue after the restart
    // pass is jittered within ±10 % of the period). The window ends a second before that and is
    // measured without touching the operator: a /metrics scrape costs the operator CPU, and scraping
    // every half second would measure the benchmark, not the operator. One scrape at the end shows
    // that no resync reconcile ran inside the window; what one scrape costs is measured after it.
    const quietUntil = tPass + 0.9 * resyncMs - 1000;
    if (quietUntil - idleStart.at < 10_000) {
      throw new Error(
        `the restart pass left less than 10 s before the earliest resync; give a longer --resync-period-ms than ${resyncMs}`,
      );
    }
    while (Date.now() < quietUntil) {
      if (aborted) throw new Error("interrupted while idle");
      if (!opB.alive()) throw new Error(`operator exited while idle; see ${opB.logFile}`);
      await sleep(Math.min(5000, Math.max(0, quietUntil - Date.now())));
    }
    const idleEnd = {
      at: Date.now(),
      cpu: processStats(opB.pid).cpuSeconds,
      threads: threadCpu(opB.pid),
      kubeWrites: await kubeWrites(),
    };
    const afterIdle = await clientReconciles();
    if (afterIdle.total !== base.total) {
      throw new Error(
        `${afterIdle.total - base.total} client reconciles ran inside the idle window, before any resync was due`,
      );
    }
    const idle = {
      seconds: seconds(idleEnd.at - idleStart.at),
      cpuSeconds: idleEnd.cpu - idleStart.cpu,
      cpuPercentOfCore: (100 * (idleEnd.cpu - idleStart.cpu)) / seconds(idleEnd.at - idleStart.at),
      keycloak: diffCounts(keycloakCounts(afterIdle.text), baseCounts),
      kubeWrites: idleEnd.kubeWrites - idleStart.kubeWrites,
      cpuSecondsByThread: Object.fromEntries(threadCpuSince(idleStart.threads, idleEnd.threads)),
      metricsScrapeCpuMs: await scrapeCost(opB, 20),
    };
    log(
      `idle ${idle.seconds.toFixed(0)} s: CPU ${idle.cpuPercentOfCore.toFixed(2)} % of a core, ${idle.keycloak.total} Keycloak requests, ${idle.kubeWrites} API-server writes; one /metrics scrape costs ${idle.metricsScrapeCpuMs.toFixed(1)} ms of operator CPU`,
    );
    // The resync pass starts with its first reconcile.
    const firstResync = await until(
      "first resync",
      async () => ((await clientReconciles()).total > base.total ? Date.now() : undefined),
      { operator: opB, everyMs: 500 },
    );
    const cpuResync0 = processStats(opB.pid).cpuSeconds;
    const resyncDone = await until(
      `resync pass over ${N} clients`,
      async () => {
        const r = await clientReconciles();
        seen = r.total - base.total;
        return r.total >= base.total + N && r.idle ? r : undefined;
      },
      { operator: opB, everyMs: 1000, progress: () => `${seen}/${N} resynced` },
    );
    const resyncMsSpan = Date.now() - firstResync;
    const statsB2 = processStats(opB.pid);
    const resyncPhase: PhaseResult = {
      name: `periodic resync, nothing changed (first → last of ${N} client reconciles)`,
      seconds: seconds(resyncMsSpan),
      keycloak: diffCounts(keycloakCounts(resyncDone.text), baseCounts),
      reconciles: resyncDone.total - base.total,
      cpuSeconds: statsB2.cpuSeconds - cpuResync0,
      peakRssMiB: statsB2.peakRssMiB,
    };
    log(`resync pass: ${resyncPhase.seconds.toFixed(1)} s, ${resyncPhase.keycloak.writes} Keycloak writes`);

    const admin = new KcAdminClient({ baseUrl: url, realmName: "master" });
    // The master realm's admin tokens live 60 s; re-login well before that, once for all workers.
    let tokenAt = 0;
    let login: Promise<void> | undefined;
    const ensureToken = async () => {
      if (Date.now() - tokenAt < 30_000) return;
      login ??= admin
        .auth({
          grantType: "password",
          clientId: "admin-cli",
          username: adminUsername,
          password: adminPassword,
        })
        .then(() => {
          tokenAt = Date.now();
        })
        .finally(() => {
          login = undefined;
        });
      await login;
    };
    await ensureToken();

    // ---- drift: a client disabled by hand in Keycloak, repaired by the next resync --------------------
    const driftRealm = realmNames[0]!;
    const [drifted] = await admin.clients.find({ realm: driftRealm, clientId: "client-0" });
    if (!drifted?.id) throw new Error("client-0 not found in Keycloak");
    await admin.clients.update({ realm: driftRealm, id: drifted.id }, { ...drifted, enabled: false });
    const tDrift = Date.now();
    log(`drift: disabled client-0 in Keycloak by hand; waiting for the operator to re-enable it`);
    await until(
      "drift repaired (client-0 enabled again)",
      async () => {
        await ensureToken();
        const c = await admin.clients.findOne({ realm: driftRealm, id: drifted.id! });
        return c?.enabled === true ? true : undefined;
      },
      { operator: opB, everyMs: 1000 },
    );
    const driftRepairSeconds = seconds(Date.now() - tDrift);
    log(`drift repaired in ${driftRepairSeconds.toFixed(1)} s (resync period ${seconds(resyncMs)} s)`);
    await stopOperator(opB);

    // ---- lower bound: the same creates straight to Keycloak -----------------------------------------
    log(`lower bound: ${N} client creates with the admin client, ${WORKERS} in flight, fresh realms`);
    const lbRealms = Array.from({ length: REALMS }, (_, i) => `bench-lb-${i}`);
    for (const realm of lbRealms) await admin.realms.create({ realm, enabled: true });
    const tLb = Date.now();
    await pool(N, WORKERS, async (i) => {
      if (aborted) throw new Error("interrupted during the lower bound");
      await ensureToken();
      await admin.clients.create({
        realm: lbRealms[Math.floor(i / NAMESPACES) % REALMS]!,
        clientId: `client-${i}`,
        attributes: {
          "kpo.dev/owner-uid": `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
          "kpo.dev/owner-namespace": appNamespaces[i % NAMESPACES]!,
          "kpo.dev/owner-name": `client-${i}`,
        },
      });
    });
    const lowerBoundSeconds = seconds(Date.now() - tLb);

    // ---- API-server floor: the same CRs applied with no operator running ----------------------------
    // What the create phase cannot beat on this machine whatever the operator does: the API server's
    // own work for N creates (validation, etcd, the watch fan-out), in fresh namespaces.
    log(
      `API-server floor: ${N} KeycloakClients applied with no operator running, ${APPLY_CONCURRENCY} in flight`,
    );
    const floorNamespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-floor-${i}`);
    for (const name of floorNamespaces) await core.createNamespace({ body: { metadata: { name } } });
    const tFloor = Date.now();
    await pool(N, APPLY_CONCURRENCY, async (i) => {
      if (aborted) throw new Error("interrupted during the API-server floor");
      await create("keycloakclients", floorNamespaces[i % NAMESPACES]!, clientCr(i));
    });
    const applyFloorSeconds = seconds(Date.now() - tFloor);

    // ---- report -------------------------------------------------------------------------------------
    const load1 = loadavg();
    const fmt = (n: number, digits = 1) =>
      n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
    const methods = (c: KeycloakCounts) =>
      Object.entries(c.byMethod)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ") || "none";
    const lines = [
      `Run of ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC, node ${process.version}, ${cpus().length} vCPUs (${cpus()[0]?.model ?? "?"}), ` +
        `load average ${load0[0]!.toFixed(1)} at start, ${load1[0]!.toFixed(1)} at end`,
      `clients ${N}, namespaces ${NAMESPACES}, realms ${REALMS}, workers ${WORKERS}, keycloak rate ${KC_RATE}/s burst ${KC_BURST}, resync period ${seconds(resyncMs)} s`,
      "",
      "| phase | wall s | clients/s | Keycloak requests (by method) | logins | writes | client reconciles | operator CPU s | operator peak RSS MiB |",
      "|---|---:|---:|---|---:|---:|---:|---:|---:|",
      ...[createPhase, restartPhase, resyncPhase].map(
        (p) =>
          `| ${p.name} | ${fmt(p.seconds)} | ${fmt(N / p.seconds)} | ${p.keycloak.total} (${methods(p.keycloak)}) | ${p.keycloak.tokens} | ${p.keycloak.writes} | ${p.reconciles} | ${fmt(p.cpuSeconds, 2)} | ${fmt(p.peakRssMiB)} |`,
      ),
      `| lower bound: ${N} creates with the admin client, ${WORKERS} in flight | ${fmt(lowerBoundSeconds)} | ${fmt(N / lowerBoundSeconds)} | ${N} (POST ${N}) | — | ${N} | — | — | — |`,
      "",
      `- Applying the ${N} CRs to the API server took ${fmt(applySeconds)} s (${APPLY_CONCURRENCY} in flight), inside the create phase; the same ${N} CRs applied with no operator running took ${fmt(applyFloorSeconds)} s (${fmt(applyFloorSeconds / lowerBoundSeconds)}× the lower bound).`,
      `- Operator start-up (process start → /readyz, then instance and realms) used ${fmt(startupCpuA, 2)} CPU s before the clients were applied.`,
      `- Restarted operator: process start → /readyz ${fmt(seconds(readyzMs))} s and ${fmt(statsB0.cpuSeconds, 2)} CPU s (node, the compiled operator, policy engine, informers' initial lists), before the pass above.`,
      `- The resync pass is paced by its timer (each object ${seconds(resyncMs)} s ± 10 % after its previous reconcile), not by throughput: its wall time follows the restart pass's spread.`,
      `- Keycloak requests per client when creating: ${fmt(createPhase.keycloak.total / N, 2)} (writes ${fmt(createPhase.keycloak.writes / N, 2)}); per client on resync: ${fmt(resyncPhase.keycloak.total / N, 2)}.`,
      `- Create phase / lower bound: ${fmt(createPhase.seconds / lowerBoundSeconds)}×.`,
      `- Writes with nothing changed: restart ${restartPhase.keycloak.writes}, resync ${resyncPhase.keycloak.writes} (must be 0).`,
    ];
    lines.push(
      `- Idle between the restart pass and the earliest resync (${fmt(idle.seconds)} s, not scraped): operator CPU ${fmt(idle.cpuSeconds, 2)} s = ${fmt(idle.cpuPercentOfCore, 2)} % of a core; Keycloak requests ${idle.keycloak.total} (writes ${idle.keycloak.writes}); API-server writes ${idle.kubeWrites}. CPU s by thread: ${
        Object.entries(idle.cpuSecondsByThread)
          .map(([t, s]) => `${t} ${fmt(s, 2)}`)
          .join(", ") || "none"
      }. One /metrics scrape costs the operator ${fmt(idle.metricsScrapeCpuMs, 1)} ms of CPU.`,
      `- Drift (client-0 disabled by hand in Keycloak) repaired after ${fmt(driftRepairSeconds)} s; resync period ${seconds(resyncMs)} s.`,
      `- Operator: node ${NODE_FLAGS.join(" ") || "(no extra flags)"} dist/kpo.mjs.`,
    );
    console.log(lines.join("\n"));

    const phase = (p: PhaseResult) => ({ ...p, keycloak: { ...p.keycloak } });
    const result = {
      commit,
      startedAt: startedAt.toISOString(),
      node: process.version,
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? "?",
        loadavgBefore: load0,
        loadavgAfter: load1,
      },
      shape: {
        clients: N,
        namespaces: NAMESPACES,
        realms: REALMS,
        workers: WORKERS,
        keycloakRate: KC_RATE,
        keycloakBurst: KC_BURST,
        resyncPeriodSeconds: seconds(resyncMs),
        nodeFlags: NODE_FLAGS,
      },
      create: { ...phase(createPhase), applySeconds, applyFloorSeconds, startupCpuSeconds: startupCpuA },
      restart: {
        ...phase(restartPhase),
        readyzSeconds: seconds(readyzMs),
        startCpuSeconds: statsB0.cpuSeconds,
      },
      idle,
      resync: phase(resyncPhase),
      peakRssMiB: Math.max(createPhase.peakRssMiB, resyncPhase.peakRssMiB),
      driftRepairSeconds,
      lowerBound: { seconds: lowerBoundSeconds, concurrency: WORKERS },
      createOverLowerBound: createPhase.seconds / lowerBoundSeconds,
      table: lines,
    };
    const out = writeResult(`scale-${N}`, result);
    log(`results written to ${path.relative(repoRoot, out)}`);
    if (restartPhase.keycloak.writes !== 0 || resyncPhase.keycloak.writes !== 0) process.exitCode = 2;
  } catch (err) {
    // The environment's directory (and the operator's log) is removed on stop: show the end now.
    for (const file of logFiles.filter((f) => existsSync(f))) {
      const tail = readFileSync(file, "utf8").trimEnd().split("\n").slice(-20).join("\n");
      console.error(`--- last lines of ${file} ---\n${tail}`);
    }
    throw err;
  } finally {
    for (const op of [...operators]) await op.stop().catch(() => undefined);
    if (env) {
      if (args.keep) log(`kept the environment's files in ${env.dir}`);
      await env.stop();
    }
  }
}

await main();
