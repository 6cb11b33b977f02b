// Every operator setting, with its flag, environment variable and default in one table, so
// `kpo run --help`, the Helm chart and the docs read from the same place.

export interface OperatorConfig {
  kubeconfig: string | undefined;
  /** Namespaces to watch; empty = all. */
  namespaces: string[];
  workers: number;
  /** Periodic resync of Ready resources (drift repair), jittered by ±10 %. */
  resyncPeriodMs: number;
  policyBundleDir: string;
  policyDataFile: string | undefined;
  machinesDir: string | undefined;
  healthBindAddress: string;
  /** The admission webhook's HTTPS listener; undefined = no webhook (src/admission/). */
  webhookBindAddress: string | undefined;
  /** namespace/name of the webhook's certificate Secret. */
  webhookCertSecret: string | undefined;
  webhookCertManagement: (typeof WEBHOOK_CERT_MANAGEMENT)[number];
  /** The ValidatingWebhookConfiguration whose caBundle the operator keeps (self-managed TLS). */
  webhookConfiguration: string | undefined;
  /** DNS names / IPs of the serving certificate (self-managed TLS). */
  webhookCertNames: string[];
  leaderElection: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  identity: string;
  keycloakTimeoutMs: number;
  keycloakRate: number;
  keycloakBurst: number;
  keycloakNamespaceRate: number;
  keycloakNamespaceBurst: number;
  /** How the operator reaches the Keycloak it runs for a managed instance (see MANAGED_ADDRESSES). */
  managedAddress: ManagedAddress;
  /** How many deletion backups of one KeycloakRealm are kept (src/backup/realmDeletion.ts). */
  realmBackupsKept: number;
  /** Write the policy audit's wgpolicyk8s.io PolicyReports (src/operator/policyReports.ts). */
  policyReports: boolean;
}

/**
 * `service`: the instance's Service by its cluster DNS name, for an operator running in the cluster.
 * `pod`: a Ready pod's IP, for an operator outside the cluster or a cluster without a Service proxy
 * (the test node); the address is re-read on every reconcile of the instance.
 */
export const MANAGED_ADDRESSES = ["service", "pod"] as const;
export type ManagedAddress = (typeof MANAGED_ADDRESSES)[number];

/** self: the operator makes, rotates and publishes the webhook certificate; external: cert-manager does. */
export const WEBHOOK_CERT_MANAGEMENT = ["self", "external"] as const;

export interface Setting {
  key: keyof OperatorConfig;
  flag: string;
  env: string;
  description: string;
  default: string;
}

