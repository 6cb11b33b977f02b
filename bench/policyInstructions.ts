// Instructions per policy decision, counted by valgrind: a figure a busy or shared machine does not
// move, unlike time. Use it to compare two versions of the policies or of the engine.
//
//   npm run bench:policy:instructions       (needs valgrind: apt-get install valgrind)
//   npx tsx bench/policyInstructions.ts [--bundle build/policy/bundle] [--repeat 3]
//
// Each count is the difference between a process making `long` decisions and one making `short`, so
// start-up, loading and JIT warm-up cancel out; the median of `repeat` pairs is reported because
// garbage collection makes single pairs vary by a few percent.
import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { repoRoot } from "../src/testenv/tools.js";
import { buildFloorBundle } from "./policyFixtures.js";

const run = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    bundle: { type: "string", default: join(repoRoot, "build/policy/bundle") },
    repeat: { type: "string", default: "3" },
    short: { type: "string", default: "1000" },
    long: { type: "string", default: "8000" },
  },
});
const repeat = Number(args.repeat);
const short = Number(args.short);
const long = Number(args.long);

try {
  execFileSync("valgrind", ["--version"], { stdio: "pipe" });
} catch {
  console.error("valgrind is not installed: apt-get install valgrind");
  process.exit(2);
}

/** Instructions executed by a process making `count` decisions. */
async function instructions(bundleDir: string, count: number): Promise<number> {
  const { stderr } = await run(
    "valgrind",
    [
      "--tool=cachegrind",
      "--cache-sim=no",
      "--cachegrind-out-file=/dev/null",
      "--smc-check=all-non-file", // V8 writes machine code at run time
      "node",
      "--single-threaded", // no background GC or compiler threads: fewer instructions that vary by run
      "--import",
      "tsx",
      join(repoRoot, "bench/policyLoop.ts"),
      bundleDir,
      String(count),
    ],
    { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 },
  );
  const refs = /I\s+refs:\s+([\d,]+)/.exec(stderr)?.[1];
  if (!refs) throw new Error(`no instruction count in valgrind's output:\n${stderr.slice(-2000)}`);
  return Number(refs.replaceAll(",", ""));
}

async function perDecision(bundleDir: string): Promise<{ median: number; samples: number[] }> {
  const samples: number[] = [];
  for (let i = 0; i < repeat; i++) {
    // Two processes at once: one per core on the development machine.
    const [a, b] = await Promise.all([instructions(bundleDir, short), instructions(bundleDir, long)]);
    samples.push(Math.round((b - a) / (long - short)));
  }
  const sorted = [...samples].sort((x, y) => x - y);
  return { median: sorted[Math.floor(sorted.length / 2)]!, samples };
}

const fmt = (n: number): string => n.toLocaleString("en-US");
const policies = await perDecision(args.bundle);
const floor = await perDecision(buildFloorBundle());
console.log(`instructions per engine.decide() on the benchmark input (median of ${repeat}; samples):`);
console.log(`| bundle | instructions/decision | samples |`);
console.log(`|---|---:|---|`);
console.log(`| ${args.bundle} | ${fmt(policies.median)} | ${policies.samples.map(fmt).join(", ")} |`);
console.log(
  `| floor (a policy that only reads input.kind) | ${fmt(floor.median)} | ${floor.samples.map(fmt).join(", ")} |`,
);
console.log(`the policies' own share: ${fmt(policies.median - floor.median)} instructions per decision`);
