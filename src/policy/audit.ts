// Audit: every existing resource decided again, as its next reconcile would decide it, without
// running anything a decision guards. The operator runs it over its informer caches when the policy
// bundle or its data change (src/operator/policyAudit.ts); `kpo policy audit` runs it over files or
// a cluster's objects. Both use the one input builder (./input.ts), so their answers are the
// reconcile's answers; what an audit adds is the whole picture at once, which is what a security
// team needs before switching a policy shipped as `dryrun` to `enforce`.
import type { KeycloakResource } from "../api/index.js";
import { CRD_KINDS } from "../api/crds.js";
import { objectKey } from "../kube/objectKey.js";
import type { Decision, DecideFn, Enforcement } from "./decision.js";
import { operationOf, policyInputFor, type PolicyLookup } from "./input.js";

/** The object a finding is about, as a PolicyReport's resources[] names it. */
export interface AuditedRef {
  apiVersion: string;
  kind: KeycloakResource["kind"];
  namespace: string;
  name: string;
  uid?: string;
}

export interface AuditFinding {
  resource: AuditedRef;
  operation: "create" | "update";
  /** Absent when the resource was not decided (see `skipped`). */
  decision?: Decision;
  /** Why the resource was not decided: it is being deleted, and deletion is never refused. */
  skipped?: string;
}

export function refOf(obj: KeycloakResource): AuditedRef {
  return {
    apiVersion: obj.apiVersion ?? "",
    kind: obj.kind,
    namespace: obj.metadata.namespace ?? "",
    name: obj.metadata.name ?? "",
    ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
  };
}

const kindOrder = (kind: string) => (CRD_KINDS as readonly string[]).indexOf(kind);

/** Findings in a stable order: namespace, kind (dependency order), name. */
export function compareRefs(a: AuditedRef, b: AuditedRef): number {
  return (
    a.namespace.localeCompare(b.namespace) ||
    kindOrder(a.kind) - kindOrder(b.kind) ||
    a.name.localeCompare(b.name)
  );
}

/** Decides one resource over `lookup` as its reconcile would (same input, same operation). */
function auditOne(lookup: PolicyLookup, obj: KeycloakResource, decide: DecideFn): AuditFinding {
  const operation = operationOf(obj) === "update" ? "update" : "create";
  if (obj.metadata.deletionTimestamp) {
    return {
      resource: refOf(obj),
      operation,
      skipped: `${obj.kind} ${objectKey(obj)} is being deleted; deletions are not decided by policy`,
    };
  }
  return { resource: refOf(obj), operation, decision: decide(policyInputFor(lookup, obj)) };
}

/** Decides each resource over `lookup` as its reconcile would (same input, same operation). */
export function auditResources(
  lookup: PolicyLookup,
  resources: readonly KeycloakResource[],
  decide: DecideFn,
): AuditFinding[] {
  return resources
    .map((obj) => auditOne(lookup, obj, decide))
    .sort((a, b) => compareRefs(a.resource, b.resource));
}

/**
 * `auditResources` that gives the event loop back every `chunk` resources: a pass over 10,000
 * resources takes seconds of CPU, and the reconciles queued meanwhile must not wait for all of it.
 */
export async function auditResourcesYielding(
  lookup: PolicyLookup,
  resources: readonly KeycloakResource[],
  decide: DecideFn,
  chunk = 100,
): Promise<AuditFinding[]> {
  const findings: AuditFinding[] = [];
  for (let i = 0; i < resources.length; i += chunk) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    for (const obj of resources.slice(i, i + chunk)) findings.push(auditOne(lookup, obj, decide));
  }
  return findings.sort((a, b) => compareRefs(a.resource, b.resource));
}

/** Findings whose decision denies (a violation in `enforce` mode). */
export function deniedFindings(findings: readonly AuditFinding[]): AuditFinding[] {
  return findings.filter((f) => f.decision && !f.decision.allowed);
}

/** How many violations each policy has in each mode: the kpo_policy_violations gauge. */
export function violationCounts(
  findings: readonly AuditFinding[],
): Map<string, { policy: string; enforcement: Enforcement; count: number }> {
  const counts = new Map<string, { policy: string; enforcement: Enforcement; count: number }>();
  for (const f of findings) {
    for (const v of f.decision?.violations ?? []) {
      const key = `${v.policy}\0${v.enforcement}`;
      const entry = counts.get(key) ?? { policy: v.policy, enforcement: v.enforcement, count: 0 };
      entry.count++;
      counts.set(key, entry);
    }
  }
  return counts;
}
