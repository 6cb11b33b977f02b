import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { metricsReference } from "../../scripts/metricsReference.js";
import { repoRoot } from "../../src/testenv/tools.js";

describe("the metrics reference", () => {
  it("given the registered metrics, when the reference is regenerated, then it equals docs/reference/metrics.md", () => {
    const committed = readFileSync(path.join(repoRoot, "docs/reference/metrics.md"), "utf8");
    expect(metricsReference()).toBe(committed);
  });

  it("lists the controller-runtime names and the kpo ones", () => {
    const text = metricsReference();
    for (const name of [
      "controller_runtime_reconcile_total",
      "workqueue_depth",
      "leader_election_master_status",
      "kpo_policy_decisions_total",
      "kpo_machine_transitions_total",
      "kpo_keycloak_requests_total",
    ]) {
      expect(text).toContain(`\`${name}\``);
    }
  });
});
