// The policy audit in a running operator against the real kube-apiserver and Keycloak: resources
// Ready under the shipped policies have PolicyReports that pass them; the production policy then
// switched to dryrun and made to cover their namespace by the data override (hot-reloaded) gives
// `fail` results naming them while they stay Ready and Keycloak sees no write; a deleted resource's
// results go; and passes over an unchanged world write no PolicyReport.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runPolicyAudit } from "../../src/cli/policyAuditCommand.js";
import { waitForEstablished } from "../../src/kube/crdInstall.js";
import { repoRoot } from "../../src/testenv/tools.js";
import type { PolicyReport } from "../../src/policy/reports.js";
import {
  createInstance,
  createNamespace,
  group,
  installCrds,
  keycloakTraffic,
  kubeConfig,
  metricSum,
  Resources,
  startOperatorProcess,
  version,
  waitFor,
  type OperatorProcess,
} from "./support.js";

const REALMS = "keycloakrealms";
const CLIENTS = "keycloakclients";
const INSTANCES = "keycloakinstances";
const REPORT = { group: "wgpolicyk8s.io", version: "v1alpha2" };
const crdDir = path.join(repoRoot, "charts/keycloak-policy-operator/files/policyreports");

/** The PolicyReport CRDs as the chart ships them (policyReports.enabled). */
async function installPolicyReportCrds(kc: k8s.KubeConfig): Promise<void> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const names: string[] = [];
  for (const file of readdirSync(crdDir)) {
    const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(path.join(crdDir, file), "utf8"));
    try {
      await ext.createCustomResourceDefinition({ body: crd });
    } catch (err) {
      if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
    }
    names.push(crd.metadata?.name ?? "");
  }
  await waitForEstablished(kc, names);
}

