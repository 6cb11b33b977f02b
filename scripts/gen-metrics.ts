// Writes docs/reference/metrics.md from the registered metrics (see scripts/metricsReference.ts).
import { writeFileSync } from "node:fs";
import path from "node:path";
import { metricsReference } from "./metricsReference.js";
import { repoRoot } from "../src/testenv/tools.js";

writeFileSync(path.join(repoRoot, "docs/reference/metrics.md"), metricsReference());
console.log("wrote docs/reference/metrics.md");
