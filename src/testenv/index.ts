// The local environment shared by integration tests and `make dev`: a real control plane and a real
// Keycloak, started side by side in one working directory and stopped together.
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startControlPlane, type ControlPlane } from "./controlPlane.js";
import { startKeycloak, type KeycloakServer } from "./keycloak.js";

export { startControlPlane, type ControlPlane } from "./controlPlane.js";
export { startKeycloak, type KeycloakServer } from "./keycloak.js";
export { freePort } from "./ports.js";

export interface TestEnv {
  dir: string;
  controlPlane: ControlPlane;
  keycloak: KeycloakServer;
  stop(): Promise<void>;
}

export interface TestEnvOptions {
  /** Working directory; a fresh temporary one by default. */
  dir?: string;
  /** Remove the working directory on stop (default: true for a temporary one). */
  cleanup?: boolean;
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
  // For humans and for processes started later (the operator under test, `kpo` commands).
  writeFileSync(
    path.join(dir, "env.json"),
    JSON.stringify(
      { kubeconfig: controlPlane.kubeconfigPath, server: controlPlane.server, keycloak: keycloak.url },
      null,
      2,
    ),
  );
  return {
    dir,
    controlPlane,
    keycloak,
    async stop() {
      await Promise.all([controlPlane.stop(), keycloak.stop()]);
      if (cleanup) rmSync(dir, { recursive: true, force: true });
    },
  };
}
