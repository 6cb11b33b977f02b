// A managed KeycloakInstance against the real kube-apiserver and a real PostgreSQL (Debian's
// postgresql-15, started by src/testenv/postgres.ts), with the operator as its own process. The
// control plane has no node, so Keycloak pods never run: these tests prove what the operator writes
// and in which order, that the database gates the workload, and that the instance says it is
// waiting for pods rather than pretending to be Ready (or, from a pod status the test writes itself,
// that a failing pod is told apart from one on its way). Retries are made fast (a copy of machines/
// with a one-second backoff) so that every retry is a reconcile the test can observe.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import * as k8s from "@kubernetes/client-node";
import { DEFAULT_MACHINES_DIR } from "../../src/lifecycle/paths.js";
import { startPostgres, type PostgresServer } from "../../src/testenv/postgres.js";
import { freePort } from "../../src/testenv/ports.js";
import {
  condition,
  createNamespace,
  installCrds,
  kubeConfig,
  Resources,
  startOperatorProcess,
  waitFor,
  type KpoObject,
  type OperatorProcess,
  unlessNotFound,
  upsertSecret,
} from "./support.js";

const INSTANCES = "keycloakinstances";
const HASH = "kpo.dev/config-hash";

/** Writes (create/update/patch/delete) to workload objects in `namespace`, from the control plane's audit log. */
function workloadWrites(namespace: string): { verb: string; resource: string; name: string }[] {
  return readFileSync(inject("auditLogPath"), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map(
      (line) =>
        JSON.parse(line) as {
          verb: string;
          stage: string;
          objectRef?: { namespace?: string; resource?: string; name?: string };
        },
    )
    .filter((e) => e.stage === "ResponseComplete" && e.objectRef?.namespace === namespace)
    .map((e) => ({ verb: e.verb, resource: e.objectRef?.resource ?? "", name: e.objectRef?.name ?? "" }));
}

describe("Managed KeycloakInstance with a real PostgreSQL", () => {
  let kc: k8s.KubeConfig;
  let resources: Resources;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let operator: OperatorProcess;
  let postgres: PostgresServer;
  let ns: string;
  let machinesDir: string;

  const statefulSet = () =>
    unlessNotFound(() => apps.readNamespacedStatefulSet({ name: "kc", namespace: ns }));
  const instance = () => resources.get(INSTANCES, ns, "kc");
  const attempts = (o: KpoObject) => Number(o.status?.attempts ?? 0);
  // Each check of a not-ready instance is a full reconcile that stores its next deadline (waiting for
  // pods counts no attempt): wait for two of them.
  const twoMoreReconciles = async () => {
    const deadlines = new Set([String((await instance()).status?.nextAttemptAt)]);
    await waitFor("two more reconciles", async () => {
      deadlines.add(String((await instance()).status?.nextAttemptAt));
      return deadlines.size >= 3;
    });
  };
  const ready = (o: KpoObject) => condition(o, "Ready");
  const writeDbSecret = (password: string) =>
    upsertSecret(core, ns, "db-creds", { username: postgres.role, password });

  beforeAll(async () => {
    kc = kubeConfig();
    resources = new Resources(kc);
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    await installCrds(kc);
    postgres = await startPostgres();
    ns = await createNamespace(kc, "managed");
    const platform = await createNamespace(kc, "platform");
    machinesDir = mkdtempSync(path.join(tmpdir(), "kpo-machines-"));
    cpSync(DEFAULT_MACHINES_DIR, machinesDir, { recursive: true });
    const file = path.join(machinesDir, "instance.json");
    const doc = JSON.parse(readFileSync(file, "utf8")) as { constants: Record<string, number> };
    Object.assign(doc.constants, { retryBaseDelayMs: 1_000, retryMaxDelayMs: 2_000, maxAttempts: 1_000 });
    writeFileSync(file, JSON.stringify(doc, null, 2));
    operator = await startOperatorProcess({
      name: "managed",
      extraArgs: ["--machines", machinesDir, "--namespaces", ns, "--leader-election-namespace", platform],
    });
  });

  afterAll(async () => {
    await operator?.stop();
    await postgres?.stop();
    if (machinesDir) rmSync(machinesDir, { recursive: true, force: true });
  });

  it("Given a database port nothing listens on, When the instance is created, Then it is Degraded with DatabaseUnreachable naming host and port, and no StatefulSet or admin Secret exists", async () => {
    await writeDbSecret(postgres.password);
    const wrongPort = await freePort();
    await resources.create(INSTANCES, ns, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakInstance",
      metadata: { name: "kc" },
      spec: {
        managed: {
          replicas: 2,
          image: "quay.io/keycloak/keycloak:26.5.2",
          hostname: "https://sso.example.test",
          database: {
            vendor: "postgres",
            host: "127.0.0.1",
            port: wrongPort,
            database: postgres.database,
            credentialsSecretRef: { name: "db-creds" },
          },
          additionalOptions: [{ name: "log-level", value: "info" }],
        },
      },
    });
    const degraded = await resources.waitForStatus(
      INSTANCES,
      ns,
      "kc",
      (o) => ready(o)?.reason === "DatabaseUnreachable" && attempts(o) >= 2,
    );
    expect(ready(degraded)?.status).toBe("False");
    expect(ready(degraded)?.message).toContain(`127.0.0.1:${wrongPort}`);
    expect(ready(degraded)?.message).toMatch(/ECONNREFUSED/);
    expect(JSON.stringify(degraded.status)).not.toContain(postgres.password);
    expect(await statefulSet()).toBeUndefined();
    await expect(core.readNamespacedSecret({ name: "kc-admin", namespace: ns })).rejects.toMatchObject({
      code: 404,
    });
  });

  it("Given the database fixed, When the instance reconciles, Then the admin Secret, the Services and the StatefulSet exist as rendered and owned by the instance, and it waits for pods with a clear message", async () => {
    const owner = await instance();
    await resources.patchSpec(INSTANCES, ns, "kc", {
      managed: { ...(owner.spec.managed as object), database: { ...dbSpec(owner), port: postgres.port } },
    });
    const waiting = await resources.waitForStatus(
      INSTANCES,
      ns,
      "kc",
      (o) => ready(o)?.reason === "KeycloakNotReady",
    );
    expect(ready(waiting)?.status).toBe("False");
    // No controller-manager in this control plane: the StatefulSet's generation is never observed.
    expect(ready(waiting)?.message).toMatch(
      new RegExp(`StatefulSet ${ns}/kc: generation 1 not yet observed by the StatefulSet controller`),
    );

    const admin = await core.readNamespacedSecret({ name: "kc-admin", namespace: ns });
    expect(Object.keys(admin.data ?? {}).sort()).toEqual(["password", "username"]);
    const sts = await statefulSet();
    if (!sts) throw new Error("no StatefulSet");
    // The admin Secret came first.
    expect(Date.parse(String(admin.metadata?.creationTimestamp))).toBeLessThanOrEqual(
      Date.parse(String(sts.metadata?.creationTimestamp)),
    );
    const service = await core.readNamespacedService({ name: "kc", namespace: ns });
    const discovery = await core.readNamespacedService({ name: "kc-discovery", namespace: ns });
    for (const o of [admin, sts, service, discovery]) {
      expect(o.metadata?.ownerReferences).toEqual([
        expect.objectContaining({
          kind: "KeycloakInstance",
          name: "kc",
          uid: owner.metadata.uid,
          controller: true,
        }),
      ]);
      expect(o.metadata?.managedFields?.some((f) => f.manager === "keycloak-policy-operator")).toBe(true);
    }
    expect(discovery.spec?.clusterIP).toBe("None");
    expect(discovery.spec?.publishNotReadyAddresses).toBe(true);
    expect(sts.spec?.replicas).toBe(2);
    expect(sts.spec?.serviceName).toBe("kc-discovery");
    const c = sts.spec?.template.spec?.containers[0];
    expect(c?.args).toEqual(["start", "--optimized"]);
    const env = new Map((c?.env ?? []).map((e) => [e.name, e]));
    expect(env.get("KC_DB_URL_PORT")?.value).toBe(String(postgres.port));
    expect(env.get("KC_DB_PASSWORD")?.valueFrom?.secretKeyRef).toEqual({ name: "db-creds", key: "password" });
    expect(env.get("KC_BOOTSTRAP_ADMIN_PASSWORD")?.valueFrom?.secretKeyRef).toEqual({
      name: "kc-admin",
      key: "password",
    });
    expect(env.get("KC_HOSTNAME")?.value).toBe("https://sso.example.test");
    expect(env.get("KC_LOG_LEVEL")?.value).toBe("info");
    expect(env.get("KC_CACHE_STACK")?.value).toBe("jdbc-ping");
    expect(c?.readinessProbe?.httpGet).toMatchObject({ path: "/health/ready", port: "management" });
    expect(sts.spec?.template.spec?.securityContext?.runAsNonRoot).toBe(true);
    expect(c?.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(sts.spec?.template.metadata?.annotations?.[HASH]).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(sts)).not.toContain(postgres.password);
  });

  it("Given nothing changed, When the instance reconciles again, Then the workload objects and the admin Secret are not written", async () => {
    const versions = async () => ({
      sts: (await statefulSet())?.metadata?.resourceVersion,
      service: (await core.readNamespacedService({ name: "kc", namespace: ns })).metadata?.resourceVersion,
      discovery: (await core.readNamespacedService({ name: "kc-discovery", namespace: ns })).metadata
        ?.resourceVersion,
      admin: (await core.readNamespacedSecret({ name: "kc-admin", namespace: ns })).metadata?.resourceVersion,
    });
    const before = await versions();
    const writesBefore = workloadWrites(ns);
    // The first reconcile's applies are in the log: the log does see the operator's writes.
    expect(writesBefore.filter((w) => w.verb === "patch").map((w) => w.resource)).toEqual(
      expect.arrayContaining(["statefulsets", "services"]),
    );
    const start = await instance();
    // Each check of the not-ready instance is a full reconcile that stores its next deadline; wait
    // for two of them. Waiting for pods is not a failure: no attempt is counted.
    const deadlines = new Set([String(start.status?.nextAttemptAt)]);
    await waitFor("two more reconciles", async () => {
      deadlines.add(String((await instance()).status?.nextAttemptAt));
      return deadlines.size >= 3;
    });
    const after = await instance();
    expect(ready(after)?.reason).toBe("KeycloakNotReady");
    expect(attempts(after)).toBe(attempts(start));
    expect(await versions()).toEqual(before);
    // Not even a no-op apply (which would leave the resourceVersion alone): no request at all.
    expect(workloadWrites(ns)).toEqual(writesBefore);
  });

  it("Given the StatefulSet edited by someone else, When the instance reconciles, Then the operator's fields are taken back", async () => {
    await apps.patchNamespacedStatefulSet(
      { name: "kc", namespace: ns, body: { spec: { replicas: 5 } }, fieldManager: "someone-else" },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    const repaired = await waitFor("replicas back at 2", async () => {
      const now = await statefulSet();
      return now?.spec?.replicas === 2 ? now : false;
    });
    expect(repaired.metadata?.managedFields?.map((f) => f.manager)).not.toContain("someone-else");
  });

  it("Given the database password rotated in PostgreSQL and its Secret, When the instance reconciles, Then the pod-template hash changes and the admin Secret is kept", async () => {
    const sts = await statefulSet();
    const hashBefore = sts?.spec?.template.metadata?.annotations?.[HASH];
    const adminBefore = (await core.readNamespacedSecret({ name: "kc-admin", namespace: ns })).data;
    await postgres.setPassword("rotated-db-password-1");
    await writeDbSecret("rotated-db-password-1");
    const rolled = await waitFor("the pod-template hash to change", async () => {
      const now = await statefulSet();
      const hash = now?.spec?.template.metadata?.annotations?.[HASH];
      return hash !== undefined && hash !== hashBefore ? now : false;
    });
    const generation = (sts?.metadata?.generation ?? 0) + 1;
    expect(rolled.metadata?.generation).toBe(generation);
    expect((await core.readNamespacedSecret({ name: "kc-admin", namespace: ns })).data).toEqual(adminBefore);
    const o = await resources.waitForStatus(
      INSTANCES,
      ns,
      "kc",
      (x) =>
        ready(x)?.reason === "KeycloakNotReady" &&
        (ready(x)?.message ?? "").includes(`generation ${generation} not yet observed`),
    );
    expect(ready(o)?.status).toBe("False");
  });

  it("Given a pod of the instance whose image cannot be pulled, When its status says so, Then Ready is KeycloakPodFailing naming pod, container and the kubelet's message", async () => {
    // No node runs pods here: the test creates the Pod object with the instance's selector labels
    // and writes its status (the status subresource) as a kubelet would.
    const image = "registry.invalid/keycloak:missing";
    const kubeletMessage = `Back-off pulling image "${image}"`;
    try {
      // Pods need their ServiceAccount, which the absent controller-manager would create.
      await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "default" } } });
    } catch (err) {
      if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
    }
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: {
          name: "kc-0",
          labels: { "app.kubernetes.io/name": "keycloak", "app.kubernetes.io/instance": "kc" },
        },
        spec: { containers: [{ name: "keycloak", image }] },
      },
    });
    const created = await core.readNamespacedPod({ name: "kc-0", namespace: ns });
    await core.replaceNamespacedPodStatus({
      name: "kc-0",
      namespace: ns,
      body: {
        ...created,
        status: {
          phase: "Pending",
          conditions: [{ type: "PodScheduled", status: "True" }],
          containerStatuses: [
            {
              name: "keycloak",
              image,
              imageID: "",
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: "ImagePullBackOff", message: kubeletMessage } },
            },
          ],
        },
      },
    });
    try {
      const failing = await resources.waitForStatus(
        INSTANCES,
        ns,
        "kc",
        (o) => ready(o)?.reason === "KeycloakPodFailing",
      );
      expect(ready(failing)?.status).toBe("False");
      expect(ready(failing)?.message).toBe(
        `pod kc-0 container keycloak: ImagePullBackOff (${kubeletMessage})`,
      );
      expect(JSON.stringify(failing.status)).not.toContain("rotated-db-password-1");
    } finally {
      await core.deleteNamespacedPod({ name: "kc-0", namespace: ns, gracePeriodSeconds: 0 });
    }
  });

  it("Given an Ingress enabled without a host or a NetworkPolicy peer without selectors, When the instance is submitted, Then the API server refuses it with the CRD's message", async () => {
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const submit = (managed: Record<string, unknown>) =>
      custom
        .createNamespacedCustomObject({
          group: "keycloak.kpo.dev",
          version: "v1alpha1",
          namespace: ns,
          plural: INSTANCES,
          dryRun: "All",
          body: {
            apiVersion: "keycloak.kpo.dev/v1alpha1",
            kind: "KeycloakInstance",
            metadata: { name: "refused" },
            spec: { managed: { database: { vendor: "dev-mem" }, ...managed } },
          },
        })
        .then(
          () => "accepted",
          (err: unknown) =>
            err instanceof k8s.ApiException ? `${err.code} ${String(err.body)}` : String(err),
        );
    expect(await submit({ ingress: { enabled: true } })).toMatch(
      /^422 .*spec.managed.ingress.host is required when the ingress is enabled/,
    );
    expect(await submit({ networkPolicy: { enabled: true, ingressFrom: [{}] } })).toMatch(
      /^422 .*each peer needs a namespaceSelector, a podSelector or both/,
    );
    expect(await submit({ podDisruptionBudget: { enabled: true, maxUnavailable: 0 } })).toMatch(/^422 /);
    expect(
      await submit({
        ingress: { enabled: false },
        podDisruptionBudget: { enabled: true, maxUnavailable: "50%" },
      }),
    ).toBe("accepted");
  });

  it("Given PodDisruptionBudget, NetworkPolicy, Ingress and ServiceMonitor enabled, When the instance reconciles, Then the first three exist as rendered and owned by the instance, the absent ServiceMonitor CRD does not fail it, and once unset they are deleted while a look-alike Ingress it does not own is left alone", async () => {
    const policy = kc.makeApiClient(k8s.PolicyV1Api);
    const networking = kc.makeApiClient(k8s.NetworkingV1Api);
    const notFound = (err: unknown) => err instanceof k8s.ApiException && err.code === 404;
    const read = {
      pdb: () => policy.readNamespacedPodDisruptionBudget({ name: "kc", namespace: ns }),
      networkPolicy: () => networking.readNamespacedNetworkPolicy({ name: "kc", namespace: ns }),
      ingress: () => networking.readNamespacedIngress({ name: "kc", namespace: ns }),
    };
    const owner = await instance();
    const managed = owner.spec.managed as Record<string, unknown>;
    await resources.patchSpec(INSTANCES, ns, "kc", {
      managed: {
        ...managed,
        podDisruptionBudget: { enabled: true },
        networkPolicy: {
          enabled: true,
          ingressFrom: [
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } },
          ],
        },
        ingress: {
          enabled: true,
          host: "sso.example.test",
          className: "nginx",
          annotations: { "example.test/owner": "team-a" },
        },
        serviceMonitor: { enabled: true, interval: "30s" },
      },
    });
    const [pdb, networkPolicy, ingress] = await waitFor("the optional objects", async () => {
      try {
        return [await read.pdb(), await read.networkPolicy(), await read.ingress()] as const;
      } catch (err) {
        if (notFound(err)) return false;
        throw err;
      }
    });
    for (const o of [pdb, networkPolicy, ingress]) {
      expect(o.metadata?.ownerReferences).toEqual([
        expect.objectContaining({
          kind: "KeycloakInstance",
          name: "kc",
          uid: owner.metadata.uid,
          controller: true,
        }),
      ]);
      expect(o.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("keycloak-policy-operator");
      expect(o.metadata?.managedFields?.some((f) => f.manager === "keycloak-policy-operator")).toBe(true);
    }
    const pods = { "app.kubernetes.io/name": "keycloak", "app.kubernetes.io/instance": "kc" };
    expect(pdb.spec?.maxUnavailable).toBe(1);
    expect(pdb.spec?.selector?.matchLabels).toEqual(pods);
    expect(networkPolicy.spec?.podSelector?.matchLabels).toEqual(pods);
    // As the API server stored it: the peers arrived (an empty "from" would admit everyone).
    expect(networkPolicy.spec?.ingress?.map((r) => [r._from, r.ports?.map((p) => p.port)])).toEqual([
      [
        [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } }],
        [8080, 8443, 9000],
      ],
      [[{ podSelector: { matchLabels: pods } }], [7800, 57800]],
    ]);
    expect(ingress.spec?.ingressClassName).toBe("nginx");
    expect(ingress.metadata?.annotations?.["example.test/owner"]).toBe("team-a");
    expect(ingress.spec?.rules?.[0]?.host).toBe("sso.example.test");
    expect(ingress.spec?.rules?.[0]?.http?.paths[0]?.backend.service).toEqual({
      name: "kc",
      port: { name: "http" },
    });

    // This control plane has no ServiceMonitor CRD: the instance still gets to its pods, is not failed,
    // and the operator says so once.
    await twoMoreReconciles();
    const waiting = await instance();
    expect(ready(waiting)?.reason).toBe("KeycloakNotReady");
    const unserved = readFileSync(operator.logFile, "utf8")
      .split("\n")
      .filter((l) => l.includes("serves no monitoring.coreos.com/v1 ServiceMonitor"));
    expect(unserved).toHaveLength(1);
    expect(unserved[0]).toContain("spec.managed.serviceMonitor is enabled");
    // And unchanged, they are not applied again.
    const writesBefore = workloadWrites(ns);
    await twoMoreReconciles();
    expect(workloadWrites(ns)).toEqual(writesBefore);

    // Unset (or disabled): removed again. Merge patch: null removes a field.
    await resources.patchSpec(INSTANCES, ns, "kc", {
      managed: {
        podDisruptionBudget: { enabled: false },
        networkPolicy: null,
        ingress: null,
        serviceMonitor: null,
      },
    });
    await waitFor("the optional objects deleted", async () => {
      const gone = await Promise.all(
        Object.values(read).map((r) =>
          r().then(
            () => false,
            (err: unknown) => {
              if (notFound(err)) return true;
              throw err;
            },
          ),
        ),
      );
      return gone.every(Boolean);
    });
    const deletes = workloadWrites(ns)
      .filter((w) => w.verb === "delete")
      .map((w) => `${w.resource}/${w.name}`)
      .sort();
    expect(deletes).toEqual(["ingresses/kc", "networkpolicies/kc", "poddisruptionbudgets/kc"]);

    // An Ingress of that name with the operator's labels but no owner reference is not the instance's.
    await networking.createNamespacedIngress({
      namespace: ns,
      body: {
        metadata: {
          name: "kc",
          labels: { ...pods, "app.kubernetes.io/managed-by": "keycloak-policy-operator" },
        },
        spec: { defaultBackend: { service: { name: "elsewhere", port: { number: 80 } } } },
      },
    });
    await twoMoreReconciles();
    expect((await read.ingress()).spec?.defaultBackend?.service?.name).toBe("elsewhere");
    await networking.deleteNamespacedIngress({ name: "kc", namespace: ns });
  });

  it("Given a truststore Secret that does not exist yet, When the instance names it, Then it waits naming the Secret; once created, the pods mount it and Keycloak trusts it, and a change of it rolls them", async () => {
    const current = await instance();
    await resources.patchSpec(INSTANCES, ns, "kc", {
      managed: { ...(current.spec.managed as object), truststoreSecrets: ["idp-ca"] },
    });
    const waiting = await resources.waitForStatus(INSTANCES, ns, "kc", (o) =>
      (ready(o)?.message ?? "").includes("does not exist"),
    );
    expect(ready(waiting)?.message).toContain(
      `Secret ${ns}/idp-ca (spec.managed.truststoreSecrets) does not exist; create it`,
    );
    await upsertSecret(core, ns, "idp-ca", {
      "ca.crt": "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
    });
    const mounted = await waitFor("the truststore in the pod template", async () => {
      const sts = await statefulSet();
      const c = sts?.spec?.template.spec?.containers[0];
      return c?.env?.some((e) => e.name === "KC_TRUSTSTORE_PATHS") ? sts : false;
    });
    const c = mounted.spec?.template.spec?.containers[0];
    expect(c?.env?.find((e) => e.name === "KC_TRUSTSTORE_PATHS")?.value).toBe(
      "/opt/keycloak/conf/truststores/idp-ca",
    );
    expect(c?.volumeMounts).toContainEqual({
      name: "truststore-0",
      mountPath: "/opt/keycloak/conf/truststores/idp-ca",
      readOnly: true,
    });
    // Labelled for the watch, so a new certificate rolls the pods without waiting for a resync.
    const secret = await core.readNamespacedSecret({ name: "idp-ca", namespace: ns });
    expect(secret.metadata?.labels?.["keycloak.kpo.dev/watched-secret"]).toBe("true");
    const hashBefore = mounted.spec?.template.metadata?.annotations?.[HASH];
    await upsertSecret(core, ns, "idp-ca", {
      "ca.crt": "-----BEGIN CERTIFICATE-----\nBB==\n-----END CERTIFICATE-----\n",
    });
    await waitFor("the pod-template hash to change", async () => {
      const hash = (await statefulSet())?.spec?.template.metadata?.annotations?.[HASH];
      return hash !== undefined && hash !== hashBefore;
    });
  });

  it("Given an additional option the operator owns, When the spec sets it, Then the instance fails with a message naming the option and the StatefulSet is unchanged", async () => {
    const generationBefore = (await statefulSet())?.metadata?.generation;
    const current = await instance();
    await resources.patchSpec(INSTANCES, ns, "kc", {
      managed: {
        ...(current.spec.managed as object),
        additionalOptions: [{ name: "db-url", value: "jdbc:x" }],
      },
    });
    const failed = await resources.waitForStatus(
      INSTANCES,
      ns,
      "kc",
      (o) => ready(o)?.reason === "PermanentError",
    );
    expect(ready(failed)?.message).toContain(
      'additionalOptions sets "db-url", which the operator sets itself',
    );
    expect((await statefulSet())?.metadata?.generation).toBe(generationBefore);
  });
});

function dbSpec(o: KpoObject): Record<string, unknown> {
  return (o.spec.managed as { database: Record<string, unknown> }).database;
}
