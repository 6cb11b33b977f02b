import { execFile } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../testenv/tools.js";
import { realPolicyBundle } from "../../test/unit/policyBundle.js";
import type { PolicyInput } from "../policy/decision.js";
import {
  EXIT_ALLOWED,
  EXIT_BAD_INPUT,
  EXIT_DENIED,
  runPolicyEval,
  type PolicyEvalOptions,
} from "./policyCommand.js";

const fixture = (name: string): string => join(repoRoot, "test/fixtures/policy", name);

async function evalCli(opts: Omit<PolicyEvalOptions, "bundle"> & { bundle?: string }) {
  let stdout = "";
  let stderr = "";
  const code = await runPolicyEval(
    { bundle: realPolicyBundle(), ...opts },
    { out: (t) => void (stdout += t), err: (t) => void (stderr += t) },
  );
  return { code, stdout, stderr };
}

interface JsonReport {
  allowed: boolean;
  violations: { code: string; policy: string; enforcement: string }[];
  warnings: string[];
}

beforeAll(() => {
  realPolicyBundle();
}, 60_000);

describe("kpo policy eval", () => {
  it("Given a client in a granted namespace, when evaluated, then it prints ALLOWED and exits 0", async () => {
    const { code, stdout, stderr } = await evalCli({ file: fixture("client-allowed.yaml") });
    expect(stderr).toBe("");
    expect(code).toBe(EXIT_ALLOWED);
    expect(stdout).toContain("KeycloakClient team-b/web (create): ALLOWED");
    expect(stdout).toContain("No violations.");
  });

  it("Given a non-compliant client in a production namespace, when evaluated, then it lists each violation and exits 1", async () => {
    const { code, stdout } = await evalCli({
      file: fixture("client-denied.yaml"),
      namespaceLabels: ["kpo.dev/environment=production"],
    });
    expect(code).toBe(EXIT_DENIED);
    expect(stdout).toContain("KeycloakClient team-b/spa (create): DENIED");
    for (const c of [
      "ClientRedirectUriWildcard",
      "CrossNamespaceSecretRef",
      "PrivilegedRole",
      "PublicClientWithoutPkce",
    ]) {
      expect(stdout).toContain(c);
    }
    expect(stdout).toMatch(/POLICY\s+ENFORCEMENT\s+CODE/);
  });

  it("Given a realm and its instance in a --target file, when evaluated as JSON, then the decision is machine-readable", async () => {
    const { code, stdout } = await evalCli({
      file: fixture("realm-denied.yaml"),
      target: [fixture("instance.yaml")],
      output: "json",
    });
    expect(code).toBe(EXIT_DENIED);
    const report = JSON.parse(stdout) as JsonReport;
    expect(report.allowed).toBe(false);
    expect(new Set(report.violations.map((v) => v.code))).toEqual(
      new Set([
        "RealmNamespaceNotGranted",
        "RealmSslNotRequired",
        "RealmBruteForceProtectionDisabled",
        "RealmPasswordTooShort",
        "RealmEventsDisabled",
      ]),
    );
  });

  it("Given a compliant production realm on an instance that grants its namespace, when evaluated, then it exits 0", async () => {
    const { code, stdout } = await evalCli({
      file: fixture("realm-allowed.yaml"),
      target: [fixture("instance.yaml")],
    });
    expect(stdout).toContain("ALLOWED");
    expect(code).toBe(EXIT_ALLOWED);
  });

  it("Given the realm's instance is not supplied, when evaluated, then it is denied because the grant cannot be checked", async () => {
    const { code, stdout } = await evalCli({ file: fixture("realm-allowed.yaml"), output: "json" });
    expect(code).toBe(EXIT_DENIED);
    expect((JSON.parse(stdout) as JsonReport).violations.map((v) => v.code)).toEqual(["InstanceNotFound"]);
  });

  it("Given counts over the default quota, when a data override raises it, then the same client is allowed", async () => {
    const counts = ["clientsInNamespace=30"];
    const without = await evalCli({ file: fixture("client-allowed.yaml"), counts, output: "json" });
    expect(without.code).toBe(EXIT_DENIED);
    expect((JSON.parse(without.stdout) as JsonReport).violations.map((v) => v.code)).toEqual([
      "NamespaceClientQuotaExceeded",
    ]);
    const withOverride = await evalCli({
      file: fixture("client-allowed.yaml"),
      counts,
      data: fixture("quota-override.yaml"),
    });
    expect(withOverride.code).toBe(EXIT_ALLOWED);
  });

  it("Given the managed example, when evaluated without and with its policy data, then its image is refused by default and admitted by the override", async () => {
    const example = (name: string) => join(repoRoot, "examples/managed", name);
    const opts = { file: example("02-instance.yaml"), target: [example("00-namespace.yaml")] };
    const without = await evalCli({ ...opts, output: "json" });
    expect(without.code).toBe(EXIT_DENIED);
    expect((JSON.parse(without.stdout) as JsonReport).violations.map((v) => v.code)).toEqual([
      "InstanceImageNotAllowed",
    ]);
    const withData = await evalCli({ ...opts, data: example("policy-data.json") });
    expect(withData.stdout).toContain("KeycloakInstance identity/main (create): ALLOWED");
    expect(withData.code).toBe(EXIT_ALLOWED);
  });

  it("Given an override that sets production to warn, when a bad client is evaluated, then only warnings remain for production", async () => {
    const { code, stdout } = await evalCli({
      file: fixture("client-denied.yaml"),
      namespaceLabels: ["kpo.dev/environment=production"],
      data: fixture("quota-override.yaml"),
      output: "json",
    });
    const report = JSON.parse(stdout) as JsonReport;
    expect(
      report.violations.filter((v) => v.policy === "production").every((v) => v.enforcement === "warn"),
    ).toBe(true);
    expect(report.warnings).toHaveLength(2);
    expect(code).toBe(EXIT_DENIED); // authorization findings stay enforced
  });

  it("Given --print-input, when run, then it prints the gathered input with the Namespace document's labels and flags merged", async () => {
    const { code, stdout } = await evalCli({
      file: fixture("realm-allowed.yaml"),
      target: [fixture("instance.yaml")],
      namespaceAnnotations: ["kpo.dev/max-realms-per-namespace=3"],
      counts: ["realmsInNamespace=2"],
      printInput: true,
    });
    expect(code).toBe(EXIT_ALLOWED);
    const input = JSON.parse(stdout) as PolicyInput;
    expect(input.namespace).toEqual({
      name: "team-a",
      labels: { "kpo.dev/environment": "production" },
      annotations: { "kpo.dev/max-realms-per-namespace": "3" },
    });
    expect(input.target.instance?.metadata).toEqual({ name: "keycloak", namespace: "iam" });
    expect(input.counts).toEqual({ realmsInNamespace: 2 });
    // The engine's derived fact is shown too: the realm's instanceRef names a namespace.
    expect(input.namespaceRefs).toEqual([{ path: ["instanceRef"], namespace: "iam" }]);
  });

  it.each([
    [{ file: fixture("missing.yaml") }, /cannot read .*missing\.yaml/],
    [
      { file: fixture("quota-override.yaml") },
      /first document is a undefined; it must be one of KeycloakInstance/,
    ],
    [{ file: fixture("client-allowed.yaml"), counts: ["widgets=1"] }, /unknown count "widgets"/],
    [{ file: fixture("client-allowed.yaml"), counts: ["clientsInRealm=-1"] }, /not a non-negative integer/],
    [{ file: fixture("client-allowed.yaml"), namespaceLabels: ["novalue"] }, /"novalue" is not key=value/],
    [
      { file: fixture("client-allowed.yaml"), bundle: "/nonexistent/bundle" },
      /no policy bundle at \/nonexistent\/bundle/,
    ],
    [
      { file: fixture("client-allowed.yaml"), data: fixture("missing-override.yaml") },
      /data override .* cannot be read/,
    ],
    [
      { file: fixture("client-allowed.yaml"), data: fixture("quota-as-string.yaml") },
      /data override .*quota-as-string\.yaml does not match .*: kpo\.quota\.defaults\.maxClientsPerRealm must be integer, got string "0"/,
    ],
  ])(
    "Given bad input %j, when evaluated, then it explains the problem and exits 2",
    async (opts, message) => {
      const { code, stderr, stdout } = await evalCli(opts);
      expect(code).toBe(EXIT_BAD_INPUT);
      expect(stdout).toBe("");
      expect(stderr).toMatch(message);
    },
  );

  it("Given the kpo binary, when run on allowed, denied and unreadable input, then its exit codes are 0, 1 and 2", async () => {
    const run = (...args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolveRun, reject) => {
        // Each start compiles the CLI with tsx; the three run side by side.
        execFile(
          process.execPath,
          ["--import", "tsx", join(repoRoot, "src/cli.ts"), "policy", "eval", ...args],
          { cwd: repoRoot, env: { ...process.env, KPO_POLICY_BUNDLE: realPolicyBundle() }, encoding: "utf8" },
          (err, stdout, stderr) => {
            if (err && typeof err.code !== "number") reject(new Error(`kpo did not run: ${err.message}`));
            else resolveRun({ status: err ? (err.code as number) : 0, stdout, stderr });
          },
        );
      });
    const [allowed, denied, bad] = await Promise.all([
      run("-f", fixture("client-allowed.yaml")),
      run("-f", fixture("client-denied.yaml"), "--namespace-labels", "kpo.dev/environment=production"),
      run("-f", fixture("nope.yaml")),
    ]);
    expect(allowed.stdout).toContain("ALLOWED");
    expect(allowed.status).toBe(0);
    expect(denied.stdout).toContain("DENIED");
    expect(denied.status).toBe(1);
    expect(bad.stderr).toContain("cannot read");
    expect(bad.status).toBe(2);
  }, 120_000);
});
