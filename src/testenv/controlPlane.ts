// A real Kubernetes control plane for tests and `make dev`: etcd + kube-apiserver on free loopback
// ports, Node + RBAC authorization, an admin client certificate and a kubeconfig file. On its own
// there is no kubelet and no controller-manager (like controller-runtime's envtest): objects are
// stored and validated, nothing is scheduled, and namespaces stay Terminating once deleted. The node
// (node.ts) adds kubelet, controller-manager and scheduler; the flags for it are always set, since
// they change nothing without a kubelet.
//
// An audit log (`auditLogPath`, JSON lines at Metadata level: who, verb, object, never a body)
// records the writes to workload objects (StatefulSets, Deployments, Services, PDBs, NetworkPolicies,
// Ingresses), so that a test can prove a reconcile made none: a no-op server-side apply does not
// change an object's resourceVersion, so only the requests themselves show it.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import { stringify } from "yaml";
import { freePort } from "./ports.js";
import { createControlPlanePki, type ControlPlanePki } from "./pki.js";
import { startProcess, waitUntilReady, type ManagedProcess } from "./processes.js";
import { requireTool } from "./tools.js";

/** The Service CIDR; its first address is the `kubernetes` Service (see node.ts). */
export const serviceCidr = "10.0.0.0/24";

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  server: string;
  serviceCidr: string;
  kubeconfigPath: string;
  /** JSON lines, one audit event per workload write (see the header). */
  auditLogPath: string;
  pki: ControlPlanePki;
  dir: string;
  stop(): Promise<void>;
}

const AUDIT_POLICY = {
  apiVersion: "audit.k8s.io/v1",
  kind: "Policy",
  omitStages: ["RequestReceived"],
  rules: [
    {
      level: "Metadata",
      verbs: ["create", "update", "patch", "delete"],
      resources: [
        { group: "apps", resources: ["statefulsets", "deployments"] },
        { group: "", resources: ["services"] },
        { group: "policy", resources: ["poddisruptionbudgets"] },
        { group: "networking.k8s.io", resources: ["networkpolicies", "ingresses"] },
      ],
    },
    { level: "None" },
  ],
};

export interface ControlPlaneOptions {
  /** Working directory for data, certificates, logs and the kubeconfig. */
  dir: string;
  startTimeoutMs?: number;
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { dir } = options;
  const timeout = options.startTimeoutMs ?? 120_000;
  mkdirSync(path.join(dir, "pki"), { recursive: true });
  const pki = createControlPlanePki(path.join(dir, "pki"));
  const [etcdClientPort, etcdPeerPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;

  const auditPolicyPath = path.join(dir, "audit-policy.yaml");
  const auditLogPath = path.join(dir, "audit.log");
  writeFileSync(auditPolicyPath, stringify(AUDIT_POLICY));

  const started: ManagedProcess[] = [];
  const stop = async () => {
    for (const proc of started.reverse()) await proc.stop();
  };
  try {
    const etcd = startProcess(
      "etcd",
      requireTool("KPO_ETCD"),
      [
        "--name=kpo-testenv",
        `--data-dir=${path.join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=kpo-testenv=${peerUrl}`,
        "--unsafe-no-fsync=true",
        "--log-level=warn",
      ],
      { logFile: path.join(dir, "etcd.log") },
    );
    started.push(etcd);
    await waitUntilReady(etcd, () => httpOk(`${etcdUrl}/health`), timeout);

    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = startProcess(
      "kube-apiserver",
      requireTool("KPO_KUBE_APISERVER"),
      [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--client-ca-file=${pki.caCert}`,
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        `--service-cluster-ip-range=${serviceCidr}`,
        // The node is named localhost and its kubelet serves on 127.0.0.1 with a certificate of
        // this CA: logs, exec and port-forward stay on loopback.
        "--kubelet-preferred-address-types=Hostname,InternalIP",
        `--kubelet-certificate-authority=${pki.caCert}`,
        `--kubelet-client-certificate=${pki.kubeletClientCert}`,
        `--kubelet-client-key=${pki.kubeletClientKey}`,
        "--service-account-issuer=https://kubernetes.default.svc",
        `--service-account-key-file=${pki.serviceAccountPub}`,
        `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        "--allow-privileged=true",
        "--enable-priority-and-fairness=false",
        `--cert-dir=${path.join(dir, "apiserver-certs")}`,
        `--audit-policy-file=${auditPolicyPath}`,
        `--audit-log-path=${auditLogPath}`,
        "--audit-log-format=json",
        "--audit-log-mode=blocking",
        "--v=0",
      ],
      { logFile: path.join(dir, "kube-apiserver.log") },
    );
    started.push(apiserver);
    await waitUntilReady(apiserver, () => apiserverReady(server, pki), timeout);

    const kubeconfigPath = path.join(dir, "kubeconfig");
    writeKubeconfig(kubeconfigPath, server, pki);
    return { server, serviceCidr, kubeconfigPath, auditLogPath, pki, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function httpOk(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.ok,
    () => false,
  );
}

function apiserverReady(server: string, pki: ControlPlanePki): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(
      `${server}/readyz`,
      {
        ca: readFileSync(pki.caCert),
        cert: readFileSync(pki.adminCert),
        key: readFileSync(pki.adminKey),
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
  });
}

/** A kubeconfig for `server` with a client certificate of the control plane's CA. */
export function writeKubeconfig(
  file: string,
  server: string,
  pki: Pick<ControlPlanePki, "caCert" | "adminCert" | "adminKey">,
): void {
  const b64 = (f: string) => readFileSync(f).toString("base64");
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "kpo-testenv", cluster: { server, "certificate-authority-data": b64(pki.caCert) } }],
    users: [
      {
        name: "kpo-testenv-admin",
        user: { "client-certificate-data": b64(pki.adminCert), "client-key-data": b64(pki.adminKey) },
      },
    ],
    contexts: [{ name: "kpo-testenv", context: { cluster: "kpo-testenv", user: "kpo-testenv-admin" } }],
    "current-context": "kpo-testenv",
  };
  writeFileSync(file, stringify(config), { mode: 0o600 });
}
