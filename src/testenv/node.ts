// One real Kubernetes node next to the test control plane: containerd (Debian) + runc, the CNI bridge
// and host-local plugins, kubelet, and the cluster's kube-controller-manager (garbage collection,
// service-account tokens, kube-root-ca.crt) and kube-scheduler, all v1.34.4 from scripts/tools.sh.
// The controller-manager and the scheduler belong to the node, not to the control plane, so the
// integration tests' control plane stays envtest-like (nothing scheduled, nothing collected).
//
// Interface (stable; the helm-chart e2e suite builds on it):
//   startNode({ controlPlane, dir }): Promise<Node>
//   node.name           "localhost" (the kubelet serves on 127.0.0.1 with SANs localhost, 127.0.0.1)
//   node.bridgeAddress  the host's address on the pods' bridge (10.244.0.1)
//   node.podCidr        10.244.0.0/24        node.serviceCidr  the control plane's, 10.0.0.0/24
//   node.importImage(tar)        an OCI archive (scripts/lib/oci.sh) into containerd's k8s.io namespace
//   node.tagImage(src, dst)      another name for an imported image
//   node.exposeOnBridge(port)    a host service on 127.0.0.1:port also reachable from pods at
//                                bridgeAddress:port (e.g. the test Keycloak); returns "addr:port"
//   node.kubectl                 [kubectl path, "--kubeconfig", admin kubeconfig]
//   node.stop()
// Images: pods use kpo.local/busybox:1.35 (sandbox kpo.local/pause:3.10.1) with imagePullPolicy
// Never or IfNotPresent; every $KPO_CACHE_DIR/images/*.tar is imported at start. Image GC is off.
//
// Network (no packet leaves the machine):
// - An `unreachable` route for the whole Service CIDR is installed first, so a ClusterIP can never
//   fall through to the default route.
// - Pods sit on the bridge kpo0 (10.244.0.0/24, host-local IPAM), with NO default route, no
//   masquerading, and IP forwarding stays off: a pod reaches the host's bridge address, other pods,
//   and the Service CIDR via the host, nothing else.
// - There is no kube-proxy (it would need iptables/nftables rules on the host). The narrowest
//   substitute: the `kubernetes` Service's ClusterIP (10.0.0.1, which kubelet puts into every pod as
//   KUBERNETES_SERVICE_HOST) is a local address of the bridge, and a TCP forwarder in this process
//   passes 10.0.0.1:443 to the API server on 127.0.0.1 (TLS end to end; the serving certificate has
//   the SAN 10.0.0.1). So in-cluster clients work unchanged; other ClusterIPs stay unreachable.
// - kubelet reports InternalIP = the bridge address and Hostname = localhost; the API server prefers
//   Hostname, so logs/exec/port-forward go to 127.0.0.1. iptables is kept off kubelet's PATH.
//
// Host state: everything lives in /var/lib/kpo-node and /run/kpo-node, pod cgroups under /kpo-node
// in every cgroup v1 hierarchy (cgroupfs driver). Before changing anything, start records the
// sysctls kubelet and the CNI plugins rewrite, and which shared paths (/var/lib/cni, /run/netns,
// /var/log/pods, ...) existed, in /run/kpo-node.state.json; stop (or the next start, after a crash)
// kills what is left, unmounts, removes the bridge, the route, the cgroups and the paths it created,
// and restores the sysctls. One node per machine: flock on /run/kpo-node.lock.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import https from "node:https";
import net from "node:net";
import path from "node:path";
import { stringify } from "yaml";
import { serviceCidr, writeKubeconfig, type ControlPlane } from "./controlPlane.js";
import { issueCertificate } from "./pki.js";
import { freePort } from "./ports.js";
import { startProcess, waitUntilReady, type ManagedProcess } from "./processes.js";
import { requireTool } from "./tools.js";

export interface Node {
  name: "localhost";
  bridgeAddress: string;
  podCidr: string;
  serviceCidr: string;
  /** The kubectl command line for this cluster (admin credentials). */
  kubectl: string[];
  importImage(tarPath: string): Promise<void>;
  /** A second name for an imported image (e.g. a "new version" for an upgrade test). */
  tagImage(source: string, target: string): Promise<void>;
  exposeOnBridge(port: number): Promise<string>;
  stop(): Promise<void>;
}

