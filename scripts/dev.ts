// `make dev`: a real local control plane + Keycloak (src/testenv), the CRDs, the operator in the
// foreground with readable logs, examples/quickstart applied, and a status table printed as the
// resources turn Ready. Ctrl-C stops everything and leaves no process behind.
//
// KPO_DEV_EXIT_WHEN_READY=1 exits 0 once everything is Ready (to check `make dev` itself).
// KPO_DEV_NODE=1 also starts the single test node (src/testenv/node.ts: kubelet, containerd,
// controller-manager, scheduler; needs root) and prints the kubectl command line.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import {
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { formatTable, statusRows } from "../src/cli/statusCommand.js";
import { installCrds } from "../src/kube/crdInstall.js";
import { startTestEnv } from "../src/testenv/index.js";
import { freePort } from "../src/testenv/ports.js";
import { operatorCommand } from "../src/testenv/operatorCommand.js";
import { repoRoot } from "../src/testenv/tools.js";

const say = (text: string) => console.log(`\x1b[1m[dev]\x1b[0m ${text}`);

/** One JSON log line of the operator, as a short human line. */
function pretty(line: string): string {
  try {
    const o = JSON.parse(line) as {
      level: number;
      time: string;
      component?: string;
      msg: string;
      key?: string;
    };
    const level =
      o.level >= 50
        ? "\x1b[31mERROR\x1b[0m"
        : o.level >= 40
          ? "\x1b[33mWARN \x1b[0m"
          : o.level >= 30
            ? "INFO "
            : "DEBUG";
    return `${o.time.slice(11, 19)} ${level} ${(o.component ?? "").padEnd(14)} ${o.msg}`;
  } catch {
    return line;
  }
}

async function applyQuickstart(
  kc: KubeConfig,
  keycloak: { url: string; adminUsername: string; adminPassword: string },
) {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const dir = path.join(repoRoot, "examples/quickstart");
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), "utf8"))) {
      const obj = doc.toJS() as KubernetesObject & {
        spec?: { external?: { url?: string } };
        stringData?: Record<string, string>;
      };
      if (!obj) continue;
      // Point the example at the local Keycloak and its bootstrap admin.
      if (obj.kind === "KeycloakInstance" && obj.spec?.external) obj.spec.external.url = keycloak.url;
      if (obj.kind === "Secret" && obj.stringData?.password !== undefined) {
        obj.stringData = {
          ...obj.stringData,
          username: keycloak.adminUsername,
          password: keycloak.adminPassword,
        };
      }
      await api.patch(obj, undefined, undefined, "kpo-dev", true, PatchStrategy.ServerSideApply);
      say(
        `applied ${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ""}${obj.metadata?.name}`,
      );
    }
  }
}

async function main(): Promise<void> {
  const exitWhenReady = process.env.KPO_DEV_EXIT_WHEN_READY === "1";
  const withNode = process.env.KPO_DEV_NODE === "1";
  say(
    `starting etcd + kube-apiserver${withNode ? ", a node (kubelet, containerd)" : ""} and Keycloak (the first start takes a minute)…`,
  );
  const env = await startTestEnv({ node: withNode });
  let operator: ReturnType<typeof spawn> | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("stopping…");
    if (operator && operator.exitCode === null) {
      operator.kill("SIGTERM");
      await new Promise((r) => operator?.once("exit", r));
    }
    await env.stop();
    say("stopped; nothing left running");
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  try {
    const kc = new KubeConfig();
    kc.loadFromFile(env.controlPlane.kubeconfigPath);
    await installCrds(kc, path.join(repoRoot, "crds"));
    say("CRDs installed");

    const healthPort = await freePort();
    const { command, args } = operatorCommand({
      kubeconfigPath: env.controlPlane.kubeconfigPath,
      healthPort,
      args: ["--leader-election", "false"],
    });
    operator = spawn(command, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    for (const stream of [operator.stdout, operator.stderr]) {
      if (stream) createInterface({ input: stream }).on("line", (l) => console.log(pretty(l)));
    }
    operator.once("exit", (code) => {
      if (!stopping) {
        say(`operator exited (${code}); stopping`);
        void stop(1);
      }
    });

    await applyQuickstart(kc, env.keycloak);
    let last = "";
    let announced = false;
    for (;;) {
      const rows = await statusRows(kc).catch(() => []);
      // Printed when something other than the ages changed, so a steady state stays quiet.
      const state = JSON.stringify(rows.map((r) => ({ ...r, age: "" })));
      if (state !== last) {
        console.log(`\n${formatTable(rows)}\n`);
        last = state;
      }
      if (!announced && rows.length > 0 && rows.every((r) => r.ready === "True")) {
        announced = true;
        say("everything is Ready.");
        console.log(
          [
            `  Keycloak admin console  ${env.keycloak.url}/admin/  (user ${env.keycloak.adminUsername}, password ${env.keycloak.adminPassword})`,
            `  kubeconfig              export KUBECONFIG=${env.controlPlane.kubeconfigPath}`,
            ...(env.node
              ? [
                  `  kubectl                 ${env.node.kubectl.join(" ")} get nodes,pods -A`,
                  `  Keycloak from pods      ${env.keycloakUrlForPods}`,
                ]
              : []),
            `  status                  npx tsx src/cli.ts status --kubeconfig ${env.controlPlane.kubeconfigPath}`,
            `  metrics                 http://127.0.0.1:${healthPort}/metrics`,
            `  logs and data           ${env.dir}`,
            "  Ctrl-C stops everything.",
          ].join("\n"),
        );
        if (exitWhenReady) await stop(0);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  } catch (err) {
    console.error(err);
    await stop(1);
  }
}

await main();
