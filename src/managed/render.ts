// The Kubernetes objects of a managed Keycloak (spec.managed), as pure functions of the instance:
// the admin Secret, the StatefulSet, the Service and the headless discovery Service, and the
// optional ones a spec field switches on (PodDisruptionBudget, NetworkPolicy, Ingress,
// ServiceMonitor). The handler applies them by server-side apply under the operator's field
// manager; every object carries an owner reference to the instance (garbage collection removes them
// with it) and the same labels.
//
// Why a StatefulSet and not a Deployment: the pods of one instance form an Infinispan cluster, and
// stable pod names make its members (and their logs) recognisable across restarts; nothing here
// needs per-pod volumes, Keycloak's state lives in the database.
//
// Secrets reach the pod only by secretKeyRef. Their contents are hashed into a pod-template
// annotation (`configHashOf`) so that a changed credential or certificate rolls the pods; the hash
// is of the data, never the data itself, and nothing in this module logs.
import { createHash } from "node:crypto";
import type {
  KubernetesObject,
  V1EnvVar,
  V1Ingress,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1OwnerReference,
  V1PodDisruptionBudget,
  V1Probe,
  V1ResourceRequirements,
  V1Secret,
  V1Service,
  V1StatefulSet,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import { API_VERSION, type KeycloakInstance } from "../api/index.js";
import { additionalOptionEnv, ManagedSpecError } from "./options.js";

export type ManagedSpec = NonNullable<KeycloakInstance["spec"]["managed"]>;

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "keycloak-policy-operator";
/** Pod-template annotation: hash of every referenced Secret's data (a change rolls the pods). */
export const CONFIG_HASH_ANNOTATION = "kpo.dev/config-hash";
/** Object annotation: hash of what the operator applied, so an unchanged object is not applied again. */
export const APPLIED_HASH_ANNOTATION = "kpo.dev/applied-hash";

export const KEYCLOAK_CONTAINER = "keycloak";

export const PORTS = { http: 8080, https: 8443, management: 9000, cache: 7800 } as const;
/**
 * JGroups' failure detection (FD_SOCK2) listens at the cache port plus 50000. It is no container
 * port (nothing connects to it through a Service), but a NetworkPolicy that blocked it would make
 * members suspect each other.
 */
export const CACHE_FAILURE_DETECTION_PORT = PORTS.cache + 50_000;

/** Each vendor's port when spec.managed.database.port is unset (what Keycloak itself assumes). */
export const DEFAULT_DB_PORTS: Readonly<Record<string, number>> = {
  postgres: 5432,
  mariadb: 3306,
  mysql: 3306,
  mssql: 1433,
  oracle: 1521,
};

const TLS_DIR = "/opt/keycloak/conf/tls";
/** Each of spec.managed.truststoreSecrets is mounted in a directory of its own below this one. */
const TRUSTSTORES_DIR = "/opt/keycloak/conf/truststores";

/** Names of the objects one managed instance owns. */
export interface ManagedNames {
  statefulSet: string;
  service: string;
  discoveryService: string;
  adminSecret: string;
  /** Whether the admin Secret is the operator's own (created once) or the user's. */
  adminSecretOwned: boolean;
  /** The optional objects (one of each kind, so they share the instance's name). */
  podDisruptionBudget: string;
  networkPolicy: string;
  ingress: string;
  serviceMonitor: string;
}

export function managedNames(instance: KeycloakInstance): ManagedNames {
  const name = instance.metadata.name ?? "";
  const supplied = instance.spec.managed?.adminSecretName;
  return {
    statefulSet: name,
    service: name,
    discoveryService: `${name}-discovery`,
    adminSecret: supplied ?? `${name}-admin`,
    adminSecretOwned: supplied === undefined,
    podDisruptionBudget: name,
    networkPolicy: name,
    ingress: name,
    serviceMonitor: name,
  };
}

function managedSpec(instance: KeycloakInstance): ManagedSpec {
  const managed = instance.spec.managed;
  if (!managed) throw new ManagedSpecError("the instance has no spec.managed");
  return managed;
}

/** Labels on every object and pod; the selector uses the two stable ones. */
export function selectorLabels(instance: KeycloakInstance): Record<string, string> {
  return {
    "app.kubernetes.io/name": "keycloak",
    "app.kubernetes.io/instance": instance.metadata.name ?? "",
  };
}

function labels(instance: KeycloakInstance, component: string): Record<string, string> {
  return {
    ...selectorLabels(instance),
    "app.kubernetes.io/component": component,
    [MANAGED_BY_LABEL]: MANAGED_BY,
  };
}

export function ownerReference(instance: KeycloakInstance): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: "KeycloakInstance",
    name: instance.metadata.name ?? "",
    uid: instance.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

function metadata(instance: KeycloakInstance, name: string, component: string) {
  return {
    name,
    namespace: instance.metadata.namespace ?? "",
    labels: labels(instance, component),
    ownerReferences: [ownerReference(instance)],
  };
}

/**
 * The label on every Secret a managed instance's pods read (database, admin, TLS): the operator
 * watches Secrets with it, so that a rotated credential or certificate re-renders the instance and
 * rolls its pods. The operator sets it on the user's Secrets itself (a metadata-only patch).
 */
export const WATCHED_SECRET_LABEL = "keycloak.kpo.dev/watched-secret";

/** The names of the Secrets (in the instance's namespace) whose data the pods read. */
export function referencedSecretNames(instance: KeycloakInstance): string[] {
  const managed = instance.spec.managed;
  if (!managed) return [];
  const db = managed.database;
  return [
    ...(db.credentialsSecretRef && db.vendor !== "dev-file" && db.vendor !== "dev-mem"
      ? [db.credentialsSecretRef.name]
      : []),
    managedNames(instance).adminSecret,
    ...(managed.tls ? [managed.tls.secretName] : []),
    ...(managed.truststoreSecrets ?? []),
  ];
}

/** The operator's admin Secret, written once (never when it already exists). */
export function renderAdminSecret(instance: KeycloakInstance, password: string): V1Secret {
  const names = managedNames(instance);
  const meta = metadata(instance, names.adminSecret, "admin-credentials");
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { ...meta, labels: { ...meta.labels, [WATCHED_SECRET_LABEL]: "true" } },
    type: "Opaque",
    data: {
      username: Buffer.from("admin").toString("base64"),
      password: Buffer.from(password).toString("base64"),
    },
  };
}

