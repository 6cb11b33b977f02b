import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { register } from "prom-client";
import { pino, type Logger } from "pino";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { bundleFromRego, copyOfRealBundle, realPolicyBundle } from "../../test/unit/policyBundle.js";
import { clientInput } from "../../test/unit/policyInputs.js";
import { createPolicyEngine, type PolicyEngine } from "./engine.js";

const engines: PolicyEngine[] = [];
async function engine(...args: Parameters<typeof createPolicyEngine>): Promise<PolicyEngine> {
  const e = await createPolicyEngine(...args);
  engines.push(e);
  return e;
}
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

async function counterValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = register.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value ?? 0;
}

function nextChange(e: PolicyEngine): Promise<string> {
  return new Promise((resolveChange) => {
    const off = e.onChange((revision) => {
      off();
      resolveChange(revision);
    });
  });
}

beforeAll(() => {
  realPolicyBundle();
}, 60_000);

describe("createPolicyEngine", () => {
  it("Given the built policies, when a granted client is created, then the decision allows it", async () => {
    const e = await engine({ bundleDir: realPolicyBundle() });
    expect(e.ready).toBe(true);
    expect(e.revision).toBe("test-revision");
    expect(e.decide(clientInput())).toEqual({ allowed: true, violations: [], warnings: [] });
  });

  it("Given the built policies, when a client comes from an ungranted namespace, then it is denied with the policy's message", async () => {
    const e = await engine({ bundleDir: realPolicyBundle() });
    const input = clientInput({ namespace: { name: "team-b", labels: {} } });
    input.resource.metadata.namespace = "team-b";
    const decision = e.decide(input);
    expect(decision.allowed).toBe(false);
    expect(decision.violations).toEqual([
      expect.objectContaining({
        policy: "authorization",
        code: "ClientNamespaceNotGranted",
        enforcement: "enforce",
      }),
    ]);
    expect(decision.violations[0]?.message).toContain("spec.clientGrants.namespaces");
  });

  it("Given a decision, when it is made, then decision and violation counters and the latency histogram move", async () => {
    const e = await engine({ bundleDir: realPolicyBundle() });
    const denyBefore = await counterValue("kpo_policy_decisions_total", { policy: "all", result: "deny" });
    const violationBefore = await counterValue("kpo_policy_decisions_total", {
      policy: "quota",
      result: "violation",
      enforcement: "enforce",
    });
    e.decide(clientInput({ counts: { clientsInNamespace: 10_000 } }));
    expect(await counterValue("kpo_policy_decisions_total", { policy: "all", result: "deny" })).toBe(
      denyBefore + 1,
    );
    expect(
      await counterValue("kpo_policy_decisions_total", {
        policy: "quota",
        result: "violation",
        enforcement: "enforce",
      }),
    ).toBe(violationBefore + 1);
    const histogram = await register.getSingleMetric("kpo_policy_evaluation_seconds")?.get();
    expect(
      histogram?.values.find(
        (v) => (v as { metricName?: string }).metricName === "kpo_policy_evaluation_seconds_count",
      )?.value,
    ).toBeGreaterThan(0);
    const info = await register.getSingleMetric("kpo_policy_bundle_info")?.get();
    expect(info?.values).toEqual([
      expect.objectContaining({ labels: { revision: "test-revision" }, value: 1 }),
    ]);
  });

  it("Given a directory without a bundle, when the engine is created, then it rejects saying what is missing", async () => {
    const empty = mkdtempSync(join(tmpdir(), "kpo-empty-"));
    await expect(createPolicyEngine({ bundleDir: empty })).rejects.toThrow(
      /\.manifest, data\.json, policy\.wasm are missing.*scripts\/policies\.sh build/,
    );
  });

  it("Given a bundle whose entrypoint returns no Decision, when the engine is created, then the bundle is refused", async () => {
    const bad = bundleFromRego('package kpo\n\ndecision := {"allowed": "yes"}\n');
    await expect(createPolicyEngine({ bundleDir: bad })).rejects.toThrow(/result\.allowed is not a boolean/);
  });

  it("Given a bundle built for another entrypoint, when the engine is created, then the bundle is refused", async () => {
    const other = bundleFromRego("package other\n\nx := 1\n", {}, "other/x");
    await expect(createPolicyEngine({ bundleDir: other })).rejects.toThrow(
      /does not declare the wasm entrypoint kpo\/decision/,
    );
  });

  it("Given a policy that fails at evaluation time, when deciding, then the decision denies instead of throwing", async () => {
    const rego = [
      "package kpo",
      "",
      'decision := {"allowed": true, "violations": [], "warnings": []} if input.kind != "KeycloakInstance"',
      "",
      'decision := {"allowed": true, "violations": [], "warnings": ["a"]} if input.kind == "KeycloakInstance"',
      "",
      'decision := {"allowed": true, "violations": [], "warnings": ["b"]} if input.kind == "KeycloakInstance"',
      "",
    ].join("\n");
    const e = await engine({ bundleDir: bundleFromRego(rego) });
    const decision = e.decide(clientInput({ kind: "KeycloakInstance" }));
    expect(decision.allowed).toBe(false);
    expect(decision.violations[0]).toMatchObject({
      policy: "engine",
      code: "PolicyEvaluationFailed",
      enforcement: "enforce",
    });
  });
});

