// The operator process: caches (informers) for the four kinds, namespaces and the credentials
// Secrets it writes; one controller per kind behind leader election; the policy engine and the
// lifecycle machines; health and metrics. Informers only enqueue keys — every decision is made in
// the reconcile of a key (level-based), so a missed event is repaired by the next one.
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubernetesObject,
  type V1Namespace,
  type V1Secret,
} from "@kubernetes/client-node";
import {
  API_VERSION,
  CLIENT_PLURAL,
  INSTANCE_PLURAL,
  REALM_PLURAL,
  USER_PLURAL,
  type KeycloakClient,
  type KeycloakInstance,
  type KeycloakRealm,
  type KeycloakResource,
  type KeycloakUser,
} from "../api/index.js";
import { keptAliveAgentsOf, makeApiClient, makeObjectApiClient } from "../kube/apiClients.js";
import { loadKubeConfig } from "../kube/config.js";
import { Controller } from "../kube/controller.js";
import { EventRecorder } from "../kube/events.js";
import { Informer, metadataOnly } from "../kube/informers.js";
import { keyOf } from "../kube/objectKey.js";
import { OwnWrites } from "../kube/ownWrites.js";
import { startWatches } from "../kube/watches.js";
import { LeaderElector } from "../kube/leaderElection.js";
import { createMachineSet, type MachineSet } from "../lifecycle/machineSet.js";
import { HealthServer, registerReadinessCheck } from "../observability/health.js";
import { startDefaultMetrics } from "../observability/metrics.js";
import { loggerFor } from "../observability/logger.js";
import { createPolicyEngine, type PolicyEngine } from "../policy/engine.js";
import { clientHandler, MANAGED_BY, MANAGED_BY_LABEL } from "./clientHandler.js";
import type { OperatorConfig } from "./config.js";
import { ConnectionPool } from "./connections.js";
import type { Caches } from "./facts.js";
import { instanceHandler } from "./instanceHandler.js";
import { realmHandler } from "./realmHandler.js";
import { userHandler } from "./userHandler.js";
import { kindReconciler } from "./reconciler.js";
import { operatorWatches } from "./watches.js";
import { PolicyAudit } from "./policyAudit.js";
import { PolicyReportWriter } from "./policyReports.js";
import { WATCHED_SECRET_LABEL } from "../managed/render.js";
import {
  admissionConfigOf,
  startAdmissionWebhook,
  type RunningAdmissionWebhook,
} from "../admission/index.js";

const log = loggerFor("operator");

