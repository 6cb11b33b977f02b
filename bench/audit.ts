// Policy audit benchmark: one PolicyAudit pass, as on a bundle change, over informer caches holding
// N synthetic resources, decided by the real policy engine over the standard bundle. In-process,
// no servers, no report writer (--policy-reports=false): only the decisions and the gauge.
// Measures the pass's wall time and CPU, and the event loop's longest stall during it
// (perf_hooks.monitorEventLoopDelay): how long a reconcile queued meanwhile would be held up.
//
//   npm run bench:audit            (builds the bundle first: scripts/policies.sh build)
//   npx tsx bench/audit.ts [--clients 10000] [--namespaces 50] [--realms 20] [--bundle build/policy/bundle]
//
// Results: stdout (a Markdown table for docs/benchmarks.md "Admission and audit") and
// bench/results/audit.json. Measures only; a shared CPU lengthens every number.
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { API_VERSION } from "../src/api/index.js";
import { PolicyAudit } from "../src/operator/policyAudit.js";
import { createPolicyEngine } from "../src/policy/engine.js";
import { repoRoot } from "../src/testenv/tools.js";
import { cachesOf } from "../test/unit/caches.js";
import { fmt, gitCommit, machine, positiveOption, requirePolicyBundle, writeResult } from "./benchSupport.js";

const { values: args } = parseArgs({
  options: {
    clients: { type: "string", default: "10000" },
    namespaces: { type: "string", default: "50" },
    realms: { type: "string", default: "20" },
    bundle: { type: "string", default: path.join(repoRoot, "build/policy/bundle") },
  },
});
const CLIENTS = positiveOption("clients", args.clients);
const NAMESPACES = positiveOption("namespaces", args.namespaces);
const REALMS = positiveOption("realms", args.realms);
requirePolicyBundle(args.bundle);

// The shape of bench/scale.ts: one instance and the realms in a platform namespace, the clients
// spread over the application namespaces, every realm granting clients to all of them.
const platform = "platform";
const appNamespaces = Array.from({ length: NAMESPACES }, (_, i) => `team-${i}`);
const realmNames = Array.from({ length: REALMS }, (_, i) => `realm-${i}`);
let uid = 0;
const meta = (name: string, namespace?: string) => ({
  name,
  ...(namespace === undefined ? {} : { namespace }),
  uid: `uid-${uid++}`,
  generation: 1,
  resourceVersion: "1",
});
const objects: { kind: string; [field: string]: unknown }[] = [
  ...[platform, ...appNamespaces].map((name) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: meta(name),
  })),
  {
    apiVersion: API_VERSION,
    kind: "KeycloakInstance",
    metadata: meta("main", platform),
    spec: {
      external: { url: "https://keycloak.invalid", adminCredentials: { secretRef: { name: "main-admin" } } },
      realmGrants: { namespaces: [platform] },
    },
  },
  ...realmNames.map((name) => ({
    apiVersion: API_VERSION,
    kind: "KeycloakRealm",
    metadata: meta(name, platform),
    spec: { instanceRef: { name: "main" }, realmName: name, clientGrants: { namespaces: appNamespaces } },
  })),
  ...Array.from({ length: CLIENTS }, (_, i) => ({
    apiVersion: API_VERSION,
    kind: "KeycloakClient",
    metadata: meta(`client-${i}`, appNamespaces[i % NAMESPACES]),
    spec: {
      realmRef: { name: realmNames[Math.floor(i / NAMESPACES) % REALMS]!, namespace: platform },
      clientId: `client-${i}`,
    },
  })),
];
const caches = cachesOf(objects);
const resources = objects.filter((o) => o.kind !== "Namespace").length;

const engine = await createPolicyEngine({ bundleDir: args.bundle, logger: pino({ level: "silent" }) });
const audit = new PolicyAudit({
  caches,
  policy: engine,
  resyncPeriodMs: 3_600_000,
  log: pino({ level: "silent" }),
});

const loop = monitorEventLoopDelay({ resolution: 1 });
const cpu0 = process.cpuUsage();
const t0 = performance.now();
loop.enable();
const pass = await audit.runNow(`the policy bundle changed (revision ${engine.revision})`);
loop.disable();
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
await audit.stop();
engine.close();
if (!pass) throw new Error("the audit pass failed (see the PolicyAudit error above)");

const cpuMs = (cpu.user + cpu.system) / 1000;
const stallMaxMs = loop.max / 1e6;
const stallP99Ms = loop.percentile(99) / 1e6;
const violating = pass.findings.filter((f) => (f.decision?.violations.length ?? 0) > 0).length;
const denied = pass.findings.filter((f) => f.decision && !f.decision.allowed).length;
const TARGET_STALL_MS = 2000;

const result = {
  commit: gitCommit(),
  startedAt: new Date(Date.now() - wallMs).toISOString(),
  node: process.version,
  machine: machine(),
  shape: { clients: CLIENTS, namespaces: NAMESPACES, realms: REALMS, instances: 1, resources },
  bundleRevision: pass.revision,
  findings: pass.findings.length,
  violating,
  denied,
  wallMs: Number(wallMs.toFixed(1)),
  cpuMs: Number(cpuMs.toFixed(1)),
  microsPerResource: Number(((wallMs * 1000) / resources).toFixed(1)),
  eventLoopStall: {
    maxMs: Number(stallMaxMs.toFixed(1)),
    p99Ms: Number(stallP99Ms.toFixed(1)),
    meanMs: Number((loop.mean / 1e6).toFixed(2)),
    resolutionMs: 1,
  },
  targetStallMs: TARGET_STALL_MS,
  targetMet: stallMaxMs <= TARGET_STALL_MS,
};
const out = writeResult("audit", result);

console.log(
  `policy audit, one pass as on a bundle change: ${resources} resources (${CLIENTS} clients over ${NAMESPACES} namespaces and ${REALMS} realms, the realms, 1 instance), bundle ${pass.revision}, no report writer`,
);
console.log(
  `node ${process.version}, ${result.machine.cpus} CPUs (${result.machine.cpuModel}), load average ${result.machine.loadavg.join(" ")}`,
);
console.log("");
console.log(
  "| resources | wall ms | CPU ms | µs/resource | loop stall max ms | loop stall p99 ms | violating | denied |",
);
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
console.log(
  `| ${fmt(resources)} | ${fmt(wallMs)} | ${fmt(cpuMs)} | ${fmt(result.microsPerResource, 1)} | ${fmt(stallMaxMs, 1)} | ${fmt(stallP99Ms, 1)} | ${fmt(violating)} | ${fmt(denied)} |`,
);
console.log("");
console.log(
  `longest event loop stall ${fmt(stallMaxMs, 1)} ms (target: not more than ${TARGET_STALL_MS} ms): ${result.targetMet ? "met" : "not met"}`,
);
console.error(`wrote ${path.relative(repoRoot, out)}`);
