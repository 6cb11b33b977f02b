// Audit findings as PolicyReports of the Kubernetes Policy WG (wgpolicyk8s.io/v1alpha2), the format
// Policy Reporter, Kyverno's tooling and many dashboards read: one PolicyReport per namespace with a
// result per resource and policy rule, and one ClusterPolicyReport summing them up. Pure: findings in,
// objects out. The writer (src/operator/policyReports.ts) compares what it would write with what is
// stored (reportContentEqual) and writes only the reports that differ, so a resync of an unchanged
// world writes nothing; that is also why a result keeps the timestamp of the stored result it equals.
import { canonicalJson, sameJson } from "../canonicalJson.js";
import type { AuditFinding, AuditedRef } from "./audit.js";
import { compareRefs } from "./audit.js";
import type { Violation } from "./decision.js";

export const POLICY_REPORT_GROUP = "wgpolicyk8s.io";
export const POLICY_REPORT_VERSION = "v1alpha2";
export const POLICY_REPORT_API_VERSION = `${POLICY_REPORT_GROUP}/${POLICY_REPORT_VERSION}`;
export const POLICY_REPORT_PLURAL = "policyreports";
export const CLUSTER_POLICY_REPORT_PLURAL = "clusterpolicyreports";
/** The name of the operator's PolicyReport in each namespace, and of its ClusterPolicyReport. */
export const REPORT_NAME = "kpo-policy";
/** The `source` of every result, so tools can tell kpo's results from Kyverno's or Gatekeeper's. */
export const REPORT_SOURCE = "kpo";
export const REPORT_LABELS: Readonly<Record<string, string>> = {
  "app.kubernetes.io/managed-by": "keycloak-policy-operator",
};
/** On a report that had to leave results out: how many. */
export const OMITTED_ANNOTATION = "kpo.dev/results-omitted";
/** A report stays far below etcd's object size limit (1.5 MiB): results beyond this are left out. */
export const DEFAULT_MAX_RESULTS = 500;

export type ReportResultValue = "pass" | "fail" | "warn" | "error" | "skip";
export type ReportSeverity = "critical" | "high" | "medium" | "low" | "info";

export interface ReportResult {
  policy: string;
  rule: string;
  result: ReportResultValue;
  message: string;
  severity: ReportSeverity;
  source: string;
  scored: boolean;
  resources: Array<{ apiVersion: string; kind: string; namespace?: string; name: string; uid?: string }>;
  properties: Record<string, string>;
  timestamp: { seconds: number; nanos: number };
}

export interface ReportSummary {
  pass: number;
  fail: number;
  warn: number;
  error: number;
  skip: number;
}

export interface PolicyReport {
  apiVersion: string;
  kind: "PolicyReport" | "ClusterPolicyReport";
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    [k: string]: unknown;
  };
  summary: ReportSummary;
  results?: ReportResult[];
}

export interface BuildReportsOptions {
  /** The bundle revision the findings were decided by; every result carries it. */
  revision: string;
  /** The policies of the bundle (data.kpo.enforcement's keys): a resource none of whose violations is from one passes it. */
  policies: readonly string[];
  now: Date;
  maxResultsPerReport?: number;
  /** The reports stored now, by namespace ("" for the ClusterPolicyReport): equal results keep their timestamps. */
  previous?: ReadonlyMap<string, PolicyReport>;
}

export interface BuiltReports {
  /** One per namespace that holds at least one audited resource. */
  namespaced: Map<string, PolicyReport>;
  cluster: PolicyReport;
}

/** Policies of the engine itself, not of the bundle: their violations mean "could not decide". */
const enginePolicies = new Set(["engine", "input"]);

function resultOfViolation(v: Violation): { result: ReportResultValue; severity: ReportSeverity } {
  if (enginePolicies.has(v.policy)) return { result: "error", severity: "high" };
  // A dryrun violation is a failure that is not acted on yet: it is what enforcing would deny.
  if (v.enforcement === "warn") return { result: "warn", severity: "medium" };
  return { result: "fail", severity: v.enforcement === "enforce" ? "high" : "medium" };
}

