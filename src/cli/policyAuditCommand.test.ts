import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { realPolicyBundle } from "../../test/unit/policyBundle.js";
import { EXIT_ALLOWED, EXIT_BAD_INPUT, EXIT_DENIED } from "./policyCommand.js";
import { runPolicyAudit, type PolicyAuditOptions } from "./policyAuditCommand.js";

/** An instance granting team, and two realms in team: one meets the production rules, one does not. */
const manifests = `
apiVersion: keycloak.kpo.dev/v1alpha1
kind: KeycloakInstance
metadata: { name: keycloak, namespace: iam }
spec:
  external: { url: https://kc.example.com, adminCredentials: { secretRef: { name: kc-admin } } }
  realmGrants: { namespaces: [team] }
---
apiVersion: v1
kind: Namespace
metadata: { name: team }
`;
const realms = `
apiVersion: keycloak.kpo.dev/v1alpha1
kind: KeycloakRealm
metadata: { name: strict, namespace: team }
spec:
  instanceRef: { name: keycloak, namespace: iam }
  realmName: strict
  sslRequired: external
  bruteForceProtection: { enabled: true }
  passwordPolicy: length(14) and notUsername
  events: { enabled: true, expirationSeconds: 2592000, adminEventsEnabled: true }
---
apiVersion: keycloak.kpo.dev/v1alpha1
kind: KeycloakRealm
metadata: { name: loose, namespace: team }
spec:
  instanceRef: { name: keycloak, namespace: iam }
  realmName: loose
  sslRequired: none
`;

let dir: string;
const dataFile = (mode: string): string => {
  const file = join(dir, `data-${mode}.yaml`);
  writeFileSync(file, `kpo:\n  enforcement: { production: ${mode} }\n  production: { namespaces: [team] }\n`);
  return file;
};

async function audit(opts: PolicyAuditOptions) {
  let stdout = "";
  let stderr = "";
  const code = await runPolicyAudit(
    { bundle: realPolicyBundle(), ...opts },
    { out: (t) => void (stdout += t), err: (t) => void (stderr += t) },
  );
  return { code, stdout, stderr };
}

beforeAll(() => {
  realPolicyBundle();
  dir = mkdtempSync(join(tmpdir(), "kpo-audit-"));
  mkdirSync(join(dir, "manifests/realms"), { recursive: true });
  writeFileSync(join(dir, "manifests/platform.yaml"), manifests);
  writeFileSync(join(dir, "manifests/realms/team.yaml"), realms);
  writeFileSync(join(dir, "manifests/README.md"), "not a manifest");
}, 60_000);

describe("kpo policy audit -f", () => {
  it("given a directory and the production policy in dryrun, when audited, then the loose realm's findings are listed as dryrun and it exits 0", async () => {
    const { code, stdout, stderr } = await audit({
      file: [join(dir, "manifests")],
      data: dataFile("dryrun"),
    });
    expect(stderr).toBe("");
    expect(code).toBe(EXIT_ALLOWED);
    expect(stdout).toMatch(/KeycloakRealm team\/loose\s+production\s+dryrun\s+dryrun\s+RealmSslNotRequired/);
    expect(stdout).toMatch(/KeycloakRealm team\/strict\s+-\s+-\s+pass/);
    expect(stdout).toMatch(/KeycloakInstance iam\/keycloak\s+-\s+-\s+pass/);
    expect(stdout).toContain("3 resource(s): 0 denied, 1 with findings, 0 skipped");
  });

  it("given the same policy enforced, when audited as JSON, then the loose realm is denied, the strict one allowed, and it exits 1", async () => {
    const { code, stdout } = await audit({
      file: [join(dir, "manifests/realms/team.yaml"), join(dir, "manifests/platform.yaml")],
      data: dataFile("enforce"),
      output: "json",
    });
    expect(code).toBe(EXIT_DENIED);
    const report = JSON.parse(stdout) as {
      revision: string;
      summary: { resources: number; denied: number };
      results: Array<{
        resource: string;
        operation: string;
        allowed: boolean;
        violations: { code: string }[];
      }>;
    };
    expect(report.revision).toMatch(/^test-revision\+data:/);
    expect(report.summary).toMatchObject({ resources: 3, denied: 1 });
    const byName = Object.fromEntries(report.results.map((r) => [r.resource, r]));
    expect(byName["KeycloakRealm team/loose"]).toMatchObject({ allowed: false, operation: "create" });
    expect(byName["KeycloakRealm team/loose"]?.violations.map((v) => v.code)).toContain(
      "RealmSslNotRequired",
    );
    expect(byName["KeycloakRealm team/strict"]).toMatchObject({ allowed: true, violations: [] });
  });

  it("given the same resource in two files, when audited, then the later document is audited once and stderr says so", async () => {
    const override = join(dir, "override.yaml");
    writeFileSync(override, realms.replace("sslRequired: none", "sslRequired: external"));
    const { code, stdout, stderr } = await audit({
      file: [join(dir, "manifests"), override],
      data: dataFile("enforce"),
    });
    expect(stderr).toContain(
      "KeycloakRealm team/loose appears in several documents; the last one is audited",
    );
    expect(stdout).not.toContain("RealmSslNotRequired");
    expect(stdout.match(/KeycloakRealm team\/strict/g)).toHaveLength(1);
    expect(code).toBe(EXIT_DENIED); // still no brute-force protection
  });

  it("given neither -f nor --cluster, or both, or a missing path, then it exits 2 saying what to give", async () => {
    expect((await audit({})).code).toBe(EXIT_BAD_INPUT);
    expect((await audit({ file: [dir], cluster: true })).stderr).toMatch(/either -f .* or --cluster/);
    const missing = await audit({ file: [join(dir, "nope")] });
    expect(missing.code).toBe(EXIT_BAD_INPUT);
    expect(missing.stderr).toMatch(/nope does not exist/);
  });
});