export interface NodeOptions {
  controlPlane: ControlPlane;
  /** Working directory for configuration, certificates and logs. */
  dir: string;
  startTimeoutMs?: number;
}

const NODE_NAME = "localhost";
const BRIDGE = "kpo0";
const POD_CIDR = "10.244.0.0/24";
const BRIDGE_ADDRESS = "10.244.0.1";
const DATA_DIR = "/var/lib/kpo-node";
const RUN_DIR = "/run/kpo-node";
const LOCK_FILE = "/run/kpo-node.lock";
const STATE_FILE = "/run/kpo-node.state.json";
const CGROUP_ROOT = "kpo-node";
const CONTAINERD_SOCK = `${RUN_DIR}/containerd/containerd.sock`;
// kubelet sets the first six at start (container manager), CNI's bridge may set ip_forward.
const SYSCTLS = [
  "vm.overcommit_memory",
  "vm.panic_on_oom",
  "kernel.panic",
  "kernel.panic_on_oops",
  "kernel.keys.root_maxkeys",
  "kernel.keys.root_maxbytes",
  "net.ipv4.ip_forward",
];
// Paths kubelet, containerd or CNI create outside their configured directories.
const SHARED_PATHS = [
  "/var/lib/cni",
  "/run/netns",
  "/var/log/pods",
  "/var/log/containers",
  "/var/lib/kubelet",
  "/run/containerd",
  "/usr/libexec/kubernetes",
  "/etc/cni",
  "/opt/cni",
  "/opt/containerd",
];

interface HostState {
  sysctls: Record<string, string>;
  createdPaths: string[];
  /** The node's components, so a later start can end them after a crash (command line checked). */
  processes: { pid: number; cmdline: string }[];
}

function readCmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return undefined;
  }
}

function recordProcess(proc: ManagedProcess): void {
  const pid = proc.child.pid;
  if (pid === undefined) return;
  const state = JSON.parse(readFileSync(STATE_FILE, "utf8")) as HostState;
  state.processes.push({ pid, cmdline: readCmdline(pid) ?? "" });
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function tryRun(cmd: string, args: string[]): void {
  try {
    run(cmd, args);
  } catch {
    // Already gone.
  }
}

const sysctlPath = (name: string) => `/proc/sys/${name.replaceAll(".", "/")}`;

/** Machine-wide lock: a flock held by a child whose stdin is our pipe, so it ends with us. */
async function acquireLock(): Promise<ChildProcess> {
  const child = spawn("flock", ["-n", "-E", "75", LOCK_FILE, "sh", "-c", "echo locked; exec cat"], {
    stdio: ["pipe", "pipe", "ignore"],
  });
  const got = await new Promise<boolean>((resolve, reject) => {
    child.stdout.once("data", () => resolve(true));
    child.once("exit", (code) => (code === 75 ? resolve(false) : reject(new Error(`flock exited ${code}`))));
    child.once("error", reject);
  });
  if (!got) throw new Error(`another test node runs on this machine (${LOCK_FILE} is locked)`);
  child.unref();
  for (const s of [child.stdin, child.stdout]) (s as unknown as net.Socket).unref();
  return child;
}

function cgroupDirs(): string[] {
  const dirs: string[] = [];
  for (const hierarchy of readdirSync("/sys/fs/cgroup")) {
    const dir = path.join("/sys/fs/cgroup", hierarchy, CGROUP_ROOT);
    if (existsSync(dir)) dirs.push(dir);
  }
  return dirs;
}

/** All cgroup directories below `dir`, deepest first. */
function cgroupTree(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...cgroupTree(path.join(dir, entry.name)));
  }
  out.push(dir);
  return out;
}

/**
 * Processes of the node: its recorded components, what runs in its cgroups, and what was started
 * with its directories on the command line (containerd's shims).
 */