describe("PolicyEngine hot reload", () => {
  it("Given a serving engine, when the bundle is replaced by a corrupt one, then it is refused and the old bundle keeps answering", async () => {
    const dir = copyOfRealBundle();
    const e = await engine({ bundleDir: dir });
    const failuresBefore = await counterValue("kpo_policy_bundle_loads_total", { result: "failure" });
    const changes: string[] = [];
    e.onChange((r) => changes.push(r));

    writeFileSync(join(dir, "policy.wasm"), Buffer.from("not a wasm module"));
    expect(await e.reload()).toBe(false);

    expect(e.revision).toBe("test-revision");
    expect(e.ready).toBe(true);
    expect(changes).toEqual([]);
    expect(e.decide(clientInput()).allowed).toBe(true);
    expect(e.decide(clientInput({ counts: { clientsInNamespace: 10_000 } })).allowed).toBe(false);
    expect(await counterValue("kpo_policy_bundle_loads_total", { result: "failure" })).toBe(
      failuresBefore + 1,
    );
  });

  it("Given a serving engine, when the bundle's data.json is broken JSON, then it is refused and the old one keeps answering", async () => {
    const dir = copyOfRealBundle();
    const e = await engine({ bundleDir: dir });
    writeFileSync(join(dir, "data.json"), "{ not json");
    expect(await e.reload()).toBe(false);
    expect(e.decide(clientInput()).allowed).toBe(true);
  });

  it("Given a data override file, when it lowers a quota, then the decision changes without a rebuild", async () => {
    const dir = copyOfRealBundle();
    const overrideDir = mkdtempSync(join(tmpdir(), "kpo-override-"));
    const overrideFile = join(overrideDir, "override.yaml");
    writeFileSync(overrideFile, "kpo:\n  quota:\n    namespaces: {}\n");
    const e = await engine({ bundleDir: dir, dataOverrideFile: overrideFile });
    const input = clientInput({ counts: { clientsInNamespace: 1, clientsInRealm: 0 } });
    expect(e.decide(input).allowed).toBe(true);
    const before = e.revision;
    expect(before).toMatch(/^test-revision\+data:[0-9a-f]{16}$/);

    writeFileSync(
      overrideFile,
      "kpo:\n  quota:\n    namespaces:\n      team-a:\n        maxClientsPerNamespace: 1\n",
    );
    const changed = nextChange(e);
    expect(await e.reload()).toBe(true);
    expect(await changed).toBe(e.revision);
    expect(e.revision).not.toBe(before);

    const decision = e.decide(input);
    expect(decision.allowed).toBe(false);
    expect(decision.violations.map((v) => v.code)).toEqual(["NamespaceClientQuotaExceeded"]);
    expect(decision.violations[0]?.message).toContain(
      'data.kpo.quota.namespaces["team-a"].maxClientsPerNamespace',
    );
  });

  it("Given an override that switches quota to warn mode, when deciding over quota, then it is allowed with a warning", async () => {
    const overrideDir = mkdtempSync(join(tmpdir(), "kpo-override-"));
    const overrideFile = join(overrideDir, "override.json");
    writeFileSync(overrideFile, JSON.stringify({ kpo: { enforcement: { quota: "warn" } } }));
    const e = await engine({ bundleDir: realPolicyBundle(), dataOverrideFile: overrideFile });
    const decision = e.decide(clientInput({ counts: { clientsInNamespace: 10_000 } }));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings).toHaveLength(1);
    expect(decision.warnings[0]).toContain("may have at most 20");
  });

  it("Given a serving engine with an override, when the override becomes invalid YAML, then it is refused and the old data stays", async () => {
    const overrideDir = mkdtempSync(join(tmpdir(), "kpo-override-"));
    const overrideFile = join(overrideDir, "override.yaml");
    writeFileSync(overrideFile, "kpo:\n  enforcement:\n    quota: warn\n");
    const e = await engine({ bundleDir: realPolicyBundle(), dataOverrideFile: overrideFile });
    const before = e.revision;
    writeFileSync(overrideFile, "kpo: [unclosed\n");
    expect(await e.reload()).toBe(false);
    expect(e.revision).toBe(before);
    expect(e.decide(clientInput({ counts: { clientsInNamespace: 10_000 } })).allowed).toBe(true);
  });

  it("Given an unchanged bundle, when reloading, then nothing is swapped and no listener is called", async () => {
    const e = await engine({ bundleDir: realPolicyBundle() });
    const changes: string[] = [];
    e.onChange((r) => changes.push(r));
    expect(await e.reload()).toBe(false);
    expect(changes).toEqual([]);
  });

  it("Given a watched ConfigMap-style mount, when kubelet swaps the ..data symlink, then the new bundle is swapped in", async () => {
    // The layout kubelet writes: files are symlinks through ..data to a timestamped directory.
    const mount = mkdtempSync(join(tmpdir(), "kpo-configmap-"));
    const v1 = join(mount, "..2026_01_01_00_00_00.000000001");
    mkdirSync(v1);
    for (const f of [".manifest", "data.json", "policy.wasm"]) {
      writeFileSync(join(v1, f), readFileSync(join(realPolicyBundle(), f)));
      symlinkSync(join("..data", f), join(mount, f));
    }
    symlinkSync("..2026_01_01_00_00_00.000000001", join(mount, "..data"));
    const e = await engine({ bundleDir: mount, watch: true, debounceMs: 20, pollIntervalMs: 0 });
    expect(e.decide(clientInput({ counts: { clientsInNamespace: 5 } })).allowed).toBe(true);

    const v2 = join(mount, "..2026_01_01_00_01_00.000000002");
    mkdirSync(v2);
    const data = JSON.parse(readFileSync(join(v1, "data.json"), "utf8")) as {
      kpo: { quota: { defaults: { maxClientsPerNamespace: number } } };
    };
    data.kpo.quota.defaults.maxClientsPerNamespace = 5;
    writeFileSync(join(v2, "data.json"), JSON.stringify(data));
    writeFileSync(
      join(v2, ".manifest"),
      readFileSync(join(v1, ".manifest"), "utf8").replace("test-revision", "rev-2"),
    );
    writeFileSync(join(v2, "policy.wasm"), readFileSync(join(v1, "policy.wasm")));
    const changed = nextChange(e);
    symlinkSync("..2026_01_01_00_01_00.000000002", join(mount, "..data_tmp"));
    renameSync(join(mount, "..data_tmp"), join(mount, "..data"));
    rmSync(v1, { recursive: true });

    expect(await changed).toBe("rev-2");
    expect(e.decide(clientInput({ counts: { clientsInNamespace: 5 } })).allowed).toBe(false);
  });
});