export const SETTINGS: Setting[] = [
  {
    key: "kubeconfig",
    flag: "--kubeconfig <path>",
    env: "KUBECONFIG",
    description: "kubeconfig file; in-cluster config when unset",
    default: "",
  },
  {
    key: "namespaces",
    flag: "--namespaces <list>",
    env: "KPO_NAMESPACES",
    description: "comma-separated namespaces to watch; all when empty",
    default: "",
  },
  {
    key: "workers",
    flag: "--workers <n>",
    env: "KPO_WORKERS",
    description: "concurrent reconciles per kind",
    default: "4",
  },
  {
    key: "resyncPeriodMs",
    flag: "--resync-period-ms <ms>",
    env: "KPO_RESYNC_PERIOD_MS",
    description: "re-sync of Ready resources to repair drift made in Keycloak",
    default: "600000",
  },
  {
    key: "policyBundleDir",
    flag: "--policy-bundle <dir>",
    env: "KPO_POLICY_BUNDLE",
    description: "OPA bundle directory (.manifest, data.json, policy.wasm), watched for changes",
    default: "build/policy/bundle",
  },
  {
    key: "policyDataFile",
    flag: "--policy-data <file>",
    env: "KPO_POLICY_DATA",
    description: "data override file (JSON/YAML) merged over the bundle's data, watched",
    default: "",
  },
  {
    key: "machinesDir",
    flag: "--machines <dir>",
    env: "KPO_MACHINES",
    description: "directory of lifecycle machine files, watched: a valid change is swapped in",
    default: "machines/ of the installation",
  },
  {
    key: "healthBindAddress",
    flag: "--health-bind-address <host:port>",
    env: "KPO_HEALTH_BIND_ADDRESS",
    description: "address of /healthz, /readyz and /metrics",
    default: "127.0.0.1:8081",
  },
  {
    key: "webhookBindAddress",
    flag: "--webhook-bind-address <host:port>",
    env: "KPO_WEBHOOK_BIND_ADDRESS",
    description: "HTTPS address of the validating admission webhook (POST /validate); off when empty",
    default: "",
  },
  {
    key: "webhookCertSecret",
    flag: "--webhook-cert-secret <namespace/name>",
    env: "KPO_WEBHOOK_CERT_SECRET",
    description:
      "Secret holding the webhook's tls.crt and tls.key (made and rotated by the operator when self-managed)",
    default: "",
  },
  {
    key: "webhookCertManagement",
    flag: "--webhook-cert-management <self|external>",
    env: "KPO_WEBHOOK_CERT_MANAGEMENT",
    description:
      "self: the operator issues, rotates and publishes the certificate; external: cert-manager does",
    default: "self",
  },
  {
    key: "webhookConfiguration",
    flag: "--webhook-configuration <name>",
    env: "KPO_WEBHOOK_CONFIGURATION",
    description: "ValidatingWebhookConfiguration whose caBundle the operator keeps (self-managed)",
    default: "",
  },
  {
    key: "webhookCertNames",
    flag: "--webhook-cert-names <list>",
    env: "KPO_WEBHOOK_CERT_NAMES",
    description:
      "comma-separated DNS names and IPs of the serving certificate (self-managed), e.g. the Service's svc name",
    default: "",
  },
  {
    key: "leaderElection",
    flag: "--leader-election <bool>",
    env: "KPO_LEADER_ELECTION",
    description: "elect a leader on a Lease before reconciling",
    default: "true",
  },
  {
    key: "leaderElectionNamespace",
    flag: "--leader-election-namespace <ns>",
    env: "KPO_LEADER_ELECTION_NAMESPACE",
    description: "namespace of the Lease",
    default: "default",
  },
  {
    key: "leaderElectionId",
    flag: "--leader-election-id <name>",
    env: "KPO_LEADER_ELECTION_ID",
    description: "name of the Lease",
    default: "keycloak-policy-operator",
  },
  {
    key: "identity",
    flag: "--identity <id>",
    env: "KPO_IDENTITY",
    description: "this replica's identity in the Lease",
    default: "hostname-pid",
  },
  {
    key: "keycloakTimeoutMs",
    flag: "--keycloak-timeout-ms <ms>",
    env: "KPO_KEYCLOAK_TIMEOUT_MS",
    description: "timeout of one Keycloak request",
    default: "10000",
  },
  {
    key: "keycloakRate",
    flag: "--keycloak-rate <rps>",
    env: "KPO_KEYCLOAK_RATE",
    description: "global Keycloak requests per second",
    default: "50",
  },
  {
    key: "keycloakBurst",
    flag: "--keycloak-burst <n>",
    env: "KPO_KEYCLOAK_BURST",
    description: "global Keycloak request burst",
    default: "100",
  },
  {
    key: "keycloakNamespaceRate",
    flag: "--keycloak-namespace-rate <rps>",
    env: "KPO_KEYCLOAK_NAMESPACE_RATE",
    description: "Keycloak requests per second for one namespace's resources",
    default: "20",
  },
  {
    key: "keycloakNamespaceBurst",
    flag: "--keycloak-namespace-burst <n>",
    env: "KPO_KEYCLOAK_NAMESPACE_BURST",
    description: "Keycloak request burst for one namespace",
    default: "40",
  },
  {
    key: "managedAddress",
    flag: "--managed-address <service|pod>",
    env: "KPO_MANAGED_ADDRESS",
    description:
      "how the operator reaches a managed Keycloak: its Service's DNS name (in the cluster) or a Ready pod's IP (outside it)",
    default: "service",
  },
  {
    key: "realmBackupsKept",
    flag: "--realm-backups-kept <n>",
    env: "KPO_REALM_BACKUPS_KEPT",
    description:
      "backup Secrets kept per KeycloakRealm, taken before a realm with deletionPolicy Delete is deleted in Keycloak",
    default: "5",
  },
  {
    key: "policyReports",
    flag: "--policy-reports <bool>",
    env: "KPO_POLICY_REPORTS",
    description:
      "write the policy audit's results as wgpolicyk8s.io/v1alpha2 PolicyReports (the CRDs may be absent: logged once, looked for again each resync)",
    default: "true",
  },
];

