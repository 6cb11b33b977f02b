// The test node itself (src/testenv/node.ts): pods run and their logs come back through the API
// server, the Service CIDR cannot leave the machine, a pod reaches the API server the in-cluster
// way and a host service through the bridge, and garbage collection is real.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type ControlPlane } from "../../src/testenv/controlPlane.js";
import { startNode, type Node } from "../../src/testenv/node.js";
import { freePort } from "../../src/testenv/ports.js";

let dir: string;
let controlPlane: ControlPlane;
let node: Node;
let core: k8s.CoreV1Api;
const ns = "e2e-node";

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | undefined;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err instanceof Error ? err : new Error(String(err));
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

/** Runs a one-shot pod to completion; returns its phase and its log, read through the API server. */
async function runPod(name: string, container: k8s.V1Container): Promise<{ phase: string; log: string }> {
  await core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name },
      spec: { restartPolicy: "Never", containers: [{ imagePullPolicy: "Never", ...container }] },
    },
  });
  const phase = await waitFor(`pod ${name} to finish`, async () => {
    const pod = await core.readNamespacedPod({ name, namespace: ns });
    const p = pod.status?.phase;
    return p === "Succeeded" || p === "Failed" ? p : undefined;
  });
  const log = await core.readNamespacedPodLog({ name, namespace: ns });
  return { phase, log };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "kpo-e2e-node-"));
  controlPlane = await startControlPlane({ dir: path.join(dir, "control-plane") });
  node = await startNode({ controlPlane, dir: path.join(dir, "node") });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(controlPlane.kubeconfigPath);
  core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: ns } } });
  // Pods need the namespace's ServiceAccount, made by the controller-manager.
  await waitFor("the default ServiceAccount", () =>
    core.readNamespacedServiceAccount({ name: "default", namespace: ns }),
  );
});

afterAll(async () => {
  await node?.stop();
  await controlPlane?.stop();
  if (process.env.KPO_KEEP_TESTENV !== "1") rmSync(dir, { recursive: true, force: true });
});

describe("the test node", () => {
  it("runs a busybox pod to Succeeded, on the bridge and without a default route", async () => {
    const { phase, log } = await runPod("busybox", {
      name: "main",
      image: "kpo.local/busybox:1.35",
      command: ["sh", "-c", "echo marker-$((6*7)); ip -4 addr show eth0; ip route"],
    });
    expect(phase).toBe("Succeeded");
    expect(log).toContain("marker-42");
    expect(log).toMatch(/inet 10\.244\.0\.\d+\/24/);
    expect(log).toContain(`${node.serviceCidr} via ${node.bridgeAddress}`);
    expect(log).not.toContain("default");
  });

  it("sends the whole Service CIDR to an unreachable route on the host", async () => {
    const routes = execFileSync("ip", ["route", "show", "type", "unreachable"], { encoding: "utf8" });
    expect(routes).toContain(node.serviceCidr);
    // A ClusterIP other than the API server's fails at once instead of taking the default route.
    const error = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      const socket = net.connect(443, "10.0.0.77");
      socket.once("connect", () => {
        socket.destroy();
        reject(new Error("connected to a ClusterIP without kube-proxy"));
      });
      socket.once("error", resolve);
    });
    expect(error.code).toBe("EHOSTUNREACH");
  });

  it("lets a pod reach the API server at KUBERNETES_SERVICE_HOST with its service-account token", async () => {
    const { phase, log } = await runPod("apiprobe", {
      name: "main",
      image: "kpo.local/apiprobe:1",
      args: [
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
      ],
    });
    expect(log).toContain(`"username":"system:serviceaccount:${ns}:default"`);
    expect(phase).toBe("Succeeded");
  });

  it("lets a pod reach a host service exposed on the bridge address", async () => {
    const port = await freePort();
    const server = net.createServer((s) => s.end("hello-from-the-host\n"));
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    try {
      const address = await node.exposeOnBridge(port);
      const [host, p] = address.split(":");
      const { phase, log } = await runPod("bridge", {
        name: "main",
        image: "kpo.local/busybox:1.35",
        command: ["sh", "-c", `nc -w 5 ${host} ${p} </dev/null`],
      });
      expect(log).toContain("hello-from-the-host");
      expect(phase).toBe("Succeeded");
    } finally {
      server.close();
    }
  });

  it("listens and reports addresses only on loopback, the bridge and the kubernetes Service IP", async () => {
    const nodeObject = await core.readNode({ name: node.name });
    expect(nodeObject.status?.addresses).toEqual(
      expect.arrayContaining([
        { type: "InternalIP", address: node.bridgeAddress },
        { type: "Hostname", address: "localhost" },
      ]),
    );
    expect(nodeObject.status?.addresses).toHaveLength(2);
    const allowed = ["127.0.0.1", node.bridgeAddress, "10.0.0.1"];
    const components = /"(kubelet|containerd|containerd-shim[^"]*|kube-controller|kube-scheduler)"/;
    const listeners = execFileSync("ss", ["-Hltnup"], { encoding: "utf8" })
      .split("\n")
      .filter((line) => components.test(line) || line.includes(`pid=${process.pid},`));
    expect(listeners.some((line) => line.includes('"kubelet"'))).toBe(true);
    for (const line of listeners) {
      const local = line.split(/\s+/)[4] ?? "";
      expect(allowed, line).toContain(local.slice(0, local.lastIndexOf(":")));
    }
  });

  it("garbage-collects a ConfigMap once its owner is deleted", async () => {
    const owner = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "owner" }, data: { a: "1" } },
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: {
          name: "owned",
          ownerReferences: [
            { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata?.uid ?? "" },
          ],
        },
        data: { b: "2" },
      },
    });
    await core.deleteNamespacedConfigMap({ name: "owner", namespace: ns });
    await waitFor("the owned ConfigMap to be collected", async () => {
      const list = await core.listNamespacedConfigMap({ namespace: ns });
      return list.items.some((c) => c.metadata?.name === "owned") ? undefined : true;
    });
    const names = (await core.listNamespacedConfigMap({ namespace: ns })).items.map((c) => c.metadata?.name);
    expect(names).not.toContain("owned");
  });
});
