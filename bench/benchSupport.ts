// Helpers shared by the benchmarks: their options, the policy bundle they need, the commit a result
// was measured on, the machine it ran on, percentiles, and writing bench/results/<name>.json.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { repoRoot } from "../src/testenv/tools.js";

/** A command-line option that must be a positive number (`integer`: a positive whole number). */
export function positiveOption(name: string, value: string | undefined, integer = true): number {
  const n = Number(value);
  if (!(integer ? Number.isInteger(n) : Number.isFinite(n)) || n <= 0)
    throw new Error(`--${name} must be a positive ${integer ? "integer" : "number"}, got "${value}"`);
  return n;
}

/** Refuses to start without a built policy bundle in `dir`. */
export function requirePolicyBundle(dir: string, hint = ""): void {
  if (!existsSync(path.join(dir, "policy.wasm")))
    throw new Error(`no policy bundle in ${dir}: run \`bash scripts/policies.sh build\`${hint}`);
}

/** HEAD, with "-dirty" when tracked files differ from it. */
export function gitCommit(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd: repoRoot,
      encoding: "utf8",
    }).trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return "unknown";
  }
}

export function machine(): { cpus: number; cpuModel: string; loadavg: number[] } {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    loadavg: loadavg().map((l) => Number(l.toFixed(2))),
  };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Writes bench/results/<name>.json and returns its path. */
export function writeResult(name: string, result: unknown): string {
  const dir = path.join(repoRoot, "bench/results");
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `${name}.json`);
  writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  return out;
}

export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits }) : "n/a";