describe("PolicyReports and the policy audit", () => {
  let kc: k8s.KubeConfig;
  let resources: Resources;
  let reports: k8s.CustomObjectsApi;
  let operator: OperatorProcess;
  let platform: string;
  let team: string;
  let dataDir: string;
  const suffix = randomUUID().slice(0, 6);

  const dataFile = () => path.join(dataDir, "data.yaml");
  const report = async (): Promise<PolicyReport | undefined> => {
    try {
      return (await reports.getNamespacedCustomObject({
        ...REPORT,
        namespace: team,
        plural: "policyreports",
        name: "kpo-policy",
      })) as PolicyReport;
    } catch (err) {
      if (err instanceof k8s.ApiException && err.code === 404) return undefined;
      throw err;
    }
  };
  const clusterReport = async () =>
    (await reports.getClusterCustomObject({
      ...REPORT,
      plural: "clusterpolicyreports",
      name: "kpo-policy",
    })) as PolicyReport;
  const resultsFor = (r: PolicyReport | undefined, name: string) =>
    (r?.results ?? []).filter((x) => x.resources.some((res) => res.name === name && res.namespace === team));
  const bundleLoads = async () =>
    metricSum(await operator.metrics(), "kpo_policy_bundle_loads_total", { result: "success" });
  const idlePasses = () =>
    readFileSync(operator.logFile, "utf8")
      .split("\n")
      .filter((l) => l.includes("policy audit: nothing changed")).length;

  beforeAll(async () => {
    kc = kubeConfig();
    resources = new Resources(kc);
    reports = kc.makeApiClient(k8s.CustomObjectsApi);
    await installCrds(kc);
    await installPolicyReportCrds(kc);
    platform = await createNamespace(kc, "platform");
    team = await createNamespace(kc, "team");
    dataDir = mkdtempSync(path.join(tmpdir(), "kpo-policy-data-"));
    writeFileSync(dataFile(), "{}\n");
    operator = await startOperatorProcess({
      name: "reports",
      extraArgs: [
        "--leader-election-namespace",
        platform,
        "--namespaces",
        `${platform},${team}`,
        "--policy-data",
        dataFile(),
        // Short, so the test sees several passes over an unchanged world.
        "--resync-period-ms",
        "3000",
      ],
    });
  });

  afterAll(async () => {
    await operator?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("given Ready resources, when a policy is switched to dryrun and its data makes them violate it, then the reports fail them while they stay Ready and Keycloak sees no write; a deleted resource's results go; unchanged passes write nothing", async () => {
    await createInstance(kc, resources, platform, "keycloak", { namespaces: [team] });
    await resources.create(REALMS, team, {
      apiVersion: `${group}/${version}`,
      kind: "KeycloakRealm",
      metadata: { name: "shop" },
      spec: { instanceRef: { name: "keycloak", namespace: platform }, realmName: `shop-${suffix}` },
    });
    await resources.create(CLIENTS, team, {
      apiVersion: `${group}/${version}`,
      kind: "KeycloakClient",
      metadata: { name: "web" },
      spec: {
        realmRef: { name: "shop" },
        clientId: `web-${suffix}`,
        serviceAccountsEnabled: true,
        standardFlowEnabled: false,
        deletionPolicy: "Delete",
      },
    });
    for (const [plural, namespace, name] of [
      [INSTANCES, platform, "keycloak"],
      [REALMS, team, "shop"],
      [CLIENTS, team, "web"],
    ] as const)
      await resources.waitForStatus(plural, namespace, name, (o) => o.status?.phase === "Ready");

    // The shipped policies: every resource passes each of them.
    const passing = await waitFor("reports passing the realm and the client", async () => {
      const r = await report();
      return resultsFor(r, "shop").length === 3 && resultsFor(r, "web").length === 3 ? r : false;
    });
    for (const name of ["shop", "web"])
      expect(resultsFor(passing, name).map((x) => [x.policy, x.result, x.source])).toEqual([
        ["authorization", "pass", "kpo"],
        ["production", "pass", "kpo"],
        ["quota", "pass", "kpo"],
      ]);
    expect(passing.summary.fail).toBe(0);
    const platformReport = (await reports.getNamespacedCustomObject({
      ...REPORT,
      namespace: platform,
      plural: "policyreports",
      name: "kpo-policy",
    })) as PolicyReport;
    expect(platformReport.results?.some((x) => x.resources[0]?.kind === "KeycloakInstance")).toBe(true);

    // The production policy in dryrun, applied to the team's namespace: the realm, made with the
    // defaults, has no brute-force protection and no password length rule.
    const reconcilesBefore = metricSum(await operator.metrics(), "controller_runtime_reconcile_total", {
      controller: "realm",
    });
    // Settled first: Keycloak writes unchanged over two resync periods (the client's first resyncs).
    let writesBefore = -1;
    await waitFor("Keycloak writes settled", async () => {
      const writes = keycloakTraffic(await operator.metrics()).writes;
      const settled = writes === writesBefore;
      writesBefore = writes;
      await new Promise((r) => setTimeout(r, 6_000));
      return settled && keycloakTraffic(await operator.metrics()).writes === writes;
    });
    const logOffset = readFileSync(operator.logFile, "utf8").length;
    writeFileSync(
      dataFile(),
      `kpo:\n  enforcement:\n    production: dryrun\n  production:\n    namespaces: [${team}]\n`,
    );
    await waitFor("the new data swapped in", async () => (await bundleLoads()) === 2, 60_000);
    const failing = await waitFor("the realm's dryrun failures reported", async () => {
      const r = await report();
      const fails = resultsFor(r, "shop").filter((x) => x.result === "fail");
      return r && fails.length > 0 ? { r, fails } : false;
    });
    expect(failing.fails.map((x) => x.rule)).toEqual(
      expect.arrayContaining(["RealmBruteForceProtectionDisabled", "RealmPasswordPolicyMissingLength"]),
    );
    for (const f of failing.fails) {
      expect(f).toMatchObject({ policy: "production", source: "kpo" });
      expect(f.properties).toMatchObject({ enforcement: "dryrun", operation: "update" });
      expect(f.properties.revision).toMatch(/\+data:/);
      expect(f.resources[0]).toMatchObject({ kind: "KeycloakRealm", namespace: team, name: "shop" });
    }
    expect(failing.r.summary.fail).toBeGreaterThanOrEqual(failing.fails.length);
    const cluster = await clusterReport();
    expect(cluster.results?.find((x) => x.policy === "production")).toMatchObject({
      result: "fail",
      resources: [{ kind: "Namespace", name: team }],
    });
    const gauge = metricSum(await operator.metrics(), "kpo_policy_violations", {
      policy: "production",
      enforcement: "dryrun",
    });
    expect(gauge).toBeGreaterThanOrEqual(failing.fails.length);

    // The bundle change re-reconciled the realm too (its policy guard allows a dryrun finding):
    // still Ready, and nothing written to Keycloak.
    await waitFor(
      "the realm reconciled under the new data",
      async () =>
        metricSum(await operator.metrics(), "controller_runtime_reconcile_total", { controller: "realm" }) >
        reconcilesBefore,
    );
    for (const [plural, name] of [
      [REALMS, "shop"],
      [CLIENTS, "web"],
    ] as const)
      expect((await resources.get(plural, team, name)).status?.phase).toBe("Ready");
    const syncLines = readFileSync(operator.logFile, "utf8")
      .slice(logOffset)
      .split("\n")
      .filter((l) => / synced|rotat|created/.test(l));
    expect(keycloakTraffic(await operator.metrics()).writes, syncLines.join("\n")).toBe(writesBefore);

    // `kpo policy audit --cluster` says what the reports say; with the policy enforced it exits 1.
    const cli = async (data: string) => {
      let out = "";
      const code = await runPolicyAudit(
        {
          cluster: true,
          kubeconfig: inject("kubeconfigPath"),
          namespace: team,
          bundle: path.join(repoRoot, "build/policy/bundle"),
          data,
          output: "json",
        },
        { out: (t) => void (out += t), err: (t) => void (out += t) },
      );
      return { code, out };
    };
    const dryrun = await cli(dataFile());
    expect(dryrun.code, dryrun.out).toBe(0);
    const audited = JSON.parse(dryrun.out) as {
      revision: string;
      results: Array<{ resource: string; allowed: boolean; violations: Array<{ code: string }> }>;
    };
    expect(audited.revision).toBe(failing.fails[0]?.properties.revision);
    const realmResult = audited.results.find((x) => x.resource === `KeycloakRealm ${team}/shop`);
    expect(realmResult?.violations.map((v) => v.code).sort()).toEqual(
      failing.fails.map((f) => f.rule).sort(),
    );
    const enforceFile = path.join(dataDir, "enforce.yaml");
    writeFileSync(enforceFile, `kpo:\n  production:\n    namespaces: [${team}]\n`);
    const enforced = await cli(enforceFile);
    expect(enforced.code, enforced.out).toBe(1);
    expect(
      (JSON.parse(enforced.out) as typeof audited).results.find(
        (x) => x.resource === `KeycloakRealm ${team}/shop`,
      )?.allowed,
    ).toBe(false);

    // A deleted resource: its results go.
    await resources.delete(CLIENTS, team, "web");
    await waitFor("the client gone", () => resources.gone(CLIENTS, team, "web"));
    const withoutClient = await waitFor("the client's results removed", async () => {
      const r = await report();
      return r && resultsFor(r, "web").length === 0 ? r : false;
    });
    expect(resultsFor(withoutClient, "shop").some((x) => x.result === "fail")).toBe(true);

    // Passes over an unchanged world (the resync period, the resyncs' own status events): no write.
    const firstIdle = idlePasses();
    await waitFor(
      "an audit pass with nothing to write",
      () => Promise.resolve(idlePasses() > firstIdle),
      30_000,
    );
    const settled = await report();
    const clusterBefore = await clusterReport();
    const passesBefore = idlePasses();
    await waitFor("two more audit passes", () => Promise.resolve(idlePasses() >= passesBefore + 2), 30_000);
    expect((await report())?.metadata.resourceVersion).toBe(settled?.metadata.resourceVersion);
    expect((await clusterReport()).metadata.resourceVersion).toBe(clusterBefore.metadata.resourceVersion);
  });
});
