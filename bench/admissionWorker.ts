// bench/admission.ts's load generator on its own thread: runs the plan it is given and posts back
// the results (see bench/admissionLoad.ts).
import { parentPort, workerData } from "node:worker_threads";
import { runLoad, type LoadPlan } from "./admissionLoad.js";

const port = parentPort;
if (!port) throw new Error("bench/admissionWorker.ts runs as a worker thread of bench/admission.ts");
port.postMessage(await runLoad(workerData as LoadPlan));
