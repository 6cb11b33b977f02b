// Helpers for the e2e suites on the real node: the operator's image (scripts/operator-image.sh),
// helm and kubectl run as a platform operator runs them, and what the pods themselves report —
// their /metrics and /readyz through the API server's pod proxy, and commands run inside the
// container with `kubectl exec` (the image has no shell: the command is its own node binary).
import { execFile, execFileSync } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import type * as k8s from "@kubernetes/client-node";
import { repoRoot, requireTool } from "../../src/testenv/tools.js";

const run = promisify(execFile);

export interface OperatorImage {
  /** kpo.local/keycloak-policy-operator:<hash> */
  ref: string;
  repository: string;
  tag: string;
  /** The OCI archive in $KPO_CACHE_DIR/images, which the node imports. */
  archive: string;
}

/** Builds the operator image when its inputs changed (seconds when nothing did). */
export function operatorImage(): OperatorImage {
  const out = execFileSync("bash", [path.join(repoRoot, "scripts/operator-image.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const value = (key: string) => {
    const line = out.split("\n").find((l) => l.startsWith(`${key}=`));
    if (!line) throw new Error(`scripts/operator-image.sh did not print ${key}`);
    return line.slice(key.length + 1);
  };
  const ref = value("KPO_OPERATOR_IMAGE");
  const colon = ref.lastIndexOf(":");
  return {
    ref,
    repository: ref.slice(0, colon),
    tag: ref.slice(colon + 1),
    archive: value("KPO_OPERATOR_IMAGE_ARCHIVE"),
  };
}

/** A command's output, or an error carrying its stderr (the part that says what went wrong). */
async function output(cmd: string, args: string[], input?: string): Promise<string> {
  const child = run(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  try {
    return (await child).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${path.basename(cmd)} ${args.join(" ")} failed: ${e.stderr?.trim() || e.message}`, {
      cause: err,
    });
  }
}

/** helm against the test cluster (the pinned build from the tools cache). */
export function helm(kubeconfig: string, ...args: string[]): Promise<string> {
  return output(requireTool("KPO_HELM"), [...args, "--kubeconfig", kubeconfig]);
}

/** kubectl as the node provides it (its path, then --kubeconfig and the admin kubeconfig). */
export class Kubectl {
  readonly #command: string[];
  constructor(command: string[]) {
    this.#command = command;
  }

  run(args: string[], input?: string): Promise<string> {
    const [cmd, ...base] = this.#command;
    if (!cmd) throw new Error("the node gave no kubectl command");
    return output(cmd, [...base, ...args], input);
  }

  /** Runs `/nodejs/bin/node -e <script>` in the pod's container and returns what it printed. */
  execNode(namespace: string, pod: string, script: string): Promise<string> {
    return this.run(["exec", "-n", namespace, pod, "--", "/nodejs/bin/node", "-e", script]);
  }

  /** GET a path of the pod's port through the API server's pod proxy (how a user reaches it). */
  podGet(namespace: string, pod: string, port: number, urlPath: string): Promise<string> {
    return this.run(["get", "--raw", `/api/v1/namespaces/${namespace}/pods/${pod}:${port}/proxy${urlPath}`]);
  }
}

/** The pods of a label selector that are not being deleted, by name. */
export async function livePods(
  core: k8s.CoreV1Api,
  namespace: string,
  selector: string,
): Promise<k8s.V1Pod[]> {
  const list = await core.listNamespacedPod({ namespace, labelSelector: selector });
  return list.items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
}

/** Running, every container started and ready, the pod's Ready condition true. */
export function isRunningAndReady(pod: k8s.V1Pod): boolean {
  const statuses = pod.status?.containerStatuses ?? [];
  return (
    pod.status?.phase === "Running" &&
    statuses.length > 0 &&
    statuses.every((s) => s.ready && s.started === true && s.state?.running !== undefined) &&
    pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true
  );
}

export const podName = (pod: k8s.V1Pod): string => pod.metadata?.name ?? "";
export const restarts = (pod: k8s.V1Pod): number =>
  (pod.status?.containerStatuses ?? []).reduce((n, s) => n + s.restartCount, 0);