export interface RunningOperator {
  /** Where /healthz, /readyz and /metrics listen. */
  health: { host: string; port: number };
  /** The admission webhook, when --webhook-bind-address is set (served by every replica). */
  admission: RunningAdmissionWebhook | undefined;
  policy: PolicyEngine;
  machines: MachineSet;
  connections: ConnectionPool;
  /** Resolves when the operator stopped by itself (leadership lost). */
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startOperator(config: OperatorConfig): Promise<RunningOperator> {
  const kubeConfig = loadKubeConfig(config.kubeconfig ? { kubeconfigPath: config.kubeconfig } : {});
  const webhookConfig = admissionConfigOf(config);
  const policy = await createPolicyEngine({
    bundleDir: config.policyBundleDir,
    ...(config.policyDataFile ? { dataOverrideFile: config.policyDataFile } : {}),
    watch: true,
  });
  // A --machines directory (e.g. a mounted ConfigMap) is watched and hot-reloaded; the built-in
  // machines/ changes only with the image.
  const machines = createMachineSet(config.machinesDir ? { dir: config.machinesDir, watch: true } : {});

  const watchNamespaces = config.namespaces.length > 0 ? { namespaces: config.namespaces } : {};
  const informer = <T extends KeycloakResource | V1Namespace | V1Secret>(
    apiVersion: string,
    plural: string,
    extra: {
      namespaces?: string[];
      labelSelector?: string;
      transform?: <O extends KubernetesObject>(obj: O) => O;
    } = {},
  ) =>
    new Informer<T & { metadata?: object }>({
      kubeConfig,
      apiVersion,
      plural,
      ...extra,
    }) as unknown as Informer<T>;
  const caches: Caches = {
    instances: informer<KeycloakInstance>(API_VERSION, INSTANCE_PLURAL, watchNamespaces),
    realms: informer<KeycloakRealm>(API_VERSION, REALM_PLURAL, watchNamespaces),
    clients: informer<KeycloakClient>(API_VERSION, CLIENT_PLURAL, watchNamespaces),
    users: informer<KeycloakUser>(API_VERSION, USER_PLURAL, watchNamespaces),
    namespaces: informer<V1Namespace>("v1", "namespaces"),
  };
  // Only the events of these Secrets matter (which client's Secret changed); the handler reads a
  // Secret's values with a GET by name when it reconciles, so the cache holds no values.
  const credentialSecrets = informer<V1Secret>("v1", "secrets", {
    ...watchNamespaces,
    labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`,
    transform: metadataOnly,
  });
  // The Secrets managed instances' pods read (src/managed/render.ts WATCHED_SECRET_LABEL): only
  // that one changed matters, the handler reads the values.
  const watchedSecrets = informer<V1Secret>("v1", "secrets", {
    ...watchNamespaces,
    labelSelector: `${WATCHED_SECRET_LABEL}=true`,
    transform: metadataOnly,
  });
  // Their events less the operator's own writes: a Secret written by a client's reconcile must not
  // queue that client again; one edited or deleted by someone else still does.
  const secretWrites = new OwnWrites<V1Secret>(credentialSecrets);
  const allInformers = [
    caches.instances,
    caches.realms,
    caches.clients,
    caches.users,
    caches.namespaces,
    credentialSecrets,
    watchedSecrets,
  ];

  // Every request of this operator to the API server goes through these (lists, events, the Lease too).
  const agents = keptAliveAgentsOf(kubeConfig);
  const core = makeApiClient(kubeConfig, CoreV1Api, agents);
  const customObjects = makeApiClient(kubeConfig, CustomObjectsApi, agents);
  const objects = makeObjectApiClient(kubeConfig, agents);
  const events = new EventRecorder({ kubeConfig });
  const connections = new ConnectionPool({
    core,
    timeoutMs: config.keycloakTimeoutMs,
    limits: {
      global: { ratePerSecond: config.keycloakRate, burst: config.keycloakBurst },
      perNamespace: { ratePerSecond: config.keycloakNamespaceRate, burst: config.keycloakNamespaceBurst },
    },
    // A tenth of the resync period: one list per realm serves a whole pass of its clients, and drift
    // made in Keycloak is still seen within 1.1 resync periods.
    clientSnapshotMaxAgeMs: Math.round(config.resyncPeriodMs / 10),
    // A rotated external admin Secret (not watched) is picked up within this, without a GET of it
    // per reconcile.
    secretsMaxAgeMs: 10_000,
  });
  const common = { api: customObjects, events, policy, resyncPeriodMs: config.resyncPeriodMs };
  const controller = <T extends KeycloakResource>(
    kind: T["kind"],
    plural: string,
    inf: Informer<T>,
    handler: Parameters<typeof kindReconciler<T>>[0]["handler"],
  ) =>
    new Controller({
      name: kind.replace(/^Keycloak/, "").toLowerCase(),
      maxConcurrentReconciles: config.workers,
      reconcile: kindReconciler<T>({
        kind,
        plural,
        machine: () => machines.get(kind),
        informer: inf,
        handler,
        ...common,
      }),
    });
  const instances = controller<KeycloakInstance>(
    "KeycloakInstance",
    INSTANCE_PLURAL,
    caches.instances,
    instanceHandler(caches, connections, { core, objects, address: config.managedAddress }),
  );
  const realms = controller<KeycloakRealm>(
    "KeycloakRealm",
    REALM_PLURAL,
    caches.realms,
    realmHandler(caches, connections, core, policy.decide, { backupsKept: config.realmBackupsKept }),
  );
  const clients = controller<KeycloakClient>(
    "KeycloakClient",
    CLIENT_PLURAL,
    caches.clients,
    clientHandler(caches, connections, core, objects, policy.decide, {
      cache: credentialSecrets,
      writes: secretWrites,
    }),
  );
  const users = controller<KeycloakUser>(
    "KeycloakUser",
    USER_PLURAL,
    caches.users,
    userHandler(caches, connections, core, policy.decide),
  );

  // Change → keys: the watch table of each controller (./watches.ts) says what queues what, and why.
  const table = operatorWatches({ ...caches, credentialSecrets: secretWrites, watchedSecrets, policy });
  const stopWatches = [
    startWatches(instances, table.instance),
    startWatches(realms, table.realm),
    startWatches(clients, table.client),
    startWatches(users, table.user),
  ];
  // The pool rebuilds a connection itself when URL, TLS or credentials change; it drops one only
  // when its instance is gone (dropping it on a phase change would reset its circuit breaker).
  caches.instances.onChange((e) => {
    if (e.type === "delete")
      connections.forget(e.object.metadata.namespace ?? "", e.object.metadata.name ?? "");
  });
  policy.onChange((revision) => log.info({ revision }, "policy bundle changed: re-deciding every resource"));
  const enqueueAll = (reason: string) => {
    for (const o of caches.instances.list()) instances.enqueue(keyOf(o), reason);
    for (const o of caches.realms.list()) realms.enqueue(keyOf(o), reason);
    for (const o of caches.clients.list()) clients.enqueue(keyOf(o), reason);
    for (const o of caches.users.list()) users.enqueue(keyOf(o), reason);
  };

  startDefaultMetrics();
  const health = new HealthServer({ bindAddress: config.healthBindAddress });
  const unregister = [
    registerReadinessCheck("informers-synced", () => allInformers.every((i) => i.hasSynced())),
    registerReadinessCheck("policy-bundle-loaded", () => policy.ready),
  ];
  const address = await health.start();
  for (const i of allInformers) i.start();
  // Every replica answers admission from its own caches, leader or not; not Ready before it serves.
  let admissionServing = webhookConfig === undefined;
  unregister.push(registerReadinessCheck("admission-webhook-serving", () => admissionServing));
  const admission = webhookConfig
    ? await startAdmissionWebhook({
        config: webhookConfig,
        kubeConfig,
        caches,
        decide: policy.decide,
        ready: () => allInformers.every((i) => i.hasSynced()) && policy.ready,
      })
    : undefined;
  admissionServing = true;

  const controllers = [instances, realms, clients, users];
  // Re-decides every cached resource on a bundle change without provisioning: PolicyReports and
  // kpo_policy_violations. Started with the controllers, so only the leader audits.
  const audit = new PolicyAudit({
    caches,
    policy,
    resyncPeriodMs: config.resyncPeriodMs,
    log: loggerFor("audit"),
    ...(config.policyReports
      ? {
          writer: new PolicyReportWriter({
            api: customObjects,
            log: loggerFor("audit"),
            namespaces: config.namespaces,
            recheckMs: config.resyncPeriodMs,
          }),
        }
      : {}),
  });
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let started = false;
  const startControllers = () => {
    if (started) return;
    started = true;
    void Promise.all(allInformers.map((i) => i.waitForSync(120_000))).then(
      () => {
        log.info("caches synced; reconciling");
        for (const c of controllers) c.start();
        enqueueAll("the caches synced");
        audit.start();
      },
      (err: unknown) => log.error({ err }, "caches did not sync"),
    );
  };

  let elector: LeaderElector | undefined;
  if (config.leaderElection) {
    elector = new LeaderElector({
      kubeConfig,
      namespace: config.leaderElectionNamespace,
      name: config.leaderElectionId,
      identity: config.identity,
      onStartedLeading: () => {
        log.info({ identity: config.identity }, "became leader");
        startControllers();
      },
      onStoppedLeading: (reason) => {
        // Like controller-runtime: a replica that lost the lease stops, and is restarted clean.
        if (reason === "lost") {
          log.error("leadership lost; stopping");
          resolveDone();
        }
      },
    });
    elector.start();
  } else {
    startControllers();
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info("stopping: finishing in-flight reconciles");
      await Promise.all([...controllers.map((c) => c.stop(20_000)), audit.stop()]);
      await elector?.stop({ release: true });
      for (const stopWatch of stopWatches) stopWatch();
      for (const i of allInformers) i.stop();
      for (const u of unregister) u();
      await admission?.stop();
      await health.stop();
      policy.close();
      machines.close();
      agents.destroy();
      resolveDone();
      log.info("stopped");
    })());

  return { health: address, admission, policy, machines, connections, done, stop };
}