function nodeProcesses(components: HostState["processes"]): number[] {
  const pids = new Set<number>();
  for (const { pid, cmdline } of components) {
    if (cmdline !== "" && readCmdline(pid) === cmdline) pids.add(pid);
  }
  for (const root of cgroupDirs()) {
    for (const dir of cgroupTree(root)) {
      const procs = readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean);
      for (const pid of procs) pids.add(Number(pid));
    }
  }
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = readCmdline(Number(entry));
    if (cmdline === undefined) continue;
    if (cmdline.includes(RUN_DIR + "/") || cmdline.includes(DATA_DIR + "/")) pids.add(Number(entry));
  }
  pids.delete(process.pid);
  return [...pids];
}

async function killNodeProcesses(components: HostState["processes"]): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids = nodeProcesses(components);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Exited meanwhile.
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`node processes survive SIGKILL: ${nodeProcesses(components).join(", ")}`);
}

function unmountUnder(prefixes: string[]): void {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((mp): mp is string => mp !== undefined)
    .map((mp) => mp.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((mp) => prefixes.some((p) => mp === p || mp.startsWith(p + "/")))
    .sort((a, b) => b.length - a.length);
  for (const mp of mounts) tryRun("umount", ["-l", mp]);
}

/** Undoes everything a node did to the host; safe to run twice and after a crash. */
async function cleanHost(): Promise<void> {
  const state: HostState | undefined = existsSync(STATE_FILE)
    ? (JSON.parse(readFileSync(STATE_FILE, "utf8")) as HostState)
    : undefined;
  await killNodeProcesses(state?.processes ?? []);
  const created = state?.createdPaths ?? [];
  unmountUnder([DATA_DIR, RUN_DIR, ...created]);
  tryRun("ip", ["link", "del", BRIDGE]);
  tryRun("ip", ["route", "del", "unreachable", serviceCidr]);
  for (const root of cgroupDirs()) {
    for (const dir of cgroupTree(root)) tryRun("rmdir", [dir]);
  }
  for (const p of [DATA_DIR, RUN_DIR, ...created]) rmSync(p, { recursive: true, force: true });
  for (const [name, value] of Object.entries(state?.sysctls ?? {})) {
    writeFileSync(sysctlPath(name), value);
  }
  rmSync(STATE_FILE, { force: true });
}

function recordHostState(): void {
  const sysctls: Record<string, string> = {};
  for (const name of SYSCTLS) {
    if (existsSync(sysctlPath(name))) sysctls[name] = readFileSync(sysctlPath(name), "utf8").trim();
  }
  const state: HostState = {
    sysctls,
    createdPaths: SHARED_PATHS.filter((p) => !existsSync(p)),
    processes: [],
  };
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
}

function setUpNetwork(serviceCidr: string, apiServiceIp: string): void {
  // First: no ClusterIP may ever take the default route.
  run("ip", ["route", "add", "unreachable", serviceCidr]);
  run("ip", ["link", "add", BRIDGE, "type", "bridge"]);
  run("ip", ["addr", "add", `${BRIDGE_ADDRESS}/24`, "dev", BRIDGE]);
  run("ip", ["addr", "add", `${apiServiceIp}/32`, "dev", BRIDGE]);
  run("ip", ["link", "set", BRIDGE, "up"]);
}

/** Pod cgroups live under /kpo-node in each v1 hierarchy; kubelet wants the root to exist. */
function createCgroupRoot(): void {
  for (const hierarchy of readdirSync("/sys/fs/cgroup")) {
    const parent = path.join("/sys/fs/cgroup", hierarchy);
    if (!existsSync(path.join(parent, "cgroup.procs"))) continue;
    const dir = path.join(parent, CGROUP_ROOT);
    mkdirSync(dir, { recursive: true });
    for (const file of ["cpuset.cpus", "cpuset.mems"]) {
      if (existsSync(path.join(dir, file)) && readFileSync(path.join(dir, file), "utf8").trim() === "") {
        writeFileSync(path.join(dir, file), readFileSync(path.join(parent, file), "utf8").trim());
      }
    }
  }
}

/** PATH without iptables: directories holding it are replaced by a copy of links without it. */
function pathWithoutIptables(dir: string): string {
  const dirs = (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").filter(Boolean);
  return dirs
    .map((d, i) => {
      if (!readdirSafe(d).some((f) => f.startsWith("iptables") || f.startsWith("ip6tables"))) return d;
      const shadow = path.join(dir, `path-${i}`);
      mkdirSync(shadow, { recursive: true });
      for (const f of readdirSafe(d)) {
        if (!/^(ip6?tables|nft|ebtables)/.test(f)) symlinkSync(path.join(d, f), path.join(shadow, f));
      }
      return shadow;
    })
    .join(":");
}

function readdirSafe(d: string): string[] {
  try {
    return statSync(d).isDirectory() ? readdirSync(d) : [];
  } catch {
    return [];
  }
}

function containerdConfig(): string {
  return `version = 2
root = "${DATA_DIR}/containerd"
state = "${RUN_DIR}/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "${CONTAINERD_SOCK}"

[ttrpc]
  address = "${CONTAINERD_SOCK}.ttrpc"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${DATA_DIR}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "kpo.local/pause:3.10.1"
  # This VM lacks CAP_SYS_RESOURCE: without it runc fails with "can't get final child's PID".
  restrict_oom_score_adj = true
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  max_container_log_line_size = 16384

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${requireTool("KPO_CNI_BIN_DIR")}"
    conf_dir = "${DATA_DIR}/cni/net.d"
    max_conf_num = 1
`;
}

function cniConfig(serviceCidr: string): string {
  return JSON.stringify(
    {
      cniVersion: "0.4.0",
      name: "kpo",
      plugins: [
        {
          type: "bridge",
          bridge: BRIDGE,
          // The bridge and its address are ours (setUpNetwork): no gateway role, so the plugin
          // neither sets ip_forward nor adds a default route; no masquerading.
          isGateway: false,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: POD_CIDR, gateway: BRIDGE_ADDRESS }]],
            // Only the Service CIDR goes to the host (see the header); no default route.
            routes: [{ dst: serviceCidr, gw: BRIDGE_ADDRESS }],
            dataDir: `${DATA_DIR}/cni/networks`,
          },
        },
        { type: "loopback" },
      ],
    },
    null,
    2,
  );
}