function parseBool(value: string, name: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new Error(`${name}: expected true or false, got "${value}"`);
}

function parsePositive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got "${value}"`);
  return n;
}

function parseChoice<T extends string>(value: string, name: string, choices: readonly T[]): T {
  const choice = choices.find((c) => c === value);
  if (choice === undefined) throw new Error(`${name}: expected one of ${choices.join(", ")}, got "${value}"`);
  return choice;
}

/**
 * Resolve the configuration: a flag wins over its environment variable, which wins over the default.
 * `flags` holds the raw flag values by setting key.
 */
export function resolveConfig(
  flags: Partial<Record<keyof OperatorConfig, string>>,
  env: NodeJS.ProcessEnv = process.env,
  hostname = "kpo",
): OperatorConfig {
  const raw = (s: Setting): string => flags[s.key] ?? env[s.env] ?? s.default;
  const get = (key: keyof OperatorConfig) => {
    const setting = SETTINGS.find((s) => s.key === key);
    if (!setting) throw new Error(`unknown setting ${key}`);
    return { value: raw(setting), name: `${setting.flag.split(" ")[0]} / ${setting.env}` };
  };
  const str = (key: keyof OperatorConfig) => get(key).value;
  const num = (key: keyof OperatorConfig) => parsePositive(get(key).value, get(key).name);
  const optional = (key: keyof OperatorConfig) => str(key) || undefined;
  const list = (key: keyof OperatorConfig) =>
    str(key)
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  const identity = str("identity");
  const machinesDir = str("machinesDir");
  return {
    kubeconfig: optional("kubeconfig"),
    namespaces: list("namespaces"),
    workers: num("workers"),
    resyncPeriodMs: num("resyncPeriodMs"),
    policyBundleDir: str("policyBundleDir"),
    policyDataFile: optional("policyDataFile"),
    machinesDir: machinesDir.startsWith("machines/ of") ? undefined : machinesDir,
    healthBindAddress: str("healthBindAddress"),
    webhookBindAddress: optional("webhookBindAddress"),
    webhookCertSecret: optional("webhookCertSecret"),
    webhookCertManagement: parseChoice(
      get("webhookCertManagement").value,
      get("webhookCertManagement").name,
      WEBHOOK_CERT_MANAGEMENT,
    ),
    webhookConfiguration: optional("webhookConfiguration"),
    webhookCertNames: list("webhookCertNames"),
    leaderElection: parseBool(get("leaderElection").value, get("leaderElection").name),
    leaderElectionNamespace: str("leaderElectionNamespace"),
    leaderElectionId: str("leaderElectionId"),
    identity: identity === "hostname-pid" ? `${hostname}-${process.pid}` : identity,
    keycloakTimeoutMs: num("keycloakTimeoutMs"),
    keycloakRate: num("keycloakRate"),
    keycloakBurst: num("keycloakBurst"),
    keycloakNamespaceRate: num("keycloakNamespaceRate"),
    keycloakNamespaceBurst: num("keycloakNamespaceBurst"),
    managedAddress: parseChoice(get("managedAddress").value, get("managedAddress").name, MANAGED_ADDRESSES),
    realmBackupsKept: Math.floor(num("realmBackupsKept")),
    policyReports: parseBool(get("policyReports").value, get("policyReports").name),
  };
}
