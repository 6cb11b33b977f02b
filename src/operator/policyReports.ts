// Writes the audit's PolicyReports (src/policy/reports.ts) to the API server: it lists the reports
// it wrote before (by label), and creates, replaces or deletes only those whose content differs from
// what it would write — an unchanged world costs one list per pass and no write. The PolicyReport
// CRDs are optional (Kyverno or Policy Reporter may have installed them, the chart may not have):
// when they are absent or the operator may not use them, it says so once and tries again only after
// `recheckMs`, never in a loop.
import { ApiException, type CustomObjectsApi } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.js";
import {
  CLUSTER_POLICY_REPORT_PLURAL,
  POLICY_REPORT_GROUP,
  POLICY_REPORT_PLURAL,
  POLICY_REPORT_VERSION,
  REPORT_LABELS,
  REPORT_NAME,
  reportContentEqual,
  type BuiltReports,
  type PolicyReport,
} from "../policy/reports.js";

export interface PolicyReportWriterOptions {
  api: CustomObjectsApi;
  log: Logger;
  /** Namespaces the operator watches (its RBAC may be limited to them); empty = all. */
  namespaces: readonly string[];
  /** After the CRDs were found missing or forbidden, how long before looking again. */
  recheckMs: number;
  now?: () => number;
}

export interface ReportSyncOutcome {
  /** False when the reports could not be written (CRDs absent, forbidden): see the log. */
  written: boolean;
  creates: number;
  replaces: number;
  deletes: number;
}

const base = { group: POLICY_REPORT_GROUP, version: POLICY_REPORT_VERSION };
const labelSelector = Object.entries(REPORT_LABELS)
  .map(([k, v]) => `${k}=${v}`)
  .join(",");

function httpCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export class PolicyReportWriter {
  readonly #opts: PolicyReportWriterOptions;
  readonly #now: () => number;
  /** Until when not to try again, after the CRDs were missing or forbidden. */
  #pausedUntil = 0;
  #unavailable: string | undefined;

  constructor(opts: PolicyReportWriterOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** The reports stored now, by namespace, and the ClusterPolicyReport under "". */
  async stored(): Promise<Map<string, PolicyReport>> {
    const { api, namespaces } = this.#opts;
    const lists =
      namespaces.length === 0
        ? [await api.listClusterCustomObject({ ...base, plural: POLICY_REPORT_PLURAL, labelSelector })]
        : await Promise.all(
            namespaces.map((namespace) =>
              api.listNamespacedCustomObject({
                ...base,
                namespace,
                plural: POLICY_REPORT_PLURAL,
                labelSelector,
              }),
            ),
          );
    const stored = new Map<string, PolicyReport>();
    for (const list of lists)
      for (const item of (list as { items?: PolicyReport[] }).items ?? [])
        if (item.metadata.name === REPORT_NAME) stored.set(item.metadata.namespace ?? "", item);
    try {
      const cluster = (await api.getClusterCustomObject({
        ...base,
        plural: CLUSTER_POLICY_REPORT_PLURAL,
        name: REPORT_NAME,
      })) as PolicyReport;
      stored.set("", cluster);
    } catch (err) {
      if (httpCode(err) !== 404) throw err;
    }
    return stored;
  }

  /** Makes the stored reports say what `wanted` says; `stored` is what stored() returned for this pass. */
  async sync(wanted: BuiltReports, stored: Map<string, PolicyReport>): Promise<ReportSyncOutcome> {
    const { api, log } = this.#opts;
    const outcome: ReportSyncOutcome = { written: true, creates: 0, replaces: 0, deletes: 0 };
    const put = async (namespace: string, report: PolicyReport) => {
      const existing = stored.get(namespace);
      if (existing && reportContentEqual(existing, report)) return;
      const cluster = namespace === "";
      const plural = cluster ? CLUSTER_POLICY_REPORT_PLURAL : POLICY_REPORT_PLURAL;
      if (!existing) {
        if (cluster) await api.createClusterCustomObject({ ...base, plural, body: report });
        else await api.createNamespacedCustomObject({ ...base, namespace, plural, body: report });
        outcome.creates++;
      } else {
        // Over the stored resourceVersion: a concurrent writer makes this fail, the next pass retries.
        const body = {
          ...report,
          metadata: { ...report.metadata, resourceVersion: existing.metadata.resourceVersion },
        };
        if (cluster) await api.replaceClusterCustomObject({ ...base, plural, name: REPORT_NAME, body });
        else await api.replaceNamespacedCustomObject({ ...base, namespace, plural, name: REPORT_NAME, body });
        outcome.replaces++;
      }
      log.debug(
        { namespace: namespace || undefined, summary: report.summary },
        `${report.kind} ${REPORT_NAME} written`,
      );
    };
    for (const [namespace, report] of wanted.namespaced) await put(namespace, report);
    await put("", wanted.cluster);
    // Namespaces whose last audited resource went: their report goes too.
    for (const [namespace] of stored) {
      if (namespace === "" || wanted.namespaced.has(namespace)) continue;
      try {
        await api.deleteNamespacedCustomObject({
          ...base,
          namespace,
          plural: POLICY_REPORT_PLURAL,
          name: REPORT_NAME,
        });
        outcome.deletes++;
      } catch (err) {
        if (httpCode(err) !== 404) throw err;
      }
    }
    return outcome;
  }

  /**
   * One pass: read what is stored, build what is wanted from it (so results keep their timestamps),
   * write the difference. Resolves `written: false`, without throwing, when the CRDs are absent or
   * forbidden; other API errors are thrown (the caller logs them and the next pass tries again).
   */
  async write(build: (stored: Map<string, PolicyReport>) => BuiltReports): Promise<ReportSyncOutcome> {
    const skipped = { written: false, creates: 0, replaces: 0, deletes: 0 };
    if (this.#now() < this.#pausedUntil) return skipped;
    try {
      const stored = await this.stored();
      const outcome = await this.sync(build(stored), stored);
      if (this.#unavailable !== undefined) {
        this.#opts.log.info("PolicyReports can be written again; writing them");
        this.#unavailable = undefined;
      }
      return outcome;
    } catch (err) {
      const code = httpCode(err);
      if (code !== 404 && code !== 403) throw err;
      const reason =
        code === 404
          ? `the PolicyReport CRDs (${POLICY_REPORT_GROUP}/${POLICY_REPORT_VERSION} policyreports, clusterpolicyreports) are not installed`
          : "the operator is not allowed to list or write PolicyReports";
      this.#pausedUntil = this.#now() + this.#opts.recheckMs;
      if (this.#unavailable !== reason) {
        this.#unavailable = reason;
        this.#opts.log.warn(
          { recheckMs: this.#opts.recheckMs },
          `PolicyReports not written: ${reason}. Install them with the chart value policyReports.enabled=true (or Kyverno's / Policy Reporter's CRDs), or run with --policy-reports=false; the audit goes on (metric kpo_policy_violations) and the operator looks again in ${Math.round(this.#opts.recheckMs / 1000)} s.`,
        );
      }
      return skipped;
    }
  }
}
