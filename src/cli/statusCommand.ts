// `kpo status`: one table of every kpo resource with its phase, readiness, policy verdict, age and,
// when it is not Ready, the message that says why.
import type { Command } from "commander";
import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { CLIENT_PLURAL, GROUP, INSTANCE_PLURAL, REALM_PLURAL, USER_PLURAL, VERSION } from "../api/index.js";
import { loadKubeConfig } from "../kube/config.js";
import { CONDITION } from "../lifecycle/types.js";

interface Listed {
  kind?: string;
  metadata: { name: string; namespace: string; creationTimestamp?: string };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string; message?: string }> };
}

export interface StatusRow {
  kind: string;
  namespace: string;
  name: string;
  phase: string;
  ready: string;
  policy: string;
  age: string;
  message: string;
}

function age(created: string | undefined, now: number): string {
  if (!created) return "?";
  const s = Math.max(0, Math.round((now - new Date(created).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

export async function statusRows(kubeConfig: KubeConfig, namespace?: string): Promise<StatusRow[]> {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const now = Date.now();
  const rows: StatusRow[] = [];
  for (const [kind, plural] of [
    ["KeycloakInstance", INSTANCE_PLURAL],
    ["KeycloakRealm", REALM_PLURAL],
    ["KeycloakClient", CLIENT_PLURAL],
    ["KeycloakUser", USER_PLURAL],
  ] as const) {
    const list = (
      namespace
        ? await api.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural, namespace })
        : await api.listClusterCustomObject({ group: GROUP, version: VERSION, plural })
    ) as { items: Listed[] };
    for (const item of list.items) {
      const cond = (type: string) => item.status?.conditions?.find((c) => c.type === type);
      const ready = cond(CONDITION.Ready);
      const policy = cond(CONDITION.PolicyCompliant);
      const notReadyMessage =
        ready?.status === "True"
          ? ""
          : ((policy?.status === "False" ? policy.message : ready?.message) ?? "");
      rows.push({
        kind,
        namespace: item.metadata.namespace,
        name: item.metadata.name,
        phase: item.status?.phase ?? "-",
        ready: ready?.status ?? "Unknown",
        policy: policy
          ? policy.status === "True"
            ? "Compliant"
            : policy.status === "False"
              ? "Denied"
              : "Unknown"
          : "-",
        age: age(item.metadata.creationTimestamp, now),
        message: notReadyMessage,
      });
    }
  }
  return rows;
}

export function formatTable(rows: StatusRow[]): string {
  const header: StatusRow = {
    kind: "KIND",
    namespace: "NAMESPACE",
    name: "NAME",
    phase: "PHASE",
    ready: "READY",
    policy: "POLICY",
    age: "AGE",
    message: "MESSAGE",
  };
  const cols: (keyof StatusRow)[] = [
    "kind",
    "namespace",
    "name",
    "phase",
    "ready",
    "policy",
    "age",
    "message",
  ];
  const all = [header, ...rows];
  const width = (c: keyof StatusRow) => Math.max(...all.map((r) => r[c].length));
  return all
    .map((r) =>
      cols
        .map((c, i) => (i === cols.length - 1 ? r[c] : r[c].padEnd(width(c))))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function registerStatusCommand(program: Command): void {
  program
    .command("status")
    .alias("get")
    .description(
      "table of all KeycloakInstances, KeycloakRealms and KeycloakClients with phase, readiness and policy verdict",
    )
    .option("--kubeconfig <path>", "kubeconfig file (default: KUBECONFIG or in-cluster)")
    .option("-n, --namespace <ns>", "only this namespace")
    .action(async (opts: { kubeconfig?: string; namespace?: string }) => {
      const kc = loadKubeConfig(opts.kubeconfig ? { kubeconfigPath: opts.kubeconfig } : {});
      const rows = await statusRows(kc, opts.namespace);
      console.log(rows.length ? formatTable(rows) : "No keycloak.kpo.dev resources found.");
    });
}
