// Builds policy bundles for tests with the pinned opa, into temporary directories, so tests never
// depend on (or disturb) build/policy/. The real policies are built once per test process.
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot, requireTool } from "../../src/testenv/tools.js";

/**
 * Runs `opa build -t wasm` on `sourceDir` and unpacks the bundle into a new directory, with the
 * source's data.schema.json beside data.json as scripts/policies.sh build ships it.
 */
export function buildBundle(
  sourceDir: string,
  opts: { entrypoint?: string; revision?: string } = {},
): string {
  const out = mkdtempSync(join(tmpdir(), "kpo-bundle-"));
  const tarball = join(out, "bundle.tar.gz");
  const args = ["build", "-t", "wasm", "-e", opts.entrypoint ?? "kpo/decision"];
  args.push("--capabilities", join(repoRoot, "policies/capabilities.json"));
  args.push("--ignore", "*_test.rego", "--ignore", "capabilities.json", "--ignore", "data.schema.json");
  if (opts.revision) args.push("--revision", opts.revision);
  execFileSync(requireTool("KPO_OPA"), [...args, sourceDir, "-o", tarball], { stdio: "pipe" });
  const dir = join(out, "bundle");
  mkdirSync(dir);
  execFileSync(
    "tar",
    ["-xzf", tarball, "-C", dir, "--no-same-owner", "/.manifest", "/data.json", "/policy.wasm"],
    {
      stdio: "pipe",
    },
  );
  const schema = join(sourceDir, "data.schema.json");
  if (existsSync(schema)) copyFileSync(schema, join(dir, "data.schema.json"));
  return dir;
}

let realBundle: string | undefined;

/** The repository's policies, built once per process. Copy it before changing anything in it. */
export function realPolicyBundle(): string {
  realBundle ??= buildBundle(join(repoRoot, "policies"), { revision: "test-revision" });
  return realBundle;
}

/** A fresh, writable copy of the real bundle. */
export function copyOfRealBundle(): string {
  const dir = mkdtempSync(join(tmpdir(), "kpo-bundle-copy-"));
  cpSync(realPolicyBundle(), dir, { recursive: true });
  return dir;
}

/** Builds a bundle from inline Rego (and optional data) for tests of malformed policies. */
export function bundleFromRego(rego: string, data: unknown = {}, entrypoint = "kpo/decision"): string {
  const src = mkdtempSync(join(tmpdir(), "kpo-rego-"));
  writeFileSync(join(src, "policy.rego"), rego);
  writeFileSync(join(src, "data.json"), JSON.stringify(data));
  return buildBundle(src, { entrypoint });
}
