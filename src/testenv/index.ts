// The local environment shared by integration tests, e2e tests and `make dev`: a real control plane
// and a real Keycloak, started side by side in one working directory and stopped together, and with
// `node: true` a real node (node.ts: kubelet, containerd, controller-manager, scheduler) started
// after the control plane, with the Keycloak port also reachable from pods on the bridge.
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startControlPlane, type ControlPlane } from "./controlPlane.js";
import { startKeycloak, type KeycloakServer } from "./keycloak.js";
import { startNode, type Node } from "./node.js";

export { startControlPlane, type ControlPlane } from "./controlPlane.js";
export { startKeycloak, type KeycloakServer } from "./keycloak.js";
export { startNode, type Node } from "./node.js";
export { freePort } from "./ports.js";

export interface TestEnv {
  dir: string;
  controlPlane: ControlPlane;
  keycloak: KeycloakServer;
  /** With `node: true`. */
  node?: Node;
  /** With `node: true`: the Keycloak URL as pods reach it (http://<bridge address>:<port>). */
  keycloakUrlForPods?: string;
  stop(): Promise<void>;
}

export interface TestEnvOptions {
  /** Working directory; a fresh temporary one by default. */
  dir?: string;
  /** Remove the working directory on stop (default: true for a temporary one). */
  cleanup?: boolean;
  /** Start a node too (needs root; one per machine). */
  node?: boolean;
}

export async function startTestEnv(options: TestEnvOptions = {}): Promise<TestEnv> {
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), "kpo-testenv-"));
  const cleanup = options.cleanup ?? options.dir === undefined;
  const [cp, kc] = await Promise.allSettled([
    startControlPlane({ dir: path.join(dir, "control-plane") }),
    startKeycloak({ dir: path.join(dir, "keycloak") }),
  ]);
  if (cp.status === "rejected" || kc.status === "rejected") {
    if (cp.status === "fulfilled") await cp.value.stop();
    if (kc.status === "fulfilled") await kc.value.stop();
    const reasons = [cp, kc].filter((r) => r.status === "rejected").map((r) => String(r.reason));
    throw new Error(`test environment did not start (logs in ${dir}):\n${reasons.join("\n")}`);
  }
  const controlPlane = cp.value;
  const keycloak = kc.value;
  let node: Node | undefined;
  let keycloakUrlForPods: string | undefined;
  if (options.node) {
    try {
      node = await startNode({ controlPlane, dir: path.join(dir, "node") });
      keycloakUrlForPods = `http://${await node.exposeOnBridge(Number(new URL(keycloak.url).port))}`;
    } catch (err) {
      await node?.stop();
      await Promise.all([controlPlane.stop(), keycloak.stop()]);
      throw err;
    }
  }
  // For humans and for processes started later (the operator under test, `kpo` commands).
  writeFileSync(
    path.join(dir, "env.json"),
    JSON.stringify(
      {
        kubeconfig: controlPlane.kubeconfigPath,
        server: controlPlane.server,
        keycloak: keycloak.url,
        ...(node ? { kubectl: node.kubectl.join(" "), keycloakUrlForPods } : {}),
      },
      null,
      2,
    ),
  );
  return {
    dir,
    controlPlane,
    keycloak,
    node,
    keycloakUrlForPods,
    async stop() {
      await node?.stop();
      await Promise.all([controlPlane.stop(), keycloak.stop()]);
      if (cleanup) rmSync(dir, { recursive: true, force: true });
    },
  };
}