function resourceOf(ref: AuditedRef): ReportResult["resources"][number] {
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    namespace: ref.namespace,
    name: ref.name,
    ...(ref.uid ? { uid: ref.uid } : {}),
  };
}

type Untimed = Omit<ReportResult, "timestamp">;

/** The results of one finding: a result per violation, and a pass for every policy it does not violate. */
export function resultsOfFinding(
  finding: AuditFinding,
  policies: readonly string[],
  revision: string,
): Untimed[] {
  const resources = [resourceOf(finding.resource)];
  const subject = `${finding.resource.kind} ${finding.resource.namespace}/${finding.resource.name}`;
  const base = { source: REPORT_SOURCE, scored: true, resources };
  if (!finding.decision) {
    return [
      {
        ...base,
        policy: REPORT_SOURCE,
        rule: "audit",
        result: "skip",
        severity: "info",
        message: finding.skipped ?? `${subject} was not decided`,
        properties: { revision, operation: finding.operation },
      },
    ];
  }
  const results: Untimed[] = finding.decision.violations.map((v) => ({
    ...base,
    policy: v.policy,
    rule: v.code,
    ...resultOfViolation(v),
    message: v.message,
    properties: { revision, enforcement: v.enforcement, operation: finding.operation },
  }));
  const violated = new Set(finding.decision.violations.map((v) => v.policy));
  for (const policy of policies) {
    if (violated.has(policy)) continue;
    results.push({
      ...base,
      policy,
      rule: policy,
      result: "pass",
      severity: "info",
      message: `${subject} satisfies the ${policy} policy`,
      properties: { revision, operation: finding.operation },
    });
  }
  return results;
}

const emptySummary = (): ReportSummary => ({ pass: 0, fail: 0, warn: 0, error: 0, skip: 0 });

/** What is kept first when a report is too long: what needs attention. */
const keepOrder: Record<ReportResultValue, number> = { error: 0, fail: 1, warn: 2, skip: 3, pass: 4 };

const untimed = (r: ReportResult): Untimed => {
  const { timestamp: _timestamp, ...rest } = r;
  return rest;
};

const resultKey = (r: Untimed) => canonicalJson(r);

function compareResults(a: Untimed, b: Untimed): number {
  const ra = a.resources[0];
  const rb = b.resources[0];
  const byRef =
    ra && rb
      ? compareRefs(
          { ...ra, kind: ra.kind as AuditedRef["kind"], namespace: ra.namespace ?? "" },
          { ...rb, kind: rb.kind as AuditedRef["kind"], namespace: rb.namespace ?? "" },
        )
      : 0;
  return byRef || a.policy.localeCompare(b.policy) || a.rule.localeCompare(b.rule);
}

/** The report of a namespace, or the ClusterPolicyReport: capped, timestamps kept from `previous`. */
function assemble(
  kind: PolicyReport["kind"],
  namespace: string,
  results: Untimed[],
  opts: BuildReportsOptions,
): PolicyReport {
  const max = opts.maxResultsPerReport ?? DEFAULT_MAX_RESULTS;
  const summary = emptySummary();
  for (const r of results) summary[r.result]++;
  const kept =
    results.length <= max
      ? [...results]
      : [...results]
          .sort((a, b) => keepOrder[a.result] - keepOrder[b.result] || compareResults(a, b))
          .slice(0, max);
  kept.sort(compareResults);
  const stamps = new Map<string, ReportResult["timestamp"]>();
  for (const r of opts.previous?.get(kind === "ClusterPolicyReport" ? "" : namespace)?.results ?? [])
    stamps.set(resultKey(untimed(r)), r.timestamp);
  const now = { seconds: Math.floor(opts.now.getTime() / 1000), nanos: 0 };
  const omitted = results.length - kept.length;
  return {
    apiVersion: POLICY_REPORT_API_VERSION,
    kind,
    metadata: {
      name: REPORT_NAME,
      ...(kind === "PolicyReport" ? { namespace } : {}),
      labels: { ...REPORT_LABELS },
      ...(omitted > 0 ? { annotations: { [OMITTED_ANNOTATION]: String(omitted) } } : {}),
    },
    // Counts every result, also those left out, so the summary stays true when the list is cut.
    summary,
    results: kept.map((r) => ({ ...r, timestamp: stamps.get(resultKey(r)) ?? now })),
  };
}

