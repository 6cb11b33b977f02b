// Helpers for end-to-end tests: the CRDs installed into the real control plane, the operator run as
// its own process (`kpo run`, exactly as a user would), namespaces per test, and polling.
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { createWriteStream, writeFileSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import * as k8s from "@kubernetes/client-node";
import KcAdminClient from "@keycloak/keycloak-admin-client";
import { KeycloakConnection } from "../../src/keycloak/connection.js";
import { freePort } from "../../src/testenv/ports.js";
import { operatorCommand } from "../../src/testenv/operatorCommand.js";
import { installCrds as installCrdFiles, waitForEstablished } from "../../src/kube/crdInstall.js";
import { repoRoot } from "../../src/testenv/tools.js";
import { metricSum } from "../../src/observability/prometheusText.js";

export { metricSum };

/**
 * Keycloak requests the operator made, from its metrics: writes (PUT, DELETE and POST other than
 * token requests) and reads (GET). A resync of an unchanged world adds reads and no writes.
 */
export function keycloakTraffic(metricsText: string): { writes: number; reads: number } {
  return {
    writes:
      metricSum(metricsText, "kpo_keycloak_requests_total", { method: /^(PUT|DELETE|POST)$/ }) -
      metricSum(metricsText, "kpo_keycloak_token_requests_total"),
    reads: metricSum(metricsText, "kpo_keycloak_requests_total", { method: "GET" }),
  };
}

export function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(inject("kubeconfigPath"));
  return kc;
}

export const group = "keycloak.kpo.dev";
export const version = "v1alpha1";

export async function installCrds(kc: k8s.KubeConfig): Promise<void> {
  await installCrdFiles(kc, path.join(repoRoot, "crds"));
}

export async function createNamespace(
  kc: k8s.KubeConfig,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const name = `${prefix}-${randomUUID().slice(0, 6)}`;
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name, labels } } });
  return name;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | false | undefined>,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== false && value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
}

export interface KpoObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; uid?: string; generation?: number; finalizers?: string[] };
  spec: Record<string, unknown>;
  status?: {
    phase?: string;
    observedGeneration?: number;
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
    [k: string]: unknown;
  };
}

export class Resources {
  readonly api: k8s.CustomObjectsApi;
  constructor(kc: k8s.KubeConfig) {
    this.api = kc.makeApiClient(k8s.CustomObjectsApi);
  }
  create(
    plural: string,
    namespace: string,
    body: Omit<KpoObject, "metadata"> & { metadata: { name: string } },
  ): Promise<KpoObject> {
    return this.api.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      body,
    }) as Promise<KpoObject>;
  }
  get(plural: string, namespace: string, name: string): Promise<KpoObject> {
    return this.api.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      name,
    }) as Promise<KpoObject>;
  }
  async patchSpec(
    plural: string,
    namespace: string,
    name: string,
    spec: Record<string, unknown>,
  ): Promise<void> {
    await this.api.patchNamespacedCustomObject(
      { group, version, namespace, plural, name, body: { spec } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
  }
  async delete(plural: string, namespace: string, name: string): Promise<void> {
    await this.api.deleteNamespacedCustomObject({ group, version, namespace, plural, name });
  }
  async gone(plural: string, namespace: string, name: string): Promise<boolean> {
    try {
      await this.get(plural, namespace, name);
      return false;
    } catch (err) {
      if (err instanceof k8s.ApiException && err.code === 404) return true;
      throw err;
    }
  }
  /** Wait until the object's status satisfies `predicate` for its current generation. */
  waitForStatus(
    plural: string,
    namespace: string,
    name: string,
    predicate: (o: KpoObject) => boolean,
    timeoutMs?: number,
  ): Promise<KpoObject> {
    return waitFor(
      `${plural} ${namespace}/${name} status`,
      async () => {
        const o = await this.get(plural, namespace, name);
        return o.status?.observedGeneration === o.metadata.generation && predicate(o) ? o : false;
      },
      timeoutMs,
    );
  }
}

/**
 * The tenant's own Kubernetes identity: a ServiceAccount token bound to the tenant Role only (by
 * default: realms and clients in its namespace, reading its Secrets).
 */
export async function tenantKubeConfig(
  admin: k8s.KubeConfig,
  namespace: string,
  access: { resources?: string[]; secretVerbs?: string[] } = {},
): Promise<k8s.KubeConfig> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: "tenant" } } });
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: "tenant" },
      rules: [
        {
          apiGroups: ["keycloak.kpo.dev"],
          resources: access.resources ?? ["keycloakrealms", "keycloakclients"],
          verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
        },
        { apiGroups: [""], resources: ["secrets"], verbs: access.secretVerbs ?? ["get", "list"] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: "tenant" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "tenant" },
      subjects: [{ kind: "ServiceAccount", name: "tenant", namespace }],
    },
  });
  const token = (
    await core.createNamespacedServiceAccountToken({
      name: "tenant",
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    })
  ).status?.token;
  if (!token) throw new Error("TokenRequest returned no token");
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error("the admin kubeconfig has no current cluster");
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: "test" }],
    users: [{ name: "tenant", token }],
    contexts: [{ name: "tenant", cluster: "test", user: "tenant" }],
    currentContext: "tenant",
  });
  writeFileSync(path.join(inject("testEnvDir"), `kubeconfig-tenant-${namespace}.yaml`), kc.exportConfig());
  return kc;
}

