import { describe, expect, it } from "vitest";
import type { KeycloakResource } from "../api/index.js";
import { auditResources, deniedFindings, violationCounts, type AuditFinding } from "./audit.js";
import type { Decision, PolicyInput, Violation } from "./decision.js";
import { policiesOfData } from "./bundle.js";
import type { PolicyLookup } from "./input.js";
import { buildPolicyReports, OMITTED_ANNOTATION, reportContentEqual, type PolicyReport } from "./reports.js";

const policies = ["authorization", "production", "quota"];
const now = new Date("2026-12-04T10:00:00Z");
const later = new Date("2026-12-04T11:00:00Z");

function finding(namespace: string, name: string, violations: Violation[] = []): AuditFinding {
  return {
    resource: {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      namespace,
      name,
      uid: `uid-${name}`,
    },
    operation: "update",
    decision: { allowed: !violations.some((v) => v.enforcement === "enforce"), violations, warnings: [] },
  };
}

const violation = (policy: string, code: string, enforcement: Violation["enforcement"]): Violation => ({
  policy,
  code,
  message: `${code}: fix it`,
  enforcement,
});

describe("buildPolicyReports", () => {
  it("given a realm violating a dryrun policy, when built, then its namespace's report fails that rule and passes the others, with source kpo and the revision", () => {
    const { namespaced, cluster } = buildPolicyReports(
      [finding("team-a", "sso", [violation("production", "RealmSslNotRequired", "dryrun")])],
      { revision: "r1", policies, now },
    );
    const report = namespaced.get("team-a");
    expect(report?.apiVersion).toBe("wgpolicyk8s.io/v1alpha2");
    expect(report?.kind).toBe("PolicyReport");
    expect(report?.metadata).toMatchObject({ name: "kpo-policy", namespace: "team-a" });
    expect(report?.summary).toEqual({ pass: 2, fail: 1, warn: 0, error: 0, skip: 0 });
    const failed = report?.results?.find((r) => r.result === "fail");
    expect(failed).toMatchObject({
      policy: "production",
      rule: "RealmSslNotRequired",
      source: "kpo",
      severity: "medium",
      message: "RealmSslNotRequired: fix it",
      properties: { revision: "r1", enforcement: "dryrun", operation: "update" },
      resources: [
        {
          apiVersion: "keycloak.kpo.dev/v1alpha1",
          kind: "KeycloakRealm",
          namespace: "team-a",
          name: "sso",
          uid: "uid-sso",
        },
      ],
      timestamp: { seconds: now.getTime() / 1000, nanos: 0 },
    });
    expect(report?.results?.filter((r) => r.result === "pass").map((r) => r.policy)).toEqual([
      "authorization",
      "quota",
    ]);
    expect(cluster.kind).toBe("ClusterPolicyReport");
    expect(cluster.metadata.namespace).toBeUndefined();
    expect(cluster.summary).toEqual({ pass: 2, fail: 1, warn: 0, error: 0, skip: 0 });
    const production = cluster.results?.find((r) => r.policy === "production");
    expect(production?.result).toBe("fail");
    expect(production?.resources).toEqual([{ apiVersion: "v1", kind: "Namespace", name: "team-a" }]);
  });

  it("given warn, enforce, engine failures and a resource being deleted, then they become warn, fail (high), error and skip", () => {
    const deleting: AuditFinding = {
      resource: { apiVersion: "v", kind: "KeycloakClient", namespace: "ns", name: "gone" },
      operation: "update",
      skipped: "being deleted",
    };
    const { namespaced } = buildPolicyReports(
      [
        finding("ns", "a", [violation("quota", "RealmQuotaExceeded", "warn")]),
        finding("ns", "b", [violation("authorization", "RealmNamespaceNotGranted", "enforce")]),
        finding("ns", "c", [violation("engine", "PolicyEvaluationFailed", "enforce")]),
        deleting,
      ],
      { revision: "r1", policies, now },
    );
    const results = namespaced.get("ns")?.results ?? [];
    const of = (name: string) => results.filter((r) => r.resources[0]?.name === name && r.result !== "pass");
    expect(of("a").map((r) => r.result)).toEqual(["warn"]);
    expect(of("b").map((r) => [r.result, r.severity])).toEqual([["fail", "high"]]);
    expect(of("c").map((r) => r.result)).toEqual(["error"]);
    expect(of("gone").map((r) => [r.result, r.message])).toEqual([["skip", "being deleted"]]);
    // An engine failure names no bundle policy, so the resource passes none of them either.
    expect(results.filter((r) => r.resources[0]?.name === "c").length).toBe(4);
  });

  it("given more results than the cap, then failures are kept first, the summary still counts everything and the report says how many were left out", () => {
    const findings = Array.from({ length: 30 }, (_, i) =>
      finding("big", `r${String(i).padStart(2, "0")}`, i === 29 ? [violation("quota", "Q", "enforce")] : []),
    );
    const { namespaced } = buildPolicyReports(findings, {
      revision: "r",
      policies,
      now,
      maxResultsPerReport: 10,
    });
    const report = namespaced.get("big");
    expect(report?.results).toHaveLength(10);
    expect(report?.results?.some((r) => r.result === "fail" && r.resources[0]?.name === "r29")).toBe(true);
    expect(report?.summary).toEqual({ pass: 89, fail: 1, warn: 0, error: 0, skip: 0 });
    expect(report?.metadata.annotations?.[OMITTED_ANNOTATION]).toBe("80");
  });

  it("given the stored report, when nothing changed, then the rebuilt one keeps its timestamps and is content-equal even with keys reordered and server fields added", () => {
    const findings = [finding("ns", "a", [violation("quota", "Q", "dryrun")]), finding("ns", "b")];
    const first = buildPolicyReports(findings, { revision: "r1", policies, now });
    const firstReport = first.namespaced.get("ns") as PolicyReport;
    // As the API server hands it back: keys sorted, metadata it owns added.
    const stored = JSON.parse(
      JSON.stringify(firstReport, (_k, v: unknown) =>
        typeof v === "object" && v !== null && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => y.localeCompare(x)))
          : v,
      ),
    ) as PolicyReport;
    stored.metadata = { ...stored.metadata, resourceVersion: "42", uid: "u", managedFields: [] };
    const again = buildPolicyReports(findings, {
      revision: "r1",
      policies,
      now: later,
      previous: new Map([["ns", stored]]),
    });
    const rebuilt = again.namespaced.get("ns") as PolicyReport;
    expect(reportContentEqual(stored, rebuilt)).toBe(true);
    expect(rebuilt.results?.map((r) => r.timestamp.seconds)).toEqual(
      firstReport.results?.map(() => now.getTime() / 1000),
    );
  });

  it("given a changed revision, a new violation or a resource gone, then the content differs", () => {
    const findings = [finding("ns", "a"), finding("ns", "b")];
    const base = buildPolicyReports(findings, { revision: "r1", policies, now }).namespaced.get(
      "ns",
    ) as PolicyReport;
    const revised = buildPolicyReports(findings, { revision: "r2", policies, now }).namespaced.get("ns");
    const violated = buildPolicyReports(
      [finding("ns", "a", [violation("quota", "Q", "dryrun")]), finding("ns", "b")],
      {
        revision: "r1",
        policies,
        now,
      },
    ).namespaced.get("ns");
    const fewer = buildPolicyReports([finding("ns", "a")], { revision: "r1", policies, now }).namespaced.get(
      "ns",
    );
    for (const other of [revised, violated, fewer])
      expect(reportContentEqual(base, other as PolicyReport)).toBe(false);
    expect(fewer?.results?.some((r) => r.resources[0]?.name === "b")).toBe(false);
  });

  it("given no resource in a namespace, then it gets no report", () => {
    const { namespaced } = buildPolicyReports([finding("a", "x")], { revision: "r", policies, now });
    expect([...namespaced.keys()]).toEqual(["a"]);
  });
});

