// A real Keycloak server for tests and `make dev`: the pinned distribution from Maven Central,
// pre-built by scripts/tools.sh (in-memory database, local cache), copied per run so that parallel
// environments never share files, bound to 127.0.0.1 on free ports, with a random bootstrap admin.
import { cpSync, mkdirSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { freePort } from "./ports.js";
import { startProcess, waitUntilReady } from "./processes.js";
import { requireTool } from "./tools.js";

export interface KeycloakServer {
  /** http://127.0.0.1:<port> */
  url: string;
  managementUrl: string;
  adminUsername: string;
  adminPassword: string;
  logFile: string;
  stop(): Promise<void>;
}

export interface KeycloakOptions {
  dir: string;
  startTimeoutMs?: number;
  /** Heap for the JVM; Keycloak's default takes a quarter of the machine. */
  maxHeap?: string;
}

export async function startKeycloak(options: KeycloakOptions): Promise<KeycloakServer> {
  const home = path.join(options.dir, "keycloak-home");
  mkdirSync(options.dir, { recursive: true });
  cpSync(requireTool("KPO_KEYCLOAK_HOME"), home, { recursive: true });
  const [port, managementPort] = await Promise.all([freePort(), freePort()]);
  const adminUsername = "admin";
  const adminPassword = randomBytes(18).toString("base64url");
  const logFile = path.join(options.dir, "keycloak.log");
  const proc = startProcess(
    "keycloak",
    path.join(home, "bin/kc.sh"),
    [
      "start",
      "--optimized",
      "--http-enabled=true",
      "--hostname-strict=false",
      "--http-host=127.0.0.1",
      `--http-port=${port}`,
      `--http-management-port=${managementPort}`,
    ],
    {
      logFile,
      env: {
        KC_BOOTSTRAP_ADMIN_USERNAME: adminUsername,
        KC_BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
        JAVA_OPTS_KC_HEAP: `-Xms128m -Xmx${options.maxHeap ?? "768m"}`,
      },
    },
  );
  const managementUrl = `http://127.0.0.1:${managementPort}`;
  try {
    await waitUntilReady(
      proc,
      () =>
        fetch(`${managementUrl}/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
          (r) => r.ok,
          () => false,
        ),
      options.startTimeoutMs ?? 240_000,
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    managementUrl,
    adminUsername,
    adminPassword,
    logFile,
    stop: () => proc.stop(),
  };
}
