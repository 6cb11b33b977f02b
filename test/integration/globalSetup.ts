// Starts one real kube-apiserver + etcd + Keycloak for the whole integration run and hands their
// coordinates to the tests through vitest's provide/inject. Stopped after the run, and on Ctrl-C.
import type { TestProject } from "vitest/node";
import { startTestEnv, type TestEnv } from "../../src/testenv/index.js";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfigPath: string;
    testEnvDir: string;
    /** The control plane's audit log of workload writes (src/testenv/controlPlane.ts). */
    auditLogPath: string;
    keycloak: { url: string; adminUsername: string; adminPassword: string };
  }
}

let env: TestEnv | undefined;

export async function setup(project: TestProject): Promise<void> {
  // KPO_KEEP_TESTENV=1 keeps the working directory (component and operator logs) after the run.
  env = await startTestEnv({ cleanup: process.env.KPO_KEEP_TESTENV !== "1" });
  project.provide("kubeconfigPath", env.controlPlane.kubeconfigPath);
  project.provide("testEnvDir", env.dir);
  project.provide("auditLogPath", env.controlPlane.auditLogPath);
  project.provide("keycloak", {
    url: env.keycloak.url,
    adminUsername: env.keycloak.adminUsername,
    adminPassword: env.keycloak.adminPassword,
  });
}

export async function teardown(): Promise<void> {
  await env?.stop();
}
