// Makes `count` decisions on the benchmark input and exits: the process bench/policyInstructions.ts
// runs under valgrind to count instructions.
//
//   node --import tsx bench/policyLoop.ts <bundleDir> <count>
import { pino } from "pino";
import { createPolicyEngine } from "../src/policy/engine.js";
import { input } from "./policyFixtures.js";

const [bundleDir, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (!bundleDir || !Number.isInteger(count) || count < 1) {
  console.error("usage: node --import tsx bench/policyLoop.ts <bundleDir> <count>");
  process.exit(2);
}
const engine = await createPolicyEngine({ bundleDir, logger: pino({ level: "silent" }) });
let allowed = 0;
for (let i = 0; i < count; i++) if (engine.decide(input).allowed) allowed++;
engine.close();
console.log(`${allowed}/${count} allowed`);
