// One in-process engine on its own thread, for bench/policy.ts's all-cores row: it loads the bundle,
// warms up, reports ready, makes `iterations` timed decisions on "go", and sends back the latencies.
import { parentPort, workerData } from "node:worker_threads";
import { pino } from "pino";
import { createPolicyEngine } from "../src/policy/engine.js";
import { input } from "./policyFixtures.js";

const { bundleDir, iterations } = workerData as { bundleDir: string; iterations: number };
const port = parentPort;
if (!port) throw new Error("bench/policyWorker.ts runs as a worker thread of bench/policy.ts");

const engine = await createPolicyEngine({ bundleDir, logger: pino({ level: "silent" }) });
for (let i = 0; i < 2_000; i++) engine.decide(input);
port.once("message", () => {
  const latencies = new Float64Array(iterations);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    engine.decide(input);
    latencies[i] = Number(process.hrtime.bigint() - t0);
  }
  const wallNs = Number(process.hrtime.bigint() - start);
  engine.close();
  port.postMessage({ latencies, wallNs }, [latencies.buffer]);
});
port.postMessage("ready");