/** A hash of the data of every Secret the pods read, in a stable order. */
export function configHashOf(
  sources: readonly { kind: string; name: string; data: Record<string, string> | undefined }[],
): string {
  const hash = createHash("sha256");
  for (const s of [...sources].sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`))) {
    hash.update(`${s.kind}/${s.name}\n`);
    for (const key of Object.keys(s.data ?? {}).sort()) hash.update(`${key}=${s.data?.[key] ?? ""}\n`);
  }
  return hash.digest("hex");
}

/** The hash the handler stores in APPLIED_HASH_ANNOTATION: of the object as rendered. */
export function appliedHashOf(obj: object): string {
  return createHash("sha256").update(JSON.stringify(obj)).digest("hex").slice(0, 32);
}

/** Marks `obj` with the hash of its own rendering (without the mark). */
export function withAppliedHash<T extends { metadata?: { annotations?: Record<string, string> } }>(
  obj: T,
): T {
  const hash = appliedHashOf(obj);
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      annotations: { ...(obj.metadata?.annotations ?? {}), [APPLIED_HASH_ANNOTATION]: hash },
    },
  };
}

function secretEnv(name: string, secret: string, key: string): V1EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}

function databaseEnv(instance: KeycloakInstance): V1EnvVar[] {
  const db = managedSpec(instance).database;
  const env: V1EnvVar[] = [{ name: "KC_DB", value: db.vendor }];
  if (db.vendor === "dev-file" || db.vendor === "dev-mem") return env;
  const ref = db.credentialsSecretRef;
  if (!db.host || !db.database || !ref) {
    throw new ManagedSpecError(
      "spec.managed.database.host, database and credentialsSecretRef are required for an external database",
    );
  }
  env.push(
    { name: "KC_DB_URL_HOST", value: db.host },
    { name: "KC_DB_URL_PORT", value: String(db.port ?? DEFAULT_DB_PORTS[db.vendor] ?? "") },
    { name: "KC_DB_URL_DATABASE", value: db.database },
    secretEnv("KC_DB_USERNAME", ref.name, ref.usernameKey ?? "username"),
    secretEnv("KC_DB_PASSWORD", ref.name, ref.passwordKey ?? "password"),
  );
  return env;
}

function keycloakEnv(instance: KeycloakInstance): V1EnvVar[] {
  const managed = managedSpec(instance);
  const names = managedNames(instance);
  const tls = managed.tls !== undefined;
  const env: V1EnvVar[] = [
    ...databaseEnv(instance),
    secretEnv("KC_BOOTSTRAP_ADMIN_USERNAME", names.adminSecret, "username"),
    secretEnv("KC_BOOTSTRAP_ADMIN_PASSWORD", names.adminSecret, "password"),
    { name: "KC_HEALTH_ENABLED", value: "true" },
    { name: "KC_METRICS_ENABLED", value: "true" },
    { name: "KC_HTTP_PORT", value: String(PORTS.http) },
    { name: "KC_HTTPS_PORT", value: String(PORTS.https) },
    { name: "KC_HTTP_MANAGEMENT_PORT", value: String(PORTS.management) },
    // Behind an ingress or load balancer that terminates or forwards TLS: trust its X-Forwarded-*.
    { name: "KC_PROXY_HEADERS", value: "xforwarded" },
    { name: "KC_HTTP_ENABLED", value: tls ? "false" : "true" },
    ...(managed.hostname
      ? [{ name: "KC_HOSTNAME", value: managed.hostname }]
      : [{ name: "KC_HOSTNAME_STRICT", value: "false" }]),
    ...(tls
      ? [
          { name: "KC_HTTPS_CERTIFICATE_FILE", value: `${TLS_DIR}/tls.crt` },
          { name: "KC_HTTPS_CERTIFICATE_KEY_FILE", value: `${TLS_DIR}/tls.key` },
        ]
      : []),
    // The replicas find each other through a table in their shared database (JGroups JDBC_PING2),
    // Keycloak's default stack since 26.1 and the official operator's since the kubernetes (DNS_PING)
    // stack was deprecated in 26.4: no cluster DNS needed, and two instances never merge by accident
    // unless they share a database. Members then talk TCP on the cache port.
    ...(managed.truststoreSecrets?.length
      ? [
          {
            name: "KC_TRUSTSTORE_PATHS",
            value: managed.truststoreSecrets.map((name) => `${TRUSTSTORES_DIR}/${name}`).join(","),
          },
        ]
      : []),
    { name: "KC_CACHE", value: "ispn" },
    { name: "KC_CACHE_STACK", value: "jdbc-ping" },
  ];
  return [...env, ...additionalOptionEnv(managed.additionalOptions)];
}

/** Quantities as the API writes them (the CRD accepts integers too, e.g. cpu: 1). */
function resourceRequirements(r: NonNullable<ManagedSpec["resources"]>): V1ResourceRequirements {
  const strings = (m: Record<string, number | string> | undefined) =>
    m ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)])) : undefined;
  const requests = strings(r.requests);
  const limits = strings(r.limits);
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
}

function healthProbe(path: string, tls: boolean, extra: Partial<V1Probe>): V1Probe {
  return {
    httpGet: { path, port: "management", scheme: tls ? "HTTPS" : "HTTP" },
    periodSeconds: 10,
    timeoutSeconds: 5,
    ...extra,
  };
}

/** The StatefulSet; `configHash` is configHashOf the Secrets its pods read. */
export function renderStatefulSet(instance: KeycloakInstance, configHash: string): V1StatefulSet {
  const managed = managedSpec(instance);
  const names = managedNames(instance);
  const tls = managed.tls !== undefined;
  const volumes: V1Volume[] = [
    { name: "tmp", emptyDir: {} },
    { name: "data", emptyDir: {} },
    ...(managed.tls ? [{ name: "tls", secret: { secretName: managed.tls.secretName } }] : []),
    ...(managed.truststoreSecrets ?? []).map((secretName, i) => ({
      name: `truststore-${i}`,
      secret: { secretName },
    })),
  ];
  const mounts: V1VolumeMount[] = [
    { name: "tmp", mountPath: "/tmp" },
    { name: "data", mountPath: "/opt/keycloak/data" },
    ...(tls ? [{ name: "tls", mountPath: TLS_DIR, readOnly: true }] : []),
    ...(managed.truststoreSecrets ?? []).map((secretName, i) => ({
      name: `truststore-${i}`,
      mountPath: `${TRUSTSTORES_DIR}/${secretName}`,
      readOnly: true,
    })),
  ];
  const podLabels = labels(instance, "server");
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: metadata(instance, names.statefulSet, "server"),
    spec: {
      replicas: managed.replicas ?? 1,
      serviceName: names.discoveryService,
      // Keycloak pods need no ordered start: the cache cluster forms whichever starts first.
      podManagementPolicy: "Parallel",
      selector: { matchLabels: selectorLabels(instance) },
      template: {
        metadata: { labels: podLabels, annotations: { [CONFIG_HASH_ANNOTATION]: configHash } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "kubernetes.io/hostname",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: selectorLabels(instance) },
            },
          ],
          containers: [
            {
              name: KEYCLOAK_CONTAINER,
              image: managed.image ?? "quay.io/keycloak/keycloak:26.5.2",
              args: ["start", "--optimized"],
              env: keycloakEnv(instance),
              ports: [
                { name: "http", containerPort: PORTS.http, protocol: "TCP" },
                { name: "https", containerPort: PORTS.https, protocol: "TCP" },
                { name: "management", containerPort: PORTS.management, protocol: "TCP" },
                { name: "cache", containerPort: PORTS.cache, protocol: "TCP" },
              ],
              // Start-up (schema migration on a first start) may take minutes; liveness waits for it.
              startupProbe: healthProbe("/health/started", tls, { failureThreshold: 60 }),
              readinessProbe: healthProbe("/health/ready", tls, { failureThreshold: 3 }),
              livenessProbe: healthProbe("/health/live", tls, { failureThreshold: 3 }),
              // Keycloak writes no termination message; the end of its log then is one, so a failed
              // start (a build-time option that differs from the image's) shows in the instance's
              // status (podDiagnosis.ts) instead of only in `kubectl logs --previous`.
              terminationMessagePolicy: "FallbackToLogsOnError",
              ...(managed.resources ? { resources: resourceRequirements(managed.resources) } : {}),
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
              },
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}

/** The client-facing Service. */
export function renderService(instance: KeycloakInstance): V1Service {
  const names = managedNames(instance);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(instance, names.service, "server"),
    spec: {
      type: "ClusterIP",
      selector: selectorLabels(instance),
      ports: [
        { name: "http", port: PORTS.http, targetPort: "http", protocol: "TCP" },
        { name: "https", port: PORTS.https, targetPort: "https", protocol: "TCP" },
        { name: "management", port: PORTS.management, targetPort: "management", protocol: "TCP" },
      ],
    },
  };
}

/**
 * The StatefulSet's governing (headless) Service: each pod gets a stable DNS name, and not-ready
 * pods are published so that members are addressable before their readiness probe passes. The cache
 * stack itself discovers members through the database (KC_CACHE_STACK above).
 */
export function renderDiscoveryService(instance: KeycloakInstance): V1Service {
  const names = managedNames(instance);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(instance, names.discoveryService, "discovery"),
    spec: {
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: selectorLabels(instance),
      ports: [{ name: "cache", port: PORTS.cache, targetPort: "cache", protocol: "TCP" }],
    },
  };
}

/**
 * An object the instance has only while a spec field enables it. `ref` names it either way (what is
 * removed once the field is unset), `rendered` is what to apply while it is enabled.
 */
export interface OptionalObject<T extends KubernetesObject = KubernetesObject> {
  /** The spec field that switches it on, for messages. */
  field: string;
  ref: { apiVersion: string; kind: string; metadata: { name: string; namespace: string } };
  rendered: T | undefined;
}

function optional<T extends KubernetesObject>(
  instance: KeycloakInstance,
  field: string,
  apiVersion: string,
  kind: string,
  name: string,
  render: () => T,
  enabled: boolean,
): OptionalObject<T> {
  const namespace = instance.metadata.namespace ?? "";
  return {
    field,
    ref: { apiVersion, kind, metadata: { name, namespace } },
    rendered: enabled ? render() : undefined,
  };
}

/**
 * Whether `obj` is one the operator rendered for this instance: owned by it (its uid) and carrying
 * the operator's labels. Only such an object is ever removed when its spec field is unset.
 */
export function isRenderedFor(instance: KeycloakInstance, obj: KubernetesObject): boolean {
  const l = obj.metadata?.labels ?? {};
  return (
    l[MANAGED_BY_LABEL] === MANAGED_BY &&
    l["app.kubernetes.io/instance"] === instance.metadata.name &&
    (obj.metadata?.ownerReferences ?? []).some((r) => r.uid === instance.metadata.uid && r.controller)
  );
}

/** spec.managed.podDisruptionBudget: at most maxUnavailable (default 1) pods evicted at once. */
export function renderPodDisruptionBudget(instance: KeycloakInstance): OptionalObject<V1PodDisruptionBudget> {
  const pdb = instance.spec.managed?.podDisruptionBudget;
  const name = managedNames(instance).podDisruptionBudget;
  return optional(
    instance,
    "spec.managed.podDisruptionBudget",
    "policy/v1",
    "PodDisruptionBudget",
    name,
    () => ({
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: metadata(instance, name, "server"),
      spec: {
        maxUnavailable: pdb?.maxUnavailable ?? 1,
        selector: { matchLabels: selectorLabels(instance) },
      },
    }),
    pdb?.enabled === true,
  );
}

type ManagedPeer = NonNullable<NonNullable<ManagedSpec["networkPolicy"]>["ingressFrom"]>[number];

function networkPolicyPeer(peer: ManagedPeer): V1NetworkPolicyPeer {
  return {
    ...(peer.namespaceSelector
      ? { namespaceSelector: { matchLabels: peer.namespaceSelector.matchLabels ?? {} } }
      : {}),
    ...(peer.podSelector ? { podSelector: { matchLabels: peer.podSelector.matchLabels ?? {} } } : {}),
  };
}

/**
 * spec.managed.networkPolicy: clients (and the operator, and an ingress controller) reach HTTP,
 * HTTPS and the management port from the listed peers, or from any pod of the instance's namespace
 * when none are listed; the cache cluster's ports only from the instance's own pods, since a
 * stranger joining it would read every session. Egress is left alone: Keycloak must reach its
 * database, identity providers and user federation, which the operator does not know.
 */
export function renderNetworkPolicy(instance: KeycloakInstance): OptionalObject<V1NetworkPolicy> {
  const np = instance.spec.managed?.networkPolicy;
  const name = managedNames(instance).networkPolicy;
  const peers = np?.ingressFrom?.length ? np.ingressFrom.map(networkPolicyPeer) : [{ podSelector: {} }];
  const tcp = (port: number) => ({ protocol: "TCP", port });
  return optional(
    instance,
    "spec.managed.networkPolicy",
    "networking.k8s.io/v1",
    "NetworkPolicy",
    name,
    () => ({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: metadata(instance, name, "server"),
      spec: {
        podSelector: { matchLabels: selectorLabels(instance) },
        policyTypes: ["Ingress"],
        ingress: [
          // client-node's model names the field `_from` (serialized as "from").
          { _from: peers, ports: [tcp(PORTS.http), tcp(PORTS.https), tcp(PORTS.management)] },
          {
            _from: [{ podSelector: { matchLabels: selectorLabels(instance) } }],
            ports: [tcp(PORTS.cache), tcp(CACHE_FAILURE_DETECTION_PORT)],
          },
        ],
      },
    }),
    np?.enabled === true,
  );
}

/** spec.managed.ingress: host to the Service's https port with spec.managed.tls, else its http port. */
export function renderIngress(instance: KeycloakInstance): OptionalObject<V1Ingress> {
  const managed = instance.spec.managed;
  const ing = managed?.ingress;
  const names = managedNames(instance);
  const render = (): V1Ingress => {
    if (!ing?.host)
      throw new ManagedSpecError("spec.managed.ingress.host is required when the ingress is enabled");
    const meta = metadata(instance, names.ingress, "server");
    return {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { ...meta, ...(ing.annotations ? { annotations: { ...ing.annotations } } : {}) },
      spec: {
        ...(ing.className ? { ingressClassName: ing.className } : {}),
        ...(ing.tlsSecretName ? { tls: [{ hosts: [ing.host], secretName: ing.tlsSecretName }] } : {}),
        rules: [
          {
            host: ing.host,
            http: {
              paths: [
                {
                  path: "/",
                  pathType: "Prefix",
                  backend: {
                    service: { name: names.service, port: { name: managed?.tls ? "https" : "http" } },
                  },
                },
              ],
            },
          },
        ],
      },
    };
  };
  return optional(
    instance,
    "spec.managed.ingress",
    "networking.k8s.io/v1",
    "Ingress",
    names.ingress,
    render,
    ing?.enabled === true,
  );
}

/** The part of the Prometheus Operator's ServiceMonitor the operator writes (no client type for it). */
export interface ServiceMonitor extends KubernetesObject {
  spec: {
    selector: { matchLabels: Record<string, string> };
    endpoints: { port: string; path: string; scheme: string; interval?: string; tlsConfig?: object }[];
  };
}

/**
 * spec.managed.serviceMonitor: /metrics on the client Service's management port (the discovery
 * Service carries the same selector labels, hence the component). With spec.managed.tls the
 * management port speaks HTTPS with the instance's certificate, issued for its public name rather
 * than the pod's address: the scrape skips verification there, since it reads metrics only and
 * sends no credentials.
 */
export function renderServiceMonitor(instance: KeycloakInstance): OptionalObject<ServiceMonitor> {
  const managed = instance.spec.managed;
  const sm = managed?.serviceMonitor;
  const names = managedNames(instance);
  const tls = managed?.tls !== undefined;
  return optional(
    instance,
    "spec.managed.serviceMonitor",
    "monitoring.coreos.com/v1",
    "ServiceMonitor",
    names.serviceMonitor,
    () => ({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: metadata(instance, names.serviceMonitor, "server"),
      spec: {
        selector: { matchLabels: { ...selectorLabels(instance), "app.kubernetes.io/component": "server" } },
        endpoints: [
          {
            port: "management",
            path: "/metrics",
            scheme: tls ? "https" : "http",
            ...(sm?.interval ? { interval: sm.interval } : {}),
            ...(tls ? { tlsConfig: { insecureSkipVerify: true } } : {}),
          },
        ],
      },
    }),
    sm?.enabled === true,
  );
}

/** Whether the StatefulSet's pods are ready at its current generation, and what to say either way. */
export function statefulSetReadiness(sts: V1StatefulSet): { ready: boolean; message: string } {
  const name = `StatefulSet ${sts.metadata?.namespace ?? ""}/${sts.metadata?.name ?? ""}`;
  const wanted = sts.spec?.replicas ?? 1;
  const generation = sts.metadata?.generation ?? 0;
  const observed = sts.status?.observedGeneration ?? 0;
  const ready = sts.status?.readyReplicas ?? 0;
  const updated = sts.status?.updatedReplicas ?? 0;
  if (observed < generation) {
    return {
      ready: false,
      message: `${name}: generation ${generation} not yet observed by the StatefulSet controller (observed ${observed})`,
    };
  }
  if (ready < wanted || updated < wanted) {
    return {
      ready: false,
      message: `${name}: ${ready}/${wanted} pods ready, ${updated}/${wanted} updated at generation ${generation}; waiting for Keycloak to start`,
    };
  }
  return { ready: true, message: `${name}: ${ready}/${wanted} pods ready at generation ${generation}` };
}