/** Keycloak's answer to a client-credentials token request (a service account's login). */
export function requestClientCredentialsToken(
  tokenEndpoint: string,
  clientId: string,
  clientSecret: string,
): Promise<Response> {
  return fetch(tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: clientSecret,
    }),
  });
}

/** Writes a Secret's values: replaces its data, or creates it. */
export async function upsertSecret(
  core: k8s.CoreV1Api,
  namespace: string,
  name: string,
  stringData: Record<string, string>,
): Promise<void> {
  const body = { metadata: { name, namespace }, stringData };
  try {
    await core.replaceNamespacedSecret({ name, namespace, body });
  } catch (err) {
    if (!(err instanceof k8s.ApiException && err.code === 404)) throw err;
    await core.createNamespacedSecret({ namespace, body });
  }
}

/** What `read` returns, or undefined when the API server answers 404. */
export async function unlessNotFound<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return undefined;
    throw err;
  }
}

/** A value of a Secret, decoded. */
export function secretValue(secret: k8s.V1Secret, key: string): string {
  const value = secret.data?.[key];
  if (value === undefined) throw new Error(`Secret ${secret.metadata?.name ?? ""} has no key ${key}`);
  return Buffer.from(value, "base64").toString("utf8");
}

export function condition(o: KpoObject, type: string) {
  return o.status?.conditions?.find((c) => c.type === type);
}

/**
 * The operator's own Keycloak client, logged in as the test Keycloak's bootstrap admin: for tests
 * that sync directly or read through the counted session. Patient: the suite shares two cores.
 */
export function adminConnection(instance = "kpo-test/keycloak"): KeycloakConnection {
  const env = inject("keycloak");
  return new KeycloakConnection({
    instance,
    baseUrl: env.url,
    credentials: { kind: "password", username: env.adminUsername, password: env.adminPassword },
    timeoutMs: 60_000,
  });
}

export async function adminClient(): Promise<KcAdminClient> {
  const { url, adminUsername, adminPassword } = inject("keycloak");
  const admin = new KcAdminClient({ baseUrl: url, realmName: "master" });
  await admin.auth({
    grantType: "password",
    clientId: "admin-cli",
    username: adminUsername,
    password: adminPassword,
  });
  return admin;
}

/** The Secret with the local Keycloak's admin credentials, and an external KeycloakInstance using it. */
export async function createInstance(
  kc: k8s.KubeConfig,
  resources: Resources,
  namespace: string,
  name: string,
  realmGrants: Record<string, unknown> = {},
  /** Where the instance points; the local Keycloak by default (a proxy or a dead port in failure tests). */
  url: string = inject("keycloak").url,
): Promise<void> {
  const { adminUsername, adminPassword } = inject("keycloak");
  await kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: `${name}-admin` },
      stringData: { username: adminUsername, password: adminPassword },
    },
  });
  await resources.create("keycloakinstances", namespace, {
    apiVersion: `${group}/${version}`,
    kind: "KeycloakInstance",
    metadata: { name },
    spec: { external: { url, adminCredentials: { secretRef: { name: `${name}-admin` } } }, realmGrants },
  });
}