describe("PolicyEngine refusals", () => {
  it("Given a refused bundle, when re-checked without change, then it is not counted again; when fixed, it is swapped in", async () => {
    const dir = copyOfRealBundle();
    const e = await engine({ bundleDir: dir });
    const goodWasm = readFileSync(join(dir, "policy.wasm"));
    writeFileSync(join(dir, "policy.wasm"), Buffer.from("broken"));
    const failuresBefore = await counterValue("kpo_policy_bundle_loads_total", { result: "failure" });
    expect(await e.reload()).toBe(false);
    expect(await e.reload()).toBe(false);
    expect(await counterValue("kpo_policy_bundle_loads_total", { result: "failure" })).toBe(
      failuresBefore + 1,
    );

    writeFileSync(join(dir, "policy.wasm"), goodWasm);
    writeFileSync(
      join(dir, ".manifest"),
      readFileSync(join(dir, ".manifest"), "utf8").replace("test-revision", "fixed"),
    );
    expect(await e.reload()).toBe(true);
    expect(e.revision).toBe("fixed");
  });

  it("Given a bundle that cannot even be read, when re-checked without change, then it is counted once", async () => {
    const dir = copyOfRealBundle();
    const e = await engine({ bundleDir: dir });
    const data = readFileSync(join(dir, "data.json"));
    writeFileSync(join(dir, "data.json"), "{ not json");
    const failuresBefore = await counterValue("kpo_policy_bundle_loads_total", { result: "failure" });
    expect(await e.reload()).toBe(false);
    expect(await e.reload()).toBe(false);
    expect(await counterValue("kpo_policy_bundle_loads_total", { result: "failure" })).toBe(
      failuresBefore + 1,
    );

    writeFileSync(join(dir, "data.json"), data);
    writeFileSync(
      join(dir, ".manifest"),
      readFileSync(join(dir, ".manifest"), "utf8").replace("test-revision", "readable"),
    );
    expect(await e.reload()).toBe(true);
    expect(e.revision).toBe("readable");
  });
});

