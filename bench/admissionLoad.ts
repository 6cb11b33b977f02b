// The load side of bench/admission.ts: KeycloakClient creates through client-node, one at a time
// (probe, warm-up) or at a fixed rate (open loop: a slow answer does not delay the next send). The
// fixed-rate run is done on a worker thread (bench/admissionWorker.ts), so that the client's own
// work does not queue in front of the webhook on the event loop the webhook is served from.
import * as k8s from "@kubernetes/client-node";
import { API_VERSION, GROUP, VERSION } from "../src/api/index.js";

export interface CreateResult {
  ms: number;
  /** false: refused by the API server with 403 (the webhook's denial). */
  allowed: boolean;
  message?: string;
}

/** One create at a time: its round trip and whether the API server stored it. */
export function creator(
  kc: k8s.KubeConfig,
  realm: { name: string; namespace: string },
  prefix: string,
): (namespace: string) => Promise<CreateResult> {
  const objects = kc.makeApiClient(k8s.CustomObjectsApi);
  let seq = 0;
  return async (namespace) => {
    const name = `${prefix}-${seq++}`;
    const t0 = performance.now();
    try {
      await objects.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: "keycloakclients",
        body: {
          apiVersion: API_VERSION,
          kind: "KeycloakClient",
          metadata: { name },
          spec: { realmRef: realm, clientId: name },
        },
      });
      return { ms: performance.now() - t0, allowed: true };
    } catch (err) {
      const ms = performance.now() - t0;
      if (err instanceof k8s.ApiException && err.code === 403) {
        const body = (typeof err.body === "string" ? JSON.parse(err.body) : err.body) as { message?: string };
        return { ms, allowed: false, message: body.message ?? "" };
      }
      throw err;
    }
  };
}

export interface LoadPlan {
  kubeconfigPath: string;
  realm: { name: string; namespace: string };
  rate: number;
  total: number;
  /** Namespace of the i-th create. */
  namespaces: string[];
}

export interface LoadResult {
  results: { ms: number; allowed: boolean; lateMs: number }[];
  errors: string[];
  wallMs: number;
  cpuMicros: number;
}

/** `plan.total` creates, the i-th sent at start + i / rate. */
export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(plan.kubeconfigPath);
  const create = creator(kc, plan.realm, "client");
  const results: LoadResult["results"] = [];
  const errors: string[] = [];
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < plan.total; i++) {
    const due = start + (i * 1000) / plan.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const lateMs = Math.max(0, performance.now() - due);
    inFlight.push(
      create(plan.namespaces[i % plan.namespaces.length]!).then(
        (r) => void results.push({ ms: r.ms, allowed: r.allowed, lateMs }),
        (err: unknown) => void errors.push(String(err)),
      ),
    );
  }
  await Promise.all(inFlight);
  const cpu = process.cpuUsage(cpu0);
  return { results, errors, wallMs: performance.now() - start, cpuMicros: cpu.user + cpu.system };
}