/**
 * A realm on an instance whose Keycloak is a closed port, deleted with deletionPolicy Delete: its
 * teardown can only fail, so it stays Deleting until something releases it. Resolves once deleting.
 */
export async function deleteRealmOnUnreachableKeycloak(
  kc: k8s.KubeConfig,
  resources: Resources,
  namespace: string,
  instance: string,
  realm: string,
): Promise<void> {
  await createInstance(kc, resources, namespace, instance, {}, `http://127.0.0.1:${await freePort()}`);
  await resources.create("keycloakrealms", namespace, {
    apiVersion: `${group}/${version}`,
    kind: "KeycloakRealm",
    metadata: { name: realm },
    spec: { instanceRef: { name: instance }, realmName: `${realm}-${namespace}`, deletionPolicy: "Delete" },
  });
  // Pending while the instance has not been tried, Degraded once the realm tried it too.
  await resources.waitForStatus("keycloakrealms", namespace, realm, (o) =>
    ["Pending", "Degraded"].includes(o.status?.phase ?? ""),
  );
  await resources.delete("keycloakrealms", namespace, realm);
}

export interface OperatorProcess {
  child: ChildProcess;
  healthUrl: string;
  logFile: string;
  metrics(): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `kpo run` as a separate process against the test control plane. */
export async function startOperatorProcess(options: {
  name: string;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** kubeconfig the operator uses instead of the admin one (e.g. a ServiceAccount token's). */
  kubeconfigPath?: string;
}): Promise<OperatorProcess> {
  const port = await freePort();
  const logFile = path.join(inject("testEnvDir"), `operator-${options.name}-${port}.log`);
  const log = createWriteStream(logFile, { flags: "a" });
  const { command, args } = operatorCommand({
    kubeconfigPath: options.kubeconfigPath ?? inject("kubeconfigPath"),
    healthPort: port,
    args: ["--identity", `${options.name}-${port}`, ...(options.extraArgs ?? [])],
  });
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, KPO_LOG_LEVEL: "debug", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const healthUrl = `http://127.0.0.1:${port}`;
  await waitFor(
    `operator ${options.name} ready`,
    async () => (await fetch(`${healthUrl}/readyz`)).ok,
    60_000,
  );
  return {
    child,
    healthUrl,
    logFile,
    metrics: async () => (await fetch(`${healthUrl}/metrics`)).text(),
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/**
 * A TCP forwarder on loopback in front of Keycloak, so a test can cut an instance off from Keycloak
 * (close) and reconnect it (open) without stopping the shared server.
 */
export async function startTcpProxy(
  targetUrl: string,
): Promise<{ url: string; open(): Promise<void>; close(): Promise<void> }> {
  const target = new URL(targetUrl);
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const open = () =>
    new Promise<void>((resolve, reject) => {
      server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port), target.hostname);
        sockets.add(client).add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
        client.pipe(upstream).pipe(client);
      });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });
  await open();
  return { url: `http://127.0.0.1:${port}`, open, close };
}

/**
 * A throw-away namespaced CRD (spec.size, a status subresource that keeps any field) for tests of
 * the generic machinery; resolves once the API server serves it.
 */
export async function ensureTestCrd(
  kc: k8s.KubeConfig,
  names: { group: string; plural: string; singular: string; kind: string },
): Promise<void> {
  const { group, plural, singular, kind } = names;
  try {
    await kc.makeApiClient(k8s.ApiextensionsV1Api).createCustomResourceDefinition({
      body: {
        metadata: { name: `${plural}.${group}` },
        spec: {
          group,
          scope: "Namespaced",
          names: { plural, singular, kind },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              subresources: { status: {} },
              schema: {
                openAPIV3Schema: {
                  type: "object",
                  properties: {
                    spec: { type: "object", properties: { size: { type: "integer" } } },
                    status: { type: "object", x_kubernetes_preserve_unknown_fields: true },
                  },
                },
              },
            },
          ],
        },
      },
    });
  } catch (err) {
    if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
  }
  await waitForEstablished(kc, [`${plural}.${group}`]);
}