describe("PolicyEngine data schema", () => {
  const quotaAsString = 'kpo:\n  quota:\n    defaults:\n      maxClientsPerRealm: "0"\n';
  const message = 'kpo.quota.defaults.maxClientsPerRealm must be integer, got string "0"';

  function overrideFile(content: string): string {
    const file = join(mkdtempSync(join(tmpdir(), "kpo-override-")), "override.yaml");
    writeFileSync(file, content);
    return file;
  }

  function capturingLogger(): { logger: Logger; lines: Array<{ level: number; msg: string }> } {
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: "info" }, { write: (l: string) => lines.push(JSON.parse(l) as never) });
    return { logger, lines };
  }

  it("Given the built data and a valid override, when the engine is created, then it loads", async () => {
    const e = await engine({
      bundleDir: realPolicyBundle(),
      dataOverrideFile: overrideFile("kpo:\n  enforcement:\n    quota: warn\n"),
    });
    expect(e.revision).toMatch(/^test-revision\+data:/);
  });

  it('Given an override with a quota written as the string "0", when the engine starts, then it refuses naming the field and what is expected', async () => {
    const file = overrideFile(quotaAsString);
    const failuresBefore = await counterValue("kpo_policy_bundle_loads_total", { result: "failure" });
    await expect(
      createPolicyEngine({ bundleDir: realPolicyBundle(), dataOverrideFile: file }),
    ).rejects.toThrow(
      `data override ${file} does not match the bundle's data.schema.json: ${message}. Fix the data`,
    );
    expect(await counterValue("kpo_policy_bundle_loads_total", { result: "failure" })).toBe(
      failuresBefore + 1,
    );
  });

  it('Given a serving engine, when its override changes a quota to the string "0", then it is refused, logged with the field, counted, and the last good data keeps serving', async () => {
    const file = overrideFile("kpo:\n  enforcement:\n    quota: warn\n");
    const { logger, lines } = capturingLogger();
    const e = await engine({ bundleDir: realPolicyBundle(), dataOverrideFile: file, logger });
    const before = e.revision;
    const overQuota = clientInput({ counts: { clientsInNamespace: 10_000 } });
    expect(e.decide(overQuota).allowed).toBe(true); // quota in warn mode
    const failuresBefore = await counterValue("kpo_policy_bundle_loads_total", { result: "failure" });

    writeFileSync(
      file,
      `kpo:\n  enforcement:\n    quota: enforce\n  quota:\n    defaults:\n      maxClientsPerRealm: "0"\n`,
    );
    expect(await e.reload()).toBe(false);

    expect(e.revision).toBe(before);
    expect(e.decide(overQuota).allowed).toBe(true); // still the old data: warn mode
    expect(await counterValue("kpo_policy_bundle_loads_total", { result: "failure" })).toBe(
      failuresBefore + 1,
    );
    const refusal = lines.find((l) => l.level === 50);
    expect(refusal?.msg).toContain(`policy bundle refused (data override ${file} does not match`);
    expect(refusal?.msg).toContain(message);
    expect(refusal?.msg).toContain(`revision ${before} keeps serving`);
  });

  it("Given a bundle whose own data.json has a wrong type, when the engine starts, then data.json is refused", async () => {
    const dir = copyOfRealBundle();
    const data = JSON.parse(readFileSync(join(dir, "data.json"), "utf8")) as {
      kpo: { production: { minReplicas: unknown } };
    };
    data.kpo.production.minReplicas = "2";
    writeFileSync(join(dir, "data.json"), JSON.stringify(data));
    await expect(createPolicyEngine({ bundleDir: dir })).rejects.toThrow(
      /data\.json does not match the bundle's data\.schema\.json: kpo\.production\.minReplicas must be integer, got string "2"/,
    );
  });

  it("Given a bundle that carries its own data.schema.json, when it loads, then that schema is the one applied", async () => {
    const dir = copyOfRealBundle();
    const schema = JSON.parse(readFileSync(join(dir, "data.schema.json"), "utf8")) as {
      $defs: { limit: { maximum?: number } };
    };
    schema.$defs.limit.maximum = 10;
    writeFileSync(join(dir, "data.schema.json"), JSON.stringify(schema));
    await expect(createPolicyEngine({ bundleDir: dir })).rejects.toThrow(
      /data\.json does not match the bundle's data\.schema\.json: .*kpo\.quota\.defaults\.maxClientsPerRealm must be <= 10, got integer 100/,
    );
  });

  it("Given a bundle without data.schema.json, when its data is wrong, then the schema of this repository's policies applies", async () => {
    const dir = copyOfRealBundle();
    rmSync(join(dir, "data.schema.json"));
    await expect(
      createPolicyEngine({ bundleDir: dir, dataOverrideFile: overrideFile(quotaAsString) }),
    ).rejects.toThrow(`does not match the policy data schema (policies/data.schema.json): ${message}`);
  });
});
