// Policy metrics on prom-client's default registry (served by /metrics with the rest).
import { Counter, Gauge, Histogram } from "prom-client";
import { registeredOnce as once, reloadMetrics } from "../observability/metrics.js";

/**
 * One increment per violation ({policy, result: "violation", enforcement}) and one per decision
 * ({policy: "all", result: "allow" | "deny", enforcement: the strongest mode among its violations, or "none"}).
 */
export const policyDecisionsTotal = once(
  "kpo_policy_decisions_total",
  () =>
    new Counter({
      name: "kpo_policy_decisions_total",
      help: "Policy decisions and the violations they reported, by policy, result and enforcement mode",
      labelNames: ["policy", "result", "enforcement"] as const,
    }),
);

export const policyEvaluationSeconds = once(
  "kpo_policy_evaluation_seconds",
  () =>
    new Histogram({
      name: "kpo_policy_evaluation_seconds",
      help: "Time to evaluate the kpo/decision entrypoint in-process (wasm)",
      // Decisions take tens of microseconds; the default buckets start at 5 ms.
      buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05],
    }),
);

export const { loadsTotal: policyBundleLoadsTotal, info: policyBundleInfo } = reloadMetrics(
  {
    name: "kpo_policy_bundle_loads_total",
    help: "Policy bundle load attempts: success (swapped in) or failure (refused, the last good bundle keeps serving)",
  },
  { name: "kpo_policy_bundle_info", help: "The active policy bundle revision (value 1)" },
);

/**
 * The violations the last audit found among the existing resources (src/policy/audit.ts), by policy
 * and enforcement mode: a policy shipped as `dryrun` shows here how much enforcing it would deny.
 * Set by the leader only, after each audit pass.
 */
export const policyViolations = once(
  "kpo_policy_violations",
  () =>
    new Gauge({
      name: "kpo_policy_violations",
      help: "Violations among the existing resources found by the last policy audit, by policy and enforcement mode",
      labelNames: ["policy", "enforcement"] as const,
    }),
);