/**
 * The cluster summary: one result per policy, failing when any resource fails it, naming the
 * namespaces (as resources) where it fails, with the counts in its properties.
 */
function clusterResults(byNamespace: Map<string, Untimed[]>, opts: BuildReportsOptions): Untimed[] {
  const perPolicy = new Map<
    string,
    { summary: ReportSummary; namespaces: Set<string>; severity: ReportSeverity }
  >();
  const severityOrder: ReportSeverity[] = ["critical", "high", "medium", "low", "info"];
  for (const [namespace, results] of byNamespace) {
    for (const r of results) {
      const entry = perPolicy.get(r.policy) ?? {
        summary: emptySummary(),
        namespaces: new Set(),
        severity: "info",
      };
      entry.summary[r.result]++;
      if (r.result !== "pass") {
        entry.namespaces.add(namespace);
        if (severityOrder.indexOf(r.severity) < severityOrder.indexOf(entry.severity))
          entry.severity = r.severity;
      }
      perPolicy.set(r.policy, entry);
    }
  }
  return [...perPolicy.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([policy, { summary, namespaces, severity }]) => {
      const worst = (["error", "fail", "warn", "skip"] as const).find((k) => summary[k] > 0) ?? "pass";
      const listed = [...namespaces].sort();
      const counts = (["fail", "warn", "error", "skip", "pass"] as const)
        .filter((k) => summary[k] > 0)
        .map((k) => `${summary[k]} ${k}`)
        .join(", ");
      return {
        policy,
        rule: policy,
        result: worst,
        severity,
        source: REPORT_SOURCE,
        scored: true,
        message:
          listed.length === 0
            ? `every audited resource satisfies the ${policy} policy (${counts})`
            : `the ${policy} policy has findings in ${listed.length} namespace(s): ${listed.join(", ")} (${counts}); see the PolicyReport ${REPORT_NAME} of each`,
        resources: listed.map((name) => ({ apiVersion: "v1", kind: "Namespace", name })),
        properties: {
          revision: opts.revision,
          ...Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, String(v)])),
        },
      };
    });
}

/** Findings → the PolicyReport of every namespace that holds an audited resource, and the ClusterPolicyReport. */
export function buildPolicyReports(
  findings: readonly AuditFinding[],
  opts: BuildReportsOptions,
): BuiltReports {
  const byNamespace = new Map<string, Untimed[]>();
  for (const f of findings) {
    const list = byNamespace.get(f.resource.namespace) ?? [];
    list.push(...resultsOfFinding(f, opts.policies, opts.revision));
    byNamespace.set(f.resource.namespace, list);
  }
  const namespaced = new Map<string, PolicyReport>();
  for (const [namespace, results] of [...byNamespace.entries()].sort(([a], [b]) => a.localeCompare(b)))
    namespaced.set(namespace, assemble("PolicyReport", namespace, results, opts));
  const cluster = assemble("ClusterPolicyReport", "", clusterResults(byNamespace, opts), opts);
  // The cluster summary counts the resources' results, not its own per-policy lines.
  cluster.summary = emptySummary();
  for (const results of byNamespace.values()) for (const r of results) cluster.summary[r.result]++;
  return { namespaced, cluster };
}

/**
 * Do two reports say the same (summary, results but their timestamps, the operator's labels and
 * annotations)? What the API server adds (resourceVersion, managedFields, uid) does not count.
 */
export function reportContentEqual(stored: PolicyReport, wanted: PolicyReport): boolean {
  const view = (r: PolicyReport) => ({
    summary: { ...emptySummary(), ...r.summary },
    results: (r.results ?? []).map(untimed),
    labels: Object.fromEntries(Object.keys(REPORT_LABELS).map((k) => [k, r.metadata.labels?.[k] ?? null])),
    omitted: r.metadata.annotations?.[OMITTED_ANNOTATION] ?? null,
  });
  // The API server hands a report back with its keys in another order.
  return sameJson(view(stored), view(wanted));
}