function kubeletConfig(pkiDir: string, port: number, healthzPort: number): string {
  return stringify({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: "127.0.0.1",
    port,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort,
    tlsCertFile: path.join(pkiDir, "node-kubelet-serving.crt"),
    tlsPrivateKeyFile: path.join(pkiDir, "node-kubelet-serving.key"),
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: path.join(pkiDir, "ca.crt") },
    },
    authorization: { mode: "Webhook" },
    containerRuntimeEndpoint: `unix://${CONTAINERD_SOCK}`,
    cgroupDriver: "cgroupfs",
    cgroupRoot: `/${CGROUP_ROOT}`,
    failCgroupV1: false,
    failSwapOn: false,
    // Images are imported, never pulled: nothing may collect them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { "memory.available": "50Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    // No cluster DNS, no host resolvers in pods (they could not be reached anyway).
    resolvConf: "",
    clusterDomain: "cluster.local",
    podLogsDir: `${DATA_DIR}/pod-logs`,
    volumePluginDir: `${DATA_DIR}/volume-plugins`,
    registerNode: true,
    serializeImagePulls: false,
    protectKernelDefaults: false,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    shutdownGracePeriod: "0s",
    // How often kubelet re-syncs a running pod, which is when a changed ConfigMap reaches its
    // volume: 10 s instead of a minute, so the chart suite's policy change arrives in seconds.
    syncFrequency: "10s",
  });
}

function apiGet(cp: ControlPlane, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      `${cp.server}${urlPath}`,
      {
        ca: readFileSync(cp.pki.caCert),
        cert: readFileSync(cp.pki.adminCert),
        key: readFileSync(cp.pki.adminKey),
        timeout: 5000,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
  });
}

async function nodeReady(cp: ControlPlane): Promise<boolean> {
  const res = await apiGet(cp, `/api/v1/nodes/${NODE_NAME}`);
  if (res.status !== 200) return false;
  const node = JSON.parse(res.body) as { status?: { conditions?: { type: string; status: string }[] } };
  const ready = node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  if (!ready) return false;
  // Pods in "default" need its ServiceAccount (made by the controller-manager).
  return (await apiGet(cp, "/api/v1/namespaces/default/serviceaccounts/default")).status === 200;
}