describe("policiesOfData", () => {
  it("given a data document, then the policies are data.kpo.enforcement's keys, sorted; none without it", () => {
    expect(policiesOfData({ kpo: { enforcement: { quota: "enforce", authorization: "dryrun" } } })).toEqual([
      "authorization",
      "quota",
    ]);
    expect(policiesOfData({})).toEqual([]);
  });
});

describe("auditResources", () => {
  const realm = (name: string, extra: Partial<KeycloakResource["metadata"]> = {}, ready = false) =>
    ({
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      metadata: { name, namespace: "ns", uid: name, ...extra },
      spec: { instanceRef: { name: "kc" }, realmName: name },
      ...(ready ? { status: { phase: "Ready", conditions: [{ type: "Ready", status: "True" }] } } : {}),
    }) as unknown as KeycloakResource;
  const lookup: PolicyLookup = {
    instance: () => undefined,
    realm: () => undefined,
    realms: () => [],
    clients: () => [],
    users: () => [],
    namespace: (name) => ({ name, labels: {} }),
  };

  it("given resources, then each is decided with the reconcile's input and operation, skipped while deleting, in a stable order", () => {
    const seen: PolicyInput[] = [];
    const decide = (input: PolicyInput): Decision => {
      seen.push(input);
      return input.resource.metadata.name === "b"
        ? { allowed: false, violations: [violation("quota", "Q", "enforce")], warnings: [] }
        : { allowed: true, violations: [violation("production", "P", "dryrun")], warnings: [] };
    };
    const findings = auditResources(
      lookup,
      [realm("c", { deletionTimestamp: "2026-01-01T00:00:00Z" } as never), realm("b", {}, true), realm("a")],
      decide,
    );
    expect(findings.map((f) => f.resource.name)).toEqual(["a", "b", "c"]);
    expect(seen.map((i) => [i.resource.metadata.name, i.operation])).toEqual([
      ["b", "update"],
      ["a", "create"],
    ]);
    expect(findings[2]?.skipped).toMatch(/being deleted/);
    expect(deniedFindings(findings).map((f) => f.resource.name)).toEqual(["b"]);
    expect([...violationCounts(findings).values()]).toEqual(
      expect.arrayContaining([
        { policy: "quota", enforcement: "enforce", count: 1 },
        { policy: "production", enforcement: "dryrun", count: 1 },
      ]),
    );
  });
});
