// The operator's policy audit: every resource in the informer caches decided again by the active
// bundle, without provisioning anything — no Keycloak call, no status write, no event — whenever the
// bundle or its data change (hot reload), whenever a cached object changes (so a new resource gets
// its results and a deleted one loses them), and on the resync period. Each pass sets the gauge
// kpo_policy_violations and, when reports are on, brings the PolicyReports up to date. Passes are
// debounced and never overlap; the leader runs them (operator.ts starts the audit with the
// controllers), so replicas do not fight over the reports.
import type { KeycloakResource } from "../api/index.js";
import type { Informer } from "../kube/informers.js";
import type { Logger } from "../observability/logger.js";
import { auditResourcesYielding, violationCounts, type AuditFinding } from "../policy/audit.js";
import type { Enforcement } from "../policy/decision.js";
import type { PolicyEngine } from "../policy/engine.js";
import { policyViolations } from "../policy/metrics.js";
import { buildPolicyReports } from "../policy/reports.js";
import { cacheLookup, type Caches } from "./facts.js";
import type { PolicyReportWriter, ReportSyncOutcome } from "./policyReports.js";

export interface PolicyAuditOptions {
  caches: Caches;
  policy: Pick<PolicyEngine, "evaluate" | "revision" | "policies" | "onChange">;
  /** Absent when PolicyReports are off (--policy-reports=false): only the gauge is kept. */
  writer?: PolicyReportWriter;
  /** Delay from the first change to its pass; changes within it share the pass (a bundle swap is followed by every object's status events). Default 1 s. */
  debounceMs?: number;
  /**
   * A pass waits at least this many times as long as the last one took, so that a stream of
   * changes (1000 clients being created) costs the audit at most about 1/(1 + factor) of a core
   * instead of a pass over every resource each second. Default 10.
   */
  costFactor?: number;
  /** A pass at least this often, even if nothing was seen to change. */
  resyncPeriodMs: number;
  log: Logger;
}

export interface AuditPass {
  reason: string;
  revision: string;
  findings: AuditFinding[];
  reports?: ReportSyncOutcome;
}

const modes: readonly Enforcement[] = ["enforce", "warn", "dryrun"];

export class PolicyAudit {
  readonly #opts: PolicyAuditOptions;
  readonly #unsubscribe: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;
  #resync: NodeJS.Timeout | undefined;
  #running: Promise<AuditPass | undefined> | undefined;
  #again: string | undefined;
  #stopped = false;
  #last: AuditPass | undefined;
  #lastPassMs = 0;

  constructor(opts: PolicyAuditOptions) {
    this.#opts = opts;
  }

  /** The last pass that finished. */
  get last(): AuditPass | undefined {
    return this.#last;
  }

  /** Subscribes to the bundle and the caches and runs a first pass. Call once the caches synced. */
  start(): void {
    const { caches, policy } = this.#opts;
    this.#unsubscribe.push(
      policy.onChange((revision) => this.schedule(`the policy bundle changed (revision ${revision})`)),
    );
    const informers = [
      caches.instances,
      caches.realms,
      caches.clients,
      caches.users,
    ] as Informer<KeycloakResource>[];
    for (const informer of informers) {
      this.#unsubscribe.push(
        informer.onChange((e) => this.schedule(`${e.object.kind ?? "object"} ${e.type}`)),
      );
    }
    this.#unsubscribe.push(caches.namespaces.onChange(() => this.schedule("a namespace changed")));
    this.#resync = setInterval(() => this.schedule("the resync period"), this.#opts.resyncPeriodMs);
    this.#resync.unref();
    this.schedule("the caches synced");
  }

  /** A pass after the debounce time; changes within it share the pass. */
  schedule(reason: string): void {
    if (this.#stopped) return;
    if (this.#timer) return;
    const delayMs = Math.max(this.#opts.debounceMs ?? 1000, (this.#opts.costFactor ?? 10) * this.#lastPassMs);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.runNow(reason);
    }, delayMs);
  }

  /** A pass now, or, when one is running, exactly one more after it. Never rejects. */
  async runNow(reason: string): Promise<AuditPass | undefined> {
    if (this.#running) {
      this.#again = reason;
      return this.#running;
    }
    const started = performance.now();
    this.#running = this.#pass(reason).finally(() => {
      this.#lastPassMs = performance.now() - started;
      this.#running = undefined;
      const again = this.#again;
      this.#again = undefined;
      if (again !== undefined && !this.#stopped) void this.runNow(again);
    });
    return this.#running;
  }

  async #pass(reason: string): Promise<AuditPass | undefined> {
    const { caches, policy, writer, log } = this.#opts;
    try {
      const revision = policy.revision;
      const policies = policy.policies;
      const lookup = cacheLookup(caches);
      const resources: KeycloakResource[] = [
        ...caches.instances.list(),
        ...caches.realms.list(),
        ...caches.clients.list(),
        ...caches.users.list(),
      ];
      const findings = await auditResourcesYielding(lookup, resources, policy.evaluate);
      policyViolations.reset();
      for (const p of policies) for (const m of modes) policyViolations.set({ policy: p, enforcement: m }, 0);
      for (const { policy: p, enforcement, count } of violationCounts(findings).values())
        policyViolations.set({ policy: p, enforcement }, count);
      const pass: AuditPass = { reason, revision, findings };
      if (writer) {
        pass.reports = await writer.write((stored) =>
          buildPolicyReports(findings, { revision, policies, now: new Date(), previous: stored }),
        );
      }
      const denied = findings.filter((f) => f.decision && !f.decision.allowed).length;
      const violating = findings.filter((f) => (f.decision?.violations.length ?? 0) > 0).length;
      const wrote = pass.reports ? pass.reports.creates + pass.reports.replaces + pass.reports.deletes : 0;
      const line = { reason, revision, resources: findings.length, violating, denied, ...pass.reports };
      if (wrote > 0)
        log.info(
          line,
          `policy audit: ${violating} of ${findings.length} resources have violations, ${denied} denied`,
        );
      else log.debug(line, "policy audit: nothing changed");
      this.#last = pass;
      return pass;
    } catch (err) {
      log.error({ err, reason }, "policy audit pass failed; the next change or resync tries again");
      return undefined;
    }
  }

  /** Stops scheduling and waits for a running pass. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#resync) clearInterval(this.#resync);
    for (const off of this.#unsubscribe.splice(0)) off();
    await this.#running;
  }
}