/** A TCP forwarder host:port -> 127.0.0.1:target, living in this process. */
interface Forwarder {
  /** Stops listening and cuts open connections (pods' watches would hold a plain close forever). */
  close(): Promise<void>;
}

function forward(host: string, port: number, target: number): Promise<Forwarder> {
  const open = new Set<net.Socket>();
  // Half-open both ways, so a client that ends its side early still gets the whole answer.
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const upstream = net.connect({ port: target, host: "127.0.0.1", allowHalfOpen: true });
    open.add(socket).add(upstream);
    socket.pipe(upstream).pipe(socket);
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on("error", close);
    upstream.on("error", close);
    socket.once("close", () => open.delete(socket));
    upstream.once("close", () => open.delete(upstream));
  });
  server.unref();
  const forwarder: Forwarder = {
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      }),
  };
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(forwarder));
  });
}

export async function startNode(options: NodeOptions): Promise<Node> {
  const { controlPlane: cp } = options;
  const dir = path.resolve(options.dir);
  const timeout = options.startTimeoutMs ?? 180_000;
  if (process.getuid?.() !== 0) throw new Error("the test node needs root (mounts, cgroups, a bridge)");
  const tools = {
    kubelet: requireTool("KPO_KUBELET"),
    cm: requireTool("KPO_KUBE_CONTROLLER_MANAGER"),
    scheduler: requireTool("KPO_KUBE_SCHEDULER"),
    kubectl: requireTool("KPO_KUBECTL"),
    containerd: requireTool("KPO_CONTAINERD"),
    ctr: requireTool("KPO_CTR"),
    images: requireTool("KPO_IMAGES_DIR"),
  };
  const lock = await acquireLock();
  const started: ManagedProcess[] = [];
  const forwarders: Forwarder[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      // kubelet first (it would restart containers), then the rest; cleanHost kills what remains.
      for (const proc of started.reverse()) await proc.stop();
      await Promise.all(forwarders.map((f) => f.close()));
      await cleanHost();
    } finally {
      // Even if cleaning failed: the next start cleans up again (the state file is still there).
      lock.kill();
    }
  };
  try {
    if (existsSync(STATE_FILE)) process.stderr.write("[node] cleaning up after a node that did not stop\n");
    await cleanHost();
    recordHostState();
    const apiServiceIp = cp.serviceCidr.replace(/\.0\/\d+$/, ".1");
    setUpNetwork(cp.serviceCidr, apiServiceIp);
    createCgroupRoot();
    for (const d of [dir, `${DATA_DIR}/cni/net.d`, `${RUN_DIR}/containerd`])
      mkdirSync(d, { recursive: true });

    // Credentials: the kubelet (Node authorizer: system:node:localhost), its serving certificate,
    // the controller-manager and the scheduler, all from the control plane's CA.
    const pkiDir = path.dirname(cp.pki.caCert);
    const clientExt = "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n";
    issueCertificate(pkiDir, "node-kubelet", `/O=system:nodes/CN=system:node:${NODE_NAME}`, clientExt);
    issueCertificate(
      pkiDir,
      "node-kubelet-serving",
      `/CN=${NODE_NAME}`,
      "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n",
    );
    issueCertificate(pkiDir, "node-controller-manager", "/CN=system:kube-controller-manager", clientExt);
    issueCertificate(pkiDir, "node-scheduler", "/CN=system:kube-scheduler", clientExt);
    const kubeconfig = (name: string) => {
      const file = path.join(dir, `${name}.kubeconfig`);
      writeKubeconfig(file, cp.server, {
        caCert: cp.pki.caCert,
        adminCert: path.join(pkiDir, `node-${name}.crt`),
        adminKey: path.join(pkiDir, `node-${name}.key`),
      });
      return file;
    };

    writeFileSync(path.join(dir, "containerd.toml"), containerdConfig());
    writeFileSync(path.join(DATA_DIR, "cni/net.d/10-kpo.conflist"), cniConfig(cp.serviceCidr));
    const containerd = startProcess(
      "containerd",
      tools.containerd,
      ["--config", path.join(dir, "containerd.toml"), "--log-level", "warn"],
      { logFile: path.join(dir, "containerd.log") },
    );
    started.push(containerd);
    recordProcess(containerd);
    const ctr = (...args: string[]) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(tools.ctr, ["--address", CONTAINERD_SOCK, "-n", "k8s.io", ...args], {
          stdio: ["ignore", "ignore", "pipe"],
        });
        let err = "";
        child.stderr.on("data", (c: Buffer) => (err += c.toString()));
        child.once("error", reject);
        child.once("exit", (code) =>
          code === 0 ? resolve() : reject(new Error(`ctr ${args.join(" ")}: ${err.trim()}`)),
        );
      });
    await waitUntilReady(containerd, () => ctr("version").then(() => true), timeout);
    const importImage = (tarPath: string) => ctr("images", "import", tarPath);
    for (const f of readdirSafe(tools.images)
      .filter((f) => f.endsWith(".tar"))
      .sort()) {
      await importImage(path.join(tools.images, f));
    }

    forwarders.push(await forward(apiServiceIp, 443, Number(new URL(cp.server).port)));

    const [cmPort, schedulerPort, kubeletPort, healthzPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const cm = startProcess(
      "kube-controller-manager",
      tools.cm,
      [
        `--kubeconfig=${kubeconfig("controller-manager")}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${cmPort}`,
        "--leader-elect=false",
        "--use-service-account-credentials=true",
        `--service-account-private-key-file=${cp.pki.serviceAccountKey}`,
        `--root-ca-file=${cp.pki.caCert}`,
        `--service-cluster-ip-range=${cp.serviceCidr}`,
        "--cluster-name=kpo-testenv",
        `--cert-dir=${path.join(dir, "controller-manager-certs")}`,
        "--v=1",
      ],
      { logFile: path.join(dir, "kube-controller-manager.log") },
    );
    started.push(cm);
    recordProcess(cm);
    const scheduler = startProcess(
      "kube-scheduler",
      tools.scheduler,
      [
        `--kubeconfig=${kubeconfig("scheduler")}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${schedulerPort}`,
        "--leader-elect=false",
        `--cert-dir=${path.join(dir, "scheduler-certs")}`,
        "--v=1",
      ],
      { logFile: path.join(dir, "kube-scheduler.log") },
    );
    started.push(scheduler);
    recordProcess(scheduler);
    writeFileSync(path.join(dir, "kubelet.yaml"), kubeletConfig(pkiDir, kubeletPort, healthzPort));
    const kubelet = startProcess(
      "kubelet",
      tools.kubelet,
      [
        `--config=${path.join(dir, "kubelet.yaml")}`,
        `--kubeconfig=${kubeconfig("kubelet")}`,
        `--hostname-override=${NODE_NAME}`,
        // kubelet refuses a loopback node IP; the bridge address is the node's own.
        `--node-ip=${BRIDGE_ADDRESS}`,
        `--root-dir=${DATA_DIR}/kubelet`,
        `--cert-dir=${DATA_DIR}/kubelet-pki`,
        "--v=1",
      ],
      {
        logFile: path.join(dir, "kubelet.log"),
        env: { PATH: pathWithoutIptables(path.join(dir, "kubelet-path")) },
      },
    );
    started.push(kubelet);
    recordProcess(kubelet);
    await waitUntilReady(kubelet, () => nodeReady(cp), timeout);

    const adminKubeconfig = cp.kubeconfigPath;
    return {
      name: NODE_NAME,
      bridgeAddress: BRIDGE_ADDRESS,
      podCidr: POD_CIDR,
      serviceCidr: cp.serviceCidr,
      kubectl: [tools.kubectl, "--kubeconfig", adminKubeconfig],
      importImage,
      tagImage: async (source: string, target: string) => {
        await ctr("images", "tag", "--force", source, target);
      },
      async exposeOnBridge(port: number) {
        forwarders.push(await forward(BRIDGE_ADDRESS, port, port));
        return `${BRIDGE_ADDRESS}:${port}`;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw new Error(`test node did not start (logs in ${dir}): ${String(err)}`, { cause: err });
  }
}
